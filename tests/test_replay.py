"""Every workflow replays its committed histories: a change that breaks determinism fails here.

Regenerate the files with `HERALD_RECORD_HISTORIES=1 pytest tests/test_replay.py` only when a change is
deliberately incompatible (and guarded by workflow.patched for running executions).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from models.payloads.campaign import CampaignRunInput
from models.payloads.lists import ListStatsInput
from tests.factories import make_campaign, make_leads
from tests.helpers import wait_for_status
from tests.test_campaign_flow_engine import time_env  # noqa: F401  (fixture)
from workers.main_queue import WORKFLOWS
from workflows.campaign import CampaignWorkflow
from workflows.list_stats import ListStatsWorkflow

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("HERALD_RECORD_HISTORIES") == "1"


def _history_files(workflow: type) -> list[Path]:
    return sorted(HISTORIES.glob(f"{workflow.__name__}-*.json"))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.__name__)
async def test_every_workflow_has_saved_histories(workflow):
    assert _history_files(workflow), f"no saved history for {workflow.__name__} under {HISTORIES}"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_campaign_histories(api, worker, db, temporal_client):
    """Records a completed run (with pause/resume and a query) and a cancelled one."""
    lead_ids = await make_leads(db, 60)
    completed = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{completed}/launch")).json()
    await api.post(f"/api/campaigns/{completed}/pause")
    await api.get(f"/api/campaigns/{completed}/progress")
    await api.post(f"/api/campaigns/{completed}/resume")
    await wait_for_status(api, completed, "completed")
    await _save(temporal_client, run["workflow_id"], "completed-with-pause")

    cancelled = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{cancelled}/launch")).json()
    await api.post(f"/api/campaigns/{cancelled}/pause")
    await api.post(f"/api/campaigns/{cancelled}/cancel")
    await wait_for_status(api, cancelled, "cancelled")
    await _save(temporal_client, run["workflow_id"], "cancelled")


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_list_stats_history(api, worker, db, temporal_client, settings):
    await api.post(
        "/api/lists", json={"name": "Everyone", "kind": "dynamic", "filter": {"combinator": "and", "rules": []}}
    )
    await temporal_client.execute_workflow(
        "ListStatsWorkflow", ListStatsInput(), id="list-stats-record", task_queue=settings.temporal_task_queue
    )
    await _save(temporal_client, "list-stats-record", "daily", ListStatsWorkflow)


async def _save(client, workflow_id: str, name: str, workflow: type = CampaignWorkflow) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (HISTORIES / f"{workflow.__name__}-{name}.json").write_text(history.to_json())


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_import_histories(api, worker, db, temporal_client):
    from workflows.imports import ImportWorkflow

    content = b"email,first_name\na@example.com,A\nnot-an-email,B\na@example.com,C\nd@example.com,D\n"
    upload = await api.post("/api/imports", files={"file": ("people.csv", content, "text/csv")})
    import_id = upload.json()["id"]
    await api.post(f"/api/imports/{import_id}/start", json={"mapping": ["email", "first_name"]})
    handle = temporal_client.get_workflow_handle(f"import-{import_id}")
    await handle.query("progress")
    await handle.result()
    await _save(temporal_client, f"import-{import_id}", "completed", ImportWorkflow)

    upload = await api.post("/api/imports", files={"file": ("gone.csv", content, "text/csv")})
    import_id = upload.json()["id"]
    async with db() as session:
        key = (await session.execute(text("SELECT storage_key FROM imports WHERE id = :i"), {"i": import_id})).scalar()
    app_storage = api._transport.app.state.storage  # the file disappears: the import fails, non-retryable
    app_storage.delete(key)
    await api.post(f"/api/imports/{import_id}/start", json={"mapping": ["email", "first_name"]})
    handle = temporal_client.get_workflow_handle(f"import-{import_id}")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    await _save(temporal_client, f"import-{import_id}", "failed", ImportWorkflow)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_media_histories(api, worker, temporal_client, settings):
    from models.payloads.media import CleanupInput
    from tests import media_samples
    from workflows.media_processing import MediaProcessingWorkflow
    from workflows.storage_cleanup import StorageCleanupWorkflow

    image = await api.post("/api/media", files={"file": ("a.png", media_samples.png_bytes(), "image/png")})
    handle = temporal_client.get_workflow_handle(image.json()["workflow_id"])
    await handle.result()
    await _save(temporal_client, handle.id, "image-ready", MediaProcessingWorkflow)
    broken = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x01" * 4000
    video = await api.post("/api/media", files={"file": ("b.mp4", broken, "video/mp4")})
    handle = temporal_client.get_workflow_handle(video.json()["workflow_id"])
    await handle.result()
    await _save(temporal_client, handle.id, "corrupt-failed", MediaProcessingWorkflow)
    await temporal_client.execute_workflow(
        StorageCleanupWorkflow.run,
        CleanupInput(grace_hours=0),
        id="cleanup-record",
        task_queue=settings.temporal_task_queue,
    )
    await _save(temporal_client, "cleanup-record", "daily", StorageCleanupWorkflow)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_test_send_history(api, worker, temporal_client):
    from workflows.test_send import TestSendWorkflow

    body = {"name": "Welcome", "subject": "Hi {{ lead.first_name }}", "body_html": "<p>Hello</p>"}
    template = (await api.post("/api/templates", json=body)).json()
    sent = await api.post(f"/api/templates/{template['id']}/test-send", json={"to": ["qa@example.com"]})
    assert sent.status_code == 200, sent.text
    await _save(temporal_client, sent.json()["workflow_id"], "sent", TestSendWorkflow)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_flow_engine_histories(time_env, temporal_client, settings, db, tenant):  # noqa: F811
    """The flow engine's paths: waits and branches, local time with an A/B winner and an exit, approval given and
    refused, continue-as-new, cancel, a flow-less campaign through the new entry, and the dry run."""
    from sqlalchemy import text as sql

    from models.payloads.campaign import ApprovalDecision, DryRunInput
    from tests.test_campaign_flow_engine import engine_worker, make_flow_run, make_template, send, start
    from workflows.campaign_dry_run import CampaignDryRunWorkflow

    email, other, sms = await make_template(db), await make_template(db), await make_template(db, channel="sms")
    lead_ids = await make_leads(db, 40)

    async with engine_worker(time_env.client, settings, db):
        flow = {
            "steps": [
                send("welcome", email, fallback={"channel": "sms", "template_id": sms}),
                {"id": "wait", "type": "wait", "duration": {"days": 1}},
                {
                    "id": "opened",
                    "type": "branch",
                    "condition": {"kind": "engagement", "step_id": "welcome", "event": "opened"},
                    "yes": [send("thanks", other)],
                    "no": [send("nudge", other)],
                },
            ]
        }
        run = await make_flow_run(db, flow, lead_ids)
        handle = await start(time_env.client, settings, run, batch_size=25)
        await handle.query(CampaignWorkflow.progress)
        async with db() as session:
            await session.execute(
                sql("UPDATE deliveries SET opened_at = now() WHERE run_id = :r AND lead_id = ANY(:ids)"),
                {"r": run.run_id, "ids": lead_ids[:10]},
            )
            await session.commit()
        await handle.result()
        await _save(time_env.client, run.workflow_id, "flow-wait-branch")

        day = (await time_env.get_current_time() + timedelta(days=2)).date()
        flow = {
            "steps": [
                {
                    "id": "offer",
                    "type": "ab_split",
                    "variants": [
                        {"id": "a", "name": "A", "percent": 50, "steps": [send("offer-a", email)]},
                        {"id": "b", "name": "B", "percent": 50, "steps": [send("offer-b", other)]},
                    ],
                    "winner": {"metric": "click_rate", "after": {"hours": 12}, "test_percent": 30},
                },
                {"id": "done", "type": "exit"},
            ],
            "exit_on_statuses": ["won"],
        }
        schedule = {
            "mode": "local_time",
            "date": day.isoformat(),
            "local_time": "09:00",
            "quiet_hours": {"start": "21:00", "end": "08:00"},
            "throttle_per_minute": {"email": 20},
        }
        async with db() as session:
            await session.execute(
                sql("UPDATE leads SET timezone = 'Asia/Tokyo' WHERE id = ANY(:ids)"), {"ids": lead_ids[:15]}
            )
            await session.commit()
        run = await make_flow_run(db, flow, lead_ids, schedule=schedule)
        handle = await start(time_env.client, settings, run)
        await handle.result()
        await _save(time_env.client, run.workflow_id, "flow-local-time-ab-winner")

    async with engine_worker(temporal_client, settings, db):
        run = await make_flow_run(db, {"steps": [send("hello", email)]}, lead_ids[:5], status="pending_approval")
        handle = await start(temporal_client, settings, run, requires_approval=True)
        await handle.signal(CampaignWorkflow.pause)
        await handle.execute_update(CampaignWorkflow.decide, ApprovalDecision(approved=True, user_id=tenant.admin_id))
        await handle.signal(CampaignWorkflow.resume)
        await handle.result()
        await _save(temporal_client, run.workflow_id, "flow-approved")

        run = await make_flow_run(db, {"steps": [send("hello", email)]}, lead_ids[:5], status="pending_approval")
        handle = await start(temporal_client, settings, run, requires_approval=True)
        await handle.execute_update(CampaignWorkflow.decide, ApprovalDecision(approved=False, comment="Not now"))
        await handle.result()
        await _save(temporal_client, run.workflow_id, "flow-rejected")

        run = await make_flow_run(db, {"steps": [send("hello", email)]}, lead_ids)
        handle = await start(temporal_client, settings, run, batch_size=5)
        await handle.result()
        first_run_id = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
        history = await temporal_client.get_workflow_handle(run.workflow_id, run_id=first_run_id).fetch_history()
        (HISTORIES / "CampaignWorkflow-flow-continued-as-new.json").write_text(history.to_json())
        await _save(temporal_client, run.workflow_id, "flow-after-continue-as-new")

        run = await make_flow_run(db, {"steps": [send("hello", email)]}, lead_ids)
        handle = await start(temporal_client, settings, run, batch_size=5)
        await handle.signal(CampaignWorkflow.pause)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        await _save(temporal_client, run.workflow_id, "flow-cancelled")

        legacy = await make_campaign(db, lead_ids[:5])
        async with db() as session:
            run_id = (
                await session.execute(
                    sql(
                        "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, "
                        "sent, failed, skipped) SELECT workspace_id, id, 1, :w, 'running', 5, 0, 0, 0 FROM campaigns "
                        "WHERE id = :c RETURNING id"
                    ),
                    {"c": legacy, "w": f"record-legacy-{legacy}"},
                )
            ).scalar_one()
            await session.commit()
        workflow_id = f"campaign-{legacy}-run-1-record"
        await temporal_client.execute_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=legacy, run_id=run_id, run_number=1),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
        )
        await _save(temporal_client, workflow_id, "no-flow-after-flow-engine")

        workflow_id = f"campaign-{legacy}-dry-run-record"
        await temporal_client.execute_workflow(
            CampaignDryRunWorkflow.run,
            DryRunInput(campaign_id=legacy),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
        )
        await _save(temporal_client, workflow_id, "report", CampaignDryRunWorkflow)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_simulation_histories(api, worker, db, settings, temporal_client):
    """AutomationSimulationWorkflow: a simulation of the issue's example that completes, and one refused."""
    from tests.test_automation_simulator import record_simulation_histories

    await record_simulation_histories(api, db, settings, temporal_client)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_trigger_sweep_history(api, worker, db, settings, temporal_client):
    """TriggerSweepWorkflow: a sweep that dispatches a status change the API could not (Temporal unreachable)."""
    from tests.test_trigger_sweep import record_trigger_sweep_history

    await record_trigger_sweep_history(api, db, settings, temporal_client)
