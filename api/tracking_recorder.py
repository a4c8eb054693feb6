"""Opens and clicks written to the `events` table by group commit: many requests, one statement, one commit.

Every pixel or redirect request hands its report (delivery, open or click, destination, User-Agent) to
`TrackingRecorder.record` and waits: the request is answered only once its event is committed. While a batch is
being written, the reports that arrive queue up; the next batch takes them all (up to `MAX_BATCH`) in one round
trip, a single statement (`WRITE_SQL`, hence one transaction and one WAL flush) which

1. reads the batch's deliveries and their run's campaign (a report of a delivery deleted since matches nothing:
   it records nothing and is no error, the request still gets its pixel or redirect);
2. decides which reports are a machine's: the User-Agent rules were applied in Python beforehand
   (domain/tracking.py, remembered per agent), the timing rule is applied here against `sent_at`, by
   `timing_reason_sql` (the same rule, written for PostgreSQL, in domain/tracking.py);
3. stamps, in a data-modifying CTE, the deliveries that a person opened or clicked for the first time (`opened_at` /
   `clicked_at` stay the first ones; a click implies an open): a delivery stamped already is not updated again
   (no row version, no trigger row);
4. inserts the events as one multi-row `INSERT ... SELECT`, in the order the requests came, and notes in
   `tracking_outbox` those a journey may wait for or start on (a journey message's; a person's, of a campaign
   message, where an active automation has a `campaign_interaction` trigger), for the trigger sweep should the
   delivery after the commit never happen;
5. returns, per delivery and kind of event, its journey and campaign: once the requests are answered, the recorder
   hands them to `on_committed` (api/journey_dispatch.py: journeys waiting for an open, campaign-interaction
   triggers), which only queues them for a background task.

With no load a report waits for nothing but its own round trip; under load a batch amortises the commit, the
statement-level triggers of `deliveries` and the Python cost of a round trip over every report it carries.

If a batch fails (a delivery deleted between the statement's read and its foreign-key check, a deadlock with
another writer...), each of its reports is written again on its own, so one bad report fails no other; a report
that fails alone raises in its request (a 500: nothing answers "recorded" without its event). One writer at a time
per process: it borrows a connection from the app's engine for as long as reports keep coming (one pool checkout,
one pre-ping, per busy period, not per request) and gives it back once none came for `LINGER_SECONDS`, or when the
app stops (`close`, from its lifespan).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.tracking import (
    CLICK_WINDOW_SECONDS,
    OPEN_WINDOW_SECONDS,
    click_agent_reason,
    open_agent_reason,
    timing_reason_sql,
)

log = structlog.get_logger("herald.tracking")

MAX_BATCH = 1000
LINGER_SECONDS = 1.0
MAX_AGENT_CHARS = 300
# Control characters out: PostgreSQL's text and jsonb refuse \u0000, and nothing legitimate sends them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SINCE_SENT = "extract(epoch FROM now() - d.sent_at)"

WRITE_SQL = (
    "WITH report AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::float8[]) WITH ORDINALITY AS r(delivery_id, type, url, agent, agent_reason, window_seconds, n)), "
    "event AS (SELECT r.n, d.id AS delivery_id, d.workspace_id, d.lead_id, c.campaign_id, d.run_id, d.step, "
    "d.variant, d.channel, r.type, r.url, r.agent, d.journey_id, d.node_id, "
    f"coalesce(r.agent_reason, {timing_reason_sql(_SINCE_SENT, 'r.window_seconds')}) AS reason "
    "FROM report r JOIN deliveries d ON d.id = r.delivery_id JOIN campaign_runs c ON c.id = d.run_id "
    "WHERE d.id = ANY($1::bigint[])), "  # the deliveries by their key, whatever the statistics say
    "stamped AS (UPDATE deliveries d SET opened_at = coalesce(d.opened_at, now()), "
    "clicked_at = CASE WHEN p.clicked THEN coalesce(d.clicked_at, now()) ELSE d.clicked_at END "
    "FROM (SELECT delivery_id, bool_or(type = 'click') AS clicked FROM event WHERE reason IS NULL "
    "GROUP BY delivery_id) p "
    "WHERE d.id = p.delivery_id AND (d.opened_at IS NULL OR (p.clicked AND d.clicked_at IS NULL))), "
    "inserted AS (INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, "
    "channel, type, machine, url, metadata) "
    "SELECT workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
    "reason IS NOT NULL, url, jsonb_strip_nulls(jsonb_build_object('user_agent', agent, 'machine_reason', reason)) "
    "FROM event ORDER BY n), "
    # What journeys may wait for (or start on) goes in the outbox with the event (migration 0017): delivered after
    # the commit by the API's background task, or by the trigger sweep if that never happens.
    "interacting AS (SELECT w.workspace_id FROM (SELECT DISTINCT workspace_id FROM event WHERE journey_id IS NULL "
    "AND reason IS NULL AND campaign_id IS NOT NULL) w WHERE EXISTS (SELECT 1 FROM automations a "
    "JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.published_version "
    "WHERE a.workspace_id = w.workspace_id "
    "AND a.status = 'active' AND jsonb_path_exists(v.graph, '$.nodes[*] ? (@.type == \"campaign_interaction\")'))), "
    "outboxed AS (INSERT INTO tracking_outbox (delivery_id, type, machine, workspace_id) "
    "SELECT DISTINCT delivery_id, type, reason IS NOT NULL, workspace_id FROM event WHERE journey_id IS NOT NULL "
    "OR (reason IS NULL AND campaign_id IS NOT NULL AND workspace_id IN (SELECT workspace_id FROM interacting)) "
    "ON CONFLICT DO NOTHING) "
    # One row per delivery and kind of event (its journey and campaign: for the journeys, after the commit).
    "SELECT DISTINCT delivery_id, type, reason IS NOT NULL AS machine, workspace_id, lead_id, campaign_id, "
    "journey_id, node_id FROM event"
)


def clean_agent(user_agent: str) -> str:
    """The User-Agent as the rules read it: without control characters."""
    return _CONTROL.sub("", user_agent) if user_agent else ""


@dataclass(slots=True)
class Report:
    delivery_id: int
    kind: str  # "open" | "click"
    url: str | None
    agent: str  # cleaned (clean_agent)
    done: asyncio.Future[bool] = field(repr=False)


class TrackingRecorder:
    """Group commit of open and click events (module docstring). One per app process, made in its lifespan, which
    closes it."""

    def __init__(
        self,
        engine: AsyncEngine,
        max_batch: int = MAX_BATCH,
        linger: float = LINGER_SECONDS,
        on_committed: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._on_committed = on_committed
        self._max_batch = max_batch
        self._linger = linger
        self._queue: list[Report] = []
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.batches = 0  # statements that wrote a batch, for tests and measurements

    async def record(self, delivery_id: int, kind: str, url: str | None, user_agent: str) -> bool:
        """Writes the event (and the stamp, for a person); True once committed, False when there is no such
        delivery. Raises when the database refused it."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(Report(delivery_id, kind, url, clean_agent(user_agent), done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_while_queued())
        else:
            self._wake.set()
        return await done

    async def close(self) -> None:
        """Lets the writer finish what is queued and give its connection back (before the engine is disposed)."""
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write_while_queued(self) -> None:
        batch: list[Report] = []
        try:
            while self._queue:
                async with self._engine.connect() as connection:
                    raw = (await connection.get_raw_connection()).driver_connection
                    while not raw.is_closed() and (self._queue or await self._more_soon()):
                        batch = self._queue[: self._max_batch]
                        del self._queue[: self._max_batch]
                        await self._write_batch(raw, batch)
                        batch = []
                    if raw.is_closed():  # lost (the server restarted...): the pool must not hand it out again
                        await connection.invalidate()
        except BaseException as error:  # no connection to be had, or the task was cancelled (shutdown)
            for report in [*batch, *self._queue]:
                _fail(report, error)
            self._queue.clear()
            if not isinstance(error, Exception):
                raise
        finally:  # no await since the queue was last seen empty: a report queued from now on starts a new writer
            self._writer = None

    async def _more_soon(self) -> bool:
        """Waits up to the linger time for the next report: between two batches the queue is often empty for a
        moment (the clients are reading their answers), and giving the connection back to the pool then would cost
        a checkout and a pre-ping (three round trips) for the next batch."""
        if self._closing:
            return False
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), self._linger)
        except TimeoutError:
            pass
        return bool(self._queue)

    async def _write_batch(self, raw: Any, batch: list[Report]) -> None:
        try:
            found = await _write(raw, batch)
        except Exception as error:
            if len(batch) == 1:
                log.error("tracking event not recorded", delivery_id=batch[0].delivery_id, error=str(error))
                _fail(batch[0], error)
                return
            log.warning("tracking batch failed, writing its reports one by one", size=len(batch), error=str(error))
            for report in batch:
                await self._write_batch(raw, [report])
            return
        self.batches += 1
        delivered = {row[0] for row in found}
        for report in batch:
            if not report.done.done():  # its request may have been cancelled meanwhile (the event stays)
                report.done.set_result(report.delivery_id in delivered)
        if self._on_committed is not None and found:
            try:  # the requests are answered already; the listener only queues (api/journey_dispatch.py)
                self._on_committed(found)
            except Exception as error:
                log.error("tracking listener failed", error=str(error))


def _fail(report: Report, error: BaseException) -> None:
    if not report.done.done():
        report.done.set_exception(error if isinstance(error, Exception) else RuntimeError("tracking stopped"))


async def _write(raw: Any, batch: list[Report]) -> list[Any]:
    """One statement for the batch (module docstring); per delivery that exists and kind of event written: the
    delivery id first, its type, machine verdict, workspace, lead, campaign, journey and node."""
    deliveries, kinds, urls, agents, agent_reasons, windows = [], [], [], [], [], []
    for report in batch:
        deliveries.append(report.delivery_id)
        kinds.append(report.kind)
        urls.append(report.url)
        agents.append(report.agent[:MAX_AGENT_CHARS])
        if report.kind == "open":
            agent_reasons.append(open_agent_reason(report.agent))
            windows.append(OPEN_WINDOW_SECONDS)
        else:
            agent_reasons.append(click_agent_reason(report.agent))
            windows.append(CLICK_WINDOW_SECONDS)
    return await raw.fetch(WRITE_SQL, deliveries, kinds, urls, agents, agent_reasons, windows)
