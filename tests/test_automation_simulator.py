"""The automation simulator and test mode (#10) through the API with a real worker: the issue's example simulated
for three leads (time-skipping server inside the simulation's activity, dry-run actions), its paths compared with
a real run of the same graph for the same leads (on the time-skipping test environment, events withheld), nothing
sent by the simulation; a test run with delays cut sent for real on the dev server; the 422s; the activity's
bounds (a journey that never ends stops at the horizon), the selection by filter and the enrollment filter; the
pure parts (trigger events, counts).

`record_simulation_histories` records the histories tests/test_replay.py replays (see its record tests).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import ActivityEnvironment

from activities.channels import channels_from_settings
from activities.journey_activities import JourneyActivities, mask_address
from activities.simulation_activities import SimulationActivities, SimulationLimits
from domain.automation_graph import matches_trigger
from domain.automation_simulation import (
    NoTrigger,
    assumed_world,
    node_counts,
    simulated_event,
    simulated_trigger,
    totals,
)
from models.payloads.automation import AutomationGraph
from models.payloads.simulation import ASSUMED, SimulatedLead, SimulatedStep, SimulationInput
from tests import conftest
from tests.factories import make_leads
from tests.helpers import eventually
from tests.test_campaign_flow_engine import engine_worker, make_template, time_env  # noqa: F401  (fixture)
from tests.test_journeys import (
    edge,
    example_graph,
    make_automation,
    node,
    qualified,
    result,
    rows,
    started_on,
    steps,
    trigger,
    workspace_of,
)
from workflows.journey import JourneyWorkflow

HISTORIES = Path(__file__).parent / "histories"
FINAL = ("done", "failed")


# --- Helpers ----------------------------------------------------------------------------------------------------------


async def new_automation(api: httpx.AsyncClient, graph: dict[str, Any]) -> int:
    """A draft automation (never published) through the automations API."""
    response = await api.post("/api/automations", json={"name": f"sim-{uuid.uuid4().hex[:8]}", "graph": graph})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def simulate(api: httpx.AsyncClient, automation_id: int, timeout: float = 180, **body: Any) -> dict[str, Any]:
    started = await api.post(f"/api/automations/{automation_id}/simulations", json=body)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    simulation_id = started.json()["id"]

    async def check() -> dict[str, Any] | None:
        response = await api.get(f"/api/automations/{automation_id}/simulations/{simulation_id}")
        assert response.status_code == 200, response.text
        found = response.json()
        return found if found["status"] in FINAL else None

    return await eventually(check, timeout=timeout, interval=0.3)


def at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def decisions(path: list[Any]) -> list[tuple[Any, ...]]:
    """What a journey decided at each step, and how long each delay lasted (simulated dates compared relatively)."""

    found = []
    for step in path:  # the API's steps (dicts) or journey_steps rows
        item = step if isinstance(step, dict) else {**step._mapping, "end": step.end_status}
        lasted = at(item["wake_at"]) - at(item["at"]) if item["wake_at"] is not None else None
        found.append((item["node_id"], item["outcome"], item["reason"], item["end"], lasted))
    return found


async def three_leads(db) -> tuple[int, int, int]:
    """An email-only lead, a lead with a phone (SMS consent) but no email, a lead with neither."""
    mailable, texted, unreachable = await make_leads(db, 3, prefix=f"sim{uuid.uuid4().hex[:4]}")
    async with db() as session:
        await session.execute(
            text("UPDATE leads SET email = NULL, phone = '+33612345678', consent_sms = 'granted' WHERE id = :l"),
            {"l": texted},
        )
        await session.execute(text("UPDATE leads SET email = NULL WHERE id = :l"), {"l": unreachable})
        await session.commit()
    return mailable, texted, unreachable


async def sent_anything(db, automation_id: int) -> list[Any]:
    """Deliveries, pseudo runs and outbox messages of the automation's journeys."""
    return [
        *await rows(db, "SELECT id FROM campaign_runs WHERE automation_id = :a", a=automation_id),
        *await rows(
            db,
            "SELECT d.id FROM deliveries d JOIN journeys j ON j.id = d.journey_id WHERE j.automation_id = :a",
            a=automation_id,
        ),
    ]


# --- The example: simulated, then run for real ----------------------------------------------------------------


async def test_a_simulation_takes_the_decisions_of_a_real_run_and_sends_nothing(
    api,
    worker,
    db,
    settings,
    time_env,  # noqa: F811
):
    graph, email_template, sms_template, _sales = await example_graph(db)
    mailable, texted, unreachable = await three_leads(db)
    outbox_before = len(await rows(db, "SELECT id FROM outbox_messages"))
    automation_id = await new_automation(api, graph)

    simulation = await simulate(api, automation_id, lead_ids=[mailable, texted, unreachable])
    assert simulation["status"] == "done", simulation["error"]
    assert (simulation["version"], simulation["trigger_node"]) == (0, "qualified")  # the unpublished draft
    results = simulation["results"]
    assert results["assumed"] == ASSUMED == "no events arrive; every wait_for_event times out"
    by_lead = {lead["lead_id"]: lead for lead in results["leads"]}
    assert [lead["lead_id"] for lead in results["leads"]] == [mailable, texted, unreachable]
    paths = {lead_id: [step["node_id"] for step in lead["path"]] for lead_id, lead in by_lead.items()}
    assert paths[mailable] == ["qualified", "wait-2d", "case-study", "wait-open", "sms-nudge", "wait-click", "done"]
    assert paths[texted] == ["qualified", "wait-2d", "case-study", "sms-nudge", "wait-click", "done"]
    assert paths[unreachable] == paths[texted]
    assert {lead["end"] for lead in by_lead.values()} == {"exited"}
    assert all(lead["entered"] and lead["reentry"] == "first_entry" for lead in by_lead.values())

    # Simulated dates: two days, then three, then seven, on the simulated clock.
    mailed = {step["node_id"]: step for step in by_lead[mailable]["path"]}
    assert at(mailed["wait-2d"]["wake_at"]) - at(mailed["wait-2d"]["at"]) == timedelta(days=2)
    # (each step's date is the simulated clock when it was decided: a few real milliseconds after the wait's end)
    assert abs(at(mailed["case-study"]["at"]) - at(mailed["wait-2d"]["wake_at"])) < timedelta(seconds=5)
    assert abs(at(mailed["sms-nudge"]["at"]) - at(mailed["case-study"]["at"]) - timedelta(days=3)) < timedelta(
        seconds=5
    )
    assert at(results["ended_at"]) - at(results["started_at"]) >= timedelta(days=12)
    assert mailed["sms-nudge"]["reason"] == "skipped" and mailed["sms-nudge"]["detail"]["why"] == "invalid_address"

    # Per-node counts.
    nodes = results["nodes"]
    assert nodes["qualified"] == {"passed": 3, "outcomes": {"next": 3}, "ended": 0, "waiting": 0}
    assert nodes["case-study"]["outcomes"] == {"next": 1, "fallback": 2}
    assert nodes["wait-open"]["outcomes"] == {"timeout": 1}
    assert nodes["sms-nudge"]["outcomes"] == {"next": 3}
    assert nodes["done"] == {"passed": 3, "outcomes": {"exited": 3}, "ended": 3, "waiting": 0}
    assert "assign-sales" not in nodes
    assert results["totals"] == {"leads": 3, "entered": 3, "exited": 3}

    # What would have been sent: the case study to the first lead, the SMS to the second; nothing to the third.
    email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=mailable))[0].email
    sends = [(s["kind"], s["lead_id"], s["node_id"], s["channel"], s["to"]) for s in results["would_send"]]
    assert sends == [
        ("message", mailable, "case-study", "email", mask_address(email)),
        ("message", texted, "sms-nudge", "sms", "+33*******78"),
    ]
    case_study, nudge = results["would_send"]
    assert (case_study["template_id"], case_study["subject"]) == (email_template, "Our case study, First0")
    assert (nudge["template_id"], nudge["preview"]) == (sms_template, "Did you see the case study, First1?")
    assert case_study["description"] == f"send template {email_template} by email to {mask_address(email)}"

    # Nothing was sent or written but the simulated journeys' own rows.
    assert await sent_anything(db, automation_id) == []
    assert len(await rows(db, "SELECT id FROM outbox_messages")) == outbox_before
    journeys = await rows(db, "SELECT mode, version, status FROM journeys WHERE automation_id = :a", a=automation_id)
    assert {(j.mode, j.version, j.status) for j in journeys} == {("simulation", 0, "exited")} and len(journeys) == 3

    # The same graph run for real for the same leads, no event arriving: the same decisions, step by step.
    async with engine_worker(time_env.client, settings, db):
        live = await make_automation(db, graph)
        for lead_id in (mailable, texted, unreachable):
            await trigger(time_env.client, settings, db, qualified(lead_id))
        for lead_id in (mailable, texted, unreachable):
            outcome = await result(started_on(time_env.client, live, lead_id), time_env)
            assert outcome.end == "exited"
            (journey,) = await rows(
                db, "SELECT id FROM journeys WHERE automation_id = :a AND lead_id = :l", a=live, l=lead_id
            )
            assert decisions(await steps(db, journey.id)) == decisions(by_lead[lead_id]["path"])
    assert len(await sent_anything(db, live)) > 0  # the real run did send (and the simulation did not)


async def test_a_simulation_may_assume_every_lead_opens_or_clicks_each_message(api, worker, db):
    """The marketer's other question: what happens to the leads who do engage? Each message a journey sends counts
    as opened (or clicked) the moment it is sent; other messages' events do not count for a wait."""
    graph, _email, _sms, _sales = await example_graph(db)
    mailable, texted, _unreachable = await three_leads(db)
    automation_id = await new_automation(api, graph)

    clicking = await simulate(api, automation_id, lead_ids=[mailable, texted], engagement="clicks")
    assert clicking["status"] == "done", clicking["error"]
    assert clicking["selection"] == {"lead_ids": [mailable, texted], "engagement": "clicks"}
    results = clicking["results"]
    assert results["assumed"] == assumed_world("clicks") and "clicks each message" in results["assumed"]
    by_lead = {lead["lead_id"]: lead for lead in results["leads"]}
    paths = {lead_id: [(s["node_id"], s["outcome"]) for s in lead["path"]] for lead_id, lead in by_lead.items()}
    assert paths[mailable] == [
        ("qualified", "next"), ("wait-2d", "next"), ("case-study", "next"), ("wait-open", "event"),
        ("wait-click", "event"), ("assign-sales", "next"), ("notify-owner", "next"),
    ]  # fmt: skip
    mailed = {step["node_id"]: step for step in by_lead[mailable]["path"]}
    assert abs(at(mailed["wait-click"]["at"]) - at(mailed["case-study"]["at"])) < timedelta(seconds=5)  # at once
    # The second lead got the SMS, not the case study: clicking the SMS is no click of the case study.
    assert paths[texted][-3:] == [("sms-nudge", "next"), ("wait-click", "timeout"), ("done", None)]
    sends = [(s["kind"], s["lead_id"], s["node_id"]) for s in results["would_send"]]
    assert ("message", mailable, "case-study") in sends and ("message", texted, "sms-nudge") in sends

    opening = await simulate(api, automation_id, lead_ids=[mailable], engagement="opens")
    assert opening["status"] == "done", opening["error"]
    (lead,) = opening["results"]["leads"]
    assert [(s["node_id"], s["outcome"]) for s in lead["path"]][3:] == [
        ("wait-open", "event"), ("wait-click", "timeout"), ("done", None),
    ]  # fmt: skip
    assert await sent_anything(db, automation_id) == []


async def test_a_test_run_with_delays_cut_sends_for_real_on_the_dev_server(api, worker, db):
    graph, _email, _sms, _sales = await example_graph(db)
    mailable, _texted, _unreachable = await three_leads(db)
    automation_id = await new_automation(api, graph)
    began = time.monotonic()
    response = await api.post(
        f"/api/automations/{automation_id}/test-runs", json={"lead_id": mailable, "max_delay_seconds": 1}
    )
    assert response.status_code == 202, response.text
    run = response.json()
    assert (run["version"], run["trigger_node"], run["max_delay_seconds"]) == (0, "qualified", 1)
    assert run["workflow_id"].startswith(f"journey-{automation_id}-{mailable}-etest-")

    async def ended() -> dict[str, Any] | None:
        found = (await api.get(f"/api/automations/{automation_id}/test-runs/{run['workflow_id']}")).json()
        return found if found["status"] in ("completed", "exited", "failed", "goal_met") else None

    progress = await eventually(ended, timeout=60, interval=0.3)
    assert time.monotonic() - began < 30  # 2 + 3 + 7 days cut to a second each
    assert progress["status"] == "exited" and progress["current_node"] == "done"
    path = [step["node_id"] for step in progress["path"]]
    assert path == ["qualified", "wait-2d", "case-study", "wait-open", "sms-nudge", "wait-click", "done"]
    waits = {step["node_id"]: step for step in progress["path"] if step["wake_at"]}
    assert all(at(s["wake_at"]) - at(s["at"]) <= timedelta(seconds=1) for s in waits.values())
    email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=mailable))[0].email
    sent = await rows(
        db,
        "SELECT subject FROM outbox_messages WHERE channel = 'email' AND rcpt_to @> CAST(:to AS jsonb)",
        to=json.dumps([email]),
    )
    assert [row.subject for row in sent] == ["Our case study, First0"]  # sent for real
    (journey,) = await rows(db, "SELECT mode, version, entry FROM journeys WHERE automation_id = :a", a=automation_id)
    assert (journey.mode, journey.version, journey.entry) == ("test", 0, 1)


# --- Bad input --------------------------------------------------------------------------------------------------------


async def test_bad_input_is_refused_with_the_field_named_and_nothing_started(api, db):
    mail = await make_template(db)
    graph = {
        "nodes": [node("go", "external_event", event="go"), node("mail", "send_message", channel="email",
                                                                  template_id=mail)],
        "edges": [edge("go", "mail")],
    }  # fmt: skip
    automation_id = await new_automation(api, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"bad{uuid.uuid4().hex[:4]}")
    base = f"/api/automations/{automation_id}"

    async def refused(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await api.post(f"{base}/{path}", json=body)
        assert response.status_code == 422, response.text
        return response.json()

    assert (await refused("simulations", {"lead_ids": [lead_id, 999_999_999]}))["field"] == "lead_ids"
    assert "999999999" in (await refused("simulations", {"lead_ids": [999_999_999]}))["message"]
    assert (await refused("simulations", {}))["field"] == "lead_ids"
    assert (await refused("simulations", {"lead_ids": [lead_id], "filter": {"rules": []}}))["field"] == "lead_ids"
    assert (await refused("simulations", {"lead_ids": list(range(1, 202))}))["field"] == "lead_ids"
    assert (await refused("simulations", {"filter": {"combinator": "and", "rules": [{"field": "nope",
                                          "operator": "=", "value": 1}]}}))["field"].startswith("filter")  # fmt: skip
    assert (await refused("simulations", {"filter": {"combinator": "and", "rules": []}, "limit": 201}))[
        "field"
    ] == "limit"
    assert (await refused("simulations", {"lead_ids": [lead_id], "trigger_node": "mail"}))["field"] == "trigger_node"
    assert (await refused("simulations", {"lead_ids": [lead_id], "engagement": "maybe"}))["field"] == "engagement"
    broken = {"nodes": [node("go", "external_event", event="go"), node("mail", "send_message", channel="email",
                                                                       template_id=999_999)],
              "edges": [edge("go", "mail")]}  # fmt: skip
    problems = await refused("simulations", {"lead_ids": [lead_id], "graph": broken})
    assert problems["code"] == "invalid_graph"
    assert any(p["node_id"] == "mail" and p["code"] == "unknown_ref" for p in problems["problems"])
    assert (await refused("simulations", {"lead_ids": [lead_id], "graph": {"nodes": "x"}}))["code"] == "invalid_graph"

    assert (await refused("test-runs", {"lead_id": 999_999_999}))["field"] == "lead_id"
    assert (await refused("test-runs", {"lead_id": lead_id, "max_delay_seconds": 0}))["field"] == "max_delay_seconds"
    assert (await refused("test-runs", {"lead_id": lead_id, "max_delay_seconds": 3601}))["field"] == (
        "max_delay_seconds"
    )
    assert (await refused("test-runs", {"lead_id": lead_id, "graph": broken}))["code"] == "invalid_graph"
    assert (await api.post("/api/automations/999999/simulations", json={"lead_ids": [lead_id]})).status_code == 404
    assert (await api.get(f"{base}/simulations/999999")).status_code == 404
    assert await rows(db, "SELECT id FROM automation_simulations") == []
    assert await rows(db, "SELECT id FROM journeys") == []


# --- The activity's selection and bounds ------------------------------------------------------------------------------


async def test_leads_chosen_by_filter_the_enrollment_filter_and_a_journey_stopped_at_the_horizon(
    api, db, settings, temporal_client
):
    """A loop that never ends (wait a day, tag, again) stops at the horizon as `unfinished`; a lead the trigger's
    enrollment filter refuses does not enter; the filter picks the first `limit` leads by id."""
    graph = {
        "nodes": [
            node("go", "external_event", event="go",
                 filter={"combinator": "and", "rules": [{"field": "first_name", "operator": "=", "value": "First0"}]}),
            node("wait", "wait_duration", duration={"days": 1}),
            node("tag", "add_tag", tag="looped"),
        ],
        "edges": [edge("go", "wait"), edge("wait", "tag"), edge("tag", "wait")],
    }  # fmt: skip
    automation_id = await new_automation(api, graph)
    prefix = f"flt{uuid.uuid4().hex[:4]}"
    first, second, _third = await make_leads(db, 3, prefix=prefix)
    lead_filter = {"combinator": "and", "rules": [{"field": "email", "operator": "beginsWith", "value": prefix}]}
    response = await api.post(f"/api/automations/{automation_id}/simulations", json={"filter": lead_filter, "limit": 2})
    assert response.status_code == 202
    simulation_id = response.json()["id"]
    await temporal_client.get_workflow_handle(response.json()["workflow_id"]).terminate()  # run here instead

    smtp = conftest.make_smtp_pool(settings)
    journeys = JourneyActivities(
        db, channels_from_settings(settings, smtp, db, mail_from=settings.mail_from), settings, smtp
    )
    activities = SimulationActivities(
        db,
        journey_workflow=JourneyWorkflow,
        journey_activities=journeys,
        limits=SimulationLimits(horizon=timedelta(days=5), poll=0.1),
    )
    workspace_id = await workspace_of(db)
    summary = await ActivityEnvironment().run(
        activities.run_simulation, SimulationInput(simulation_id=simulation_id, workspace_id=workspace_id)
    )
    await smtp.close()
    assert (summary.status, summary.leads, summary.entered) == ("done", 2, 1)
    found = (await api.get(f"/api/automations/{automation_id}/simulations/{simulation_id}")).json()
    results = found["results"]
    assert [lead["lead_id"] for lead in results["leads"]] == [first, second]
    looped, refused = results["leads"]
    assert (refused["entered"], refused["end"], refused["reason"]) == (False, "not_entered", "enrollment_filter")
    assert (looped["end"], looped["waiting_at"]) == ("unfinished", "wait")
    # Entered just after the simulation's start, tagged a day later each time: days 1 to 4 are inside 5 days; the
    # 5th tag would be a moment past the horizon. The same count however fast the machine runs the journeys.
    assert [step["node_id"] for step in looped["path"]].count("tag") == 4
    assert results["unfinished"] == "stopped after 5 simulated days"
    assert results["nodes"]["wait"]["waiting"] == 1 and results["totals"]["unfinished"] == 1
    assert looped["path"][2]["detail"]["would"] == "add tag 'looped'"
    tags = await rows(db, "SELECT tags FROM leads WHERE id = :l", l=first)
    assert "looped" not in tags[0].tags
    (journey,) = await rows(
        db, "SELECT mode, status, end_reason FROM journeys WHERE automation_id = :a", a=automation_id
    )
    assert (journey.mode, journey.status, journey.end_reason) == ("simulation", "exited", "simulation_stopped")

    # An attempt repeated after the results were stored changes nothing.
    again = await ActivityEnvironment().run(
        activities.run_simulation, SimulationInput(simulation_id=simulation_id, workspace_id=workspace_id)
    )
    assert (again.status, again.leads) == ("done", 2)
    assert len(await rows(db, "SELECT id FROM journeys WHERE automation_id = :a", a=automation_id)) == 1


async def test_a_simulation_that_cannot_run_is_recorded_as_failed(api, worker, db, settings, temporal_client):
    """A simulation whose graph no longer runs (here: written broken behind the API's back) fails at once, without
    retries, and its row says why; one whose row is gone fails too."""
    automation_id = await new_automation(api, {"nodes": [], "edges": []})
    workspace_id = await workspace_of(db)
    async with db() as session:
        simulation_id = (
            await session.execute(
                text(
                    "INSERT INTO automation_simulations (workspace_id, automation_id, version, graph, selection, "
                    "status) VALUES (:w, :a, 0, CAST(:g AS jsonb), '{\"lead_ids\": [1]}', 'queued') RETURNING id"
                ),
                {"w": workspace_id, "a": automation_id, "g": json.dumps({"nodes": "not a list"})},
            )
        ).scalar_one()
        await session.commit()
    for missing, input in ((False, simulation_id), (True, 987_654_321)):
        handle = await temporal_client.start_workflow(
            "AutomationSimulationWorkflow",
            SimulationInput(simulation_id=input, workspace_id=workspace_id),
            id=f"simulation-{input}-{uuid.uuid4().hex[:6]}",
            task_queue=settings.temporal_task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert ("no longer exists" if missing else "does not parse") in str(failure.value.cause)
        attempts = [
            event.activity_task_started_event_attributes.attempt
            for event in (await handle.fetch_history()).events
            if event.HasField("activity_task_started_event_attributes")
        ]
        assert attempts == [1, 1]  # run_simulation once (not retried), then fail_simulation
    found = (await api.get(f"/api/automations/{automation_id}/simulations/{simulation_id}")).json()
    assert found["status"] == "failed" and "does not parse" in found["error"] and found["finished_at"]


# --- The pure parts ---------------------------------------------------------------------------------------------------


def test_a_simulated_trigger_event_fires_its_trigger():
    triggers = [
        node("status", "lead_status_changed", to_status="qualified"),
        node("status-from", "lead_status_changed", to_status="qualified", from_status="contacted"),
        node("created", "lead_created", sources=["import"]),
        node("listed", "added_to_list", list_id=4),
        node("tagged", "tag_added", tag="vip"),
        node("field", "custom_field_changed", field="plan"),
        node("field-to", "custom_field_changed", field="plan", to_value="pro"),
        node("posted", "external_event", event="signup"),
        node("clicked", "campaign_interaction", interaction="clicked"),
        node("birthday", "date_field", field="birthday", every_year=True),
        node("weekly", "recurring_schedule", frequency="daily", time="09:00", filter={"rules": []}),
    ]
    graph = AutomationGraph.model_validate({"nodes": triggers, "edges": []})
    for trigger_node in graph.nodes:
        event = simulated_event(trigger_node, lead_id=7, event_id="sim-1-7", lead_status="new", field_value="free")
        assert matches_trigger(trigger_node, event), trigger_node.id
        assert (event.lead_id, event.event_id) == (7, "sim-1-7")
    status = simulated_event(graph.nodes[0], lead_id=7, event_id="e", lead_status="new")
    assert (status.from_status, status.to_status) == ("new", "qualified")
    already = simulated_event(graph.nodes[0], lead_id=7, event_id="e", lead_status="qualified")
    assert already.from_status is None  # from "qualified" to "qualified" would be no change
    assert simulated_event(graph.nodes[5], lead_id=7, event_id="e", field_value="free").value == "free"
    assert simulated_trigger(graph).id == "status" and simulated_trigger(graph, "posted").id == "posted"
    with pytest.raises(NoTrigger):
        simulated_trigger(graph, "nope")
    with pytest.raises(NoTrigger):
        simulated_trigger(AutomationGraph.model_validate({"nodes": [], "edges": []}))


def test_node_counts_and_totals_from_simulated_paths():
    now = datetime.fromisoformat("2026-01-01T00:00:00+00:00")

    def step(node_id: str, outcome: str | None, end: str | None = None) -> SimulatedStep:
        return SimulatedStep(node_id=node_id, node_type="x", outcome=outcome, at=now, end=end)

    leads = [
        SimulatedLead(lead_id=1, entered=True, end="completed", path=[step("a", "next"), step("b", "yes")]),
        SimulatedLead(lead_id=2, entered=True, end="exited", path=[step("a", "next"), step("c", None, "exited")]),
        SimulatedLead(lead_id=3, entered=True, end="unfinished", waiting_at="w", path=[step("a", "next")]),
        SimulatedLead(lead_id=4, entered=False, end="not_entered", reason="enrollment_filter"),
    ]
    counts = {key: value.model_dump() for key, value in node_counts(leads).items()}
    assert counts == {
        "a": {"passed": 3, "outcomes": {"next": 3}, "ended": 0, "waiting": 0},
        "b": {"passed": 1, "outcomes": {"yes": 1}, "ended": 1, "waiting": 0},
        "c": {"passed": 1, "outcomes": {"exited": 1}, "ended": 1, "waiting": 0},
        "w": {"passed": 0, "outcomes": {}, "ended": 0, "waiting": 1},
    }
    assert totals(leads) == {
        "leads": 4, "entered": 3, "completed": 1, "exited": 1, "unfinished": 1, "not_entered": 1
    }  # fmt: skip


async def record_simulation_histories(api, db, settings, temporal_client: Client) -> None:
    """For tests/test_replay.py (HERALD_RECORD_HISTORIES=1, the API and a worker running): a simulation of the
    issue's example that completes, and one refused (its row is gone)."""
    graph, _email, _sms, _sales = await example_graph(db)
    mailable, texted, _unreachable = await three_leads(db)
    automation_id = await new_automation(api, graph)
    simulation = await simulate(api, automation_id, lead_ids=[mailable, texted])
    assert simulation["status"] == "done"
    done = await temporal_client.get_workflow_handle(f"simulation-{simulation['id']}").fetch_history()
    (HISTORIES / "AutomationSimulationWorkflow-done.json").write_text(done.to_json())
    handle = await temporal_client.start_workflow(
        "AutomationSimulationWorkflow",
        SimulationInput(simulation_id=987_654_321, workspace_id=await workspace_of(db)),
        id=f"simulation-gone-{uuid.uuid4().hex[:6]}",
        task_queue=settings.temporal_task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    (HISTORIES / "AutomationSimulationWorkflow-refused.json").write_text((await handle.fetch_history()).to_json())
