"""Scheduled triggers (#10): the Temporal Schedules of `date_field` and `recurring_schedule` triggers follow the
automation (publish, pause, resume, a new version, delete), and AutomationTriggerWorkflow enters the due leads once:
a date trigger per lead's local day and time, a recurring one its filter's audience, page by page, continuing as new.
Real PostgreSQL, Temporal's dev server, real workers. With HERALD_RECORD_HISTORIES=1, the histories replayed by
tests/test_replay.py are written to tests/histories.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from temporalio.client import Client, ScheduleOverlapPolicy, ScheduleRange, WorkflowExecutionStatus, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, Worker

from activities.automation_trigger_activities import (
    AutomationTriggerActivities,
    _candidate_month_days,
    _due,
)
from models.leads import CustomFieldDefinition
from models.payloads.automation import AutomationGraph
from models.payloads.automation_trigger import AutomationTriggerInput, AutomationTriggerResult
from tests.factories import make_leads
from tests.helpers import eventually
from tests.test_automations_api import URL, create, no_schedules_left, publish  # noqa: F401  (fixture)
from workflows.automation_trigger import AutomationTriggerWorkflow

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("HERALD_RECORD_HISTORIES") == "1"
STATUS_NEW = {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "new"}]}


def tag(node_id: str = "tag", value: str = "reached") -> dict[str, Any]:
    return {"id": node_id, "type": "add_tag", "config": {"tag": value}}


def date_node(node_id: str = "renew", **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "date_field", "config": {"field": "renewal", **config}}


def recurring_node(node_id: str = "weekly", **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "recurring_schedule", "config": config}


def graph_of(triggers: list[dict[str, Any]], reentry: str = "once_ever") -> dict[str, Any]:
    """Every trigger leads to one add_tag."""
    return {
        "nodes": [*triggers, tag()],
        "edges": [{"source": t["id"], "outcome": "next", "target": "tag"} for t in triggers],
        "reentry": reentry,
    }


async def renewal_field(db, workspace_id: int) -> None:
    async with db() as session:
        session.add(CustomFieldDefinition(workspace_id=workspace_id, key="renewal", label="Renewal", type="date"))
        await session.commit()


async def lead(db, **overrides: Any) -> int:
    [found] = await make_leads(db, 1, prefix=f"s{uuid.uuid4().hex[:8]}", **overrides)
    return found


async def journeys(db, automation_id: int) -> dict[int, list[str]]:
    """lead id -> the trigger event ids of its journeys in the automation."""
    async with db() as session:
        rows = await session.execute(
            text("SELECT lead_id, trigger_event_id FROM journeys WHERE automation_id = :a ORDER BY id"),
            {"a": automation_id},
        )
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(row.lead_id, []).append(row.trigger_event_id)
        return found


async def run_trigger(
    client: Client,
    task_queue: str,
    workspace_id: int,
    automation_id: int,
    node_id: str,
    at: datetime,
    name: str,
    *,
    record: bool = True,
) -> AutomationTriggerResult:
    workflow_id = f"automation-{automation_id}-trigger-{node_id}-{name}"
    result = await client.execute_workflow(
        AutomationTriggerWorkflow.run,
        AutomationTriggerInput(workspace_id=workspace_id, automation_id=automation_id, node_id=node_id, at=at),
        id=workflow_id,
        task_queue=task_queue,
        result_type=AutomationTriggerResult,
    )
    if RECORD and record:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"AutomationTriggerWorkflow-{name}.json").write_text(history.to_json())
    return result


def counts(result: AutomationTriggerResult) -> tuple[int, int, int, int]:
    """(examined, due, started, duplicate)"""
    c = result.counts
    return c.examined, c.due, c.started, c.duplicate


async def gone(client: Client, schedule_id: str) -> bool:
    try:
        await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        return exc.status == RPCStatusCode.NOT_FOUND
    return False


# --- The Schedules follow the automation ------------------------------------------------------------------------------


async def test_the_schedules_follow_publish_pause_resume_a_new_version_and_delete(api, db, tenant, temporal_client):
    await renewal_field(db, tenant.workspace_id)
    async with db() as session:
        await session.execute(
            text("UPDATE workspaces SET timezone = 'Europe/Paris' WHERE id = :w"), {"w": tenant.workspace_id}
        )
        await session.commit()
    graph = graph_of(
        [
            date_node(time="09:10"),
            recurring_node(frequency="weekly", weekday=0, time="08:30", filter=STATUS_NEW),
        ]
    )
    created = await create(api, "Renewals", graph)
    automation_id = created["id"]
    date_id, recurring_id = f"automation-{automation_id}-trigger-renew", f"automation-{automation_id}-trigger-weekly"
    assert await gone(temporal_client, date_id)  # a draft runs nothing
    await publish(api, automation_id)

    date_schedule = (await temporal_client.get_schedule_handle(date_id).describe()).schedule
    [interval] = date_schedule.spec.intervals
    assert (interval.every, interval.offset) == (timedelta(minutes=15), timedelta(minutes=10))  # :10, :25, :40, :55
    recurring = (await temporal_client.get_schedule_handle(recurring_id).describe()).schedule
    [calendar] = recurring.spec.calendars
    assert recurring.spec.time_zone_name == "Europe/Paris"
    assert list(calendar.day_of_week) == [ScheduleRange(1)]  # Monday: Temporal counts from Sunday = 0
    assert (list(calendar.hour), list(calendar.minute)) == ([ScheduleRange(8)], [ScheduleRange(30)])
    for schedule, schedule_id, node in ((date_schedule, date_id, "renew"), (recurring, recurring_id, "weekly")):
        assert schedule.action.workflow == "AutomationTriggerWorkflow" and schedule.action.id == schedule_id
        [arg] = schedule.action.args
        assert json.loads(arg.data) == {
            "workspace_id": tenant.workspace_id,
            "automation_id": automation_id,
            "node_id": node,
            "at": None,
            "after_lead_id": 0,
            "counts": {"examined": 0, "due": 0, "started": 0, "signalled": 0, "refused": 0, "duplicate": 0},
        }
        assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP and not schedule.state.paused

    async def paused() -> list[bool]:
        return [
            (await temporal_client.get_schedule_handle(sid).describe()).schedule.state.paused
            for sid in (date_id, recurring_id)
        ]

    assert (await api.post(f"{URL}/{automation_id}/pause")).status_code == 200
    assert await paused() == [True, True]
    assert (await api.post(f"{URL}/{automation_id}/resume")).status_code == 200
    assert await paused() == [False, False]

    # Version 2 drops the date trigger and moves the recurring one: the first Schedule goes, the second changes.
    graph = graph_of([recurring_node(frequency="monthly", day_of_month=3, time="07:00", filter=STATUS_NEW)])
    await api.patch(f"{URL}/{automation_id}", json={"graph": graph})
    await publish(api, automation_id)
    assert await gone(temporal_client, date_id)
    [calendar] = (await temporal_client.get_schedule_handle(recurring_id).describe()).schedule.spec.calendars
    assert list(calendar.day_of_month) == [ScheduleRange(3)] and list(calendar.hour) == [ScheduleRange(7)]
    assert list(calendar.day_of_week) == [ScheduleRange(0, 6)]  # any weekday

    # A paused automation deleted: its Schedules go too.
    await api.post(f"{URL}/{automation_id}/pause")
    assert (await api.delete(f"{URL}/{automation_id}")).status_code == 204
    assert await gone(temporal_client, recurring_id)


async def test_a_new_workspace_timezone_moves_the_recurring_schedules(api, db, tenant, temporal_client, monkeypatch):
    """Both automations' recurring Schedules follow the workspace's new timezone, the paused one staying paused;
    Temporal refusing leaves the timezone and the Schedules as they were; other settings need no Temporal."""
    async with db() as session:
        await session.execute(
            text("UPDATE workspaces SET timezone = 'Europe/Paris' WHERE id = :w"), {"w": tenant.workspace_id}
        )
        await session.commit()
    weekly = graph_of([recurring_node(frequency="weekly", weekday=0, time="08:30", filter=STATUS_NEW)])
    running = (await create(api, f"Weekly {uuid.uuid4().hex[:6]}", weekly))["id"]
    resting = (await create(api, f"Weekly {uuid.uuid4().hex[:6]}", weekly))["id"]
    for automation_id in (running, resting):
        await publish(api, automation_id)
    assert (await api.post(f"{URL}/{resting}/pause")).status_code == 200
    schedule_ids = [f"automation-{automation_id}-trigger-weekly" for automation_id in (running, resting)]

    async def schedules() -> list[tuple[str, bool, int, int]]:
        found = []
        for schedule_id in schedule_ids:
            schedule = (await temporal_client.get_schedule_handle(schedule_id).describe()).schedule
            [calendar] = schedule.spec.calendars
            hour, minute = calendar.hour[0].start, calendar.minute[0].start
            found.append((schedule.spec.time_zone_name, schedule.state.paused, hour, minute))
        return found

    assert await schedules() == [("Europe/Paris", False, 8, 30), ("Europe/Paris", True, 8, 30)]

    async def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("Temporal says no")

    monkeypatch.setattr("api.routes.workspaces.move_trigger_schedules", refuse)
    refused = await api.patch("/api/workspaces/current", json={"timezone": "America/New_York"})
    assert refused.status_code == 503 and refused.json()["code"] == "unavailable"
    async with db() as session:
        kept = await session.execute(text("SELECT timezone FROM workspaces WHERE id = :w"), {"w": tenant.workspace_id})
        assert kept.scalar_one() == "Europe/Paris"
    renamed = await api.patch("/api/workspaces/current", json={"name": "Acme renamed"})  # no Schedule to move
    assert renamed.status_code == 200
    monkeypatch.undo()

    moved = await api.patch("/api/workspaces/current", json={"timezone": "America/New_York"})
    assert moved.status_code == 200 and moved.json()["timezone"] == "America/New_York"
    assert await schedules() == [("America/New_York", False, 8, 30), ("America/New_York", True, 8, 30)]


# --- The trigger workflow ---------------------------------------------------------------------------------------------


async def test_a_date_trigger_enters_each_due_lead_once_on_its_local_day(
    api, db, tenant, worker, temporal_client, settings
):
    await renewal_field(db, tenant.workspace_id)
    # The run at 20:00 UTC on 15 June 2031: 20:00 in UTC, 10:00 the next day in Kiritimati (UTC+14), 05:00 the next
    # day in Tokyo. The trigger fires at 09:00 local on the renewal date, for leads not lost.
    at = datetime(2031, 6, 15, 20, 0, tzinfo=UTC)
    utc = await lead(db, custom_fields={"renewal": "2031-06-15"}, timezone="UTC")
    kiritimati = await lead(db, custom_fields={"renewal": "2031-06-16"}, timezone="Pacific/Kiritimati")
    tokyo = await lead(db, custom_fields={"renewal": "2031-06-16"}, timezone="Asia/Tokyo")
    await lead(db, custom_fields={"renewal": "2031-07-01"}, timezone="UTC")  # another day
    await lead(db, custom_fields={"renewal": "2031-06-15"}, timezone="UTC", status="lost")  # filtered out
    await lead(db)  # no date
    not_lost = {"combinator": "and", "rules": [{"field": "status", "operator": "!=", "value": "lost"}]}
    graph = graph_of([date_node(time="09:00", filter=not_lost)], reentry="every_time")
    automation_id = (await create(api, "Renewal day", graph))["id"]
    await publish(api, automation_id)
    queue = settings.temporal_task_queue

    first = await run_trigger(temporal_client, queue, tenant.workspace_id, automation_id, "renew", at, "date-due")
    assert (first.version, first.skipped, first.at) == (1, None, at)
    assert counts(first) == (3, 2, 2, 0)  # Tokyo's 09:00 has not come yet

    async def entered() -> dict[int, list[str]]:
        found = await journeys(db, automation_id)
        return found if len(found) == 2 else {}

    assert await eventually(entered) == {
        utc: ["date:renew:2031-06-15"],
        kiritimati: ["date:renew:2031-06-16"],
    }

    # The next run the same day enters nobody again, even though "every time" would let the leads in.
    again = await run_trigger(
        temporal_client, queue, tenant.workspace_id, automation_id, "renew", at, "again", record=False
    )
    assert counts(again) == (3, 2, 0, 2)

    # Five hours later: Tokyo's 09:00 has come, the UTC lead's day is over, Kiritimati's was entered already.
    later = at + timedelta(hours=5)
    third = await run_trigger(
        temporal_client, queue, tenant.workspace_id, automation_id, "renew", later, "later", record=False
    )
    assert counts(third) == (3, 2, 1, 1)

    async def all_entered() -> dict[int, list[str]]:
        found = await journeys(db, automation_id)
        return found if len(found) == 3 else {}

    assert (await eventually(all_entered))[tokyo] == ["date:renew:2031-06-16"]

    async def tagged() -> list[int]:
        async with db() as session:
            rows = await session.execute(text("SELECT id FROM leads WHERE 'reached' = ANY(tags) ORDER BY id"))
            found = list(rows.scalars())
        return found if len(found) == 3 else []

    assert await eventually(tagged) == sorted([utc, kiritimati, tokyo])

    # Paused: the Schedule is paused, and a run started all the same enters nobody.
    await api.post(f"{URL}/{automation_id}/pause")
    paused = await run_trigger(temporal_client, queue, tenant.workspace_id, automation_id, "renew", later, "paused")
    assert (paused.skipped, counts(paused)) == ("not_active", (0, 0, 0, 0))


async def test_a_recurring_trigger_enters_its_audience_when_its_schedule_fires(
    api, db, tenant, worker, temporal_client
):
    async with db() as session:
        await session.execute(
            text("UPDATE workspaces SET timezone = 'America/New_York' WHERE id = :w"), {"w": tenant.workspace_id}
        )
        await session.commit()
    audience = [await lead(db, status="new") for _ in range(3)]
    for status in ("qualified", "won"):
        await lead(db, status=status)
    graph = graph_of([recurring_node("daily", frequency="daily", time="07:00", filter=STATUS_NEW)])
    automation_id = (await create(api, "Daily", graph))["id"]
    await publish(api, automation_id)
    schedule = temporal_client.get_schedule_handle(f"automation-{automation_id}-trigger-daily")
    await schedule.trigger()

    async def started() -> Any:
        actions = (await schedule.describe()).info.recent_actions
        return actions[0] if actions else None

    action = await eventually(started)
    handle = temporal_client.get_workflow_handle(action.action.workflow_id, result_type=AutomationTriggerResult)
    result = await handle.result()
    if RECORD:
        (HISTORIES / "AutomationTriggerWorkflow-scheduled.json").write_text((await handle.fetch_history()).to_json())
    assert result.at == action.scheduled_at.replace(microsecond=0)  # the Schedule's time (to the second)
    day = result.at.astimezone(ZoneInfo("America/New_York")).date()
    assert counts(result) == (3, 3, 3, 0)

    async def entered() -> dict[int, list[str]]:
        found = await journeys(db, automation_id)
        return found if len(found) == 3 else {}

    assert await eventually(entered) == {lead_id: [f"recurring:daily:{day.isoformat()}"] for lead_id in audience}


async def test_a_long_run_pages_through_the_leads_and_continues_as_new(
    api, db, tenant, worker, temporal_client, settings
):
    """Pages of two leads on a worker of its own: the dev server suggests continue-as-new after 40 events."""
    audience = [await lead(db, status="new") for _ in range(15)]
    graph = graph_of([recurring_node("daily", frequency="daily", time="07:00", filter=STATUS_NEW)])
    automation_id = (await create(api, "Paged", graph))["id"]
    await publish(api, automation_id)
    queue = f"triggers-{uuid.uuid4().hex[:8]}"
    activities = AutomationTriggerActivities(
        db, temporal_client, settings.temporal_task_queue, batch_size=2
    )  # the journeys run on the main worker's queue
    at = datetime(2031, 1, 6, 12, 0, tzinfo=UTC)
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[AutomationTriggerWorkflow],
        activities=[activities.enter_scheduled_leads],
    ):
        result = await run_trigger(temporal_client, queue, tenant.workspace_id, automation_id, "daily", at, "paged")
    assert counts(result) == (15, 15, 15, 0)
    handle = temporal_client.get_workflow_handle(f"automation-{automation_id}-trigger-daily-paged")
    description = await handle.describe()
    first_run_id = description.raw_description.workflow_execution_info.first_run_id
    assert first_run_id != description.run_id  # it continued as new
    first = await temporal_client.get_workflow_handle(handle.id, run_id=first_run_id).describe()
    assert first.status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    if RECORD:
        history = await temporal_client.get_workflow_handle(handle.id, run_id=first_run_id).fetch_history()
        (HISTORIES / "AutomationTriggerWorkflow-continued-as-new.json").write_text(history.to_json())

    async def entered() -> set[int]:
        found = set(await journeys(db, automation_id))
        return found if len(found) == 15 else set()

    assert await eventually(entered) == set(audience)


# --- Pure parts and replay --------------------------------------------------------------------------------------------


def test_leap_day_anniversaries_fall_on_the_28th_in_common_years():
    at = datetime(2031, 2, 28, 12, 0, tzinfo=UTC)
    assert "02-29" in _candidate_month_days(at, 0)
    assert "02-29" not in _candidate_month_days(datetime(2032, 2, 27, 12, 0, tzinfo=UTC), 0)  # 2032 has its own
    graph = AutomationGraph.model_validate(graph_of([date_node(time="09:00", every_year=True)]))
    node = graph.nodes[0]

    class Row:
        def __init__(self, id: int, value: str | None, timezone: str = "UTC") -> None:
            self.id, self.value, self.timezone = id, value, timezone

    page = [Row(1, "2000-02-29"), Row(2, "1990-02-28"), Row(3, "1990-03-01"), Row(4, "not a date"), Row(5, None)]
    assert _due(node, page, at, "UTC") == {1: "date:renew:2031-02-28", 2: "date:renew:2031-02-28"}
    # Before 09:00 local nobody is due yet; a lead with an unknown zone lives in the workspace's.
    assert _due(node, page, at.replace(hour=8), "UTC") == {}
    evening = at.replace(hour=20)  # in Tokyo, 05:00 on 1 March: the 28th is over there
    assert _due(node, [Row(1, "2000-02-29", "Nowhere/Unknown")], evening, "Asia/Tokyo") == {}
    assert _due(node, [Row(1, "2000-02-29", "UTC")], evening, "Asia/Tokyo") == {1: "date:renew:2031-02-28"}


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("AutomationTriggerWorkflow-*.json")), ids=lambda path: path.stem)
async def test_saved_histories_replay(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[AutomationTriggerWorkflow], data_converter=pydantic_data_converter)
    assert (await replayer.replay_workflow(history)).replay_failure is None
