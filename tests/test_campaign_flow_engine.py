"""The flow engine of CampaignWorkflow with a real worker, real PostgreSQL and the SMTP sink: waits on Temporal's
time-skipping test server, crashes, continue-as-new and history size on the dev server.

Runs are set up straight in the database (campaign + run with its flow) and started like the API starts them, so
these tests depend only on the engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.campaign_activities import CampaignActivities
from activities.campaign_flow_activities import CampaignFlowActivities
from activities.channels import Channels, PermanentSendError, TransientSendError, channels_from_settings
from activities.smtp_pool import SmtpConfig, SmtpPool
from core.temporal import test_server_binary as time_skipping_server
from core.tracking_links import click_url, open_pixel_url
from domain.ab_split import assign_variant, in_test_group
from domain.tracking import add_utm
from models.campaigns import Campaign, CampaignRun
from models.lists import LeadList, ListMember
from models.payloads.campaign import (
    ApprovalDecision,
    CampaignProgress,
    CampaignRunInput,
    DryRunInput,
    DryRunResult,
    Reschedule,
    SendStepInput,
    SnapshotAudienceInput,
)
from models.templates import Template, TemplateVersion
from tests import conftest
from tests.factories import make_leads
from tests.helpers import CancelAfterAccepted, eventually
from workers.main_queue import build_worker
from workflows.campaign import CampaignWorkflow
from workflows.campaign_dry_run import CampaignDryRunWorkflow

# --- Fixtures and helpers ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: timers fire as soon as the workflow only waits on them (while a test
    awaits a result)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=time_skipping_server()
    )
    yield env
    await env.shutdown()


@asynccontextmanager
async def engine_worker(
    client: Client,
    settings,
    db,
    *,
    wrap_channels: Callable[[Channels], Channels] | None = None,
    smtp: SmtpPool | None = None,
) -> AsyncIterator[None]:
    """The real worker of the main queue, optionally with its channels wrapped (fault injection)."""
    smtp = smtp or conftest.make_smtp_pool(settings)
    channels = channels_from_settings(settings, smtp, db, mail_from=settings.mail_from)
    if wrap_channels is not None:
        channels = wrap_channels(channels)
    with ThreadPoolExecutor(max_workers=20) as executor:
        worker = build_worker(
            client,
            task_queue=settings.temporal_task_queue,
            sessions=db,
            smtp=smtp,
            mail_from=settings.mail_from,
            executor=executor,
            settings=settings,
            channels=channels,
        )
        async with worker:
            yield
    await smtp.close()


async def make_template(
    db, *, channel: str = "email", subject: str = "Hi {{ lead.first_name }}", body: str = ""
) -> int:
    body = body or f"{channel} body for {{{{ lead.first_name }}}}"
    async with db() as session:
        workspace_id = (await session.execute(text("SELECT min(id) FROM workspaces"))).scalar_one()
        template = Template(
            workspace_id=workspace_id,
            name=f"tpl-{uuid.uuid4().hex[:8]}",
            channel=channel,
            subject=subject if channel == "email" else "",
            body_html=f"<p>{body}</p>" if channel == "email" else "",
            body_text=body,
        )
        session.add(template)
        await session.flush()
        session.add(
            TemplateVersion(
                workspace_id=workspace_id,
                template_id=template.id,
                number=1,
                subject=template.subject,
                body_html=template.body_html,
                body_text=template.body_text,
            )
        )
        await session.commit()
        return template.id


@dataclass
class FlowRun:
    campaign_id: int
    run_id: int
    workflow_id: str


async def make_flow_run(
    db, flow: dict[str, Any], lead_ids: list[int], *, schedule: dict[str, Any] | None = None, status: str = "running"
) -> FlowRun:
    """A campaign with this flow to a static list of the leads, and its first run (as the API records a launch)."""
    schedule = schedule or {"mode": "now"}
    async with db() as session:
        workspace_id = (await session.execute(text("SELECT min(id) FROM workspaces"))).scalar_one()
        lead_list = LeadList(workspace_id=workspace_id, name=f"list-{uuid.uuid4().hex[:8]}")
        session.add(lead_list)
        await session.flush()
        session.add_all([ListMember(list_id=lead_list.id, lead_id=lead_id) for lead_id in lead_ids])
        campaign = Campaign(
            workspace_id=workspace_id,
            name=f"flow-{uuid.uuid4().hex[:6]}",
            status=status,
            list_id=lead_list.id,
            list_ids=[lead_list.id],
            flow=flow,
            schedule=schedule,
        )
        session.add(campaign)
        await session.flush()
        workflow_id = f"campaign-{campaign.id}-run-1-{uuid.uuid4().hex[:6]}"
        run = CampaignRun(
            workspace_id=workspace_id,
            campaign_id=campaign.id,
            number=1,
            workflow_id=workflow_id,
            status=status,
            total=len(lead_ids),
            flow=flow,
            schedule=schedule,
        )
        session.add(run)
        await session.commit()
        return FlowRun(campaign.id, run.id, workflow_id)


async def start(client: Client, settings, run: FlowRun, **options: Any) -> WorkflowHandle:
    return await client.start_workflow(
        CampaignWorkflow.run,
        CampaignRunInput(campaign_id=run.campaign_id, run_id=run.run_id, run_number=1, **options),
        id=run.workflow_id,
        task_queue=settings.temporal_task_queue,
        result_type=CampaignProgress,
    )


def send(step_id: str, template_id: int, channel: str = "email", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "send", "channel": channel, "template_id": template_id, **extra}


async def set_fields(db, lead_ids: list[int], **fields: Any) -> list[int]:
    """make_leads sets every lead's email; this changes fields afterwards (email=None: no address)."""
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    async with db() as session:
        await session.execute(text(f"UPDATE leads SET {assignments} WHERE id = ANY(:ids)"), {"ids": lead_ids, **fields})
        await session.commit()
    return lead_ids


async def rows(db, sql: str, **params: Any) -> list[Any]:
    async with db() as session:
        return list(await session.execute(text(sql), params))


async def deliveries(db, run_id: int) -> list[Any]:
    return await rows(
        db,
        "SELECT lead_id, step, fallback, channel, status, skip_reason, variant, error FROM deliveries "
        "WHERE run_id = :r ORDER BY step, lead_id, fallback",
        r=run_id,
    )


async def sent_leads(db, run_id: int, step: int) -> set[int]:
    return {
        row.lead_id
        for row in await deliveries(db, run_id)
        if row.step == step and row.status == "sent" and not row.fallback
    }


async def sink_recipients(db, run_id: int) -> Counter[str]:
    found = await rows(
        db,
        "SELECT rcpt_to FROM outbox_messages WHERE channel = 'email' AND message_id LIKE :p",
        p=f"<herald-r{run_id}-%",
    )
    return Counter(rcpt for row in found for rcpt in row.rcpt_to)


async def count_sent(db, run_id: int) -> int:
    found = await rows(db, "SELECT count(*) AS n FROM deliveries WHERE run_id = :r AND status = 'sent'", r=run_id)
    return found[0].n


async def history_events(handle: WorkflowHandle) -> list[Any]:
    history = await handle.fetch_history()
    return list(history.events)


def scheduled(events: list[Any], activity_type: str) -> list[Any]:
    return [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity_type
    ]


async def audience_tracks(db, run_id: int) -> dict[int, int]:
    """Each lead's track in the run's audience."""
    found = await rows(db, "SELECT lead_id, track FROM campaign_run_audience WHERE run_id = :r", r=run_id)
    return {row.lead_id: row.track for row in found}


def first_batch_at(events: list[Any], tracks: dict[int, int]) -> dict[int, datetime]:
    """When the first send batch of each lead's track was scheduled."""
    sent_at: dict[int, datetime] = {}
    for event in scheduled(events, "send_step_batch"):
        batch = decode(event.activity_task_scheduled_event_attributes.input, SendStepInput)
        for lead_id, track in tracks.items():
            if track == batch.track:
                sent_at.setdefault(lead_id, event.event_time.ToDatetime(UTC))
    return sent_at


def decided_at(events: list[Any], event: Any) -> datetime:
    """The workflow time (`workflow.now()`) of the workflow task that scheduled this activity."""
    started = [
        e for e in events if e.event_id < event.event_id and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    return started[-1].event_time.ToDatetime(UTC)


def decode(payloads: Any, cls: type) -> Any:
    return pydantic_data_converter.payload_converter.from_payloads(list(payloads.payloads), [cls])[0]


# --- Multi-step flow with a wait and an engagement branch -------------------------------------------------------------


async def test_three_day_wait_then_a_branch_on_opened_reaches_the_right_leads(time_env, settings, db, tenant):
    welcome, thanks, nudge = [await make_template(db) for _ in range(3)]
    lead_ids = await make_leads(db, 10)
    flow = {
        "steps": [
            send("welcome", welcome),
            {"id": "wait-3d", "type": "wait", "duration": {"days": 3}, "respect_quiet_hours": False},
            {
                "id": "opened-welcome",
                "type": "branch",
                "condition": {"kind": "engagement", "step_id": "welcome", "event": "opened"},
                "yes": [send("thanks", thanks)],
                "no": [send("nudge", nudge)],
            },
        ]
    }
    run = await make_flow_run(db, flow, lead_ids)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        await eventually(lambda: _all_sent(db, run.run_id, 0, 10), timeout=60)
        openers = lead_ids[:4]
        async with db() as session:
            await session.execute(
                text("UPDATE deliveries SET opened_at = now() WHERE run_id = :r AND step = 0 AND lead_id = ANY(:ids)"),
                {"r": run.run_id, "ids": openers},
            )
            await session.commit()
        progress = await handle.result()

    assert progress.status == "completed"
    # iter_steps order: welcome 0, wait-3d 1, opened-welcome 2, thanks 3 (yes arm), nudge 4 (no arm)
    assert await sent_leads(db, run.run_id, 0) == set(lead_ids)
    assert await sent_leads(db, run.run_id, 3) == set(openers)
    assert await sent_leads(db, run.run_id, 4) == set(lead_ids[4:])
    assert set((await sink_recipients(db, run.run_id)).values()) == {2}  # welcome + one follow-up each
    by_id = {step.step_id: step for step in progress.steps}
    assert (by_id["welcome"].sent, by_id["thanks"].sent, by_id["nudge"].sent) == (10, 4, 6)
    # The branch ran three days (of workflow time) after the welcome batch.
    events = await history_events(handle)
    first_send = scheduled(events, "send_step_batch")[0].event_time.ToDatetime(UTC)
    branch = scheduled(events, "partition_track")[0].event_time.ToDatetime(UTC)
    assert timedelta(days=3) <= branch - first_send < timedelta(days=3, minutes=5)


async def _all_sent(db, run_id: int, step: int, expected: int) -> bool:
    return len(await sent_leads(db, run_id, step)) >= expected


# --- Per-lead local time ----------------------------------------------------------------------------------------------


async def test_local_time_schedule_lands_each_lead_at_nine_in_its_own_timezone(time_env, settings, db, tenant):
    template = await make_template(db)
    zones = {
        "Europe/Paris": 3,
        "Europe/Berlin": 2,  # same 09:00 instant as Paris: one bucket
        "America/New_York": 3,
        "Asia/Tokyo": 2,
        "Not/AZone": 1,  # unknown: the workspace's zone (UTC)
    }
    lead_zone: dict[int, str] = {}
    for name, count in zones.items():
        for lead_id in await make_leads(db, count, prefix=f"tz{name.replace('/', '').lower()}", timezone=name):
            lead_zone[lead_id] = name
    day = (await time_env.get_current_time() + timedelta(days=3)).date()  # the test server's clock runs ahead
    schedule = {"mode": "local_time", "date": day.isoformat(), "local_time": "09:00"}
    run = await make_flow_run(db, {"steps": [send("morning", template)]}, sorted(lead_zone), schedule=schedule)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        progress = await handle.result()

    assert progress.status == "completed" and progress.steps[0].sent == len(lead_zone)
    tracks = await audience_tracks(db, run.run_id)
    sent_at = first_batch_at(await history_events(handle), tracks)
    assert set(sent_at) == set(lead_zone)
    for lead_id, name in lead_zone.items():
        local = sent_at[lead_id].astimezone(ZoneInfo(name if name != "Not/AZone" else "UTC"))
        assert local.date() == day, (name, local)
        assert timedelta(0) <= local - local.replace(hour=9, minute=0, second=0, microsecond=0) < timedelta(minutes=2)
    # Paris and Berlin share a bucket (one track); Tokyo, Paris/Berlin, UTC, New York: four buckets.
    assert len({tracks[lead_id] for lead_id in lead_zone}) == 4
    assert (
        tracks[next(i for i, z in lead_zone.items() if z == "Europe/Paris")]
        == tracks[next(i for i, z in lead_zone.items() if z == "Europe/Berlin")]
    )


async def test_a_local_time_run_moved_to_another_date_lands_at_nine_on_that_date_across_a_clock_change(
    settings, db, tenant
):
    template = await make_template(db)
    lead_zone: dict[int, str] = {}
    for name in ("Europe/Paris", "America/New_York", "Asia/Tokyo"):
        for lead_id in await make_leads(db, 2, prefix=f"d{name.replace('/', '').lower()}", timezone=name):
            lead_zone[lead_id] = name
    # Friday 26 March 2027, moved to Monday 29 March: Paris changes to summer time on the 28th, so 09:00 there is
    # 08:00 UTC before and 07:00 UTC after. Shifting the buckets by three days would send at 10:00.
    schedule = {"mode": "local_time", "date": "2027-03-26", "local_time": "09:00"}
    run = await make_flow_run(db, {"steps": [send("morning", template)]}, sorted(lead_zone), schedule=schedule)
    # Its own time-skipping server: after another test's run, the shared one can skip straight past the wait.
    time_env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=time_skipping_server()
    )
    try:
        async with engine_worker(time_env.client, settings, db):
            handle = await start(time_env.client, settings, run)
            await eventually(lambda: _query(handle, "scheduled"), timeout=30)
            moved_first = datetime(2027, 3, 28, 19, 0, tzinfo=UTC)  # 09:00 on the 29th at UTC+14
            await handle.signal(CampaignWorkflow.reschedule, Reschedule(at=moved_first, date="2027-03-29"))
            progress = await handle.result()
            events = await history_events(handle)
            history = await handle.fetch_history()
    finally:
        await time_env.shutdown()

    assert progress.status == "completed" and progress.steps[0].sent == len(lead_zone)
    sent_at = first_batch_at(events, await audience_tracks(db, run.run_id))
    assert set(sent_at) == set(lead_zone)
    for lead_id, name in lead_zone.items():
        local = sent_at[lead_id].astimezone(ZoneInfo(name))
        assert local.date().isoformat() == "2027-03-29", (name, local)
        assert timedelta(0) <= local - local.replace(hour=9, minute=0, second=0, microsecond=0) < timedelta(minutes=2)
    if os.environ.get("HERALD_RECORD_HISTORIES") == "1":  # tests/test_replay.py replays it
        (Path(__file__).parent / "histories" / "CampaignWorkflow-flow-local-time-moved.json").write_text(
            history.to_json()
        )


async def test_a_scheduled_run_waits_for_its_time_and_reschedule_moves_it(time_env, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 3)
    now = await time_env.get_current_time()
    planned, moved = now + timedelta(days=2), now + timedelta(days=1)
    schedule = {"mode": "at", "at": planned.isoformat()}
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids, schedule=schedule)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        waiting = await eventually(lambda: _query(handle, "scheduled"), timeout=30)
        assert waiting.scheduled_for == planned
        assert (await rows(db, "SELECT status FROM campaign_runs WHERE id = :r", r=run.run_id))[0].status == "scheduled"
        await handle.signal(CampaignWorkflow.reschedule, Reschedule(at=moved))
        progress = await handle.result()

    assert progress.steps[0].sent == 3 and progress.scheduled_for == moved
    first_send = scheduled(await history_events(handle), "send_step_batch")[0].event_time.ToDatetime(UTC)
    assert timedelta(0) <= first_send - moved < timedelta(minutes=1)


async def test_throttle_spreads_batches_so_sends_never_run_ahead_of_the_rate(time_env, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 30)
    schedule = {"mode": "now", "throttle_per_minute": {"email": 10}}
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids, schedule=schedule)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        progress = await handle.result()

    assert progress.steps[0].sent == 30, progress
    events = await history_events(handle)
    times = [decided_at(events, e) for e in scheduled(events, "send_step_batch")]
    assert len(times) == 3, times  # a batch never holds more than a minute's worth
    assert all(later - earlier >= timedelta(minutes=1) for earlier, later in pairwise(times)), times


async def test_quiet_hours_defer_each_lead_to_its_own_sending_window(time_env, settings, db, tenant):
    template = await make_template(db)
    lead_zone = {lead: "Asia/Tokyo" for lead in await make_leads(db, 2, prefix="tokyo", timezone="Asia/Tokyo")}
    lead_zone |= {
        lead: "America/New_York" for lead in await make_leads(db, 2, prefix="ny", timezone="America/New_York")
    }
    schedule = {"mode": "now", "quiet_hours": {"start": "20:00", "end": "08:00"}, "weekdays": [0, 1, 2, 3, 4]}
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, sorted(lead_zone), schedule=schedule)
    started = await time_env.get_current_time()
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        progress = await handle.result()

    assert progress.steps[0].sent == 4 and progress.steps[0].skipped == 0  # deferred, not skipped
    tracks = {
        row.lead_id: row.track
        for row in await rows(db, "SELECT lead_id, track FROM campaign_run_audience WHERE run_id = :r", r=run.run_id)
    }
    for event in scheduled(await history_events(handle), "send_step_batch"):
        batch = decode(event.activity_task_scheduled_event_attributes.input, SendStepInput)
        at = event.event_time.ToDatetime(UTC)
        for lead, name in lead_zone.items():
            if tracks[lead] == batch.track:
                local = at.astimezone(ZoneInfo(name))
                assert 8 <= local.hour < 20 and local.weekday() < 5, (name, local)
                assert at - started < timedelta(days=4)


async def test_a_throttled_step_stops_at_the_quiet_hours_and_resumes_after_them(time_env, settings, db, tenant):
    """Quiet hours that start while a throttled step is under way hold the rest of the step until they end."""
    template = await make_template(db)
    lead_ids = await make_leads(db, 30, timezone="UTC")
    now = (await time_env.get_current_time()).astimezone(UTC)
    quiet_start = now.replace(second=0, microsecond=0) + timedelta(minutes=2)
    quiet_end = quiet_start + timedelta(hours=6)
    schedule = {
        "mode": "now",
        "throttle_per_minute": {"email": 10},
        "quiet_hours": {"start": quiet_start.strftime("%H:%M"), "end": quiet_end.strftime("%H:%M")},
    }
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids, schedule=schedule)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        progress = await handle.result()

    assert progress.steps[0].sent == 30 and progress.steps[0].skipped == 0, progress
    times = [
        decided_at(await history_events(handle), e) for e in scheduled(await history_events(handle), "send_step_batch")
    ]
    assert len(times) == 3, times
    assert not [t for t in times if quiet_start <= t < quiet_end], (times, quiet_start, quiet_end)
    assert times[0] < quiet_start and times[-1] >= quiet_end  # begun before the quiet hours, finished after them
    sent_at = await rows(db, "SELECT sent_at FROM deliveries WHERE run_id = :r AND status = 'sent'", r=run.run_id)
    assert len(sent_at) == 30
    if os.environ.get("HERALD_RECORD_HISTORIES") == "1":  # tests/test_replay.py replays it
        history = await handle.fetch_history()
        (Path(__file__).parent / "histories" / "CampaignWorkflow-flow-quiet-hours-mid-step.json").write_text(
            history.to_json()
        )


# --- A/B split --------------------------------------------------------------------------------------------------------


async def test_ab_split_proportions_are_deterministic(engine_on_dev_server, db, settings, temporal_client):
    a, b = await make_template(db, subject="A"), await make_template(db, subject="B")
    lead_ids = await make_leads(db, 200)
    split = {
        "id": "offer",
        "type": "ab_split",
        "variants": [
            {"id": "a", "name": "A", "percent": 70, "steps": [send("offer-a", a)]},
            {"id": "b", "name": "B", "percent": 30, "steps": [send("offer-b", b)]},
        ],
    }
    run = await make_flow_run(db, {"steps": [split]}, lead_ids)
    progress = await (await start(temporal_client, settings, run)).result()

    expected = {
        lead: assign_variant(lead, "offer", [("a", 70), ("b", 30)], f"campaign:{run.campaign_id}") for lead in lead_ids
    }
    # offer 0, offer-a 1, offer-b 2
    assert await sent_leads(db, run.run_id, 1) == {lead for lead, v in expected.items() if v == "a"}
    assert await sent_leads(db, run.run_id, 2) == {lead for lead, v in expected.items() if v == "b"}
    share_a = sum(v == "a" for v in expected.values()) / len(lead_ids)
    assert 0.6 < share_a < 0.8
    variants = {row.lead_id: row.variant for row in await deliveries(db, run.run_id)}
    assert variants == expected
    steps = {step.step_id: step for step in progress.steps}
    assert [(v.variant, v.sent) for v in steps["offer-a"].variants] == [("a", steps["offer-a"].sent)]


async def test_ab_auto_winner_sends_the_holdout_the_winning_variant(time_env, settings, db, tenant):
    a, b = await make_template(db, subject="A"), await make_template(db, subject="B")
    lead_ids = await make_leads(db, 200)
    split = {
        "id": "offer",
        "type": "ab_split",
        "variants": [
            {"id": "a", "name": "A", "percent": 50, "steps": [send("offer-a", a)]},
            {"id": "b", "name": "B", "percent": 50, "steps": [send("offer-b", b)]},
        ],
        "winner": {"metric": "open_rate", "after": {"hours": 24}, "test_percent": 20},
    }
    run = await make_flow_run(db, {"steps": [split]}, lead_ids)
    seed = f"campaign:{run.campaign_id}"
    tested = [lead for lead in lead_ids if in_test_group(lead, "offer", 20, seed)]
    assert 20 <= len(tested) <= 60
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        await eventually(lambda: _sent_count_at_least(db, run.run_id, len(tested)), timeout=60)
        async with db() as session:  # variant b's test messages are opened: b wins on open rate
            await session.execute(
                text("UPDATE deliveries SET opened_at = now() WHERE run_id = :r AND variant = 'b'"), {"r": run.run_id}
            )
            await session.commit()
        progress = await handle.result()

    assert progress.winners == {"offer": "b"}
    holdout = set(lead_ids) - set(tested)
    test_a = {lead for lead in tested if assign_variant(lead, "offer", [("a", 50), ("b", 50)], seed) == "a"}
    assert await sent_leads(db, run.run_id, 1) == test_a  # offer-a: only the test group's a leads
    assert await sent_leads(db, run.run_id, 2) == (set(tested) - test_a) | holdout  # offer-b: test b + holdout
    assert Counter(r.lead_id for r in await deliveries(db, run.run_id)).most_common(1)[0][1] == 1
    assert {row.variant for row in await deliveries(db, run.run_id) if row.lead_id in holdout} == {"b"}


async def _sent_count_at_least(db, run_id: int, n: int) -> bool:
    return await count_sent(db, run_id) >= n


# --- Fallback, transient and permanent failures -----------------------------------------------------------------------


class FaultyEmail:
    """The real email channel, refusing chosen recipients for good (550 bounce) or once (transient)."""

    name = "email"

    def __init__(self, real, *, permanent: set[str] = frozenset(), transient: set[str] = frozenset()) -> None:
        self.real = real
        self.permanent = set(permanent)
        self.transient = set(transient)
        self.concurrency = 2
        self.attempts: Counter[str] = Counter()

    async def send(self, message):
        self.attempts[message.to] += 1
        if message.to in self.permanent:
            raise PermanentSendError("SMTP 550: 5.1.1 no such user", suppress="bounced")
        if message.to in self.transient:
            self.transient.discard(message.to)
            raise TransientSendError("SMTP 451: try again later")
        return await self.real.send(message)


def with_email(faulty_holder: list[FaultyEmail], **faults: set[str]) -> Callable[[Channels], Channels]:
    def wrap(channels: Channels) -> Channels:
        faulty = FaultyEmail(channels.get("email"), **faults)
        faulty_holder.append(faulty)
        return Channels({**{name: channels.get(name) for name in channels.names}, "email": faulty})

    return wrap


async def test_fallback_to_sms_on_a_permanent_email_failure_or_an_impossible_email(
    temporal_client, settings, db, tenant
):
    email, sms = await make_template(db), await make_template(db, channel="sms", body="Text {{ lead.first_name }}")
    ok = await make_leads(db, 3, prefix="ok")
    bounce = await make_leads(db, 1, prefix="bounce", phone="+15550000001", consent_sms="granted")
    no_email = await make_leads(db, 1, prefix="noemail", phone="+15550000002", consent_sms="granted")
    nowhere = await make_leads(db, 1, prefix="nowhere", phone="+15550000003", consent_sms="denied")
    await set_fields(db, no_email + nowhere, email=None)
    flow = {"steps": [send("hello", email, fallback={"channel": "sms", "template_id": sms})]}
    run = await make_flow_run(db, flow, ok + bounce + no_email + nowhere)
    faulty: list[FaultyEmail] = []
    async with engine_worker(
        temporal_client, settings, db, wrap_channels=with_email(faulty, permanent={"bounce0@example.com"})
    ):
        progress = await (await start(temporal_client, settings, run)).result()

    found = {(row.lead_id, row.fallback): row for row in await deliveries(db, run.run_id)}
    assert {found[(lead, False)].status for lead in ok} == {"sent"}
    assert (found[(bounce[0], False)].status, found[(bounce[0], True)].status) == ("failed", "sent")
    assert found[(bounce[0], True)].channel == "sms"
    assert (found[(no_email[0], False)].status, found[(no_email[0], False)].skip_reason) == (
        "skipped",
        "invalid_address",
    )
    assert found[(no_email[0], True)].status == "sent"
    assert found[(nowhere[0], False)].skip_reason == "invalid_address"
    assert found[(nowhere[0], True)].status == "skipped" and found[(nowhere[0], True)].skip_reason == "no_consent"
    texts = await rows(
        db,
        "SELECT rcpt_to, body_text FROM outbox_messages WHERE channel = 'sms' AND message_id LIKE :p",
        p=f"<herald-r{run.run_id}-%",
    )
    assert sorted(r.rcpt_to[0] for r in texts) == ["+15550000001", "+15550000002"]
    assert faulty[0].attempts["bounce0@example.com"] == 1  # permanent: never retried
    suppressed = await rows(db, "SELECT suppressed_email FROM leads WHERE id = :i", i=bounce[0])
    assert suppressed[0].suppressed_email == "bounced"
    remembered = await rows(  # the hashed entry outlives the lead: a later import cannot add the address again
        db,
        "SELECT reason FROM suppressions WHERE channel = 'email' "
        "AND address_hash = encode(sha256(convert_to('bounce0@example.com', 'UTF8')), 'hex')",
    )
    assert [r.reason for r in remembered] == ["bounced"]
    step = progress.steps[0]
    assert (step.sent, step.failed, step.skipped, step.fallback_sent) == (5, 0, 1, 2)


async def test_transient_failures_are_retried_and_permanent_ones_are_not(temporal_client, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 8)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    faulty: list[FaultyEmail] = []
    faults = {"transient": {"lead2@example.com", "lead5@example.com"}, "permanent": {"lead6@example.com"}}
    async with engine_worker(temporal_client, settings, db, wrap_channels=with_email(faulty, **faults)):
        handle = await start(temporal_client, settings, run)
        progress = await handle.result()

    attempts = faulty[0].attempts
    assert attempts["lead6@example.com"] == 1  # permanent: the retried batch does not touch it again
    assert attempts["lead2@example.com"] == attempts["lead5@example.com"] == 2  # failed once, then sent
    assert {lead: n for lead, n in attempts.items() if n != 1} == {"lead2@example.com": 2, "lead5@example.com": 2}
    recipients = await sink_recipients(db, run.run_id)
    assert set(recipients) == {f"lead{n}@example.com" for n in range(8) if n != 6}
    assert set(recipients.values()) == {1}
    assert (progress.steps[0].sent, progress.steps[0].failed) == (7, 1)
    events = await history_events(handle)
    assert any(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
        for e in events
    )


# --- Durability, pause/resume, cancel ---------------------------------------------------------------------------------


class SlowPool(SmtpPool):
    delay = 0.02

    async def send(self, message, **kwargs) -> None:
        await asyncio.sleep(self.delay)
        await super().send(message, **kwargs)


async def test_worker_killed_mid_step_then_each_lead_gets_the_step_exactly_once(temporal_client, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 200)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    slow = SlowPool(SmtpConfig(host=settings.smtp_target_host, port=settings.smtp_port, pool_size=2))
    async with engine_worker(temporal_client, settings, db, smtp=slow):
        handle = await start(temporal_client, settings, run, batch_size=25)
        await eventually(lambda: _sent_count_at_least(db, run.run_id, 60), timeout=60, interval=0.05)
        # Leaving the block shuts the worker down while a batch is in flight.
    at_crash = await count_sent(db, run.run_id)
    assert 60 <= at_crash < 200

    async with engine_worker(temporal_client, settings, db):
        progress = await handle.result()
    recipients = await sink_recipients(db, run.run_id)
    assert len(recipients) == 200 and set(recipients.values()) == {1}
    assert progress.steps[0].sent == 200


async def test_a_send_batch_cancelled_midway_records_every_accepted_message_and_the_retry_sends_the_rest(
    settings, db, tenant
):
    template = await make_template(db)
    lead_ids = await make_leads(db, 40)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    real = conftest.make_smtp_pool(settings)
    env = ActivityEnvironment()
    cancelling = CancelAfterAccepted(real, env, after=15)
    await env.run(
        CampaignActivities(db, real, settings.mail_from, settings).snapshot_audience,
        SnapshotAudienceInput(campaign_id=run.campaign_id, run_id=run.run_id),
    )
    batch = SendStepInput(run_id=run.run_id, track=0, step=0, limit=100)

    flow = CampaignFlowActivities(
        sessions=db, channels=channels_from_settings(settings, cancelling, db), settings=settings
    )
    with pytest.raises(asyncio.CancelledError):
        await env.run(flow.send_step_batch, batch)
    statuses = Counter(row.status for row in await deliveries(db, run.run_id))
    assert statuses["sent"] == cancelling.accepted >= 15  # the messages in flight finished and were all recorded
    assert statuses["sent"] < 40 and statuses["sending"] == 40 - statuses["sent"]

    retry = CampaignFlowActivities(sessions=db, channels=channels_from_settings(settings, real, db), settings=settings)
    result = await ActivityEnvironment().run(retry.send_step_batch, batch)
    await real.close()
    assert result.sent == 40
    recipients = await sink_recipients(db, run.run_id)
    assert len(recipients) == 40 and set(recipients.values()) == {1}  # each lead once, across both attempts


async def test_pause_holds_the_flow_and_resume_finishes_it(temporal_client, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 150)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    slow = SlowPool(SmtpConfig(host=settings.smtp_target_host, port=settings.smtp_port, pool_size=2))
    async with engine_worker(temporal_client, settings, db, smtp=slow):
        handle = await start(temporal_client, settings, run, batch_size=25)
        await handle.signal(CampaignWorkflow.pause)
        await asyncio.sleep(1.5)
        held = await count_sent(db, run.run_id)
        await asyncio.sleep(1.0)
        assert await count_sent(db, run.run_id) == held < 150
        assert (await handle.query(CampaignWorkflow.progress)).status == "paused"
        await handle.signal(CampaignWorkflow.resume)
        progress = await handle.result()
    assert progress.status == "completed" and progress.steps[0].sent == 150


async def test_cancel_stops_the_sends(temporal_client, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 150)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    async with engine_worker(temporal_client, settings, db):
        handle = await start(temporal_client, settings, run, batch_size=25)
        await handle.signal(CampaignWorkflow.pause)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        sent = await count_sent(db, run.run_id)
        await asyncio.sleep(1.0)
        assert await count_sent(db, run.run_id) == sent < 150
    status = await rows(
        db,
        "SELECT r.status, r.finished_at, c.status AS campaign FROM campaign_runs r JOIN campaigns c "
        "ON c.id = r.campaign_id WHERE r.id = :r",
        r=run.run_id,
    )
    assert (status[0].status, status[0].campaign) == ("cancelled", "cancelled") and status[0].finished_at


# --- Frequency cap, goal exits, skip reasons --------------------------------------------------------------------------


async def test_frequency_cap_counts_messages_of_other_campaigns(engine_on_dev_server, temporal_client, settings, db):
    first, second = await make_template(db), await make_template(db)
    earlier = await make_leads(db, 10, prefix="old")
    fresh = await make_leads(db, 5, prefix="new")
    run_a = await make_flow_run(db, {"steps": [send("a", first)]}, earlier)
    assert (await (await start(temporal_client, settings, run_a)).result()).steps[0].sent == 10

    schedule = {"mode": "now", "frequency_cap": {"max_messages": 1, "days": 7}}
    run_b = await make_flow_run(db, {"steps": [send("b", second)]}, earlier + fresh, schedule=schedule)
    progress = await (await start(temporal_client, settings, run_b)).result()

    found = await deliveries(db, run_b.run_id)
    assert {row.lead_id for row in found if row.status == "sent"} == set(fresh)
    assert {row.lead_id for row in found if row.skip_reason == "capped"} == set(earlier)
    assert progress.steps[0].by_reason == {"capped": 10}


async def test_a_lead_reaching_the_goal_status_leaves_the_flow(time_env, settings, db, tenant):
    first, second = await make_template(db), await make_template(db)
    lead_ids = await make_leads(db, 6)
    already_won = await make_leads(db, 1, prefix="won", status="won")
    flow = {
        "steps": [
            send("first", first),
            {"id": "wait", "type": "wait", "duration": {"days": 1}, "respect_quiet_hours": False},
            send("second", second),
        ],
        "exit_on_statuses": ["won"],
    }
    run = await make_flow_run(db, flow, lead_ids + already_won)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run)
        await eventually(lambda: _all_sent(db, run.run_id, 0, 6), timeout=60)
        async with db() as session:
            await session.execute(text("UPDATE leads SET status = 'won' WHERE id = ANY(:ids)"), {"ids": lead_ids[:2]})
            await session.commit()
        progress = await handle.result()

    found = {(row.lead_id, row.step): row for row in await deliveries(db, run.run_id)}
    assert found[(already_won[0], 0)].skip_reason == "exited" and (already_won[0], 2) not in found
    assert {found[(lead, 2)].skip_reason for lead in lead_ids[:2]} == {"exited"}
    assert await sent_leads(db, run.run_id, 2) == set(lead_ids[2:])
    exited = await rows(
        db, "SELECT lead_id, exited FROM campaign_run_audience WHERE run_id = :r AND exited IS NOT NULL", r=run.run_id
    )
    assert {row.lead_id: row.exited for row in exited} == {lead: "goal:won" for lead in [*already_won, *lead_ids[:2]]}
    assert progress.steps[2].by_reason == {"exited": 2}


async def test_every_skip_is_recorded_with_its_reason(engine_on_dev_server, temporal_client, settings, db):
    template = await make_template(db)
    ok = await make_leads(db, 2, prefix="ok")
    denied = await make_leads(db, 1, prefix="denied", consent_email="denied")
    bounced = await make_leads(db, 1, prefix="bounced", suppressed_email="bounced")
    unsubscribed = await make_leads(db, 1, prefix="unsub", status="unsubscribed")
    malformed = await set_fields(db, await make_leads(db, 1, prefix="bad"), email="not-an-email")
    missing = await set_fields(db, await make_leads(db, 1, prefix="none"), email=None)
    flow = {"steps": [send("hello", template), send("ghost", 999_999)]}
    run = await make_flow_run(db, flow, ok + denied + bounced + unsubscribed + malformed + missing)
    progress = await (await start(temporal_client, settings, run)).result()

    reasons = {(row.lead_id, row.step): row.skip_reason for row in await deliveries(db, run.run_id)}
    expected = {denied[0]: "no_consent", bounced[0]: "suppressed", unsubscribed[0]: "suppressed"}
    expected |= {malformed[0]: "invalid_address", missing[0]: "invalid_address"}
    assert {lead: reasons[(lead, 0)] for lead in expected} == expected
    assert {reasons[(lead, 1)] for lead in ok} == {"no_template"}
    assert progress.steps[0].by_reason == {"no_consent": 1, "suppressed": 2, "invalid_address": 2}
    assert progress.steps[1].by_reason == {"no_template": 7}


# --- Approval ---------------------------------------------------------------------------------------------------------


async def test_approval_required_waits_then_approve_runs_it(
    engine_on_dev_server, temporal_client, settings, db, tenant
):
    template = await make_template(db)
    lead_ids = await make_leads(db, 5)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids, status="pending_approval")
    handle = await start(temporal_client, settings, run, requires_approval=True)
    progress = await eventually(lambda: _query(handle, "pending_approval"), timeout=30)
    assert progress.phase == "approval"
    await asyncio.sleep(0.5)
    assert await count_sent(db, run.run_id) == 0

    answer = await handle.execute_update(
        CampaignWorkflow.decide, ApprovalDecision(approved=True, user_id=tenant.admin_id)
    )
    assert answer == "approved"
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(CampaignWorkflow.decide, ApprovalDecision(approved=False, comment="too late"))
    result = await handle.result()
    assert result.status == "completed" and result.steps[0].sent == 5
    status = await rows(db, "SELECT status FROM campaign_runs WHERE id = :r", r=run.run_id)
    assert status[0].status == "completed"


async def test_approval_rejected_ends_the_run_with_the_comment(engine_on_dev_server, temporal_client, settings, db):
    template = await make_template(db)
    lead_ids = await make_leads(db, 3)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids, status="pending_approval")
    handle = await start(temporal_client, settings, run, requires_approval=True)
    with pytest.raises(WorkflowUpdateFailedError):  # a rejection needs its reason
        await handle.execute_update(CampaignWorkflow.decide, ApprovalDecision(approved=False, comment=" "))
    await handle.execute_update(CampaignWorkflow.decide, ApprovalDecision(approved=False, comment="Not this week"))
    result = await handle.result()

    assert (result.status, result.comment) == ("rejected", "Not this week")
    assert await deliveries(db, run.run_id) == []
    found = await rows(
        db,
        "SELECT r.status, c.status AS campaign, c.approval_status, c.approval_comment FROM campaign_runs r "
        "JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = :r",
        r=run.run_id,
    )
    assert tuple(found[0]) == ("rejected", "rejected", "rejected", "Not this week")


async def _query(handle: WorkflowHandle, status: str) -> CampaignProgress | None:
    try:
        progress = await handle.query(CampaignWorkflow.progress)
    except (RPCError, WorkflowQueryFailedError):  # no workflow task completed yet
        return None
    return progress if progress.status == status else None


# --- Continue-as-new and history size ---------------------------------------------------------------------------------


async def test_continue_as_new_carries_only_tracks_and_cursors(engine_on_dev_server, temporal_client, settings, db):
    template = await make_template(db)
    lead_ids = await make_leads(db, 200)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    handle = await start(temporal_client, settings, run, batch_size=25)
    progress = await handle.result()

    assert progress.steps[0].sent == 200 and progress.sent == 200  # counts survive continue-as-new
    assert set((await sink_recipients(db, run.run_id)).values()) == {1}
    first_run_id = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
    first = await temporal_client.get_workflow_handle(run.workflow_id, run_id=first_run_id).fetch_history()
    last = first.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    payloads = last.workflow_execution_continued_as_new_event_attributes.input
    carried = decode(payloads, CampaignRunInput)
    raw = b"".join(p.data for p in payloads.payloads)
    assert carried.flow_state is not None and carried.state is None
    assert [t.position for t in carried.flow_state.tracks] == [[0]] and carried.flow_state.tracks[0].cursor > 0
    assert len(raw) < 2000 and b"@" not in raw and b"template_id" not in raw


async def test_a_thousand_lead_single_step_run_keeps_a_small_history(time_env, settings, db, tenant):
    template = await make_template(db)
    lead_ids = await make_leads(db, 1000)
    run = await make_flow_run(db, {"steps": [send("hello", template)]}, lead_ids)
    async with engine_worker(time_env.client, settings, db):
        handle = await start(time_env.client, settings, run, batch_size=500)
        progress = await handle.result()

    assert progress.steps[0].sent == 1000
    events = await history_events(handle)
    assert len(scheduled(events, "send_step_batch")) == 2  # two pages of 500
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED  # one execution
    assert len(events) < 40, len(events)


# --- Legacy campaigns, dry run ----------------------------------------------------------------------------------------


async def test_a_campaign_without_a_flow_still_runs_the_single_step_engine(
    engine_on_dev_server, temporal_client, settings, db
):
    from tests.factories import make_campaign

    lead_ids = await make_leads(db, 30)
    campaign_id = await make_campaign(db, lead_ids)
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent,"
                    " failed, skipped) SELECT workspace_id, id, 1, :w, 'running', 30, 0, 0, 0 FROM campaigns"
                    " WHERE id = :c RETURNING id"
                ),
                {"c": campaign_id, "w": f"legacy-{uuid.uuid4().hex[:8]}"},
            )
        ).scalar_one()
        await session.commit()
    run = FlowRun(campaign_id, run_id, f"legacy-run-{run_id}-{uuid.uuid4().hex[:8]}")
    handle = await start(temporal_client, settings, run, batch_size=10)
    progress = await handle.result()
    assert (progress.sent, progress.steps) == (30, [])
    assert scheduled(await history_events(handle), "send_step_batch") == []


async def test_dry_run_reports_reach_and_skip_reasons_without_sending(
    engine_on_dev_server, temporal_client, settings, db
):
    email, sms, later = await make_template(db), await make_template(db, channel="sms"), await make_template(db)
    ok = await make_leads(db, 4, prefix="ok")
    denied = await make_leads(
        db, 2, prefix="denied", consent_email="denied", phone="+15550001000", consent_sms="granted"
    )
    missing = await set_fields(db, await make_leads(db, 1, prefix="none"), email=None)
    flow = {
        "steps": [
            send("hello", email, fallback={"channel": "sms", "template_id": sms}),
            {
                "id": "check",
                "type": "branch",
                "condition": {"kind": "engagement", "step_id": "hello", "event": "opened"},
                "yes": [send("later", later)],
                "no": [],
            },
        ]
    }
    run = await make_flow_run(db, flow, ok + denied + missing, status="draft")
    result = await temporal_client.execute_workflow(
        CampaignDryRunWorkflow.run,
        DryRunInput(campaign_id=run.campaign_id),
        id=f"campaign-{run.campaign_id}-dry-run-{uuid.uuid4()}",
        task_queue=settings.temporal_task_queue,
        result_type=DryRunResult,
    )
    assert result.audience == 7
    hello, later_step = result.steps
    assert (hello.step_id, hello.exact, hello.reach, hello.sendable, hello.fallback_sendable) == (
        "hello",
        True,
        7,
        4,
        2,
    )
    assert hello.skipped == {"no_consent": 2, "invalid_address": 1}
    assert (later_step.step_id, later_step.exact, later_step.reach) == ("later", False, 7)
    assert await deliveries(db, run.run_id) == []


# --- Tracking ---------------------------------------------------------------------------------------------------------

OFFER = "https://shop.example/offer?a=1&b=2"


async def make_linked_template(db) -> int:
    """An email template with a tracked link, a mailto link and the unsubscribe link, in both parts."""
    html = (
        '<p>Hi {{ lead.first_name }}, <a href="https://shop.example/offer?a=1&amp;b=2">the offer</a>, '
        '<a href="mailto:help@shop.example">help</a>.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    )
    text_part = f"Offer: {OFFER}\nStop: {{{{ unsubscribe_url }}}}"
    async with db() as session:
        workspace_id = (await session.execute(text("SELECT min(id) FROM workspaces"))).scalar_one()
        template = Template(
            workspace_id=workspace_id,
            name=f"tpl-{uuid.uuid4().hex[:8]}",
            subject="Hi",
            body_html=html,
            body_text=text_part,
        )
        session.add(template)
        await session.flush()
        session.add(
            TemplateVersion(
                workspace_id=workspace_id,
                template_id=template.id,
                number=1,
                subject="Hi",
                body_html=html,
                body_text=text_part,
            )
        )
        await session.commit()
        return template.id


async def sent_parts(db, run_id: int) -> dict[int, tuple[str, str]]:
    """Per delivery id, the (HTML, text) of the email the sink received for it."""
    found = await rows(
        db,
        "SELECT d.id, o.body_html, o.body_text FROM deliveries d JOIN leads l ON l.id = d.lead_id "
        "JOIN outbox_messages o ON o.rcpt_to ? l.email AND o.message_id LIKE :p WHERE d.run_id = :r",
        r=run_id,
        p=f"<herald-r{run_id}-%",
    )
    return {row.id: (row.body_html, row.body_text) for row in found}


async def test_sent_email_carries_its_own_tracked_links_and_pixel_unless_tracking_is_off(
    engine_on_dev_server, temporal_client, settings, db
):
    template = await make_linked_template(db)
    utm = {"source": "herald", "medium": "email", "campaign": "nov"}
    settings_by_run = {
        "tracked": None,  # the default: opens and clicks
        "off": {"opens": False, "clicks": False, "utm": None},
        "utm only": {"opens": True, "clicks": False, "utm": utm},
    }
    runs = {}
    for name, tracking in settings_by_run.items():
        run = await make_flow_run(db, {"steps": [send("hello", template)]}, await make_leads(db, 2, prefix=name[:3]))
        if tracking is not None:
            async with db() as session:
                await session.execute(
                    text("UPDATE campaigns SET tracking = CAST(:t AS jsonb) WHERE id = :c"),
                    {"t": json.dumps(tracking), "c": run.campaign_id},
                )
                await session.commit()
        runs[name] = run
    handles = [await start(temporal_client, settings, run) for run in runs.values()]
    for handle in handles:
        assert (await handle.result()).sent == 2

    tracked = await sent_parts(db, runs["tracked"].run_id)
    assert len(tracked) == 2
    for delivery_id, (html, plain) in tracked.items():
        link = click_url(settings, delivery_id, OFFER)
        assert f'href="{link}"' in html and f"Offer: {link}" in plain.splitlines()
        assert f'src="{open_pixel_url(settings, delivery_id)}"' in html
        assert html.count("/public/t/") == 2 and plain.count("/public/t/") == 1  # its own delivery's, nobody else's
        assert 'href="mailto:help@shop.example"' in html and "/public/unsubscribe/" in html

    off = await sent_parts(db, runs["off"].run_id)
    assert len(off) == 2
    for html, plain in off.values():
        assert "/public/t/" not in html + plain
        assert 'href="https://shop.example/offer?a=1&amp;b=2"' in html and f"Offer: {OFFER}" in plain.splitlines()

    with_utm = add_utm(OFFER, "herald", "email", "nov")
    only_utm = await sent_parts(db, runs["utm only"].run_id)
    assert len(only_utm) == 2
    for delivery_id, (html, plain) in only_utm.items():
        assert "/public/t/c/" not in html + plain and f'src="{open_pixel_url(settings, delivery_id)}"' in html
        assert f'href="{with_utm.replace("&", "&amp;")}"' in html and f"Offer: {with_utm}" in plain.splitlines()


@pytest.fixture
async def engine_on_dev_server(temporal_client, settings, db, tenant) -> AsyncIterator[None]:
    async with engine_worker(temporal_client, settings, db):
        yield
