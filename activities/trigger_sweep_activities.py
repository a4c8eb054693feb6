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

Heartbeats carry the last id done, so a retried attempt goes on from there; after `time_budget_seconds` no page is
started and the result says `more` (the next run, a minute later, goes on).
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

from core.journey_intake import dispatch_events, dispatched_rows, lead_event_journey_events, mark_dispatched
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


class TriggerSweepActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], task_queue: str) -> None:
        self.sessions = sessions
        self.task_queue = task_queue  # the journeys' queue

    @activity.defn
    async def sweep_trigger_outbox(self, input: TriggerSweepInput) -> TriggerSweepResult:
        """Every pending row older than `min_age_seconds` dispatched (or dropped), page after page."""
        details = activity.info().heartbeat_details
        after = int(details[0]) if details else 0
        started = time.monotonic()
        async with self.sessions() as session:
            now = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()  # the rows' clock
        cutoff = now - timedelta(seconds=input.min_age_seconds)
        expire_before = now - timedelta(days=input.max_age_days)
        result = TriggerSweepResult()
        while True:
            if time.monotonic() - started > input.time_budget_seconds:
                result.more = True
                break
            async with self.sessions() as session:
                page = list(
                    await session.execute(PAGE_SQL, {"after": after, "cutoff": cutoff, "limit": input.batch_size})
                )
            if not page:
                break
            await _heartbeating(self._page(page, expire_before, result), after)
            after = page[-1].id
            activity.heartbeat(after)
            if len(page) < input.batch_size:
                break
        if result.scanned:
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


async def _heartbeating(work: Awaitable[T], after: int) -> T:
    """Awaits the work while heartbeating (a page of many leads may take a while to dispatch)."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
        if done:
            return task.result()
        activity.heartbeat(after)
