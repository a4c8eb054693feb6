"""Crash, pause/resume and cancel of a running campaign, with a real Temporal server and worker."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.worker import Worker

from activities.smtp_pool import SmtpConfig, SmtpPool
from models.payloads.campaign import (
    AudienceSnapshot,
    CampaignRunInput,
    FinishRunInput,
    RunPlan,
    RunPlanInput,
    SnapshotAudienceInput,
)
from tests import conftest
from tests.conftest import running_worker
from tests.factories import make_campaign, make_leads
from tests.helpers import delivery_counts, eventually, outbox_rows, wait_for_status
from workflows.campaign import CampaignWorkflow


class SlowPool(SmtpPool):
    """The real pool with a delay per message, so a test can act while a campaign is mid-way."""

    delay = 0.02

    async def send(self, message, **kwargs) -> None:
        await asyncio.sleep(self.delay)
        await super().send(message, **kwargs)


async def _sent_so_far(db, run_id: int) -> int:
    return (await delivery_counts(db, run_id)).get("sent", 0)


async def test_worker_crash_mid_campaign_then_a_new_worker_finishes_with_each_lead_once(
    api, db, temporal_client, settings, monkeypatch
):
    slow = SlowPool(SmtpConfig(host=settings.smtp_target_host, port=settings.smtp_port, pool_size=2))
    monkeypatch.setattr(conftest, "make_smtp_pool", lambda _settings: slow)
    lead_ids = await make_leads(db, 200)
    campaign_id = await make_campaign(db, lead_ids)

    async with running_worker(temporal_client, settings, db):
        run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
        await eventually(lambda: _at_least(db, run["id"], 60), timeout=60, interval=0.05)
        # Leaving the block shuts the worker down while a batch is in flight.
    sent_at_crash = await _sent_so_far(db, run["id"])
    assert 60 <= sent_at_crash < 200

    async with running_worker(temporal_client, settings, db):
        progress = await wait_for_status(api, campaign_id, "completed", timeout=120)

    assert (progress["sent"], progress["failed"], progress["skipped"]) == (200, 0, 0)
    recipients = Counter(r for row in await outbox_rows(db, run["id"]) for r in row.rcpt_to)
    assert len(recipients) == 200 and set(recipients.values()) == {1}


async def _at_least(db, run_id: int, n: int) -> bool:
    return await _sent_so_far(db, run_id) >= n


async def test_pause_holds_further_batches_and_resume_finishes(api, worker, db):
    lead_ids = await make_leads(db, 150)
    campaign_id = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()

    paused = await api.post(f"/api/campaigns/{campaign_id}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    # At most the batch already in flight completes; then nothing more is sent while paused.
    await asyncio.sleep(1.0)
    held = await _sent_so_far(db, run["id"])
    await asyncio.sleep(1.0)
    assert await _sent_so_far(db, run["id"]) == held < 150
    again = await api.post(f"/api/campaigns/{campaign_id}/pause")
    assert again.status_code == 409

    resumed = await api.post(f"/api/campaigns/{campaign_id}/resume")
    assert resumed.status_code == 200, resumed.text
    progress = await wait_for_status(api, campaign_id, "completed")
    assert progress["sent"] == 150


async def test_cancel_stops_further_batches_and_marks_the_run_cancelled(api, worker, db):
    lead_ids = await make_leads(db, 150)
    campaign_id = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
    assert (await api.post(f"/api/campaigns/{campaign_id}/pause")).status_code == 200

    cancelled = await api.post(f"/api/campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    progress = await wait_for_status(api, campaign_id, "cancelled")

    sent = await _sent_so_far(db, run["id"])
    assert sent < 150 and progress["sent"] == sent
    detail = (await api.get(f"/api/campaigns/{campaign_id}")).json()
    assert detail["status"] == "cancelled"
    assert detail["runs"][0]["finished_at"] is not None
    # A cancelled campaign can be launched again as run 2.
    relaunch = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert relaunch.status_code == 202 and relaunch.json()["number"] == 2
    await wait_for_status(api, campaign_id, "completed")


async def test_cancel_while_an_activity_runs_ends_cancelled_not_failed(temporal_client, task_queue):
    """The cancel request lands while the snapshot activity is running (held open here until cancelled)."""
    started = asyncio.Event()
    finished: list[str] = []

    @activity.defn(name="snapshot_audience")
    async def endless_snapshot(_input: SnapshotAudienceInput) -> AudienceSnapshot:
        started.set()
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)

    @activity.defn(name="finish_run")
    async def record_finish(input: FinishRunInput) -> None:
        finished.append(input.status)

    @activity.defn(name="load_run_plan")
    async def legacy_plan(_input: RunPlanInput) -> RunPlan:
        return RunPlan(flow=None)  # a campaign without a flow: the single-step engine

    async with Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[CampaignWorkflow],
        activities=[legacy_plan, endless_snapshot, record_finish],
    ):
        handle = await temporal_client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=1, run_id=1, run_number=1),
            id=f"cancel-during-activity-{task_queue}",
            task_queue=task_queue,
        )
        await asyncio.wait_for(started.wait(), timeout=30)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert finished == ["cancelled"]
