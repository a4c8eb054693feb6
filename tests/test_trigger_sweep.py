"""The trigger outbox and its sweep (#10, docs/automations.md "Trigger intake"): every committed timeline row that
may start journeys is noted in `lead_event_outbox` in its own transaction, deleted once dispatched, and
TriggerSweepWorkflow dispatches what a dead process or an unreachable Temporal left there, once. Real PostgreSQL, the
Temporal dev server and the main queue's worker; automations published as tests/test_trigger_intake.py does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy

from api.automation_monitoring import ERROR_STEP
from api.journey_dispatch import JourneyIntake
from core.db import alembic_config, create_engine, drop_database, ensure_database, session_factory
from core.journey_intake import TIMELINE_TYPES, EventDispatch, dispatched_rows, lead_event_row, may_trigger
from core.schedules import TRIGGER_SWEEP_SCHEDULE, ensure_schedules
from core.workflow_ids import journey_entry_workflow_id, journey_workflow_id
from models.leads import Lead, LeadEvent
from models.payloads.automation import JourneyEvent
from models.payloads.trigger_sweep import TriggerSweepInput, TriggerSweepResult
from models.workspaces import Workspace
from tests.factories import make_leads
from tests.test_imports import run_import, simple_csv, upload
from tests.test_journeys import make_automation, node
from tests.test_trigger_intake import Spy, ended_journeys, has_tag, journeys, never_started, rows, tagging

HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture(autouse=True)
async def empty_outbox(db) -> None:
    """Rows of earlier tests' leads (truncated, no foreign key) are not this test's business."""
    async with db() as session:
        await session.execute(text("DELETE FROM lead_event_outbox"))
        await session.execute(text("DELETE FROM tracking_outbox"))
        await session.commit()


async def sweep(client: Client, settings, **options: Any) -> TriggerSweepResult:
    return await client.execute_workflow(
        "TriggerSweepWorkflow",
        TriggerSweepInput(**options),
        id=f"trigger-sweep-test-{uuid.uuid4().hex[:8]}",
        task_queue=settings.temporal_task_queue,
        result_type=TriggerSweepResult,
    )


async def pending(db, lead_id: int) -> list[str]:
    """The types of the lead's timeline rows still in the outbox, in id order."""
    found = await rows(
        db,
        "SELECT e.type FROM lead_event_outbox o JOIN lead_events e ON e.id = o.lead_event_id "
        "WHERE e.lead_id = :l ORDER BY o.lead_event_id",
        l=lead_id,
    )
    return [row.type for row in found]


async def timeline_row(db, lead_id: int, type_: str) -> int:
    (row,) = await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l AND type = :t", l=lead_id, t=type_)
    return row.id


# --- What is pending --------------------------------------------------------------------------------------------------


SAMPLES: list[tuple[str, dict[str, Any]]] = [
    *((type_, {"tags": ["a"], "list_id": 1, "from": "new", "to": "won"}) for type_ in sorted(TIMELINE_TYPES)),
    ("field_changed", {"field": "custom_fields", "from": {}, "to": {"plan": "pro"}}),
    ("field_changed", {"field": "company", "from": "a", "to": "b"}),
    ("field_changed", {"field": 7}),
    ("untagged", {"tags": ["a"]}),
    ("removed_from_list", {"list_id": 1}),
    ("external_event", {"name": "paid"}),
    ("updated_by_import", {"import_id": 1}),
    ("unsubscribed", {}),
    ("bounced", {}),
    ("note", {}),
]


async def test_the_outbox_holds_exactly_the_rows_that_may_trigger_whatever_the_statement(db, tenant):
    (lead_id,) = await make_leads(db, 1, prefix=f"ob{uuid.uuid4().hex[:4]}")
    values = [{"type": type_, "data": json.dumps(data)} for type_, data in SAMPLES]
    async with db() as session:
        # One statement of many rows (as an import writes them)...
        await session.execute(
            text(
                "INSERT INTO lead_events (workspace_id, lead_id, type, data, actor) "
                "SELECT :w, :l, v->>'type', (v->>'data')::jsonb, 'test' FROM jsonb_array_elements(CAST(:v AS jsonb)) v"
            ),
            {"w": tenant.workspace_id, "l": lead_id, "v": json.dumps(values)},
        )
        # ...two inserts into lead_events in one statement (the import's status and update rows)...
        await session.execute(
            text(
                "WITH a AS (INSERT INTO lead_events (workspace_id, lead_id, type, data, actor) "
                'VALUES (:w, :l, \'status_changed\', \'{"from": "new", "to": "lost"}\', \'cte\')), '
                "b AS (INSERT INTO lead_events (workspace_id, lead_id, type, data, actor) "
                "VALUES (:w, :l, 'updated_by_import', '{}', 'cte')) SELECT 1"
            ),
            {"w": tenant.workspace_id, "l": lead_id},
        )
        # ...and the ORM's insert (the API's record_event).
        session.add(LeadEvent(workspace_id=tenant.workspace_id, lead_id=lead_id, type="tagged", data={"tags": ["b"]}))
        await session.commit()
    written = await rows(db, "SELECT id, type, data FROM lead_events WHERE lead_id = :l ORDER BY id", l=lead_id)
    noted = await rows(
        db,
        "SELECT o.lead_event_id, o.workspace_id FROM lead_event_outbox o JOIN lead_events e ON e.id = o.lead_event_id "
        "WHERE e.lead_id = :l ORDER BY o.lead_event_id",
        l=lead_id,
    )
    assert [row.lead_event_id for row in noted] == [row.id for row in written if may_trigger(row.type, row.data)]
    assert {row.workspace_id for row in noted} == {tenant.workspace_id}
    assert len(noted) == len(TIMELINE_TYPES) + 3  # + the custom field, the CTE's status change, the ORM's tag


async def test_a_rolled_back_timeline_row_leaves_nothing_pending(db, tenant):
    (lead_id,) = await make_leads(db, 1, prefix=f"rbk{uuid.uuid4().hex[:4]}")
    async with db() as session:
        session.add(LeadEvent(workspace_id=tenant.workspace_id, lead_id=lead_id, type="status_changed", data={}))
        await session.flush()
        await session.rollback()
    assert await rows(db, "SELECT * FROM lead_event_outbox") == []


def test_dispatched_rows_are_those_whose_every_event_went_through():
    assert lead_event_row("lead-event:42") == 42
    assert lead_event_row("lead-event:42:plan") == 42
    assert lead_event_row("external:42") is None and lead_event_row("lead-event:x") is None

    def outcome(event_id: str, error: str | None = None) -> EventDispatch:
        return EventDispatch(JourneyEvent(kind="lead_created", event_id=event_id, lead_id=1), (), error)

    outcomes = [
        outcome("lead-event:1"),
        outcome("lead-event:2:plan"),
        outcome("lead-event:2:size", "RuntimeError: down"),  # one of the row's events failed: the row is not done
        outcome("external:9"),
        outcome("lead-event:3"),
    ]
    assert dispatched_rows(outcomes) == [1, 3]
    assert dispatched_rows(outcomes, [1, 2, 3, 4]) == [1, 3, 4]  # row 4 made no event: nothing to wait for


# --- The normal paths mark their rows ---------------------------------------------------------------------------------


async def test_normal_api_changes_leave_no_pending_row_and_other_types_are_never_pending(app, api, worker, db):
    (quiet,) = await make_leads(db, 1, prefix=f"nq{uuid.uuid4().hex[:4]}")
    # A workspace without automations: dispatched (no Temporal call) and marked all the same.
    assert (await api.patch(f"/api/leads/{quiet}", json={"status": "qualified", "tags": ["x"]})).status_code == 200
    assert await pending(db, quiet) == []
    automation_id = await make_automation(
        db, tagging(node("qualified", "lead_status_changed", to_status="qualified"), "welcomed")
    )
    (lead_id,) = await make_leads(db, 1, prefix=f"np{uuid.uuid4().hex[:4]}")
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "qualified"})).status_code == 200
    await ended_journeys(db, automation_id)
    await has_tag(db, lead_id, "welcomed")
    # The API's row and the journey's own (its tag, dispatched by change_lead) are both out of the outbox.
    assert await pending(db, lead_id) == []
    assert len(await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l AND type = 'tagged'", l=lead_id)) == 1
    # A change no trigger looks at is never pending, even when nothing dispatches it.
    untouched = await api.patch(f"/api/leads/{lead_id}", json={"company": "Acme", "tags": []})
    assert untouched.status_code == 200
    types = [row.type for row in await rows(db, "SELECT type FROM lead_events WHERE lead_id = :l", l=lead_id)]
    assert {"field_changed", "untagged"} <= set(types)
    assert await rows(db, "SELECT * FROM lead_event_outbox") == []


async def test_imported_rows_are_marked_once_their_chunk_is_dispatched(app, api, worker, db):
    suffix = uuid.uuid4().hex[:6]
    content = simple_csv(["email,first_name", f"a{suffix}@example.com,Ann", f"b{suffix}@example.com,Bob"])
    preview = (await upload(api, "people.csv", content)).json()
    await run_import(api, preview["id"], {"mapping": ["email", "first_name"], "options": {"dedupe_key": "email"}})
    created = await rows(db, "SELECT id FROM lead_events WHERE type = 'created' AND data->>'source' = 'import'")
    assert len(created) == 2
    assert await rows(db, "SELECT * FROM lead_event_outbox") == []


# --- The sweep --------------------------------------------------------------------------------------------------------


async def test_a_change_whose_dispatch_failed_is_swept_into_its_journey_exactly_once(
    app, api, worker, db, settings, temporal_client, monkeypatch
):
    automation_id = await make_automation(
        db, tagging(node("qualified", "lead_status_changed", to_status="qualified"), "welcomed", "every_time")
    )
    down, dead = await make_leads(db, 2, prefix=f"sw{uuid.uuid4().hex[:4]}")
    spy = Spy()  # Temporal unreachable from the API
    monkeypatch.setattr(app.state.temporal, "get", spy.get)
    assert (await api.patch(f"/api/leads/{down}", json={"status": "qualified"})).status_code == 200
    assert spy.calls == 1
    monkeypatch.undo()

    async def died(self, items) -> None:  # the process died between the commit and the dispatch
        return None

    monkeypatch.setattr(JourneyIntake, "dispatch_committed", died)
    assert (await api.patch(f"/api/leads/{dead}", json={"status": "qualified"})).status_code == 200
    monkeypatch.undo()
    assert await pending(db, down) == ["status_changed"] and await pending(db, dead) == ["status_changed"]
    assert await journeys(db, automation_id) == []

    first = await sweep(temporal_client, settings, min_age_seconds=0)
    assert (first.scanned, first.dispatched, first.failed, first.expired, first.orphaned) == (2, 2, 0, 0, 0)
    found = await ended_journeys(db, automation_id, count=2)
    assert sorted((j.lead_id, j.status) for j in found) == sorted([(down, "completed"), (dead, "completed")])
    for lead_id in (down, dead):
        row_id = await timeline_row(db, lead_id, "status_changed")
        (journey,) = [j for j in found if j.lead_id == lead_id]
        assert journey.trigger_event_id == f"lead-event:{row_id}"
        assert journey.workflow_id == journey_entry_workflow_id(automation_id, lead_id, f"lead-event:{row_id}")
        await has_tag(db, lead_id, "welcomed")
        assert await pending(db, lead_id) == []  # the journey's own tag was dispatched and marked too

    second = await sweep(temporal_client, settings, min_age_seconds=0)
    assert second.scanned == 0
    # Dispatched again all the same (a sweep racing the normal path): the event id starts nothing twice.
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO lead_event_outbox (lead_event_id, workspace_id, created_at) "
                "SELECT id, workspace_id, now() - interval '1 minute' FROM lead_events "
                "WHERE lead_id = :l AND type = 'status_changed'"
            ),
            {"l": down},
        )
        await session.commit()
    third = await sweep(temporal_client, settings)
    assert (third.scanned, third.dispatched) == (1, 1)
    await asyncio.sleep(1)
    assert len(await journeys(db, automation_id)) == 2


async def test_the_sweep_waits_for_the_normal_path_and_drops_what_is_too_old(
    app, api, worker, db, settings, temporal_client, monkeypatch
):
    automation_id = await make_automation(db, tagging(node("t", "tag_added", tag="vip"), "seen", "every_time"))
    young, settled, stale = await make_leads(db, 3, prefix=f"age{uuid.uuid4().hex[:4]}")
    monkeypatch.setattr(JourneyIntake, "dispatch_committed", lambda self, items: asyncio.sleep(0))
    for lead_id in (young, settled, stale):
        assert (await api.patch(f"/api/leads/{lead_id}", json={"tags": ["vip"]})).status_code == 200
    monkeypatch.undo()
    async with db() as session:
        for lead_id, age in ((settled, timedelta(seconds=45)), (stale, timedelta(days=8))):
            await session.execute(
                text(
                    "UPDATE lead_event_outbox o SET created_at = now() - CAST(:age AS interval) FROM lead_events e "
                    "WHERE e.id = o.lead_event_id AND e.lead_id = :l"
                ),
                {"age": age, "l": lead_id},
            )
        await session.commit()
    result = await sweep(temporal_client, settings)  # the defaults: older than 30 s, newer than 7 days
    assert (result.scanned, result.dispatched, result.expired, result.failed) == (2, 1, 1, 0)
    (journey,) = await ended_journeys(db, automation_id)
    assert journey.lead_id == settled
    assert await pending(db, young) == ["tagged"]  # too young: its own dispatch may still be coming
    assert await pending(db, stale) == []  # dropped without a journey
    row_id = await timeline_row(db, stale, "tagged")
    assert await never_started(temporal_client, journey_entry_workflow_id(automation_id, stale, f"lead-event:{row_id}"))


async def test_rows_whose_dispatch_fails_stay_for_the_next_sweep_and_deleted_leads_rows_go(
    app, api, worker, db, settings, temporal_client, monkeypatch
):
    automation_id = await make_automation(db, tagging(node("t", "lead_status_changed", to_status="won"), "won"))
    lead_id, deleted = await make_leads(db, 2, prefix=f"fl{uuid.uuid4().hex[:4]}")
    monkeypatch.setattr(JourneyIntake, "dispatch_committed", lambda self, items: asyncio.sleep(0))
    for target in (lead_id, deleted):
        assert (await api.patch(f"/api/leads/{target}", json={"status": "lost"})).status_code == 200
    assert (await api.delete(f"/api/leads/{deleted}")).status_code == 204
    monkeypatch.undo()

    async def failing(client, sessions, workspace_id, events, task_queue, **kwargs) -> list[EventDispatch]:
        return [EventDispatch(event, (), "RPCError: unavailable (test)") for event in events]

    monkeypatch.setattr("activities.trigger_sweep_activities.dispatch_events", failing)  # the worker runs here
    failed = await sweep(temporal_client, settings, min_age_seconds=0)
    assert (failed.scanned, failed.dispatched, failed.failed, failed.orphaned) == (2, 0, 1, 1)
    assert await pending(db, lead_id) == ["status_changed"]
    monkeypatch.undo()
    retried = await sweep(temporal_client, settings, min_age_seconds=0)
    assert (retried.scanned, retried.dispatched, retried.failed) == (1, 1, 0)
    assert await pending(db, lead_id) == []
    assert await journeys(db, automation_id) == []  # lost is not won: dispatched, nothing to start


async def test_the_sweep_pages_through_many_rows_of_many_workspaces(
    app, api, worker, db, settings, temporal_client, tenant
):
    automation_id = await make_automation(db, tagging(node("t", "lead_created", sources=["api"]), "hello"))
    other = await make_workspace(db)
    mine = await make_leads(db, 5, prefix=f"pg{uuid.uuid4().hex[:4]}")
    theirs = await make_leads(db, 4, prefix=f"pt{uuid.uuid4().hex[:4]}", workspace_id=other)
    async with db() as session:
        for workspace_id, lead_ids in ((tenant.workspace_id, mine), (other, theirs)):
            for lead_id in lead_ids:
                session.add(
                    LeadEvent(workspace_id=workspace_id, lead_id=lead_id, type="created", data={"source": "api"})
                )
        await session.commit()
    result = await sweep(temporal_client, settings, min_age_seconds=0, batch_size=2)
    assert (result.scanned, result.dispatched, result.failed, result.more) == (9, 9, 0, False)
    found = await ended_journeys(db, automation_id, count=5)
    assert sorted(j.lead_id for j in found) == sorted(mine)  # the other workspace has no automation
    assert await rows(db, "SELECT * FROM lead_event_outbox") == []


async def test_changes_held_back_by_the_loop_guard_are_not_swept(
    app, api, worker, db, settings, temporal_client, monkeypatch
):
    monkeypatch.setattr("activities.journey_activities.MAX_AUTOMATED_CHANGES", 0)  # the worker runs in this process
    first = await make_automation(db, tagging(node("t", "tag_added", tag="a"), "b"))
    second = await make_automation(db, tagging(node("t", "tag_added", tag="b"), "c"))
    (lead_id,) = await make_leads(db, 1, prefix=f"lg{uuid.uuid4().hex[:4]}")
    assert (await api.patch(f"/api/leads/{lead_id}", json={"tags": ["a"]})).status_code == 200
    await ended_journeys(db, first)
    await has_tag(db, lead_id, "b")
    assert await pending(db, lead_id) == []  # the journey's tag: held back, and not left for the sweep
    result = await sweep(temporal_client, settings, min_age_seconds=0)
    assert result.scanned == 0
    assert await journeys(db, second) == []
    assert await never_started(temporal_client, journey_workflow_id(second, lead_id))


# --- Schedule, migration, monitoring index ----------------------------------------------------------------------------


async def test_the_sweep_runs_every_minute_and_never_overlaps(temporal_client, task_queue):
    handle = temporal_client.get_schedule_handle(TRIGGER_SWEEP_SCHEDULE)
    try:
        await handle.delete()  # left by another test's ensure_schedules, on its task queue
    except Exception:
        pass
    await ensure_schedules(temporal_client, task_queue)
    await ensure_schedules(temporal_client, task_queue)  # already there: no error
    described = await handle.describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("TriggerSweepWorkflow", task_queue)
    [interval] = described.schedule.spec.intervals
    assert interval.every.total_seconds() == 60
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    await handle.delete()


async def test_the_migration_leaves_existing_rows_dispatched_and_goes_back_down(database_url):
    url = make_url(database_url).set(database=f"herald_test_{uuid.uuid4().hex[:10]}")
    target = url.render_as_string(hide_password=False)
    config = alembic_config(target)
    await ensure_database(target)
    engine = create_engine(target, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, config, "0014")
        sessions = session_factory(engine)

        async def timeline(type_: str) -> None:
            async with sessions() as session:
                workspace = (await session.execute(text("SELECT id FROM workspaces"))).scalar()
                if workspace is None:
                    session.add(Workspace(name="Old", slug="old"))
                    await session.flush()
                    workspace = (await session.execute(text("SELECT id FROM workspaces"))).scalar_one()
                    session.add(Lead(workspace_id=workspace, email="old@example.com"))
                    await session.flush()
                lead_id = (await session.execute(text("SELECT id FROM leads"))).scalar_one()
                session.add(LeadEvent(workspace_id=workspace, lead_id=lead_id, type=type_, data={"source": "api"}))
                await session.commit()

        async def outbox() -> int | None:
            async with sessions() as session:
                if (await session.execute(text("SELECT to_regclass('lead_event_outbox')"))).scalar() is None:
                    return None
                return (await session.execute(text("SELECT count(*) FROM lead_event_outbox"))).scalar_one()

        await timeline("created")  # before 0015: no outbox yet
        await asyncio.to_thread(command.upgrade, config, "head")
        assert await outbox() == 0  # the existing row is not pending
        await timeline("created")
        assert await outbox() == 1
        await asyncio.to_thread(command.downgrade, config, "0014")
        assert await outbox() is None
        await timeline("created")  # the trigger went with the table
        await asyncio.to_thread(command.upgrade, config, "head")
        assert await outbox() == 0
    finally:
        await engine.dispose()
        await drop_database(target)


async def test_the_error_log_predicate_uses_its_partial_index(db):
    async with db() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await session.execute(
            text(
                f"EXPLAIN SELECT s.id FROM journey_steps s WHERE s.automation_id = :a AND {ERROR_STEP} "
                "ORDER BY s.id DESC LIMIT 51"
            ),
            {"a": 1},
        )
        lines = "\n".join(row[0] for row in plan)
    assert "ix_journey_steps_errors" in lines, lines


# --- Recording (tests/test_replay.py) ---------------------------------------------------------------------------------


async def make_workspace(db) -> int:
    async with db() as session:
        workspace = Workspace(name="Other", slug=f"other-{uuid.uuid4().hex[:6]}")
        session.add(workspace)
        await session.commit()
        return workspace.id


async def record_trigger_sweep_history(api, db, settings, temporal_client: Client) -> None:
    """For tests/test_replay.py (HERALD_RECORD_HISTORIES=1, the API and a worker running): a sweep that dispatches
    a change the API could not."""
    async with db() as session:
        await session.execute(text("DELETE FROM lead_event_outbox"))
        await session.execute(text("DELETE FROM tracking_outbox"))
        await session.commit()
    await make_automation(db, tagging(node("t", "lead_status_changed", to_status="qualified"), "swept"))
    (lead_id,) = await make_leads(db, 1, prefix=f"rec{uuid.uuid4().hex[:4]}")
    app = api._transport.app
    original = app.state.temporal.get
    app.state.temporal.get = Spy().get
    try:
        assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "qualified"})).status_code == 200
    finally:
        app.state.temporal.get = original
    workflow_id = f"trigger-sweep-record-{uuid.uuid4().hex[:6]}"
    result = await temporal_client.execute_workflow(
        "TriggerSweepWorkflow",
        TriggerSweepInput(min_age_seconds=0),
        id=workflow_id,
        task_queue=settings.temporal_task_queue,
        result_type=TriggerSweepResult,
    )
    assert result.dispatched == 1
    history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
    (HISTORIES / "TriggerSweepWorkflow-swept.json").write_text(history.to_json())
