"""Monitoring an automation (#10): GET /api/automations/{id}/monitor, /errors, /journeys and /journeys/{id}.

The first test runs real journeys (JourneyWorkflow on the dev server, started by the dispatcher): one goes through a
webhook, one's webhook fails twice and takes the fallback, one waits. The others insert journey rows directly for
what is cheaper that way: pagination, modes, versions, reused workflow ids, other workspaces, bad parameters.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.permissions import Role
from tests.conftest import client_for, make_key, make_tenant
from tests.factories import make_leads
from tests.helpers import eventually
from tests.test_campaign_flow_engine import rows
from tests.test_journeys import (
    edge,
    external,
    hooks,  # noqa: F401  (a fixture)
    make_automation,
    node,
    result,
    started_on,
    trigger,
)

STATUSES = ("active", "waiting", "completed", "exited", "failed", "goal_met")


def url(automation_id: int, path: str = "monitor") -> str:
    return f"/api/automations/{automation_id}/{path}"


async def get(api, path: str, **params: Any) -> dict:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def per_node(monitor: dict) -> dict[str, dict]:
    return {row["node_id"]: row for row in monitor["nodes"]}


def nonzero(row: dict) -> dict[str, int]:
    return {key: value for key, value in row.items() if key != "node_id" and value}


# --- Real journeys --------------------------------------------------------------------------------------------------


def sync_graph(hook_url: str) -> dict[str, Any]:
    """`go`: a webhook per lead (retried once), tagged `synced`, or `sync-failed` through the fallback; `park`: a wait
    for a `stop` event of 30 days."""
    return {
        "nodes": [
            node("go", "external_event", event="go"),
            node("park", "external_event", event="park"),
            node(
                "hook",
                "call_webhook",
                url=f"{hook_url}/hook/{{{{ lead.first_name }}}}",
                body="{}",
                retry={"max_attempts": 2, "initial_interval_seconds": 1},
            ),
            node("synced", "add_tag", tag="synced"),
            node("broken", "add_tag", tag="sync-failed"),
            node("hold", "wait_for_event", event={"kind": "external_event", "name": "stop"}, timeout={"days": 30}),
        ],
        "edges": [
            edge("go", "hook"),
            edge("hook", "synced"),
            edge("hook", "broken", "fallback"),
            edge("park", "hold"),
            edge("hold", "synced", "event"),
            edge("hold", "synced", "timeout"),
        ],
    }


async def test_real_journeys_counts_per_node_error_log_paths_and_temporal_links(
    worker,
    temporal_client,
    api,
    settings,
    db,
    hooks,  # noqa: F811
):
    hooks.status["/hook/First1"] = 500
    automation_id = await make_automation(db, sync_graph(hooks.url))
    ok, bad, parked = await make_leads(db, 3, prefix=f"mon{uuid.uuid4().hex[:4]}")
    await trigger(temporal_client, settings, db, external(ok, "go"))
    await trigger(temporal_client, settings, db, external(bad, "go"))
    await trigger(temporal_client, settings, db, external(parked, "park"))
    for lead_id in (ok, bad):
        assert (await result(started_on(temporal_client, automation_id, lead_id))).end == "completed"
    assert len(hooks.on("/hook/First0")) == 1 and len(hooks.on("/hook/First1")) == 2  # retried once

    async def parked_waits() -> dict | None:
        found = await get(api, url(automation_id))
        return found if found["totals"]["waiting"] == 1 else None

    monitor = await eventually(parked_waits, timeout=30)
    assert monitor["totals"] == {
        "entered": 3, "active": 0, "waiting": 1, "completed": 2, "exited": 0, "failed": 0, "goal_met": 0
    }  # fmt: skip
    assert (monitor["mode"], monitor["version"], monitor["versions"]) == ("live", None, [1])
    assert {node_id: nonzero(row) for node_id, row in per_node(monitor).items()} == {
        "go": {"passed": 2},
        "park": {"passed": 1},
        "hook": {"passed": 2, "errors": 1, "fallbacks": 1, "retried": 1},
        "synced": {"completed": 1, "passed": 1},
        "broken": {"completed": 1, "passed": 1},
        "hold": {"waiting": 1},  # no step yet: it is still waiting there
    }
    # Test runs are counted apart.
    assert (await get(api, url(automation_id), mode="test"))["totals"]["entered"] == 0

    # The error log: the webhook's failure, its attempts and retry state, the fallback it took.
    errors = await get(api, url(automation_id, "errors"))
    assert errors["next_before"] is None
    (entry,) = errors["items"]
    bad_workflow = f"journey-{automation_id}-{bad}"
    assert {key: entry[key] for key in ("lead_id", "node_id", "node_type", "attempts", "max_attempts")} == {
        "lead_id": bad, "node_id": "hook", "node_type": "call_webhook", "attempts": 2, "max_attempts": 2
    }  # fmt: skip
    assert (entry["retry_state"], entry["fallback_taken"], entry["outcome"]) == (
        "MAXIMUM_ATTEMPTS_REACHED", True, "fallback"
    )  # fmt: skip
    assert "HTTP 500" in entry["error"] and entry["error_type"]
    assert entry["lead"]["name"] == "First1 Last1" and entry["lead"]["email"].startswith("mon")
    assert entry["temporal_url"] == f"{settings.temporal_ui_url}/namespaces/default/workflows/{bad_workflow}"
    assert (await get(api, url(automation_id, "errors"), node_id="hook"))["items"] == errors["items"]
    assert (await get(api, url(automation_id, "errors"), node_id="synced"))["items"] == []

    # Journeys by status, node and lead.
    waiting = (await get(api, url(automation_id, "journeys"), status="waiting"))["items"]
    assert [(j["lead_id"], j["current_node"], j["status"]) for j in waiting] == [(parked, "hold", "waiting")]
    wait = datetime.fromisoformat(waiting[0]["waiting_until"]) - datetime.fromisoformat(waiting[0]["entered_at"])
    assert timedelta(days=29, hours=23) < wait < timedelta(days=30, minutes=1)
    ended_broken = (await get(api, url(automation_id, "journeys"), node_id="broken"))["items"]
    assert [(j["lead_id"], j["status"], j["finished_at"] is not None) for j in ended_broken] == [
        (bad, "completed", True)
    ]
    everyone = (await get(api, url(automation_id, "journeys")))["items"]
    assert sorted(j["lead_id"] for j in everyone) == sorted([ok, bad, parked])
    assert [j["lead_id"] for j in (await get(api, url(automation_id, "journeys"), lead_id=ok))["items"]] == [ok]

    # The failed lead's path: trigger, webhook (fallback), tag; the edges it took, for highlighting.
    journey = ended_broken[0]
    detail = await get(api, url(automation_id, f"journeys/{journey['id']}"))
    assert [(s["seq"], s["node_id"], s["outcome"], s["next_node"]) for s in detail["steps"]] == [
        (0, "go", "next", "hook"), (1, "hook", "fallback", "broken"), (2, "broken", "next", None)
    ]  # fmt: skip
    assert detail["steps"][1]["detail"]["retry_state"] == "MAXIMUM_ATTEMPTS_REACHED"
    assert detail["steps"][2]["end_status"] == "completed"
    assert detail["nodes"] == ["go", "hook", "broken"]
    assert detail["edges"] == [
        {"source": "go", "outcome": "next", "target": "hook"},
        {"source": "hook", "outcome": "fallback", "target": "broken"},
    ]
    assert detail["total_steps"] == 3 and detail["journey"]["temporal_url"] == entry["temporal_url"]
    # The link is the real execution.
    described = await temporal_client.get_workflow_handle(bad_workflow).describe()
    assert described.status is not None and described.status.name == "COMPLETED"
    first_run = (await rows(db, "SELECT first_run_id FROM journeys WHERE id = :j", j=journey["id"]))[0].first_run_id
    assert described.run_id == first_run

    # The waiting lead's path ends at the node it waits at.
    parked_detail = await get(api, url(automation_id, f"journeys/{waiting[0]['id']}"))
    assert parked_detail["nodes"] == ["park", "hold"]
    assert parked_detail["edges"] == [{"source": "park", "outcome": "next", "target": "hold"}]
    await temporal_client.get_workflow_handle(f"journey-{automation_id}-{parked}").terminate("test over")


# --- Inserted rows --------------------------------------------------------------------------------------------------


async def insert_journey(
    db,
    automation_id: int,
    lead_id: int,
    *,
    status: str = "completed",
    node_id: str = "done",
    mode: str = "live",
    version: int = 1,
    entry: int = 1,
    workflow_id: str | None = None,
    steps: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> int:
    async with db() as session:
        journey_id = (
            await session.execute(
                text(
                    """
                    INSERT INTO journeys (workspace_id, automation_id, version, lead_id, entry, workflow_id,
                        first_run_id, mode, status, trigger_node, trigger_event_id, current_node, finished_at)
                    SELECT workspace_id, id, :version, :lead, :entry, :wf, :run, :mode, :status, 'go', :event, :node,
                        :finished
                    FROM automations WHERE id = :a
                    RETURNING id
                    """
                ),
                {
                    "a": automation_id,
                    "version": version,
                    "lead": lead_id,
                    "entry": entry,
                    "wf": workflow_id or f"journey-{automation_id}-{lead_id}-{uuid.uuid4().hex[:6]}",
                    "run": str(uuid.uuid4()),
                    "mode": mode,
                    "status": status,
                    "event": f"ev-{uuid.uuid4().hex[:8]}",
                    "node": node_id,
                    "finished": None if status in ("active", "waiting") else datetime.now(UTC),
                },
            )
        ).scalar_one()
        for seq, step in enumerate(steps):
            await session.execute(
                text(
                    """
                    INSERT INTO journey_steps (journey_id, automation_id, seq, node_id, node_type, outcome, next_node,
                        at, reason, end_status, detail)
                    VALUES (:j, :a, :seq, :node, :type, :outcome, :next, :at, :reason, :end, CAST(:detail AS jsonb))
                    """
                ),
                {
                    "j": journey_id,
                    "a": automation_id,
                    "seq": seq,
                    "node": step["node"],
                    "type": step.get("type", "add_tag"),
                    "outcome": step.get("outcome"),
                    "next": step.get("next"),
                    "at": datetime.now(UTC),
                    "reason": step.get("reason", ""),
                    "end": step.get("end"),
                    "detail": json.dumps(step.get("detail", {})),
                },
            )
        await session.commit()
        return journey_id


GRAPH = {
    "nodes": [node("go", "external_event", event="go"), node("done", "add_tag", tag="x")],
    "edges": [edge("go", "done")],
}


async def test_pages_modes_versions_and_the_link_of_a_reused_workflow_id(api, settings, db):
    automation_id = await make_automation(db, GRAPH)
    leads = await make_leads(db, 5, prefix=f"pg{uuid.uuid4().hex[:4]}")
    ids = [await insert_journey(db, automation_id, lead_id) for lead_id in leads]
    await insert_journey(db, automation_id, leads[0], entry=2, mode="test", status="waiting")
    await insert_journey(db, automation_id, leads[1], entry=3, version=2, status="failed")

    # Keyset pages of two, newest first, that end.
    seen, before = [], None
    for _ in range(4):
        page = await get(
            api, url(automation_id, "journeys"), limit=2, version=1, **({"before": before} if before else {})
        )
        seen += [j["id"] for j in page["items"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(ids, reverse=True)

    live = await get(api, url(automation_id))
    assert (live["totals"]["entered"], live["totals"]["completed"], live["totals"]["failed"]) == (6, 5, 1)
    assert per_node(live)["done"]["completed"] == 5 and per_node(live)["done"]["failed"] == 1
    assert (await get(api, url(automation_id), version=2))["totals"]["entered"] == 1
    test = await get(api, url(automation_id), mode="test")
    assert (test["totals"]["entered"], test["totals"]["waiting"]) == (1, 1)
    (tested,) = (await get(api, url(automation_id, "journeys"), mode="test"))["items"]
    assert (tested["mode"], tested["entry"], tested["waiting_until"]) == ("test", 2, None)

    # A "once at a time" id taken again by the lead's next entry: the older journey links its own first run.
    (lead_id,) = await make_leads(db, 1, prefix=f"re{uuid.uuid4().hex[:4]}")
    workflow_id = f"journey-{automation_id}-{lead_id}"
    older = await insert_journey(db, automation_id, lead_id, workflow_id=workflow_id)
    newer = await insert_journey(db, automation_id, lead_id, entry=2, workflow_id=workflow_id, status="waiting")
    base = f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{workflow_id}"
    links = {
        j["id"]: j["temporal_url"] for j in (await get(api, url(automation_id, "journeys"), lead_id=lead_id))["items"]
    }
    (older_run,) = [r.first_run_id for r in await rows(db, "SELECT first_run_id FROM journeys WHERE id = :j", j=older)]
    assert links == {older: f"{base}/{older_run}", newer: base}


async def test_the_error_log_pages_and_counts_failures_without_an_error_message(api, db):
    automation_id = await make_automation(db, GRAPH)
    leads = await make_leads(db, 3, prefix=f"er{uuid.uuid4().hex[:4]}")
    failure = {"error": "HTTP 503", "error_type": "TransientError", "retry_state": "NON_RETRYABLE_FAILURE",
               "max_attempts": 3}  # fmt: skip
    for lead_id in leads[:2]:
        await insert_journey(
            db, automation_id, lead_id, status="failed",
            steps=[{"node": "go", "outcome": "next", "next": "done"},
                   {"node": "done", "end": "failed", "detail": failure}],
        )  # fmt: skip
    await insert_journey(
        db, automation_id, leads[2], status="failed",
        steps=[{"node": "go", "outcome": "next", "next": "done"},
               {"node": "done", "end": "failed", "reason": "too_many_steps_without_a_wait"}],
    )  # fmt: skip
    await insert_journey(  # a success after three attempts: retried, not an error
        db, automation_id, leads[0], entry=2,
        steps=[{"node": "go", "outcome": "next", "next": "done"},
               {"node": "done", "end": "completed", "detail": {"attempts": 3}}],
    )  # fmt: skip

    first = await get(api, url(automation_id, "errors"), limit=2)
    assert [e["error"] for e in first["items"]] == ["too_many_steps_without_a_wait", "HTTP 503"]
    assert first["items"][1]["attempts"] is None  # unknown: a non-retryable failure
    assert first["items"][1]["fallback_taken"] is False and first["items"][1]["end_status"] == "failed"
    rest = await get(api, url(automation_id, "errors"), limit=2, before=first["next_before"])
    assert [e["lead_id"] for e in rest["items"]] == [leads[0]] and rest["next_before"] is None
    done = per_node(await get(api, url(automation_id)))["done"]
    assert (done["passed"], done["errors"], done["retried"], done["failed"], done["completed"]) == (4, 3, 1, 3, 1)


async def test_other_workspaces_get_404_a_viewer_may_read_and_bad_parameters_name_their_field(api, app, db, tenant):
    automation_id = await make_automation(db, GRAPH)
    other_automation = await make_automation(db, GRAPH)
    (lead_id,) = await make_leads(db, 1, prefix=f"ws{uuid.uuid4().hex[:4]}")
    journey_id = await insert_journey(db, automation_id, lead_id)

    # A journey of another automation is not this one's.
    response = await api.get(url(other_automation, f"journeys/{journey_id}"))
    assert response.status_code == 404 and response.json()["message"] == f"journey {journey_id} not found"

    other = await make_tenant(db, "Elsewhere", "admin@elsewhere.test")
    async with client_for(app, other.admin_key) as stranger:
        for path in ("monitor", "errors", "journeys", f"journeys/{journey_id}"):
            response = await stranger.get(url(automation_id, path))
            assert response.status_code == 404, path
            assert response.json()["message"] == f"automation {automation_id} not found"

    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as reader:
        assert (await get(reader, url(automation_id)))["totals"]["entered"] == 1

    for params, field in (
        ({"limit": 201}, "limit"),
        ({"status": "lost"}, "status"),
        ({"mode": "simulation"}, "mode"),
        ({"node_id": "no spaces"}, "node_id"),
        ({"before": 0}, "before"),
    ):
        response = await api.get(url(automation_id, "journeys"), params=params)
        assert response.status_code == 422 and response.json()["field"] == field, (params, response.text)
