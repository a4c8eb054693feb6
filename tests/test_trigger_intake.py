"""Trigger intake (#10, docs/automations.md "Trigger intake"): lead changes made through the API, `POST /api/events`,
tracked opens and clicks, unsubscribes, imports and journey-made changes reach the journeys, after their transaction
commits and only then. Real PostgreSQL, the Temporal dev server and the main queue's worker; automations are
published by inserting their rows (tests/test_journeys.py `make_automation`).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from temporalio.service import RPCError

from api.errors import ApiError
from api.journey_dispatch import JourneyIntake, committed_events
from api.lead_service import record_event
from api.scoping import Scope
from core.journey_intake import dispatch_events, dispatch_needed, lead_event_id
from core.signing import unsubscribe_url
from core.tracking_links import open_pixel_url
from core.workflow_ids import journey_entry_workflow_id, journey_workflow_id
from models.leads import CustomFieldDefinition
from models.payloads.automation import JourneyEvent
from tests.factories import make_leads
from tests.helpers import eventually
from tests.test_campaign_flow_engine import make_template, rows
from tests.test_imports import run_import, simple_csv, upload
from tests.test_journeys import edge, make_automation, node, progress, waiting_at
from tests.test_tracking import APPLE_MPP, CHROME, _delivery

GO = "signed_up"


# --- Helpers ----------------------------------------------------------------------------------------------------------


def tagging(trigger: dict[str, Any], tag: str, reentry: str = "once_ever") -> dict[str, Any]:
    """An automation that tags the lead it enters."""
    return {
        "nodes": [trigger, node("tag", "add_tag", tag=tag)],
        "edges": [edge(trigger["id"], "tag")],
        "reentry": reentry,
    }


async def journeys(db, automation_id: int) -> list[Any]:
    return await rows(
        db,
        "SELECT id, lead_id, status, trigger_event_id, workflow_id, mode FROM journeys WHERE automation_id = :a "
        "ORDER BY id",
        a=automation_id,
    )


async def ended_journeys(db, automation_id: int, count: int = 1, timeout: float = 60) -> list[Any]:
    async def check() -> list[Any] | None:
        found = await journeys(db, automation_id)
        ended = len(found) >= count and all(j.status not in ("active", "waiting") for j in found)
        return found if ended else None

    return await eventually(check, timeout=timeout)


async def tags_of(db, lead_id: int) -> list[str]:
    return list((await rows(db, "SELECT tags FROM leads WHERE id = :l", l=lead_id))[0].tags)


async def has_tag(db, lead_id: int, tag: str, timeout: float = 60) -> list[str]:
    async def check() -> list[str] | None:
        tags = await tags_of(db, lead_id)
        return tags if tag in tags else None

    return await eventually(check, timeout=timeout)


async def never_started(client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return True
    return False


class Spy:
    """Stands in for the app's Temporal provider: counts the calls, fails them (Temporal down)."""

    def __init__(self) -> None:
        self.calls = 0

    async def get(self):
        self.calls += 1
        raise ApiError(503, "Temporal is unreachable (test)", code="unavailable")


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


# --- API lead changes -------------------------------------------------------------------------------------------------


async def test_a_status_change_through_the_api_starts_a_journey_with_the_timeline_rows_id(app, api, worker, db):
    automation_id = await make_automation(
        db, tagging(node("qualified", "lead_status_changed", to_status="qualified"), "welcomed")
    )
    (lead_id,) = await make_leads(db, 1, prefix=f"st{uuid.uuid4().hex[:4]}")
    response = await api.patch(f"/api/leads/{lead_id}", json={"status": "qualified"})
    assert response.status_code == 200, response.text
    (journey,) = await ended_journeys(db, automation_id)
    (change,) = await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l AND type = 'status_changed'", l=lead_id)
    assert (journey.lead_id, journey.status, journey.trigger_event_id) == (
        lead_id,
        "completed",
        f"lead-event:{change.id}",
    )
    assert journey.workflow_id == journey_workflow_id(automation_id, lead_id)
    assert "welcomed" in await tags_of(db, lead_id)
    # The same status again is no change: nothing more.
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "qualified"})).status_code == 200
    assert len(await journeys(db, automation_id)) == 1


async def test_every_kind_of_api_lead_change_starts_its_automation(app, api, worker, db, tenant):
    async with db() as session:
        session.add(CustomFieldDefinition(workspace_id=tenant.workspace_id, key="plan", label="Plan", type="text"))
        await session.commit()
    listed = (await api.post("/api/lists", json={"name": f"L{uuid.uuid4().hex[:4]}", "kind": "static"})).json()
    automations = {
        "by-api": await make_automation(db, tagging(node("t", "lead_created", sources=["api"]), "by-api")),
        "by-upsert": await make_automation(db, tagging(node("t", "lead_created", sources=["upsert"]), "by-upsert")),
        "by-tag": await make_automation(db, tagging(node("t", "tag_added", tag="vip"), "by-tag")),
        "by-list": await make_automation(db, tagging(node("t", "added_to_list", list_id=listed["id"]), "by-list")),
        "by-field": await make_automation(
            db, tagging(node("t", "custom_field_changed", field="plan", to_value="pro"), "by-field")
        ),
    }
    created = await api.post("/api/leads", json={"email": f"new{uuid.uuid4().hex[:6]}@example.com"})
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]
    upserted = await api.put(
        "/api/leads/upsert", json={"key": "email", "lead": {"email": f"up{uuid.uuid4().hex[:6]}@example.com"}}
    )
    assert upserted.status_code == 200, upserted.text
    upserted_id = upserted.json()["lead"]["id"]
    assert (await api.patch(f"/api/leads/{lead_id}", json={"tags": ["vip"]})).status_code == 200
    members = await api.post(f"/api/lists/{listed['id']}/members", json={"lead_ids": [lead_id]})
    assert members.status_code == 200, members.text
    patched = await api.patch(f"/api/leads/{lead_id}", json={"custom_fields": {"plan": "pro"}})
    assert patched.status_code == 200, patched.text
    for tag, automation_id in automations.items():  # (the PATCH of tags may overwrite a journey's tag: no tags)
        (journey,) = await ended_journeys(db, automation_id)
        assert (journey.lead_id, journey.status) == (upserted_id if tag == "by-upsert" else lead_id, "completed")
    # Adding a lead to a list it is already in adds nothing: no second journey, no timeline row.
    again = await api.post(f"/api/lists/{listed['id']}/members", json={"lead_ids": [lead_id]})
    assert again.status_code == 200
    added = await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l AND type = 'added_to_list'", l=lead_id)
    assert len(added) == 1


async def test_a_rolled_back_change_starts_nothing(app, api, worker, db, temporal_client, monkeypatch):
    automation_id = await make_automation(db, tagging(node("won", "lead_status_changed", to_status="won"), "won"))
    refused, accepted = await make_leads(db, 2, prefix=f"rb{uuid.uuid4().hex[:4]}")
    dispatched: list[JourneyEvent] = []
    real = JourneyIntake.dispatch

    async def spying(self, workspace_id, events, session=None):
        dispatched.extend(events)
        return await real(self, workspace_id, events, session)

    monkeypatch.setattr(JourneyIntake, "dispatch", spying)

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise ApiError(409, "conversion refused (test)")

    # The status change is recorded on the timeline, then the request fails before its commit.
    monkeypatch.setattr("api.routes.leads.record_won", failing)
    response = await api.patch(f"/api/leads/{refused}", json={"status": "won"})
    assert response.status_code == 409
    monkeypatch.undo()
    monkeypatch.setattr(JourneyIntake, "dispatch", spying)
    assert (await api.patch(f"/api/leads/{accepted}", json={"status": "won"})).status_code == 200
    (journey,) = await ended_journeys(db, automation_id)
    assert journey.lead_id == accepted
    # The accepted change's events: its status, and the conversion a won lead records.
    assert sorted((event.lead_id, event.kind) for event in dispatched) == [
        (accepted, "converted"),
        (accepted, "status_changed"),
    ]
    assert await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l", l=refused) == []
    assert await never_started(temporal_client, journey_workflow_id(automation_id, refused))


async def test_events_are_queued_for_after_commit_and_dropped_on_rollback(app, db, tenant):
    """The session-level mechanism: a timeline row's events exist once committed, with the row's id."""
    from api.context import RequestContext

    (lead_id,) = await make_leads(db, 1, prefix=f"sess{uuid.uuid4().hex[:4]}")
    context = RequestContext(workspace_id=tenant.workspace_id, role="admin", requires_approval=False)
    async with app.state.sessions() as session:
        scope = Scope(session, context)
        record_event(scope, lead_id, "status_changed", {"from": "new", "to": "qualified"})
        await session.flush()
        await session.rollback()
        assert committed_events(session) == []
        record_event(scope, lead_id, "field_changed", {"field": "company", "from": "a", "to": "b"})  # no trigger
        row = record_event(scope, lead_id, "tagged", {"tags": ["a"]})
        await session.commit()
        [(workspace_id, event)] = committed_events(session)
    assert (workspace_id, event.kind, event.event_id, event.tags) == (
        tenant.workspace_id,
        "tag_added",
        lead_event_id(row.id),
        ("a",),
    )


async def test_a_workspace_without_automations_makes_no_temporal_call_and_a_down_temporal_fails_no_change(
    app, api, db, monkeypatch
):
    spy = Spy()
    monkeypatch.setattr(app.state.temporal, "get", spy.get)
    (lead_id,) = await make_leads(db, 1, prefix=f"quiet{uuid.uuid4().hex[:4]}")
    listed = (await api.post("/api/lists", json={"name": f"Q{uuid.uuid4().hex[:4]}", "kind": "static"})).json()
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "qualified", "tags": ["x"]})).status_code == 200
    assert (await api.post(f"/api/lists/{listed['id']}/members", json={"lead_ids": [lead_id]})).status_code == 200
    assert (await api.post("/api/leads", json={"email": f"q{uuid.uuid4().hex[:6]}@example.com"})).status_code == 201
    posted = await api.post("/api/events", json={"name": GO, "lead": {"id": lead_id}})
    assert posted.status_code == 202 and posted.json()["journeys"] == []
    assert spy.calls == 0
    # An automation of another trigger changes nothing for these changes...
    await make_automation(db, tagging(node("t", "tag_added", tag="gold"), "x"))
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "won"})).status_code == 200
    assert spy.calls == 0
    # ...and one it triggers asks Temporal, which is down: the change stands all the same (the error is logged).
    response = await api.patch(f"/api/leads/{lead_id}", json={"tags": ["x", "gold"]})
    assert response.status_code == 200 and spy.calls == 1
    assert "gold" in await tags_of(db, lead_id)


async def test_dispatch_events_exits_early_without_asking_for_a_client(db, tenant, settings):
    (lead_id,) = await make_leads(db, 1, prefix=f"early{uuid.uuid4().hex[:4]}")
    calls = 0

    async def client():
        nonlocal calls
        calls += 1
        raise RuntimeError("no Temporal here")

    events = [
        JourneyEvent(kind="status_changed", event_id=f"e{n}", lead_id=lead_id, from_status="new", to_status="won")
        for n in range(3)
    ]
    outcomes = await dispatch_events(client, db, tenant.workspace_id, events, settings.temporal_task_queue)
    assert [(o.event.event_id, o.results, o.error) for o in outcomes] == [(f"e{n}", (), None) for n in range(3)]
    assert calls == 0
    await make_automation(db, tagging(node("t", "lead_status_changed", to_status="won"), "w"))
    outcomes = await dispatch_events(client, db, tenant.workspace_id, events, settings.temporal_task_queue)
    assert calls == 1 and all(o.error == "RuntimeError: no Temporal here" for o in outcomes)


async def test_dispatch_needed_reads_triggers_and_running_journeys_in_one_statement(db, tenant):
    """What change_lead asks before committing a journey's change (core.journey_intake.dispatch_needed): nothing
    without a trigger for the event nor another running journey of the lead; an automation the event triggers, or
    a running journey that could wait for it, needs a dispatch unless it is the journey asking (`exclude`); a
    running journey of another lead does not count."""
    lead_id, other = await make_leads(db, 2, prefix=f"need{uuid.uuid4().hex[:4]}")

    def tag_added(lead: int) -> JourneyEvent:
        return JourneyEvent(kind="tag_added", event_id=f"t-{uuid.uuid4().hex[:6]}", lead_id=lead, tags=("vip",))

    async def needed(event: JourneyEvent, exclude: tuple[str, ...] = ()) -> bool:
        async with db() as session:
            return await dispatch_needed(session, tenant.workspace_id, [event], exclude)

    assert not await needed(tag_added(lead_id))
    waiting = await make_automation(db, tagging(node("s", "lead_status_changed", to_status="won"), "w"))
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO journeys (workspace_id, automation_id, version, lead_id, entry, workflow_id, "
                "first_run_id, mode, status, trigger_node, trigger_event_id, current_node, entered_at, updated_at) "
                "VALUES "
                "(:w, :a, 1, :l, 1, :wf, 'run', 'live', 'waiting', 's', 'e', 's', now(), now())"
            ),
            {"w": tenant.workspace_id, "a": waiting, "l": other, "wf": f"journey-{waiting}-{other}"},
        )
        await session.commit()
    assert not await needed(tag_added(lead_id))  # the other lead's journey
    assert await needed(tag_added(other))
    assert not await needed(tag_added(other), exclude=(f"journey-{waiting}-{other}",))
    # A non-waitable kind reaches no running journey; an automation it triggers needs a dispatch.
    created = JourneyEvent(kind="lead_created", event_id="c-1", lead_id=other)
    assert not await needed(created)
    await make_automation(db, tagging(node("t", "tag_added", tag="vip"), "x"))
    assert await needed(tag_added(lead_id))
    assert not await needed(created)


# --- POST /api/events -------------------------------------------------------------------------------------------------


async def test_an_external_event_starts_a_journey_once_per_event_id(app, api, worker, db, temporal_client):
    automation_id = await make_automation(db, tagging(node("t", "external_event", event=GO), "signed", "every_time"))
    (lead_id,) = await make_leads(db, 1, prefix=f"ext{uuid.uuid4().hex[:4]}")
    email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=lead_id))[0].email
    found_by = {"email": email.replace("example.com", "EXAMPLE.com")}  # the domain's case does not matter
    body = {"name": GO, "lead": found_by, "event_id": "order-42", "data": {"plan": "pro"}}
    first = await api.post("/api/events", json=body)
    assert first.status_code == 202, first.text
    workflow_id = journey_entry_workflow_id(automation_id, lead_id, "external:order-42")
    assert first.json() == {
        "event_id": "external:order-42",
        "journeys": [{"automation_id": automation_id, "action": "started", "workflow_id": workflow_id}],
    }
    again = await api.post("/api/events", json={**body, "lead": {"id": lead_id}})
    assert (again.status_code, again.json()) == (202, first.json())
    (journey,) = await ended_journeys(db, automation_id)
    assert (journey.workflow_id, journey.trigger_event_id) == (workflow_id, "external:order-42")
    timeline = await rows(
        db, "SELECT data, actor FROM lead_events WHERE lead_id = :l AND type = 'external_event'", l=lead_id
    )
    assert len(timeline) == 1 and timeline[0].data["data"] == {"plan": "pro"}
    assert timeline[0].data["journeys"] == first.json()["journeys"]
    # Without an event_id, every call is an event of its own.
    for _ in range(2):
        assert (await api.post("/api/events", json={"name": GO, "lead": {"id": lead_id}})).status_code == 202
    assert len(await ended_journeys(db, automation_id, count=3)) == 3
    # The same event_id for another event of this lead is a conflict.
    clash = await api.post("/api/events", json={"name": "other", "lead": {"id": lead_id}, "event_id": "order-42"})
    assert (clash.status_code, clash.json()["field"]) == (409, "event_id")


async def test_an_external_event_reaches_a_journey_waiting_for_it(app, api, worker, db, temporal_client):
    graph = {
        "nodes": [
            node("start", "external_event", event="trial_started"),
            node("wait", "wait_for_event", event={"kind": "external_event", "name": "paid"}, timeout={"days": 3}),
            node("thanks", "add_tag", tag="paid"),
            node("nudge", "add_tag", tag="nudge"),
        ],
        "edges": [edge("start", "wait"), edge("wait", "thanks", "event"), edge("wait", "nudge", "timeout")],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"wait{uuid.uuid4().hex[:4]}")
    started = await api.post("/api/events", json={"name": "trial_started", "lead": {"id": lead_id}})
    assert started.json()["journeys"][0]["action"] == "started"
    handle = temporal_client.get_workflow_handle(journey_workflow_id(automation_id, lead_id))
    await waiting_at(handle, "wait")
    paid = await api.post("/api/events", json={"name": "paid", "lead": {"id": lead_id}})
    assert paid.status_code == 202
    workflow_id = journey_workflow_id(automation_id, lead_id)
    assert paid.json()["journeys"] == [{"automation_id": None, "action": "signalled", "workflow_id": workflow_id}]
    await has_tag(db, lead_id, "paid")
    assert (await progress(handle)).path[-2:] == ["wait", "thanks"]


async def test_post_events_refuses_bad_input_naming_the_field(app, api, db, tenant, monkeypatch):
    (lead_id,) = await make_leads(db, 1, prefix=f"bad{uuid.uuid4().hex[:4]}")
    cases = [
        ({"name": GO, "lead": {"id": 10**9}}, 404, "lead"),
        ({"name": GO, "lead": {"email": "nobody@example.com"}}, 404, "lead"),
        ({"name": GO, "lead": {"external_id": "nope"}}, 404, "lead"),
        ({"name": GO, "lead": {}}, 422, "lead"),
        ({"name": GO, "lead": {"id": lead_id, "email": "x@example.com"}}, 422, "lead"),
        ({"name": "-starts badly", "lead": {"id": lead_id}}, 422, "name"),
        ({"name": "x" * 101, "lead": {"id": lead_id}}, 422, "name"),
        ({"name": GO, "lead": {"id": lead_id}, "event_id": "has space"}, 422, "event_id"),
        ({"name": GO, "lead": {"id": lead_id}, "data": {"blob": "x" * 17_000}}, 422, "data"),
        ({"name": GO, "lead": {"id": lead_id}, "occurred_at": "2024-01-01T10:00:00"}, 422, "occurred_at"),
    ]
    for body, status, field in cases:
        response = await api.post("/api/events", json=body)
        assert (response.status_code, response.json()["field"]) == (status, field), (body, response.text)
    # Temporal unreachable while an automation wants the event: 503, and nothing is recorded.
    await make_automation(db, tagging(node("t", "external_event", event=GO), "x"))
    monkeypatch.setattr(app.state.temporal, "get", Spy().get)
    down = await api.post("/api/events", json={"name": GO, "lead": {"id": lead_id}, "event_id": "e-1"})
    assert (down.status_code, down.json()["code"]) == (503, "unavailable")
    assert await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l", l=lead_id) == []


# --- Tracking and unsubscribes ----------------------------------------------------------------------------------------


async def journey_waiting_for_its_message(db, api, temporal_client, kind: str) -> tuple[int, Any, int]:
    """A journey that sent its email (node `mail`) an hour ago (an open or click at once would be a machine's) and
    waits up to 3 days for its `kind` ("opened" / "clicked"): tagged `kind` on the event, exits on the timeout.
    (automation id, journey handle, delivery id)."""
    mail = await make_template(db, subject="Welcome")
    graph = {
        "nodes": [
            node("start", "external_event", event=GO),
            node("mail", "send_message", channel="email", template_id=mail),
            node("wait", "wait_for_event", event={"kind": kind, "node": "mail"}, timeout={"days": 3}),
            node("hot", "add_tag", tag=kind),
            node("cold", "exit"),
        ],
        "edges": [
            edge("start", "mail"),
            edge("mail", "wait"),
            edge("wait", "hot", "event"),
            edge("wait", "cold", "timeout"),
        ],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"{kind}{uuid.uuid4().hex[:4]}")
    assert (await api.post("/api/events", json={"name": GO, "lead": {"id": lead_id}})).status_code == 202
    handle = temporal_client.get_workflow_handle(journey_workflow_id(automation_id, lead_id))
    state = await waiting_at(handle, "wait")
    delivery_id = int(state.sent_messages["mail"])
    async with db() as session:
        await session.execute(
            text("UPDATE deliveries SET sent_at = now() - interval '1 hour' WHERE id = :d"), {"d": delivery_id}
        )
        await session.commit()
    return automation_id, handle, delivery_id


async def test_an_open_of_a_journey_message_ends_its_wait_and_a_machine_open_does_not(
    app, api, worker, db, settings, temporal_client
):
    automation_id, handle, delivery_id = await journey_waiting_for_its_message(db, api, temporal_client, "opened")
    (delivery,) = await rows(db, "SELECT journey_id, node_id FROM deliveries WHERE id = :d", d=delivery_id)
    assert delivery.node_id == "mail"
    pixel = path_of(open_pixel_url(settings, delivery_id))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test") as anonymous:
        assert (await anonymous.get(pixel, headers={"User-Agent": APPLE_MPP})).status_code == 200

        async def machine_signal() -> bool:
            history = await handle.fetch_history()
            return any(
                b'"machine":true' in payload.data
                for event in history.events
                if event.HasField("workflow_execution_signaled_event_attributes")
                for payload in event.workflow_execution_signaled_event_attributes.input.payloads
            )

        await eventually(machine_signal, timeout=30)  # delivered, flagged, and ignored:
        assert (await progress(handle)).status == "waiting"
        assert (await anonymous.get(pixel, headers={"User-Agent": CHROME})).status_code == 200
    (journey,) = await ended_journeys(db, automation_id)
    assert journey.id == delivery.journey_id and journey.status == "completed"
    assert (await progress(handle)).path[-2:] == ["wait", "hot"]
    (wait,) = await rows(
        db, "SELECT outcome FROM journey_steps WHERE journey_id = :j AND node_id = 'wait'", j=journey.id
    )
    assert wait.outcome == "event"


async def test_a_person_opening_a_campaign_message_and_unsubscribing_start_campaign_interaction_journeys(
    app, worker, db, settings, tenant
):
    opened = await make_automation(
        db, tagging(node("t", "campaign_interaction", interaction="opened"), "engaged", "every_time")
    )
    left = await make_automation(db, tagging(node("t", "campaign_interaction", interaction="unsubscribed"), "gone"))
    person, machine = await _delivery(db), await _delivery(db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test") as anonymous:
        machine_pixel = path_of(open_pixel_url(settings, machine["id"]))
        assert (await anonymous.get(machine_pixel, headers={"User-Agent": APPLE_MPP})).status_code == 200
        pixel = path_of(open_pixel_url(settings, person["id"]))
        for _ in range(2):  # a second open of the same message is no new interaction
            assert (await anonymous.get(pixel, headers={"User-Agent": CHROME})).status_code == 200
        await has_tag(db, person["lead_id"], "engaged")
        link = path_of(unsubscribe_url(settings, person["lead_id"], person["run_id"], person["step"]))
        assert (await anonymous.post(link)).status_code == 200
    await has_tag(db, person["lead_id"], "gone")
    (journey,) = await ended_journeys(db, opened)
    assert (journey.lead_id, journey.trigger_event_id) == (person["lead_id"], f"campaign-opened:{person['id']}")
    (journey,) = await ended_journeys(db, left)
    assert journey.trigger_event_id.startswith("lead-event:")
    await asyncio.sleep(0.5)
    assert "engaged" not in await tags_of(db, machine["lead_id"])


# --- Imports and journeys' own changes --------------------------------------------------------------------------------


async def test_imported_leads_start_lead_created_journeys(app, api, worker, db, tenant):
    automation_id = await make_automation(db, tagging(node("t", "lead_created", sources=["import"]), "imported"))
    suffix = uuid.uuid4().hex[:6]
    content = simple_csv(["email,first_name", f"a{suffix}@example.com,Ann", f"b{suffix}@example.com,Bob"])
    preview = (await upload(api, "people.csv", content)).json()
    await run_import(api, preview["id"], {"mapping": ["email", "first_name"], "options": {"dedupe_key": "email"}})
    found = await ended_journeys(db, automation_id, count=2)
    assert len(found) == 2
    for journey in found:
        assert "imported" in await tags_of(db, journey.lead_id)


async def test_a_journeys_status_change_triggers_another_automation(app, api, worker, db):
    first = await make_automation(
        db,
        {
            "nodes": [
                node("t", "external_event", event=GO),
                node("qualify", "update_field", field="status", value="qualified"),
            ],
            "edges": [edge("t", "qualify")],
        },
    )
    second = await make_automation(db, tagging(node("t", "lead_status_changed", to_status="qualified"), "from-second"))
    (lead_id,) = await make_leads(db, 1, prefix=f"chain{uuid.uuid4().hex[:4]}")
    assert (await api.post("/api/events", json={"name": GO, "lead": {"id": lead_id}})).status_code == 202
    await has_tag(db, lead_id, "from-second")
    (journey,) = await ended_journeys(db, second)
    (change,) = await rows(
        db, "SELECT id, actor FROM lead_events WHERE lead_id = :l AND type = 'status_changed'", l=lead_id
    )
    assert change.actor == f"automation:{first}"
    assert journey.trigger_event_id == lead_event_id(change.id)


async def test_two_automations_feeding_each_other_are_stopped_by_the_loop_guard(app, api, worker, db, monkeypatch):
    """A sets won when the lead becomes qualified, B sets qualified when it becomes won, both every time: without
    a guard they would ping-pong forever; the lead's automated changes stop starting journeys after a burst."""
    monkeypatch.setattr("activities.journey_activities.MAX_AUTOMATED_CHANGES", 5)  # the worker runs in this process
    reentry = "every_time"
    ping = {
        "nodes": [
            node("t", "lead_status_changed", to_status="qualified"),
            node("set", "update_field", field="status", value="won"),
        ],
        "edges": [edge("t", "set")],
        "reentry": reentry,
    }
    pong = {
        "nodes": [
            node("t", "lead_status_changed", to_status="won"),
            node("set", "update_field", field="status", value="qualified"),
        ],
        "edges": [edge("t", "set")],
        "reentry": reentry,
    }
    first, second = await make_automation(db, ping), await make_automation(db, pong)
    (lead_id,) = await make_leads(db, 1, prefix=f"loop{uuid.uuid4().hex[:4]}")
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "qualified"})).status_code == 200

    async def settled() -> int | None:
        count = len(await journeys(db, first)) + len(await journeys(db, second))
        await asyncio.sleep(2)
        again = len(await journeys(db, first)) + len(await journeys(db, second))
        return count if count == again and count > 0 else None

    # The API's change, then 5 journey-made changes dispatched; the 6th journey's change is not.
    assert await eventually(settled, timeout=120) == 6
    assert (
        len(await rows(db, "SELECT id FROM lead_events WHERE lead_id = :l AND type = 'status_changed'", l=lead_id)) == 7
    )
