"""The activity of TriggerSweepWorkflow (#10, docs/automations.md "Trigger intake"): the timeline rows still in the
trigger outbox (`lead_event_outbox`, migration 0015) dispatched again.

A committed `lead_events` row that may start or reach journeys is in the outbox until whoever committed it has
dispatched it (the API after its response, a journey's `change_lead`, an import chunk). A process that died in
between, or a dispatch that failed (Temporal unreachable), leaves it there; this activity pages through the rows
older than `min_age_seconds` (so that the normal path, a few milliseconds after the commit, wins) by id, a page of
`batch_size` at a time, rebuilds their journey events (`lead-event:<row id>`, dated when the row was written) and
dispatches each workspace's through core.journey_intake.dispatch_events, then deletes the page's settled rows in one
statement. Dispatching twice is harmless: journey starts are idempotent per event id. Rows whose dispatch failed stay
for the next run; rows older than `max_age_days` are dropped undispatched (logged: a journey entered a week late
would do more harm than good), and rows whose timeline row is gone (the lead was deleted) are dropped.

Then the same for the opens and clicks in `tracking_outbox` (migration 0017) that the API's background task did not
deliver (core/tracked_events.py): a journey message's to its journey if it still runs, a person's campaign
interactions to the dispatcher in the workspaces with such a trigger; rows of deleted deliveries are dropped.

Heartbeats carry the last ids done (timeline outbox, tracking outbox), so a retried attempt goes on from there; after
`time_budget_seconds` no page is started and the result says `more` (the next run, a minute later, goes on).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from core.journey_intake import (
    active_trigger_types,
    dispatch_events,
    dispatched_rows,
    lead_event_journey_events,
    mark_dispatched,
)
from core.tracked_events import (
    campaign_interaction_event,
    delete_tracked_rows,
    delivered_keys,
    group_by_event,
    journey_signal,
    signal_tracked,
)
from models.payloads.automation import JourneyEvent
from models.payloads.trigger_sweep import TriggerSweepInput, TriggerSweepResult

log = structlog.get_logger("herald.activities.trigger_sweep")
HEARTBEAT_EVERY = 5.0  # seconds, while a page is dispatched
T = TypeVar("T")

PAGE_SQL = text(
    "SELECT o.lead_event_id AS id, o.workspace_id, o.created_at AS noted_at, e.id IS NOT NULL AS present, "
    "e.lead_id, e.type, e.data, e.created_at FROM lead_event_outbox o "
    "LEFT JOIN lead_events e ON e.id = o.lead_event_id "
    "WHERE o.lead_event_id > :after AND o.created_at < :cutoff ORDER BY o.lead_event_id LIMIT :limit"
)
TRACKED_PAGE_SQL = text(
    "SELECT o.id, o.delivery_id, o.type, o.machine, o.workspace_id, o.created_at AS noted_at, "
    "d.id IS NOT NULL AS present, d.lead_id, d.journey_id, d.node_id, c.campaign_id FROM tracking_outbox o "
    "LEFT JOIN deliveries d ON d.id = o.delivery_id LEFT JOIN campaign_runs c ON c.id = d.run_id "
    "WHERE o.id > :after AND o.created_at < :cutoff ORDER BY o.id LIMIT :limit"
)


class TriggerSweepActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], task_queue: str) -> None:
        self.sessions = sessions
        self.task_queue = task_queue  # the journeys' queue

    @activity.defn
    async def sweep_trigger_outbox(self, input: TriggerSweepInput) -> TriggerSweepResult:
        """Every pending row older than `min_age_seconds` dispatched (or dropped), page after page: the timeline
        outbox, then the tracking outbox."""
        details = activity.info().heartbeat_details
        cursors = [int(details[0]) if details else 0, int(details[1]) if len(details) > 1 else 0]
        started = time.monotonic()
        async with self.sessions() as session:
            now = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()  # the rows' clock
        cutoff = now - timedelta(seconds=input.min_age_seconds)
        expire_before = now - timedelta(days=input.max_age_days)
        result = TriggerSweepResult()
        passes = [(PAGE_SQL, self._page), (TRACKED_PAGE_SQL, self._tracked_page)]
        for index, (page_sql, handle) in enumerate(passes):
            while True:
                if time.monotonic() - started > input.time_budget_seconds:
                    result.more = True
                    break
                async with self.sessions() as session:
                    params = {"after": cursors[index], "cutoff": cutoff, "limit": input.batch_size}
                    page = list(await session.execute(page_sql, params))
                if not page:
                    break
                await _heartbeating(handle(page, expire_before, result), cursors)
                cursors[index] = page[-1].id
                activity.heartbeat(*cursors)
                if len(page) < input.batch_size:
                    break
        if result.scanned or result.tracked_scanned:
            log.info("trigger outbox swept", **result.model_dump())
        return result

    async def _page(self, page: Sequence[Any], expire_before: datetime, result: TriggerSweepResult) -> None:
        """One page: its live rows dispatched per workspace; the settled, expired and orphaned rows deleted at once."""
        result.scanned += len(page)
        settled: list[int] = []
        live: dict[int, list[Any]] = {}
        expired: dict[int, list[int]] = {}
        for row in page:
            if not row.present:
                result.orphaned += 1
                settled.append(row.id)
            elif row.noted_at < expire_before:
                result.expired += 1
                settled.append(row.id)
                expired.setdefault(row.workspace_id, []).append(row.id)
            else:
                live.setdefault(row.workspace_id, []).append(row)
        for workspace_id, ids in expired.items():
            log.warning(
                "undispatched timeline rows expired", workspace_id=workspace_id, rows=len(ids), lead_event_ids=ids[:20]
            )
        for workspace_id, rows in live.items():
            events: list[JourneyEvent] = [
                event
                for row in rows
                for event in lead_event_journey_events(row.id, row.lead_id, row.type, row.data, row.created_at)
            ]
            row_ids = [row.id for row in rows]
            try:
                outcomes = await dispatch_events(
                    activity.client(), self.sessions, workspace_id, events, self.task_queue
                )
            except Exception as error:  # this workspace's rows stay for the next run; the others go on
                log.error(
                    "swept timeline rows not dispatched",
                    workspace_id=workspace_id,
                    rows=len(rows),
                    error=f"{type(error).__name__}: {error}",
                )
                result.failed += len(rows)
                continue
            done = dispatched_rows(outcomes, row_ids)
            settled += done
            result.dispatched += len(done)
            result.failed += len(rows) - len(done)
        await mark_dispatched(self.sessions, settled)

    async def _tracked_page(self, page: Sequence[Any], expire_before: datetime, result: TriggerSweepResult) -> None:
        """One page of the tracking outbox: journey messages' events signalled, people's campaign interactions
        dispatched where a trigger wants them; the delivered, expired and orphaned rows deleted at once."""
        result.tracked_scanned += len(page)
        settled: list[int] = []
        expired = 0
        journey_rows: list[Any] = []
        interactions: dict[int, list[Any]] = {}
        for row in page:
            if not row.present:
                result.orphaned += 1  # the delivery is gone (its lead was deleted)
                settled.append(row.id)
            elif row.noted_at < expire_before:
                expired += 1
                settled.append(row.id)
            elif row.journey_id is not None:
                journey_rows.append(row)
            elif row.campaign_id is not None and not row.machine:
                interactions.setdefault(row.workspace_id, []).append(row)
            else:
                settled.append(row.id)  # nothing listens to it
        if expired:
            result.tracked_expired += expired
            log.warning("undelivered opens and clicks expired", rows=expired)
        groups = group_by_event(journey_rows, lambda row: journey_signal(row._mapping, row.noted_at), _row_id)
        signals = [(group.row.journey_id, group.event) for group in groups.values()]
        failed = await signal_tracked(activity.client(), self.sessions, signals)
        delivered = delivered_keys(groups, failed)
        result.tracked_failed += len(journey_rows) - len(delivered)
        for workspace_id, rows in interactions.items():
            delivered += await self._dispatch_interactions(workspace_id, rows, result)
        result.tracked_delivered += len(delivered)
        await delete_tracked_rows(self.sessions, settled + delivered)

    async def _dispatch_interactions(self, workspace_id: int, rows: list[Any], result: TriggerSweepResult) -> list[int]:
        """A workspace's people's campaign interactions dispatched (when an active automation has such a trigger);
        the row ids settled."""
        async with self.sessions() as session:
            wanted = "campaign_interaction" in await active_trigger_types(session, workspace_id)
        if not wanted:
            return [row.id for row in rows]
        groups = group_by_event(rows, lambda row: campaign_interaction_event(row._mapping, row.noted_at), _row_id)
        events = [group.event for group in groups.values()]
        try:
            outcomes = await dispatch_events(activity.client(), self.sessions, workspace_id, events, self.task_queue)
        except Exception as error:
            log.error("swept campaign interactions not dispatched", workspace_id=workspace_id, error=str(error))
            result.tracked_failed += len(rows)
            return []
        delivered = delivered_keys(
            groups, {outcome.event.event_id for outcome in outcomes if outcome.error is not None}
        )
        result.tracked_failed += len(rows) - len(delivered)
        return delivered


def _row_id(row: Any) -> int:
    return row.id


async def _heartbeating(work: Awaitable[T], cursors: list[int]) -> T:
    """Awaits the work while heartbeating (a page of many leads may take a while to dispatch); cancelled, it
    cancels the work too."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
            if done:
                return task.result()
            activity.heartbeat(*cursors)
    finally:
        task.cancel()
