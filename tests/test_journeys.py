"""JourneyWorkflow with real workers, PostgreSQL and the SMTP sink: every node type, waits for events (both
outcomes), fallbacks, re-entry, version pinning, duplicate triggers and signals, goals, exactly-once sends, a worker
killed mid-journey, continue-as-new, the simulation mode, and the issue's example end to end.

Delays run on Temporal's time-skipping test server (`time_env`); the crash and continue-as-new tests run on the dev
server (`temporal_client`) in test mode (delays cut to a second or two). Journeys are started through the dispatcher
(core/journeys.py) with the database loader of activities/journey_activities.py, as the API will.
With HERALD_RECORD_HISTORIES=1, the histories replayed by tests/test_replay.py are written to tests/histories.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.channels import Channels, OutgoingMessage, PermanentSendError, SendReceipt, channels_from_settings
from activities.journey_activities import (
    JourneyActivities,
    lead_matches,
    load_dispatch_targets,
    mask_address,
)
from api.accounts import create_user, set_membership
from core.journeys import PublishedAutomation, dispatch, enter
from core.tracking_links import open_pixel_url
from core.workflow_ids import journey_entry_workflow_id, journey_workflow_id
from domain.journey_steps import EntryHistory, split_branch, stable_draw
from models.leads import CustomFieldDefinition
from models.payloads.automation import AutomationGraph, JourneyEvent
from models.payloads.journey import (
    CONFIGURATION_ERROR,
    LEAD_GONE,
    ActionInput,
    ActionOutcome,
    BeginJourney,
    JourneyOutcome,
    JourneyProgress,
    JourneyRef,
)
from tests import conftest
from tests.factories import make_leads
from tests.helpers import eventually
from tests.test_campaign_flow_engine import engine_worker, make_template, rows, time_env  # noqa: F401  (fixture)
from tests.test_tracking import CHROME
from workflows.journey import JourneyWorkflow

FIXTURE = Path(__file__).parent / "fixtures" / "automations" / "qualified_case_study.json"
HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("HERALD_RECORD_HISTORIES") == "1"


# --- Helpers ----------------------------------------------------------------------------------------------------------


async def workspace_of(db) -> int:
    async with db() as session:
        return (await session.execute(text("SELECT min(id) FROM workspaces"))).scalar_one()


async def make_automation(db, graph: dict[str, Any], *, version: int = 1, status: str = "active") -> int:
    """An automation with `graph` published as `version` (as the API will record a publication)."""
    AutomationGraph.model_validate(graph)  # the tests' graphs are valid shapes
    workspace_id = await workspace_of(db)
    async with db() as session:
        automation_id = (
            await session.execute(
                text(
                    "INSERT INTO automations (workspace_id, name, status, published_version, draft, counters) "
                    "VALUES (:w, :name, :status, :v, CAST(:g AS jsonb), '{}') RETURNING id"
                ),
                {
                    "w": workspace_id,
                    "name": f"auto-{uuid.uuid4().hex[:8]}",
                    "status": status,
                    "v": version,
                    "g": json.dumps(graph),
                },
            )
        ).scalar_one()
        await session.commit()
    await publish(db, automation_id, graph, version)
    return automation_id


async def publish(db, automation_id: int, graph: dict[str, Any], version: int) -> None:
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO automation_versions (workspace_id, automation_id, version, graph) "
                "SELECT workspace_id, id, :v, CAST(:g AS jsonb) FROM automations WHERE id = :a"
            ),
            {"a": automation_id, "v": version, "g": json.dumps(graph)},
        )
        await session.execute(
            text("UPDATE automations SET published_version = :v, draft = CAST(:g AS jsonb) WHERE id = :a"),
            {"a": automation_id, "v": version, "g": json.dumps(graph)},
        )
        await session.commit()


async def trigger(client: Client, settings, db, event: JourneyEvent, **options: Any):
    """The dispatcher fed by the worker-side loader: the workspace's active automations, the lead's history and
    running journeys, enrollment filters checked in the database."""
    workspace_id = await workspace_of(db)
    async with db() as session:
        targets = await load_dispatch_targets(session, workspace_id, event.lead_id)

    async def enrollment(lead_id: int, tree: dict) -> bool:
        async with db() as session:
            return await lead_matches(session, workspace_id, lead_id, tree)

    return await dispatch(
        client,
        workspace_id,
        event,
        targets.automations,
        task_queue=settings.temporal_task_queue,
        histories=targets.histories,
        running=targets.running,
        enrollment=enrollment,
        **options,
    )


def external(lead_id: int, name: str = "go", event_id: str | None = None, **fields: Any) -> JourneyEvent:
    return JourneyEvent(
        kind="external_event", event_id=event_id or f"ev-{uuid.uuid4().hex[:10]}", lead_id=lead_id, name=name, **fields
    )


def node(node_id: str, type_: str, **config: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"id": node_id, "type": type_}
    if config or type_ not in ("exit",):
        found["config"] = config
    return found


def edge(source: str, target: str, outcome: str = "next") -> dict[str, Any]:
    return {"source": source, "outcome": outcome, "target": target}


def started_on(client: Client, automation_id: int, lead_id: int) -> WorkflowHandle:
    return client.get_workflow_handle(journey_workflow_id(automation_id, lead_id))


async def result(handle: WorkflowHandle, env: Any = None) -> JourneyOutcome:
    """The journey's outcome; on the time-skipping server, time skips while waiting for it (as the handles its
    client starts do; the dispatcher's handles are not kept)."""
    if env is not None and hasattr(env, "time_skipping_unlocked"):
        async with env.time_skipping_unlocked():
            return JourneyOutcome.model_validate(await handle.result())
    return JourneyOutcome.model_validate(await handle.result())


async def progress(handle: WorkflowHandle) -> JourneyProgress:
    return await handle.query(JourneyWorkflow.state, result_type=JourneyProgress)


async def waiting_at(handle: WorkflowHandle, node_id: str, timeout: float = 60) -> JourneyProgress:
    async def check() -> JourneyProgress | None:
        try:
            state = await progress(handle)
        except Exception:
            return None
        return state if state.status == "waiting" and state.node_id == node_id else None

    return await eventually(check, timeout=timeout, interval=0.1)


async def journeys(db, automation_id: int) -> list[Any]:
    return await rows(
        db,
        "SELECT id, lead_id, entry, version, status, workflow_id, mode, current_node, end_reason FROM journeys "
        "WHERE automation_id = :a ORDER BY id",
        a=automation_id,
    )


async def steps(db, journey_id: int) -> list[Any]:
    return await rows(
        db,
        "SELECT seq, node_id, node_type, outcome, next_node, at, wake_at, reason, end_status, detail "
        "FROM journey_steps WHERE journey_id = :j ORDER BY seq",
        j=journey_id,
    )


async def lead_row(db, lead_id: int) -> Any:
    return (
        await rows(
            db,
            "SELECT status, score, tags, custom_fields, owner_id, suppressed_email FROM leads WHERE id = :l",
            l=lead_id,
        )
    )[0]


async def outbox(db, channel: str, to: str) -> list[Any]:
    return await rows(
        db,
        "SELECT subject, body_text, message_id FROM outbox_messages "
        "WHERE channel = :c AND rcpt_to @> CAST(:to AS jsonb) ORDER BY id",
        c=channel,
        to=json.dumps([to]),
    )


def save_history_later(name: str) -> Callable[[WorkflowHandle], Any]:
    async def save(handle: WorkflowHandle) -> None:
        if RECORD:
            history = await handle.fetch_history()
            (HISTORIES / f"JourneyWorkflow-{name}.json").write_text(history.to_json())

    return save


async def make_member(db, email: str) -> int:
    workspace_id = await workspace_of(db)
    async with db() as session:
        user = await create_user(session, email, "correct horse battery", email.split("@")[0].title())
        await set_membership(session, user.id, workspace_id, "marketer")
        await session.commit()
        return user.id


class Hooks:
    """A local HTTP receiver for call_webhook: the status to answer per path, every request kept."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status: dict[str, int] = {}
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                path = self.path.split("?")[0]
                hooks.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(hooks.status.get(path, 200))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_GET = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].split("?")[0] == path]


@pytest.fixture
def hooks():
    receiver = Hooks()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
async def worker_on_time_env(time_env, settings, db, tenant):  # noqa: F811
    async with engine_worker(time_env.client, settings, db):
        yield time_env


# --- The issue's example end to end -----------------------------------------------------------------------------------


async def example_graph(db) -> tuple[dict[str, Any], int, int, list[int]]:
    """The fixture with real ids: its email and SMS templates, two sales members for the round robin."""
    graph = json.loads(FIXTURE.read_text())
    email = await make_template(db, subject="Our case study, {{ lead.first_name }}")
    sms = await make_template(db, channel="sms", body="Did you see the case study, {{ lead.first_name }}?")
    sales = [await make_member(db, f"sales{n}-{uuid.uuid4().hex[:6]}@acme.test") for n in range(2)]
    for item in graph["nodes"]:
        config = item.get("config", {})
        if item["id"] == "case-study":
            config["template_id"] = email
        elif item["id"] == "sms-nudge":
            config["template_id"] = sms
        elif item["id"] == "assign-sales":
            config["user_ids"] = sales
    return graph, email, sms, sales


def qualified(lead_id: int, event_id: str | None = None) -> JourneyEvent:
    return JourneyEvent(
        kind="status_changed",
        event_id=event_id or f"status-{uuid.uuid4().hex[:8]}",
        lead_id=lead_id,
        from_status="contacted",
        to_status="qualified",
    )


async def test_the_issue_example_runs_end_to_end_with_time_skipping(worker_on_time_env, settings, db):
    env = worker_on_time_env
    graph, _email, _sms, sales = await example_graph(db)
    automation_id = await make_automation(db, graph)
    opener, no_email = await make_leads(db, 2, prefix=f"ex{uuid.uuid4().hex[:4]}")
    async with db() as session:  # the second lead has no email address, but a phone and SMS consent
        await session.execute(
            text("UPDATE leads SET email = NULL, phone = '+33612345678', consent_sms = 'granted' WHERE id = :l"),
            {"l": no_email},
        )
        await session.commit()
    opener_email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=opener))[0].email

    dispatched = await trigger(env.client, settings, db, qualified(opener))
    assert [(d.automation_id, d.action, d.trigger_node) for d in dispatched] == [
        (automation_id, "started", "qualified")
    ]
    await trigger(env.client, settings, db, qualified(no_email))
    first = started_on(env.client, automation_id, opener)
    second = started_on(env.client, automation_id, no_email)
    await waiting_at(first, "wait-2d")
    await env.sleep(timedelta(days=2, minutes=1))

    # The case study went out by email two days later; the lead opens it, then clicks it.
    state = await waiting_at(first, "wait-open")
    message_id = state.sent_messages["case-study"]
    assert [row.subject for row in await outbox(db, "email", opener_email)] == ["Our case study, First0"]
    async with db() as session:  # what the tracking pixel and redirect record
        await session.execute(
            text("UPDATE deliveries SET opened_at = now(), clicked_at = now() WHERE id = :d"), {"d": int(message_id)}
        )
        await session.commit()
    opened = JourneyEvent(
        kind="message_opened", event_id="open-1", lead_id=opener, node_id="case-study", message_id=message_id
    )
    await first.signal(JourneyWorkflow.event, opened)
    await waiting_at(first, "wait-click")
    clicked = opened.model_copy(update={"kind": "message_clicked", "event_id": "click-1"})
    await first.signal(JourneyWorkflow.event, clicked)
    outcome = await result(first, env)
    assert (outcome.end, outcome.node_id) == ("completed", "notify-owner")
    assert outcome.path == [
        "qualified", "wait-2d", "case-study", "wait-open", "wait-click", "assign-sales", "notify-owner"
    ]  # fmt: skip
    lead = await lead_row(db, opener)
    assert lead.owner_id == sales[0]  # the round robin's first turn
    owner_email = (await rows(db, "SELECT email FROM users WHERE id = :u", u=sales[0]))[0].email
    notes = await outbox(db, "email", owner_email)
    assert [row.subject for row in notes] == ["First0 clicked the case study"]
    assert "First0 Last0" in notes[0].body_text

    # No email: the send is skipped, its fallback sends the SMS, nobody clicks within 7 days, the journey exits.
    outcome = await result(second, env)
    assert (outcome.end, outcome.node_id) == ("exited", "done")
    assert outcome.path == ["qualified", "wait-2d", "case-study", "sms-nudge", "wait-click", "done"]
    sms = await outbox(db, "sms", "+33612345678")
    assert [row.body_text for row in sms] == ["Did you see the case study, First1?"]
    by_lead = {row.lead_id: row for row in await journeys(db, automation_id)}
    assert {row.status for row in by_lead.values()} == {"completed", "exited"}
    logged = await steps(db, by_lead[no_email].id)
    case_study = next(step for step in logged if step.node_id == "case-study")
    assert (case_study.outcome, case_study.reason) == ("fallback", "skipped")
    assert case_study.detail["why"] == "invalid_address" and case_study.detail["fallback"] is True
    wait_click = next(step for step in logged if step.node_id == "wait-click")
    assert wait_click.outcome == "timeout" and wait_click.wake_at - wait_click.at == timedelta(days=7)
    deliveries = await rows(
        db,
        "SELECT d.node_id, d.status, d.skip_reason, d.channel, r.automation_id, r.number, r.campaign_id "
        "FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id WHERE d.journey_id = :j ORDER BY d.id",
        j=by_lead[no_email].id,
    )
    assert [(d.node_id, d.status, d.skip_reason, d.channel) for d in deliveries] == [
        ("case-study", "skipped", "invalid_address", "email"),
        ("sms-nudge", "sent", None, "sms"),
    ]
    assert {(d.automation_id, d.number, d.campaign_id) for d in deliveries} == {(automation_id, 1, None)}
    await save_history_later("example-clicked")(first)
    await save_history_later("example-fallback-timeout")(second)


# --- Every node type --------------------------------------------------------------------------------------------------


async def test_every_node_type_runs_through_the_workflow(worker_on_time_env, settings, db, hooks):
    env = worker_on_time_env
    workspace_id = await workspace_of(db)
    hello = await make_template(db, subject="Hello {{ lead.first_name }}")
    async with db() as session:
        session.add(CustomFieldDefinition(workspace_id=workspace_id, key="plan", label="Plan", type="text"))
        session.add(CustomFieldDefinition(workspace_id=workspace_id, key="renewal", label="Renewal", type="date"))
        await session.commit()
    async with db() as session:
        static = (
            await session.execute(
                text(
                    "INSERT INTO lists (workspace_id, name, description, kind, created_at) "
                    "VALUES (:w, :n, '', 'static', now()) RETURNING id"
                ),
                {"w": workspace_id, "n": f"vip-{uuid.uuid4().hex[:6]}"},
            )
        ).scalar_one()
        await session.commit()
    other = await make_automation(
        db,
        {
            "nodes": [node("start", "external_event", event="never"), node("mark", "add_tag", tag="from-other")],
            "edges": [edge("start", "mark")],
        },
    )
    score_5 = {"combinator": "and", "rules": [{"field": "score", "operator": ">=", "value": 5}]}
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("hello", "send_message", channel="email", template_id=hello),
            node("tag", "add_tag", tag="vip"),
            node("score", "update_field", field="score", operation="increment", value=5),
            node("plan", "update_field", field="custom.plan", value="pro"),
            node("join", "add_to_list", list_id=static),
            node("check", "filter", filter=score_5),
            node("split", "random_split", branches=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]),
            node("morning", "wait_until_time_of_day", time="09:00"),
            node("opened", "engagement", node="hello", event="opened"),
            node("renewal", "wait_until_date_field", field="renewal", offset_days=-1),
            node(
                "hook",
                "call_webhook",
                url=f"{hooks.url}/hook?who={{{{ lead.first_name }}}}",
                body='{"email": "{{ lead.email }}"}',
            ),
            node("untag", "remove_tag", tag="vip"),
            node("leave", "remove_from_list", list_id=static),
            node("other", "start_automation", automation_id=other),
            node("status", "update_field", field="status", value="contacted"),
            node("done", "exit"),
            node("not-5", "exit"),
        ],
        "edges": [
            edge("go", "hello"),
            edge("hello", "tag"),
            edge("tag", "score"),
            edge("score", "plan"),
            edge("plan", "join"),
            edge("join", "check"),
            edge("check", "split", "yes"),
            edge("check", "not-5", "no"),
            edge("split", "morning", "a"),
            edge("split", "morning", "b"),
            edge("morning", "opened"),
            edge("opened", "renewal", "yes"),
            edge("opened", "renewal", "no"),
            edge("renewal", "hook"),
            edge("hook", "untag"),
            edge("untag", "leave"),
            edge("leave", "other"),
            edge("other", "status"),
            edge("status", "done"),
        ],
        "reentry": "once_ever",
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"all{uuid.uuid4().hex[:4]}", timezone="Asia/Tokyo")
    now = await env.get_current_time()
    renewal = (now + timedelta(days=10)).date()
    async with db() as session:
        await session.execute(
            text("UPDATE leads SET custom_fields = CAST(:c AS jsonb) WHERE id = :l"),
            {"l": lead_id, "c": json.dumps({"renewal": renewal.isoformat()})},
        )
        await session.commit()

    await trigger(env.client, settings, db, external(lead_id))
    handle = started_on(env.client, automation_id, lead_id)
    state = await waiting_at(handle, "morning")  # 09:00 in Tokyo: the lead opens "hello" meanwhile
    async with db() as session:
        await session.execute(
            text("UPDATE deliveries SET opened_at = now() WHERE id = :d"), {"d": int(state.sent_messages["hello"])}
        )
        await session.commit()
    outcome = await result(handle, env)

    assert (outcome.end, outcome.node_id) == ("exited", "done")
    branch = split_branch(
        AutomationGraph.model_validate(graph).nodes[7].config,  # type: ignore[union-attr]
        stable_draw(automation_id, "split", lead_id, 1),
    )
    assert outcome.path == [
        "go", "hello", "tag", "score", "plan", "join", "check", "split", "morning", "opened", "renewal", "hook",
        "untag", "leave", "other", "status", "done",
    ]  # fmt: skip
    (journey,) = await journeys(db, automation_id)
    logged = {step.node_id: step for step in await steps(db, journey.id)}
    assert logged["split"].outcome == branch
    assert logged["opened"].outcome == "yes" and logged["check"].outcome == "yes"
    tokyo = ZoneInfo("Asia/Tokyo")
    assert logged["morning"].wake_at.astimezone(tokyo).strftime("%H:%M") == "09:00"
    renewal_wake = logged["renewal"].wake_at.astimezone(tokyo)
    assert (renewal_wake.date(), renewal_wake.strftime("%H:%M")) == (renewal - timedelta(days=1), "09:00")
    lead = await lead_row(db, lead_id)
    assert (lead.status, lead.score, lead.custom_fields["plan"]) == ("contacted", 5, "pro")
    assert "vip" not in lead.tags
    assert await rows(db, "SELECT 1 FROM list_members WHERE list_id = :l AND lead_id = :i", l=static, i=lead_id) == []
    timeline = [
        (row.type, row.actor)
        for row in await rows(db, "SELECT type, actor FROM lead_events WHERE lead_id = :l ORDER BY id", l=lead_id)
    ]
    actor = f"automation:{automation_id}"
    assert [t for t, a in timeline if a == actor] == [
        "tagged", "field_changed", "field_changed", "added_to_list", "untagged", "removed_from_list",
        "status_changed",
    ]  # fmt: skip
    (call,) = hooks.on("/hook")
    assert call["path"] == "/hook?who=First0" and json.loads(call["body"])["email"].startswith("all")
    assert call["headers"]["Idempotency-Key"] == f"{journey.workflow_id}:{logged['hook'].seq}"
    # The other automation's journey was started for the lead by signal-with-start, and ran.
    other_outcome = await result(started_on(env.client, other, lead_id), env)
    assert other_outcome.end == "completed"
    assert "from-other" in (await lead_row(db, lead_id)).tags
    await save_history_later("every-node-type")(handle)


# --- Waiting for an event ---------------------------------------------------------------------------------------------


def paid_graph(**extra: Any) -> dict[str, Any]:
    return {
        "nodes": [
            node("go", "external_event", event="go"),
            node("paid", "wait_for_event", event={"kind": "external_event", "name": "paid"}, timeout={"days": 3}),
            node("thanks", "add_tag", tag="paid"),
            node("late", "add_tag", tag="late"),
        ],
        "edges": [edge("go", "paid"), edge("paid", "thanks", "event"), edge("paid", "late", "timeout")],
        **extra,
    }


async def test_wait_for_event_takes_event_when_it_arrives_and_timeout_when_it_does_not(
    worker_on_time_env, settings, db
):
    env = worker_on_time_env
    automation_id = await make_automation(db, paid_graph())
    payer, silent = await make_leads(db, 2, prefix=f"pay{uuid.uuid4().hex[:4]}")
    for lead_id in (payer, silent):
        await trigger(env.client, settings, db, external(lead_id))
    handle = started_on(env.client, automation_id, payer)
    await waiting_at(handle, "paid")
    # An event of another name does not end the wait; "paid" does, through the dispatcher (a running journey).
    await trigger(env.client, settings, db, external(payer, "opened-the-app"))
    dispatched = await trigger(env.client, settings, db, external(payer, "paid"))
    assert [d.action for d in dispatched] == ["signalled"]
    paid = await result(handle, env)
    late = await result(started_on(env.client, automation_id, silent), env)
    assert paid.path == ["go", "paid", "thanks"] and late.path == ["go", "paid", "late"]
    assert "paid" in (await lead_row(db, payer)).tags and "late" in (await lead_row(db, silent)).tags
    by_lead = {row.lead_id: row.id for row in await journeys(db, automation_id)}
    waited = {lead: (await steps(db, journey))[1] for lead, journey in by_lead.items()}
    assert waited[payer].outcome == "event" and waited[silent].outcome == "timeout"
    assert waited[silent].wake_at - waited[silent].at == timedelta(days=3)


# --- Fallbacks --------------------------------------------------------------------------------------------------------


class RefusingEmail:
    """The email channel of a provider that refuses the address for good (SMTP 550 5.1.1)."""

    name = "email"
    concurrency = 1

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        self.calls += 1
        raise PermanentSendError("SMTP 550: 5.1.1 no such user", suppress="bounced")


def refusing_email(refusing: RefusingEmail) -> Callable[[Channels], Channels]:
    def wrap(channels: Channels) -> Channels:
        others = {name: channels.get(name) for name in channels.names if name != "email"}
        return Channels({**others, "email": refusing})

    return wrap


async def test_a_permanently_refused_email_takes_the_fallback_to_sms(time_env, settings, db, tenant):  # noqa: F811
    email = await make_template(db)
    sms = await make_template(db, channel="sms", body="SMS for {{ lead.first_name }}")
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node(
                "mail",
                "send_message",
                channel="email",
                template_id=email,
                retry={"max_attempts": 3, "initial_interval_seconds": 1},
            ),
            node("text", "send_message", channel="sms", template_id=sms),
        ],
        "edges": [edge("go", "mail"), edge("mail", "text", "fallback")],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(
        db, 1, prefix=f"bounce{uuid.uuid4().hex[:4]}", phone="+14155550100", consent_sms="granted"
    )
    refusing = RefusingEmail()
    async with engine_worker(time_env.client, settings, db, wrap_channels=refusing_email(refusing)):
        await trigger(time_env.client, settings, db, external(lead_id))
        outcome = await result(started_on(time_env.client, automation_id, lead_id), time_env)
    assert outcome.path == ["go", "mail", "text"] and outcome.end == "completed"
    assert refusing.calls == 1  # non-retryable: one attempt of the three
    (journey,) = await journeys(db, automation_id)
    mail = next(step for step in await steps(db, journey.id) if step.node_id == "mail")
    assert (mail.outcome, mail.reason) == ("fallback", "failed")
    assert mail.detail["error_type"] == "ActionFailed" and "5.1.1" in mail.detail["error"]
    assert mail.detail["fallback"] is True
    found = await rows(
        db, "SELECT node_id, status, error FROM deliveries WHERE journey_id = :j ORDER BY id", j=journey.id
    )
    assert [(row.node_id, row.status) for row in found] == [("mail", "failed"), ("text", "sent")]
    assert (await lead_row(db, lead_id)).suppressed_email == "bounced"  # as a campaign suppresses it
    assert len(await outbox(db, "sms", "+14155550100")) == 1


async def test_a_failing_webhook_takes_its_fallback_after_its_retries_or_at_once_on_a_4xx(
    worker_on_time_env, settings, db, hooks
):
    env = worker_on_time_env
    owner = await make_member(db, f"owner-{uuid.uuid4().hex[:6]}@acme.test")
    hooks.status.update({"/down": 500, "/refused": 400})

    def graph(path: str) -> dict[str, Any]:
        return {
            "nodes": [
                node("go", "external_event", event="go"),
                node(
                    "hook",
                    "call_webhook",
                    url=f"{hooks.url}{path}",
                    body="{}",
                    retry={"max_attempts": 3, "initial_interval_seconds": 1},
                ),
                node(
                    "tell",
                    "notify_user",
                    recipient="owner",
                    subject="Webhook failed for {{ lead.first_name }}",
                    body="See {{ lead.email }}",
                ),
            ],
            "edges": [edge("go", "hook"), edge("hook", "tell", "fallback")],
        }

    down, refused = await make_automation(db, graph("/down")), await make_automation(db, graph("/refused"))
    (lead_id,) = await make_leads(db, 1, prefix=f"hook{uuid.uuid4().hex[:4]}", owner_id=owner)
    await trigger(env.client, settings, db, external(lead_id))
    outcomes = [await result(started_on(env.client, a, lead_id), env) for a in (down, refused)]
    assert [o.path for o in outcomes] == [["go", "hook", "tell"]] * 2
    assert len(hooks.on("/down")) == 3 and len(hooks.on("/refused")) == 1
    keys = {r["headers"]["Idempotency-Key"] for r in hooks.on("/down")}
    assert len(keys) == 1  # the same key on every retry
    details = {}
    for automation_id in (down, refused):
        (journey,) = await journeys(db, automation_id)
        details[automation_id] = next(s for s in await steps(db, journey.id) if s.node_id == "hook").detail
    assert details[down]["retry_state"] == "MAXIMUM_ATTEMPTS_REACHED" and "HTTP 500" in details[down]["error"]
    assert details[refused]["retry_state"] == "NON_RETRYABLE_FAILURE" and "HTTP 400" in details[refused]["error"]
    owner_email = (await rows(db, "SELECT email FROM users WHERE id = :u", u=owner))[0].email
    assert len(await outbox(db, "email", owner_email)) == 2  # one notification per failed webhook


async def test_a_webhook_to_the_workers_own_network_fails_at_once_unless_allowed(time_env, settings, db, hooks, tenant):  # noqa: F811
    """By default a webhook only calls public addresses: one to 127.0.0.1 is refused without a request or a retry,
    and takes its fallback (activities/outbound_http.py)."""
    guarded = settings.model_copy(update={"automation_webhooks_allow_private": False})
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("hook", "call_webhook", url=f"{hooks.url}/internal", body="{}"),
            node("count", "update_field", field="score", operation="increment", value=1),
        ],
        "edges": [edge("go", "hook"), edge("hook", "count", "fallback")],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"ssrf{uuid.uuid4().hex[:4]}")
    async with engine_worker(time_env.client, guarded, db):
        await trigger(time_env.client, guarded, db, external(lead_id))
        outcome = await result(started_on(time_env.client, automation_id, lead_id), time_env)
    assert outcome.path == ["go", "hook", "count"]
    assert hooks.on("/internal") == []
    (journey,) = await journeys(db, automation_id)
    detail = next(s for s in await steps(db, journey.id) if s.node_id == "hook").detail
    assert detail["retry_state"] == "NON_RETRYABLE_FAILURE" and detail["fallback"] is True
    assert "127.0.0.1 is a loopback address" in detail["error"]


async def test_a_click_before_the_wait_for_it_began_counts_and_a_scanners_click_does_not(
    worker_on_time_env, settings, db
):
    """A wait for a message's click also takes `event` when that message was clicked after the send but before the
    wait began (here during a day's wait in between); an automated (machine) click never counts."""
    env = worker_on_time_env
    mail = await make_template(db, body='Read <a href="https://example.com/study">the study</a>')
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("mail", "send_message", channel="email", template_id=mail),
            node("pause", "wait_duration", duration={"days": 1}),
            node("click", "wait_for_event", event={"kind": "clicked", "node": "mail"}, timeout={"days": 3}),
            node("hot", "add_tag", tag="hot"),
            node("cold", "add_tag", tag="cold"),
        ],
        "edges": [
            edge("go", "mail"),
            edge("mail", "pause"),
            edge("pause", "click"),
            edge("click", "hot", "event"),
            edge("click", "cold", "timeout"),
        ],
    }
    automation_id = await make_automation(db, graph)
    reader, scanned = await make_leads(db, 2, prefix=f"early{uuid.uuid4().hex[:4]}")
    for lead_id in (reader, scanned):
        await trigger(env.client, settings, db, external(lead_id))
    for lead_id, machine in ((reader, False), (scanned, True)):
        handle = started_on(env.client, automation_id, lead_id)
        state = await waiting_at(handle, "pause")
        clicked = JourneyEvent(
            kind="message_clicked",
            event_id=f"message_clicked:{state.sent_messages['mail']}",
            lead_id=lead_id,
            node_id="mail",
            message_id=state.sent_messages["mail"],
            machine=machine,
        )
        await handle.signal("event", clicked)
    assert (await result(started_on(env.client, automation_id, reader), env)).path[-2:] == ["click", "hot"]
    assert (await result(started_on(env.client, automation_id, scanned), env)).path[-2:] == ["click", "cold"]


# --- Re-entry, duplicates and versions --------------------------------------------------------------------------------


def stop_graph(reentry: str) -> dict[str, Any]:
    return {
        "nodes": [
            node("go", "external_event", event="go"),
            node("hold", "wait_for_event", event={"kind": "external_event", "name": "stop"}, timeout={"days": 30}),
            node("count", "update_field", field="score", operation="increment", value=1),
        ],
        "edges": [edge("go", "hold"), edge("hold", "count", "event"), edge("hold", "count", "timeout")],
        "reentry": reentry,
    }


async def _stop_all(client: Client, settings, db, lead_id: int) -> None:
    await trigger(client, settings, db, external(lead_id, "stop"))


async def test_reentry_policies_once_ever_once_at_a_time_and_every_time(worker_on_time_env, settings, db):
    env = worker_on_time_env
    once, at_a_time, every = [
        await make_automation(db, stop_graph(policy)) for policy in ("once_ever", "once_at_a_time", "every_time")
    ]
    (lead_id,) = await make_leads(db, 1, prefix=f"re{uuid.uuid4().hex[:4]}")

    first = {d.automation_id: d for d in await trigger(env.client, settings, db, external(lead_id, event_id="go-1"))}
    assert {a: first[a].action for a in (once, at_a_time, every)} == dict.fromkeys((once, at_a_time, every), "started")
    await waiting_at(started_on(env.client, once, lead_id), "hold")
    await waiting_at(started_on(env.client, at_a_time, lead_id), "hold")
    # While they run: once-ever and once-at-a-time deliver the trigger to the running journey; every-time enters again.
    second = {d.automation_id: d for d in await trigger(env.client, settings, db, external(lead_id, event_id="go-2"))}
    assert (second[once].action, second[once].reason) == ("signalled", "entered_before")
    assert second[at_a_time].action == "signalled"
    assert (second[every].action, second[every].workflow_id) == (
        "started", journey_entry_workflow_id(every, lead_id, "go-2")
    )  # fmt: skip
    for event_id in ("go-1", "go-2"):
        await waiting_at(env.client.get_workflow_handle(journey_entry_workflow_id(every, lead_id, event_id)), "hold")
    await _stop_all(env.client, settings, db, lead_id)
    for automation_id in (once, at_a_time):
        await result(started_on(env.client, automation_id, lead_id), env)
    for event_id in ("go-1", "go-2"):
        await result(env.client.get_workflow_handle(journey_entry_workflow_id(every, lead_id, event_id)), env)
    # After they ended: once-ever refuses, once-at-a-time enters again (entry 2), every-time too (entry 3).
    third = {d.automation_id: d for d in await trigger(env.client, settings, db, external(lead_id, event_id="go-3"))}
    assert (third[once].action, third[once].reason) == ("refused", "entered_before")
    assert third[at_a_time].action == "started" and third[every].action == "started"
    await waiting_at(started_on(env.client, at_a_time, lead_id), "hold")
    await waiting_at(env.client.get_workflow_handle(journey_entry_workflow_id(every, lead_id, "go-3")), "hold")
    await _stop_all(env.client, settings, db, lead_id)
    await result(started_on(env.client, at_a_time, lead_id), env)
    entries = {a: [(j.entry, j.status) for j in await journeys(db, a)] for a in (once, at_a_time, every)}
    assert entries[once] == [(1, "completed")]
    assert entries[at_a_time] == [(1, "completed"), (2, "completed")]
    await result(env.client.get_workflow_handle(journey_entry_workflow_id(every, lead_id, "go-3")), env)
    assert sorted(j.entry for j in await journeys(db, every)) == [1, 2, 3]
    # The same trigger event delivered again, after those journeys ended, enters nobody anywhere: every-time's
    # workflow id is taken, once-ever refuses, and once-at-a-time's new execution finds the event already entered.
    again = {
        d.automation_id: d.action for d in await trigger(env.client, settings, db, external(lead_id, event_id="go-3"))
    }
    assert again[every] == "duplicate" and again[once] == "refused"
    outcome = await result(started_on(env.client, at_a_time, lead_id), env)
    assert (outcome.end, outcome.reason, outcome.journey_id) == ("exited", "duplicate_trigger", None)
    assert [(j.entry, j.status) for j in await journeys(db, at_a_time)] == [(1, "completed"), (2, "completed")]


async def test_begin_journey_numbers_entries_and_tells_why_it_begins_none(settings, db, tenant):
    """begin_journey directly: each new execution gets the lead's next entry; a retried attempt of the same
    execution finds its row; a live trigger event that entered the lead before is a duplicate (a test-mode one is
    not); a deleted lead and a missing automation are final errors, and none of them writes a row."""
    automation_id = await make_automation(db, {"nodes": [node("go", "external_event", event="go")], "edges": []})
    (lead_id,) = await make_leads(db, 1, prefix=f"begin{uuid.uuid4().hex[:4]}")
    workspace_id = await workspace_of(db)
    acts = JourneyActivities(sessions=db, channels=None, settings=settings, smtp=None)  # type: ignore[arg-type]

    async def begin(run: str, event: str, **changes: Any) -> JourneyRef:
        fields = {
            "workspace_id": workspace_id,
            "automation_id": automation_id,
            "version": 1,
            "lead_id": lead_id,
            "workflow_id": f"journey-{automation_id}-{lead_id}",
            "first_run_id": run,
            "mode": "live",
            "trigger_node": "go",
            "trigger_event_id": event,
            **changes,
        }
        return await ActivityEnvironment().run(acts.begin_journey, BeginJourney(**fields))

    first = await begin("run-1", "ev-1")
    assert (first.entry, first.duplicate) == (1, False)
    assert await begin("run-1", "ev-1") == first  # the same execution's retry
    second = await begin("run-2", "ev-2")
    assert (second.entry, second.duplicate) == (2, False)
    again = await begin("run-3", "ev-1")  # ev-1 entered the lead before
    assert (again.journey_id, again.entry, again.duplicate) == (first.journey_id, 1, True)
    test = await begin("run-4", "ev-1", mode="test", workflow_id=f"journey-test-{automation_id}-{lead_id}")
    assert (test.entry, test.duplicate) == (3, False)
    with pytest.raises(ApplicationError) as gone:
        await begin("run-5", "ev-5", lead_id=lead_id + 1_000_000)
    assert gone.value.type == LEAD_GONE and gone.value.non_retryable
    with pytest.raises(ApplicationError) as missing:
        await begin("run-6", "ev-6", automation_id=automation_id + 1_000_000)
    assert missing.value.type == CONFIGURATION_ERROR and missing.value.non_retryable
    found = await rows(
        db, "SELECT entry, first_run_id, mode FROM journeys WHERE automation_id = :a ORDER BY id", a=automation_id
    )
    assert [tuple(row) for row in found] == [(1, "run-1", "live"), (2, "run-2", "live"), (3, "run-4", "test")]


async def test_journeys_of_one_lead_beginning_at_once_get_distinct_entries(settings, db, tenant):
    """No lock: the unique indexes decide. Eight executions of one lead and automation begin at once (entries 1-8,
    each once); four more carrying one live trigger event begin at once: one journey, three duplicates of it."""
    automation_id = await make_automation(db, {"nodes": [node("go", "external_event", event="go")], "edges": []})
    (lead_id,) = await make_leads(db, 1, prefix=f"race{uuid.uuid4().hex[:4]}")
    workspace_id = await workspace_of(db)
    acts = JourneyActivities(sessions=db, channels=None, settings=settings, smtp=None)  # type: ignore[arg-type]

    async def begin(run: str, event: str) -> JourneyRef:
        payload = BeginJourney(
            workspace_id=workspace_id,
            automation_id=automation_id,
            version=1,
            lead_id=lead_id,
            workflow_id=f"journey-{automation_id}-{lead_id}-{run}",
            first_run_id=run,
            mode="live",
            trigger_node="go",
            trigger_event_id=event,
        )
        return await ActivityEnvironment().run(acts.begin_journey, payload)

    distinct = await asyncio.gather(*(begin(f"run-{n}", f"ev-{n}") for n in range(8)))
    assert sorted(ref.entry for ref in distinct) == list(range(1, 9))
    assert not any(ref.duplicate for ref in distinct)
    same = await asyncio.gather(*(begin(f"same-{n}", "ev-same") for n in range(4)))
    begun = [ref for ref in same if not ref.duplicate]
    assert len(begun) == 1 and begun[0].entry == 9
    assert {(ref.journey_id, ref.entry) for ref in same} == {(begun[0].journey_id, 9)}
    count = await rows(db, "SELECT count(*) AS n FROM journeys WHERE automation_id = :a", a=automation_id)
    assert count[0].n == 9


async def test_duplicate_trigger_events_start_one_journey_and_duplicate_signals_count_once(
    worker_on_time_env, settings, db
):
    env = worker_on_time_env
    loop = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("ping", "wait_for_event", event={"kind": "external_event", "name": "ping"}, timeout={"days": 1}),
            node("count", "update_field", field="score", operation="increment", value=1),
            node("done", "exit"),
        ],
        "edges": [
            edge("go", "ping"),
            edge("ping", "count", "event"),
            edge("ping", "done", "timeout"),
            edge("count", "ping"),
        ],
        "reentry": "once_ever",
    }
    automation_id = await make_automation(db, loop)
    (lead_id,) = await make_leads(db, 1, prefix=f"dup{uuid.uuid4().hex[:4]}")
    # The same trigger delivered three times at once (a retried webhook), and a second trigger event meanwhile.
    event = external(lead_id, event_id="go-dup")
    await asyncio.gather(*(trigger(env.client, settings, db, event) for _ in range(3)))
    await trigger(env.client, settings, db, external(lead_id, event_id="go-other"))
    handle = started_on(env.client, automation_id, lead_id)
    await waiting_at(handle, "ping")
    assert len(await journeys(db, automation_id)) == 1

    async def score() -> int:
        return (await lead_row(db, lead_id)).score

    ping = external(lead_id, "ping", event_id="ping-1")
    await handle.signal(JourneyWorkflow.event, ping)
    await eventually(lambda: _equals(score, 1))
    await waiting_at(handle, "ping")
    await handle.signal(JourneyWorkflow.event, ping)  # the same id again: ignored
    await handle.signal(JourneyWorkflow.event, ping.model_copy(update={"event_id": "ping-2"}))
    await eventually(lambda: _equals(score, 2))
    outcome = await result(handle, env)
    assert outcome.end == "exited" and await score() == 2
    assert outcome.path == ["go", "ping", "count", "ping", "count", "ping", "done"]
    (journey,) = await journeys(db, automation_id)
    assert journey.entry == 1


async def _equals(read, expected) -> bool:
    return await read() == expected


async def test_a_journey_keeps_the_version_it_entered_with(worker_on_time_env, settings, db):
    env = worker_on_time_env

    def version(tag: str) -> dict[str, Any]:
        return {
            "nodes": [
                node("go", "external_event", event="go"),
                node("wait", "wait_duration", duration={"days": 1}),
                node("mark", "add_tag", tag=tag),
            ],
            "edges": [edge("go", "wait"), edge("wait", "mark")],
        }

    automation_id = await make_automation(db, version("v1"))
    early, late = await make_leads(db, 2, prefix=f"ver{uuid.uuid4().hex[:4]}")
    await trigger(env.client, settings, db, external(early))
    await waiting_at(started_on(env.client, automation_id, early), "wait")
    await publish(db, automation_id, version("v2"), 2)  # published while the first lead waits
    await trigger(env.client, settings, db, external(late))
    for lead_id in (early, late):
        await result(started_on(env.client, automation_id, lead_id), env)
    assert "v1" in (await lead_row(db, early)).tags and "v2" not in (await lead_row(db, early)).tags
    assert "v2" in (await lead_row(db, late)).tags
    assert {(j.lead_id, j.version) for j in await journeys(db, automation_id)} == {(early, 1), (late, 2)}


# --- Goals ------------------------------------------------------------------------------------------------------------


async def test_an_event_goal_ends_a_wait_at_once_and_a_filter_goal_stops_the_next_action(
    worker_on_time_env, settings, db
):
    env = worker_on_time_env
    mail = await make_template(db)
    won = {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "won"}]}
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("wait", "wait_duration", duration={"days": 3}),
            node("mail", "send_message", channel="email", template_id=mail),
        ],
        "edges": [edge("go", "wait"), edge("wait", "mail")],
        "goals": [
            {"kind": "event", "event": {"kind": "status_changed", "to_status": "won"}, "label": "Won"},
            {"kind": "filter", "filter": won},
        ],
    }
    automation_id = await make_automation(db, graph)
    signalled, quiet = await make_leads(db, 2, prefix=f"goal{uuid.uuid4().hex[:4]}")
    for lead_id in (signalled, quiet):
        await trigger(env.client, settings, db, external(lead_id))
    handle = started_on(env.client, automation_id, signalled)
    await waiting_at(handle, "wait")
    await waiting_at(started_on(env.client, automation_id, quiet), "wait")
    # The other lead is marked won without any event reaching its journey: the send's filter-goal check stops it.
    async with db() as session:
        await session.execute(text("UPDATE leads SET status = 'won' WHERE id = :l"), {"l": quiet})
        await session.commit()
    won_event = JourneyEvent(
        kind="status_changed", event_id="won-1", lead_id=signalled, from_status="qualified", to_status="won"
    )
    assert [d.action for d in await trigger(env.client, settings, db, won_event)] == ["signalled"]
    outcome = await result(handle, env)
    assert (outcome.end, outcome.node_id, outcome.reason) == ("goal_met", "wait", "goal[0]")
    outcome = await result(started_on(env.client, automation_id, quiet), env)
    assert (outcome.end, outcome.node_id, outcome.reason) == ("goal_met", "mail", "goal[1]")
    assert (
        await rows(
            db,
            "SELECT 1 FROM deliveries d JOIN journeys j ON j.id = d.journey_id WHERE j.automation_id = :a",
            a=automation_id,
        )
        == []
    )
    by_lead = {j.lead_id: j for j in await journeys(db, automation_id)}
    assert {lead: (j.status, j.end_reason) for lead, j in by_lead.items()} == {
        signalled: ("goal_met", "goal[0]"),
        quiet: ("goal_met", "goal[1]"),
    }
    cut = (await steps(db, by_lead[signalled].id))[-1]
    assert (cut.node_id, cut.end_status) == ("wait", "goal_met")
    assert datetime.fromisoformat(cut.detail["ended_at"]) - cut.at < timedelta(hours=1)  # not its 3 days
    waited = (await steps(db, by_lead[quiet].id))[1]
    assert (waited.node_id, waited.wake_at - waited.at) == ("wait", timedelta(days=3))
    await save_history_later("goal-met-mid-wait")(handle)


async def signals_of(handle: WorkflowHandle) -> int:
    history = await handle.fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)


async def test_a_journeys_own_change_is_not_signalled_to_it_but_meets_its_goal_and_reaches_other_journeys(
    worker_on_time_env, settings, db
):
    """The journey that adds a tag reads the change's event from its action's outcome (its event goal is met at its
    next node, with no signal: only the start's); another automation's journey waiting for that tag receives it."""
    env = worker_on_time_env
    tag = f"own-{uuid.uuid4().hex[:6]}"
    tagging = {
        "nodes": [
            node("go", "external_event", event="tag-it"),
            node("tag", "add_tag", tag=tag),
            node("wait", "wait_duration", duration={"days": 3}),
        ],
        "edges": [edge("go", "tag"), edge("tag", "wait")],
        "goals": [{"kind": "event", "event": {"kind": "tag_added", "tag": tag}, "label": "Tagged"}],
    }
    watching = {
        "nodes": [
            node("go", "external_event", event="watch"),
            node("seen", "wait_for_event", event={"kind": "tag_added", "tag": tag}, timeout={"days": 3}),
            node("yes", "add_tag", tag=f"{tag}-seen"),
            node("no", "add_tag", tag=f"{tag}-missed"),
        ],
        "edges": [edge("go", "seen"), edge("seen", "yes", "event"), edge("seen", "no", "timeout")],
    }
    tagger, watcher = await make_automation(db, tagging), await make_automation(db, watching)
    (lead_id,) = await make_leads(db, 1, prefix=f"own{uuid.uuid4().hex[:4]}")
    await trigger(env.client, settings, db, external(lead_id, "watch"))
    watched = started_on(env.client, watcher, lead_id)
    await waiting_at(watched, "seen")
    await trigger(env.client, settings, db, external(lead_id, "tag-it"))
    handle = started_on(env.client, tagger, lead_id)
    outcome = await result(handle)  # no time skipped: the goal ends it before its wait
    assert (outcome.end, outcome.node_id, outcome.reason) == ("goal_met", "wait", "goal[0]")
    assert await signals_of(handle) == 1  # signal-with-start's, not its own change's
    # The tag's event reached the other journey, as a signal (no time skipped: not a timeout). Its count of signals
    # varies: the "tag-it" event may reach it after the tag's, when it has ended.
    seen = await result(watched)
    assert (seen.end, seen.path) == ("completed", ["go", "seen", "yes"])
    (journey,) = await journeys(db, tagger)
    tagged = (await steps(db, journey.id))[1]
    assert (tagged.node_id, tagged.outcome) == ("tag", "next")
    assert "own_events" not in tagged.detail and len(tagged.detail["lead_events"]) == 1
    assert tag in (await lead_row(db, lead_id)).tags
    await save_history_later("own-change-goal")(handle)


# --- Exactly once -----------------------------------------------------------------------------------------------------


class LosingCompletions(JourneyActivities):
    """The send's first attempt sends (and records) its message, then fails as if the worker died before Temporal
    heard of it: the retry must not send again."""

    attempts: list[int] = []

    @activity.defn(name="send_message")
    async def send_message(self, input: ActionInput) -> ActionOutcome:
        outcome = await super().send_message(input)
        LosingCompletions.attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise RuntimeError("the completion was lost")
        return outcome


@asynccontextmanager
async def journey_only_worker(client: Client, settings, db, cls: type[JourneyActivities]) -> AsyncIterator[None]:
    smtp = conftest.make_smtp_pool(settings)
    channels = channels_from_settings(settings, smtp, db, mail_from=settings.mail_from)
    acts = cls(sessions=db, channels=channels, settings=settings, smtp=smtp, client=client)
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=[JourneyWorkflow],
            activities=[
                acts.begin_journey,
                acts.record_steps,
                acts.lead_timing,
                acts.evaluate_condition,
                acts.send_message,
                acts.change_lead,
                acts.notify_user,
                acts.call_webhook,
                acts.start_automation,
            ],
            activity_executor=executor,
        ):
            yield
    await acts.aclose()
    await smtp.close()


async def test_a_retried_send_does_not_send_twice(time_env, settings, db, tenant):  # noqa: F811
    mail = await make_template(db, subject="Once only")
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node(
                "mail",
                "send_message",
                channel="email",
                template_id=mail,
                retry={"max_attempts": 3, "initial_interval_seconds": 1},
            ),
        ],
        "edges": [edge("go", "mail")],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"once{uuid.uuid4().hex[:4]}")
    LosingCompletions.attempts = []
    async with journey_only_worker(time_env.client, settings, db, LosingCompletions):
        await trigger(time_env.client, settings, db, external(lead_id))
        outcome = await result(started_on(time_env.client, automation_id, lead_id), time_env)
    assert outcome.end == "completed" and LosingCompletions.attempts == [1, 2]
    email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=lead_id))[0].email
    assert len(await outbox(db, "email", email)) == 1
    (journey,) = await journeys(db, automation_id)
    found = await rows(db, "SELECT status, step FROM deliveries WHERE journey_id = :j", j=journey.id)
    assert [(row.status, row.step) for row in found] == [("sent", 1)]  # step: the journey's step number
    mail_step = next(s for s in await steps(db, journey.id) if s.node_id == "mail")
    assert mail_step.detail["attempts"] == 2 and mail_step.outcome == "next"


# --- Durability on the dev server (test mode: delays cut to seconds) --------------------------------------------------


async def test_a_journey_survives_its_worker_being_killed_during_a_wait(temporal_client, settings, db, tenant):
    mail = await make_template(db, subject="After the crash")
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("wait", "wait_duration", duration={"days": 2}),
            node("mail", "send_message", channel="email", template_id=mail),
        ],
        "edges": [edge("go", "wait"), edge("wait", "mail")],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"crash{uuid.uuid4().hex[:4]}")
    event = external(lead_id)
    async with conftest.running_worker(temporal_client, settings, db):
        (dispatched,) = await trigger(temporal_client, settings, db, event, mode="test", max_delay_seconds=4)
        handle = temporal_client.get_workflow_handle(dispatched.workflow_id)
        assert dispatched.workflow_id == journey_entry_workflow_id(automation_id, lead_id, f"test-{event.event_id}")
        await waiting_at(handle, "wait")
        # Leaving the block stops the worker while the journey waits.
    (journey,) = await journeys(db, automation_id)
    assert (journey.status, journey.current_node, journey.mode) == ("waiting", "wait", "test")
    await asyncio.sleep(4)  # the timer fires with no worker running
    async with conftest.running_worker(temporal_client, settings, db):
        outcome = await asyncio.wait_for(result(handle), timeout=60)
    assert outcome.end == "completed" and outcome.path == ["go", "wait", "mail"]
    email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=lead_id))[0].email
    assert [row.subject for row in await outbox(db, "email", email)] == ["After the crash"]
    wait = next(s for s in await steps(db, journey.id) if s.node_id == "wait")
    assert wait.wake_at - wait.at == timedelta(seconds=4)  # cut from 2 days


async def test_a_long_journey_continues_as_new_at_its_waits(temporal_client, settings, db, tenant):
    six = {"combinator": "and", "rules": [{"field": "score", "operator": ">=", "value": 6}]}
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("wait", "wait_duration", duration={"minutes": 5}),
            node("count", "update_field", field="score", operation="increment", value=1),
            node("enough", "filter", filter=six),
            node("done", "exit"),
        ],
        "edges": [
            edge("go", "wait"),
            edge("wait", "count"),
            edge("count", "enough"),
            edge("enough", "done", "yes"),
            edge("enough", "wait", "no"),
        ],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"can{uuid.uuid4().hex[:4]}")
    async with conftest.running_worker(temporal_client, settings, db):
        (dispatched,) = await trigger(
            temporal_client, settings, db, external(lead_id), mode="test", max_delay_seconds=1
        )
        handle = temporal_client.get_workflow_handle(dispatched.workflow_id)
        outcome = await asyncio.wait_for(result(handle), timeout=120)
    assert outcome.end == "exited" and (await lead_row(db, lead_id)).score == 6
    description = await handle.describe()
    first_run = description.raw_description.workflow_execution_info.first_run_id
    assert first_run != description.run_id  # it continued as new (at least once)
    (journey,) = await journeys(db, automation_id)
    logged = await steps(db, journey.id)
    assert [s.seq for s in logged] == list(range(len(logged)))  # every step once, across the runs
    assert [s.node_id for s in logged].count("count") == 6 and outcome.steps == len(logged)
    if RECORD:
        history = await temporal_client.get_workflow_handle(dispatched.workflow_id, run_id=first_run).fetch_history()
        (HISTORIES / "JourneyWorkflow-continued-as-new.json").write_text(history.to_json())
        await save_history_later("after-continue-as-new")(handle)


# --- Simulation -------------------------------------------------------------------------------------------------------


async def test_a_simulation_runs_the_real_workflow_with_dry_run_actions(worker_on_time_env, settings, db, hooks):
    env = worker_on_time_env
    mail = await make_template(db)
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("wait", "wait_duration", duration={"days": 1}),
            node("mail", "send_message", channel="email", template_id=mail),
            node("tag", "add_tag", tag="simulated"),
            node("hook", "call_webhook", url=f"{hooks.url}/sim"),
        ],
        "edges": [edge("go", "wait"), edge("wait", "mail"), edge("mail", "tag"), edge("tag", "hook")],
    }
    automation_id = await make_automation(db, graph)
    (lead_id,) = await make_leads(db, 1, prefix=f"sim{uuid.uuid4().hex[:4]}")
    workspace_id = await workspace_of(db)
    published = PublishedAutomation(automation_id, 1, AutomationGraph.model_validate(graph))
    entered = await enter(
        env.client,
        workspace_id=workspace_id,
        automation=published,
        trigger_node="go",
        event=external(lead_id, event_id="sim-1"),
        history=EntryHistory(),
        task_queue=settings.temporal_task_queue,
        mode="simulation",
    )
    outcome = await result(env.client.get_workflow_handle(entered.workflow_id), env)
    assert outcome.end == "completed" and outcome.path == ["go", "wait", "mail", "tag", "hook"]
    (journey,) = await journeys(db, automation_id)
    assert (journey.mode, journey.status) == ("simulation", "completed")
    logged = {s.node_id: s for s in await steps(db, journey.id)}
    email = (await rows(db, "SELECT email FROM leads WHERE id = :l", l=lead_id))[0].email
    assert logged["mail"].detail["would"] == f"send template {mail} by email to {mask_address(email)}"
    assert logged["tag"].detail["would"] == "add tag 'simulated'"
    assert logged["wait"].wake_at - logged["wait"].at == timedelta(days=1)  # simulated dates
    assert await rows(db, "SELECT 1 FROM deliveries WHERE journey_id = :j", j=journey.id) == []
    assert "simulated" not in (await lead_row(db, lead_id)).tags and hooks.on("/sim") == []


async def test_a_simulation_may_assume_each_message_is_opened_or_clicked_at_once(worker_on_time_env, settings, db):
    """Simulation mode with `simulated_engagement`: each message sent counts as opened (and clicked) the moment it
    is sent, for waits and engagement conditions alike; a live journey never assumes anything."""
    env = worker_on_time_env
    mail = await make_template(db)
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("mail", "send_message", channel="email", template_id=mail),
            node("wait", "wait_for_event", event={"kind": "clicked", "node": "mail"}, timeout={"days": 3}),
            node("opened", "engagement", node="mail", event="opened"),
            node("hot", "add_tag", tag="hot"),
            node("warm", "add_tag", tag="warm"),
            node("cold", "exit"),
        ],
        "edges": [
            edge("go", "mail"), edge("mail", "wait"), edge("wait", "hot", "event"), edge("wait", "opened", "timeout"),
            edge("opened", "warm", "yes"), edge("opened", "cold", "no"),
        ],
    }  # fmt: skip
    automation_id = await make_automation(db, graph)
    lead_ids = await make_leads(db, 3, prefix=f"eng{uuid.uuid4().hex[:4]}")
    published = PublishedAutomation(automation_id, 1, AutomationGraph.model_validate(graph))
    paths = {}
    for lead_id, engagement in zip(lead_ids, ("clicks", "opens", "none"), strict=True):
        entered = await enter(
            env.client,
            workspace_id=await workspace_of(db),
            automation=published,
            trigger_node="go",
            event=external(lead_id, event_id=f"sim-{engagement}"),
            history=EntryHistory(),
            task_queue=settings.temporal_task_queue,
            mode="simulation",
            simulated_engagement=engagement,
        )
        handle = env.client.get_workflow_handle(entered.workflow_id)
        paths[engagement] = (await result(handle, env)).path
        if engagement == "clicks":
            await save_history_later("simulated-clicks")(handle)
    assert paths == {
        "clicks": ["go", "mail", "wait", "hot"],
        "opens": ["go", "mail", "wait", "opened", "warm"],
        "none": ["go", "mail", "wait", "opened", "cold"],
    }
    assert await rows(db, "SELECT 1 FROM deliveries d JOIN journeys j ON j.id = d.journey_id "
                          "WHERE j.automation_id = :a", a=automation_id) == []  # fmt: skip


def test_addresses_are_masked_in_dry_runs():
    assert mask_address("jane.doe@example.com") == "j***@example.com"
    assert mask_address("+33612345678") == "+33*******78"


def test_the_example_fixture_is_a_valid_automation():
    graph = AutomationGraph.model_validate(copy.deepcopy(json.loads(FIXTURE.read_text())))
    assert graph.reentry == "once_ever" and len(graph.nodes) == 9


# --- Tracking ---------------------------------------------------------------------------------------------------------


async def test_a_journey_email_is_tracked_like_a_campaign_email_and_its_open_feeds_the_engagement_branch(
    worker_on_time_env, app, settings, db
):
    env = worker_on_time_env
    mail = await make_template(db, body='Read <a href="https://example.com/study">the study</a>')
    graph = {
        "nodes": [
            node("go", "external_event", event="go"),
            node("mail", "send_message", channel="email", template_id=mail),
            node("wait", "wait_duration", duration={"days": 2}),
            node("opened", "engagement", node="mail", event="opened"),
            node("hot", "add_tag", tag="hot"),
            node("cold", "add_tag", tag="cold"),
        ],
        "edges": [
            edge("go", "mail"),
            edge("mail", "wait"),
            edge("wait", "opened"),
            edge("opened", "hot", "yes"),
            edge("opened", "cold", "no"),
        ],
    }
    automation_id = await make_automation(db, graph)
    reader, ignorer = await make_leads(db, 2, prefix=f"trk{uuid.uuid4().hex[:4]}")
    for lead_id in (reader, ignorer):
        await trigger(env.client, settings, db, external(lead_id))
    handle = started_on(env.client, automation_id, reader)
    state = await waiting_at(handle, "wait")
    await waiting_at(started_on(env.client, automation_id, ignorer), "wait")
    delivery_id = int(state.sent_messages["mail"])
    (sent,) = await rows(
        db, "SELECT body_html FROM outbox_messages WHERE message_id LIKE :m", m=f"<herald-r%-s1-l{reader}@%"
    )
    assert open_pixel_url(settings, delivery_id) in sent.body_html  # tracked as campaign mail is
    async with db() as session:  # opened an hour after it was sent (a pixel fetched at once is a machine's)
        await session.execute(
            text("UPDATE deliveries SET sent_at = now() - interval '1 hour' WHERE id = :d"), {"d": delivery_id}
        )
        await session.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test") as anonymous:
        pixel = httpx.URL(open_pixel_url(settings, delivery_id)).path
        assert (await anonymous.get(pixel, headers={"User-Agent": CHROME})).status_code == 200
    (event,) = await rows(
        db, "SELECT type, machine, campaign_id, run_id, step FROM events WHERE delivery_id = :d", d=delivery_id
    )
    (run,) = await rows(
        db, "SELECT id, automation_id, number FROM campaign_runs WHERE automation_id = :a", a=automation_id
    )
    assert (event.type, event.machine, event.campaign_id, event.run_id) == ("open", False, None, run.id)
    assert (run.automation_id, run.number) == (automation_id, 1)
    assert (await result(handle, env)).path[-1] == "hot"
    assert (await result(started_on(env.client, automation_id, ignorer), env)).path[-1] == "cold"
