"""The automations API (#10): drafts saved as they are, publication of checked versions (journeys keep theirs),
pause and resume as the dispatcher sees them, deletion refused while journeys run, the workspace's walls, the audit
log, and nothing kept when Temporal refuses a schedule change. Real PostgreSQL, real Temporal (dev server)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.service import RPCError, RPCStatusCode

from core.journey_intake import load_dispatch_targets, load_published
from core.journeys import dispatch, enter
from core.workflow_ids import journey_workflow_id
from domain.automation_graph import MAX_DEFINITION_BYTES
from domain.journey_steps import EntryHistory
from domain.permissions import Role
from models.payloads.automation import JourneyEvent
from tests.conftest import client_for, make_key, make_tenant
from tests.factories import make_leads
from tests.helpers import eventually

URL = "/api/automations"


def waiting_graph(days: int = 1, event: str = "go") -> dict[str, Any]:
    """An external event enters the lead, who waits `days`, then is tagged."""
    return {
        "nodes": [
            {"id": "start", "type": "external_event", "config": {"event": event}},
            {"id": "wait", "type": "wait_duration", "config": {"duration": {"days": days}}},
            {"id": "done", "type": "add_tag", "config": {"tag": "nurtured"}},
        ],
        "edges": [
            {"source": "start", "outcome": "next", "target": "wait"},
            {"source": "wait", "outcome": "next", "target": "done"},
        ],
    }


def recurring_graph() -> dict[str, Any]:
    return {
        "nodes": [
            {
                "id": "weekly",
                "type": "recurring_schedule",
                "config": {
                    "frequency": "weekly",
                    "weekday": 0,
                    "time": "08:30",
                    "filter": {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "new"}]},
                },
            },
            {"id": "tag", "type": "add_tag", "config": {"tag": "weekly"}},
        ],
        "edges": [{"source": "weekly", "outcome": "next", "target": "tag"}],
    }


async def create(api, name: str = "Welcome", graph: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if graph is not None:
        body["graph"] = graph
    response = await api.post(URL, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def publish(api, automation_id: int) -> dict[str, Any]:
    response = await api.post(f"{URL}/{automation_id}/publish")
    assert response.status_code == 200, response.text
    return response.json()


async def audit_actions(db, automation_id: int) -> list[str]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT action FROM audit_log WHERE entity_type = 'automation' AND entity_id = :e ORDER BY id"),
            {"e": str(automation_id)},
        )
        return list(rows.scalars())


@pytest.fixture(autouse=True)
async def no_schedules_left(temporal_client):
    """Each test's automation Schedules go with it (the dev server lives for the whole session)."""
    yield
    async for listed in await temporal_client.list_schedules():
        if listed.id.startswith("automation-"):
            await temporal_client.get_schedule_handle(listed.id).delete()


# --- Drafts -----------------------------------------------------------------------------------------------------------


async def test_a_draft_is_saved_as_it_is_and_shows_its_problems(api, db):
    created = await create(api, "  Onboarding  ")
    assert created["name"] == "Onboarding" and created["status"] == "draft"
    assert created["published_version"] is None and created["versions"] == []
    assert created["draft"] == {"nodes": [], "edges": []}
    assert created["valid"] is False and [p["code"] for p in created["problems"]] == ["no_trigger", "no_action"]

    # An invalid draft is saved all the same; its problems name the node and field, as /validate does.
    broken = waiting_graph()
    broken["edges"] = broken["edges"][:1]  # the wait's `next` is left unconnected
    saved = await api.patch(f"{URL}/{created['id']}", json={"graph": broken})
    assert saved.status_code == 200, saved.text
    assert saved.json()["draft"] == broken and saved.json()["valid"] is False
    checked = (await api.post(f"{URL}/validate", json={"graph": broken})).json()
    assert saved.json()["problems"] == checked["problems"]
    assert ("wait", "outcomes.next", "dead_end") in {(p["node_id"], p["field"], p["code"]) for p in checked["problems"]}

    # Not even an object: kept, with one problem about the automation as a whole.
    odd = await api.patch(f"{URL}/{created['id']}", json={"graph": [1, 2]})
    assert odd.json()["draft"] == [1, 2] and odd.json()["problems"][0]["code"] == "invalid_shape"

    fixed = await api.patch(f"{URL}/{created['id']}", json={"graph": waiting_graph(), "name": "Renamed"})
    body = fixed.json()
    assert (body["name"], body["valid"], body["problems"]) == ("Renamed", True, [])
    assert (await api.get(f"{URL}/{created['id']}")).json() == body
    assert await audit_actions(db, created["id"]) == [
        "automation.created", "automation.updated", "automation.updated", "automation.updated"
    ]  # fmt: skip


async def test_bad_input_is_refused_naming_the_field(api):
    first = await create(api, "Welcome")
    duplicate = await api.post(URL, json={"name": "Welcome"})
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "name"
    assert "already exists" in duplicate.json()["message"]
    other = await create(api, "Other")
    renamed = await api.patch(f"{URL}/{other['id']}", json={"name": "Welcome"})
    assert renamed.status_code == 409 and renamed.json()["field"] == "name"

    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({}, "name"),
        ({"name": "Big", "graph": {"nodes": [], "edges": [], "pad": "x" * MAX_DEFINITION_BYTES}}, "graph"),
        ({"name": "Extra", "colour": "red"}, "colour"),
    ):
        response = await api.post(URL, json=body)
        assert response.status_code == 422, body
        assert response.json()["field"] == field, response.json()
    for body, field in (({"graph": None}, "graph"), ({"name": None}, "name"), ({"name": " "}, "name")):
        response = await api.patch(f"{URL}/{first['id']}", json=body)
        assert response.status_code == 422 and response.json()["field"] == field, response.json()
    names = [a["name"] for a in (await api.get(URL)).json()]
    assert sorted(names) == ["Other", "Welcome"]


async def test_another_workspaces_automation_does_not_exist(api, app, db):
    mine = await create(api, "Mine", waiting_graph())
    other = await make_tenant(db, "Globex", "admin@globex.test")
    async with client_for(app, other.admin_key) as theirs:
        assert (await theirs.get(URL)).json() == []
        for method, path in (
            ("GET", f"{URL}/{mine['id']}"),
            ("PATCH", f"{URL}/{mine['id']}"),
            ("DELETE", f"{URL}/{mine['id']}"),
            ("POST", f"{URL}/{mine['id']}/publish"),
            ("POST", f"{URL}/{mine['id']}/pause"),
            ("POST", f"{URL}/{mine['id']}/resume"),
            ("GET", f"{URL}/{mine['id']}/versions/1"),
        ):
            response = await theirs.request(method, path, json={"name": "Stolen"} if method == "PATCH" else None)
            assert response.status_code == 404, (method, path, response.text)
        # The same name is free in another workspace; a start_automation naming my automation is unknown there.
        graph = waiting_graph()
        graph["nodes"][2] = {"id": "done", "type": "start_automation", "config": {"automation_id": mine["id"]}}
        theirs_created = await create(theirs, "Mine", graph)
        assert ("done", "config.automation_id", "unknown_ref") in {
            (p["node_id"], p["field"], p["code"]) for p in theirs_created["problems"]
        }
    assert (await api.get(f"{URL}/{mine['id']}")).json()["name"] == "Mine"


async def test_a_viewer_reads_but_does_not_write(app, api, db, tenant):
    created = await create(api, "Welcome")
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        assert (await client.get(URL)).status_code == 200
        assert (await client.get(f"{URL}/{created['id']}")).status_code == 200
        assert (await client.post(URL, json={"name": "Nope"})).status_code == 403
        assert (await client.post(f"{URL}/{created['id']}/publish")).status_code == 403
        assert (await client.delete(f"{URL}/{created['id']}")).status_code == 403


# --- Publishing -------------------------------------------------------------------------------------------------------


async def test_start_automation_validates_against_the_workspaces_automations(api):
    target = await create(api, "Target")
    graph = waiting_graph()
    graph["nodes"][2] = {"id": "done", "type": "start_automation", "config": {"automation_id": target["id"]}}
    caller = await create(api, "Caller", graph)
    assert caller["valid"] is True, caller["problems"]
    graph["nodes"][2]["config"]["automation_id"] = caller["id"]
    itself = (await api.patch(f"{URL}/{caller['id']}", json={"graph": graph})).json()
    assert [(p["node_id"], p["code"]) for p in itself["problems"]] == [("done", "self_start")]


async def test_an_invalid_draft_is_not_published_and_nothing_is_written(api, db):
    broken = waiting_graph()
    broken["nodes"][1]["config"]["duration"] = {"days": 0}
    created = await create(api, "Broken", broken)
    refused = await api.post(f"{URL}/{created['id']}/publish")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "invalid_graph" and body["detail"] == body["message"]
    assert "node 'wait' config.duration" in body["detail"]
    assert body["problems"] == created["problems"] and body["problems"][0]["node_id"] == "wait"
    after = (await api.get(f"{URL}/{created['id']}")).json()
    assert (after["status"], after["published_version"], after["versions"]) == ("draft", None, [])
    async with db() as session:
        versions = await session.execute(text("SELECT count(*) FROM automation_versions"))
        assert versions.scalar_one() == 0
    assert "automation.published" not in await audit_actions(db, created["id"])
    # A draft whose shape is wrong: its shape problems.
    await api.patch(f"{URL}/{created['id']}", json={"graph": {"nodes": "no"}})
    refused = await api.post(f"{URL}/{created['id']}/publish")
    assert refused.status_code == 422 and refused.json()["problems"][0]["code"] == "invalid_shape"


async def test_publishing_makes_versions_and_running_journeys_keep_theirs(
    api, db, tenant, worker, temporal_client, settings
):
    created = await create(api, "Nurture", waiting_graph(days=1))
    first = await publish(api, created["id"])
    assert (first["status"], first["published_version"]) == ("active", 1)
    assert [v["version"] for v in first["versions"]] == [1]
    v1 = (await api.get(f"{URL}/{created['id']}/versions/1")).json()
    assert v1["graph"]["nodes"][1]["config"]["duration"] == {"days": 1, "hours": 0, "minutes": 0}  # normalised
    assert v1["graph"]["reentry"] == "once_ever" and v1["published_by"] is None  # an API key published it

    # A lead enters version 1 and waits.
    [lead] = await make_leads(db, 1, prefix=f"n{uuid.uuid4().hex[:6]}")
    async with db() as session:
        published = await load_published(session, tenant.workspace_id, created["id"])
    assert published is not None and published.version == 1
    event = JourneyEvent(kind="external_event", event_id="go-1", lead_id=lead, name="go")
    entered = await enter(
        temporal_client,
        workspace_id=tenant.workspace_id,
        automation=published,
        trigger_node="start",
        event=event,
        history=EntryHistory(),
        task_queue=settings.temporal_task_queue,
    )
    assert entered.action == "started"

    async def waiting() -> Any:
        async with db() as session:
            row = await session.execute(
                text("SELECT version, status FROM journeys WHERE automation_id = :a"), {"a": created["id"]}
            )
            found = row.one_or_none()
        return found if found is not None and found.status == "waiting" else None

    assert (await eventually(waiting)).version == 1

    # Version 2 waits 3 days: new journeys enter it, the running one keeps version 1's graph.
    await api.patch(f"{URL}/{created['id']}", json={"graph": waiting_graph(days=3)})
    second = await publish(api, created["id"])
    assert second["published_version"] == 2 and [v["version"] for v in second["versions"]] == [2, 1]
    assert (await api.get(f"{URL}/{created['id']}/versions/2")).json()["graph"]["nodes"][1]["config"]["duration"][
        "days"
    ] == 3
    assert (await api.get(f"{URL}/{created['id']}/versions/3")).status_code == 404
    async with db() as session:
        assert (await load_published(session, tenant.workspace_id, created["id"])).version == 2
    handle = temporal_client.get_workflow_handle(journey_workflow_id(created["id"], lead))
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    journey_input = json.loads(started.input.payloads[0].data)
    assert journey_input["version"] == 1 and journey_input["graph"]["nodes"][1]["config"]["duration"]["days"] == 1

    summary = (await api.get(URL)).json()
    assert [(a["id"], a["running"], a["entered"], a["published_version"]) for a in summary] == [
        (created["id"], 1, 1, 2)
    ]

    # Deleting is refused while the journey runs.
    refused = await api.delete(f"{URL}/{created['id']}")
    assert refused.status_code == 409
    assert "1 running journey" in refused.json()["message"] and "pause" in refused.json()["message"]
    await handle.terminate("test over")
    async with db() as session:
        await session.execute(
            text("UPDATE journeys SET status = 'exited' WHERE automation_id = :a"), {"a": created["id"]}
        )
        await session.commit()
    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{created['id']}")).status_code == 404
    async with db() as session:
        left = await session.execute(
            text("SELECT count(*) FROM journeys WHERE automation_id = :a"), {"a": created["id"]}
        )
        assert left.scalar_one() == 0
    assert await audit_actions(db, created["id"]) == [
        "automation.created", "automation.published", "automation.updated", "automation.published",
        "automation.deleted",
    ]  # fmt: skip


async def test_pause_stops_the_dispatcher_and_resume_starts_it_again(api, db, tenant, temporal_client, settings):
    created = await create(api, "Paused", waiting_graph())
    for action in ("pause", "resume"):
        early = await api.post(f"{URL}/{created['id']}/{action}")
        assert early.status_code == 409 and "is draft" in early.json()["message"]
    await publish(api, created["id"])
    [lead] = await make_leads(db, 1, prefix=f"p{uuid.uuid4().hex[:6]}")

    async def active_ids() -> list[int]:
        async with db() as session:
            targets = await load_dispatch_targets(session, tenant.workspace_id, lead)
        return [a.automation_id for a in targets.automations]

    assert await active_ids() == [created["id"]]
    paused = await api.post(f"{URL}/{created['id']}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert (await api.post(f"{URL}/{created['id']}/pause")).status_code == 409
    assert await active_ids() == []
    async with db() as session:
        targets = await load_dispatch_targets(session, tenant.workspace_id, lead)
    event = JourneyEvent(kind="external_event", event_id="go-paused", lead_id=lead, name="go")
    assert await dispatch(temporal_client, tenant.workspace_id, event, targets.automations, task_queue="unused") == []

    resumed = await api.post(f"{URL}/{created['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert (await api.post(f"{URL}/{created['id']}/resume")).status_code == 409
    assert await active_ids() == [created["id"]]
    # Publishing a paused automation activates it too.
    await api.post(f"{URL}/{created['id']}/pause")
    assert (await publish(api, created["id"]))["status"] == "active"
    assert (await audit_actions(db, created["id"]))[-4:] == [
        "automation.paused", "automation.resumed", "automation.paused", "automation.published"
    ]  # fmt: skip


async def test_the_list_is_newest_change_first(api):
    first = await create(api, "First")
    second = await create(api, "Second")
    assert [a["id"] for a in (await api.get(URL)).json()] == [second["id"], first["id"]]
    await api.patch(f"{URL}/{first['id']}", json={"name": "First, renamed"})
    listed = (await api.get(URL)).json()
    assert [a["id"] for a in listed] == [first["id"], second["id"]]
    assert listed[0] == {
        "id": first["id"],
        "name": "First, renamed",
        "status": "draft",
        "published_version": None,
        "updated_at": listed[0]["updated_at"],
        "running": 0,
        "entered": 0,
    }


async def test_nothing_is_kept_when_temporal_refuses_the_schedules(api, db, tenant, monkeypatch, temporal_client):
    created = await create(api, "Weekly", recurring_graph())

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setattr("api.routes.automations.sync_trigger_schedules", refuse)
    response = await api.post(f"{URL}/{created['id']}/publish")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    after = (await api.get(f"{URL}/{created['id']}")).json()
    assert (after["status"], after["published_version"], after["versions"]) == ("draft", None, [])
    assert await audit_actions(db, created["id"]) == ["automation.created"]
    monkeypatch.undo()
    await publish(api, created["id"])

    monkeypatch.setattr("api.routes.automations.pause_trigger_schedules", refuse)
    assert (await api.post(f"{URL}/{created['id']}/pause")).status_code == 503
    assert (await api.get(f"{URL}/{created['id']}")).json()["status"] == "active"
    monkeypatch.setattr("api.routes.automations.delete_trigger_schedules", refuse)
    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 503
    assert (await api.get(f"{URL}/{created['id']}")).status_code == 200
    schedule = temporal_client.get_schedule_handle(f"automation-{created['id']}-trigger-weekly")
    assert not (await schedule.describe()).schedule.state.paused

    # An automation without scheduled triggers never needs Temporal to change.
    monkeypatch.setattr("api.routes.automations.sync_trigger_schedules", refuse)
    plain = await create(api, "Plain", waiting_graph())
    assert (await publish(api, plain["id"]))["published_version"] == 1
