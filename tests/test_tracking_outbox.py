"""Opens and clicks are durable on their way to journeys (#10, docs/automations.md "Trigger intake"): the tracking
statement notes what a journey may wait for (or start on) in `tracking_outbox` with the event, the API's background
task takes out what it delivered, and TriggerSweepWorkflow delivers what an API process that died (or an unreachable
Temporal) left there. Real PostgreSQL, the Temporal dev server and the main queue's worker.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core.tracking_links import click_url, open_pixel_url
from core.workflow_ids import journey_workflow_id
from tests.factories import make_leads
from tests.helpers import eventually
from tests.test_campaign_flow_engine import make_template, rows
from tests.test_journeys import edge, make_automation, node, progress, waiting_at
from tests.test_tracking import APPLE_MPP, CHROME, _delivery
from tests.test_trigger_intake import GO, Spy, ended_journeys, has_tag, journeys, path_of, tagging
from tests.test_trigger_sweep import sweep


@pytest.fixture(autouse=True)
async def empty_outbox(db) -> None:
    """Rows of earlier tests' deliveries (no foreign key) are not this test's business."""
    async with db() as session:
        await session.execute(text("DELETE FROM tracking_outbox"))
        await session.commit()


@pytest.fixture
def api_process_dies_before_delivering(app, monkeypatch) -> None:
    """The events are committed, and the process that should deliver them is gone before it does."""
    monkeypatch.setattr(app.state.tracking, "_on_committed", None)


async def outbox(db) -> list[tuple[int, str, bool]]:
    found = await rows(db, "SELECT delivery_id, type, machine FROM tracking_outbox ORDER BY id")
    return [(row.delivery_id, row.type, row.machine) for row in found]


async def opened_an_hour_ago(db, delivery_id: int) -> None:
    """A pixel fetched right after the send is a machine's: the delivery goes back an hour."""
    async with db() as session:
        await session.execute(
            text("UPDATE deliveries SET sent_at = now() - interval '1 hour' WHERE id = :d"), {"d": delivery_id}
        )
        await session.commit()


async def journey_waiting_for_a_click(db, api, temporal_client) -> tuple[int, Any, int]:
    """A journey that sent a message and waits up to 3 days for its click: (automation, handle, delivery)."""
    mail = await make_template(db, subject="Case study")
    graph = {
        "nodes": [
            node("start", "external_event", event=GO),
            node("mail", "send_message", channel="email", template_id=mail),
            node("wait", "wait_for_event", event={"kind": "clicked", "node": "mail"}, timeout={"days": 3}),
            node("hot", "add_tag", tag="clicked"),
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
    (lead_id,) = await make_leads(db, 1, prefix=f"tob{uuid.uuid4().hex[:4]}")
    assert (await api.post("/api/events", json={"name": GO, "lead": {"id": lead_id}})).status_code == 202
    handle = temporal_client.get_workflow_handle(journey_workflow_id(automation_id, lead_id))
    state = await waiting_at(handle, "wait")
    delivery_id = int(state.sent_messages["mail"])
    await opened_an_hour_ago(db, delivery_id)
    return automation_id, handle, delivery_id


def anonymous(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test")


async def click(app, settings, delivery_id: int, agent: str = CHROME) -> None:
    async with anonymous(app) as client:
        link = path_of(click_url(settings, delivery_id, "https://example.com/case-study"))
        assert (await client.get(link, headers={"User-Agent": agent})).status_code in (302, 303, 307)


async def test_a_click_delivered_by_the_api_leaves_nothing_in_the_outbox(
    app, api, worker, db, settings, temporal_client
):
    automation_id, handle, delivery_id = await journey_waiting_for_a_click(db, api, temporal_client)
    await click(app, settings, delivery_id)
    (journey,) = await ended_journeys(db, automation_id)
    assert journey.status == "completed" and (await progress(handle)).path[-1] == "hot"

    async def settled() -> bool:
        return await outbox(db) == []

    await eventually(settled, timeout=10)


async def test_a_click_the_api_never_delivered_reaches_the_waiting_journey_through_the_sweep(
    app, api, worker, db, settings, temporal_client, api_process_dies_before_delivering
):
    automation_id, handle, delivery_id = await journey_waiting_for_a_click(db, api, temporal_client)
    await click(app, settings, delivery_id)
    assert await outbox(db) == [(delivery_id, "click", False)]  # the person's (not a machine's)
    assert (await progress(handle)).status == "waiting"  # nobody told the journey

    result = await sweep(temporal_client, settings, min_age_seconds=0)
    assert (result.tracked_scanned, result.tracked_delivered, result.tracked_failed) == (1, 1, 0)
    (journey,) = await ended_journeys(db, automation_id)
    assert journey.status == "completed" and (await progress(handle)).path[-2:] == ["wait", "hot"]
    (wait,) = await rows(
        db, "SELECT outcome FROM journey_steps WHERE journey_id = :j AND node_id = 'wait'", j=journey.id
    )
    assert wait.outcome == "event"
    assert await outbox(db) == []
    again = await sweep(temporal_client, settings, min_age_seconds=0)
    assert again.tracked_scanned == 0


async def test_a_click_whose_signal_failed_stays_for_the_sweep(app, api, worker, db, settings, temporal_client):
    automation_id, handle, delivery_id = await journey_waiting_for_a_click(db, api, temporal_client)
    app.state.journeys.temporal = Spy()  # Temporal unreachable from the API process
    await click(app, settings, delivery_id)

    async def attempted() -> bool:
        return app.state.journeys.temporal.calls > 0 and app.state.journeys._worker is None

    await eventually(attempted, timeout=10)
    assert await outbox(db) == [(delivery_id, "click", False)]
    assert (await progress(handle)).status == "waiting"
    result = await sweep(temporal_client, settings, min_age_seconds=0)
    assert result.tracked_delivered == 1
    (journey,) = await ended_journeys(db, automation_id)
    assert journey.status == "completed"


async def test_the_sweep_leaves_young_rows_to_the_api_and_drops_orphans_and_expired_ones(
    app, api, worker, db, settings, temporal_client, api_process_dies_before_delivering, tenant
):
    _automation_id, handle, delivery_id = await journey_waiting_for_a_click(db, api, temporal_client)
    await click(app, settings, delivery_id)
    young = await sweep(temporal_client, settings)  # the default 30 s: the normal path's time
    assert young.tracked_scanned == 0 and len(await outbox(db)) == 1
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO tracking_outbox (delivery_id, type, machine, workspace_id, created_at) VALUES "
                "(:gone, 'open', false, :w, now()), (:d, 'open', true, :w, now() - CAST(:old AS interval))"
            ),
            {"gone": delivery_id + 10_000, "d": delivery_id, "w": tenant.workspace_id, "old": timedelta(days=8)},
        )
        await session.execute(text("UPDATE tracking_outbox SET created_at = created_at - interval '1 minute'"))
        await session.commit()
    result = await sweep(temporal_client, settings)
    assert (result.tracked_scanned, result.orphaned, result.tracked_expired, result.tracked_delivered) == (3, 1, 1, 1)
    assert await outbox(db) == []
    assert (await progress(handle)).path[-1] == "hot"


async def test_campaign_opens_are_noted_only_where_a_trigger_wants_them_and_swept_into_journeys(
    app, worker, db, settings, temporal_client, tenant, api_process_dies_before_delivering
):
    before, machine = await _delivery(db), await _delivery(db)
    async with anonymous(app) as client:
        pixel = path_of(open_pixel_url(settings, before["id"]))
        assert (await client.get(pixel, headers={"User-Agent": CHROME})).status_code == 200
        assert await outbox(db) == []  # no automation listens: nothing to deliver, nothing noted

        opened = await make_automation(
            db, tagging(node("t", "campaign_interaction", interaction="opened"), "engaged", "every_time")
        )
        person = await _delivery(db)
        for delivery in (person, machine):
            pixel = path_of(open_pixel_url(settings, delivery["id"]))
            agent = CHROME if delivery is person else APPLE_MPP
            assert (await client.get(pixel, headers={"User-Agent": agent})).status_code == 200
    assert await outbox(db) == [(person["id"], "open", False)]  # a machine's open is no interaction

    result = await sweep(temporal_client, settings, min_age_seconds=0)
    assert (result.tracked_scanned, result.tracked_delivered) == (1, 1)
    await has_tag(db, person["lead_id"], "engaged")
    (journey,) = await journeys(db, opened)
    assert journey.trigger_event_id == f"campaign-opened:{person['id']}"
    assert await outbox(db) == []
