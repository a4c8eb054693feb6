"""Opens and clicks are durable on their way to journeys (#10, docs/automations.md "Trigger intake"): the tracking
statement notes what a journey may wait for (or start on) in `tracking_outbox` with the event, the API's background
task takes out what it delivered, and TriggerSweepWorkflow delivers what an API process that died (or an unreachable
Temporal) left there. Real PostgreSQL, the Temporal dev server and the main queue's worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from core.tracking_links import click_url, open_pixel_url
from tests.conftest import client_for
from tests.helpers import eventually
from tests.test_campaign_flow_engine import rows
from tests.test_journeys import make_automation, node, progress
from tests.test_tracking import APPLE_MPP, CHROME, _delivery
from tests.test_trigger_intake import (
    Spy,
    ended_journeys,
    has_tag,
    journey_waiting_for_its_message,
    journeys,
    path_of,
    tagging,
)
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


async def journey_waiting_for_a_click(db, api, temporal_client) -> tuple[int, Any, int]:
    return await journey_waiting_for_its_message(db, api, temporal_client, "clicked")


async def click(app, settings, delivery_id: int, agent: str = CHROME) -> None:
    async with client_for(app) as client:
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
    async with client_for(app) as client:
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
