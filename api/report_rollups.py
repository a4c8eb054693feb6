"""The rollups behind the campaign report and the workspace overview (tables: migration 0012).

Reading a report costs a few thousand rollup rows instead of every event and delivery of the run, and the numbers
stay exact: each read statement adds, in one snapshot, the rollups and what they do not hold yet.

Events. `refresh` folds a workspace's *settled* events into the `rollup_*` tables and moves `rollup_state.folded_to`
up; the statements of this module add the events above `folded_to` (the tail, read from `events`) to the rollups.
Events are append-only and numbered by a sequence (cache 1), so "already folded" is "id <= folded_to". Ids are
handed out before their transaction commits, so an id may become visible after a larger one: a fold must not pass
an id that may still appear. Settling works with a candidate: `refresh` notes the largest visible id and the
transactions then running (their virtual ids, from pg_locks); every id up to it is settled once each of those has
ended or, still running `SETTLE_SECONDS` later, has never written anything (no transaction id: its events would
have one, assigned a few microseconds after their ids). An id above the candidate belongs to a transaction that
started later. A fold's first-time flags ("first click of this delivery on this URL") look at every event with a
smaller id, all of them settled, so they never change; the tail's flags are worked out the same way in the read.
A late event (a conversion dated last week) has a large id: it is in the tail, then in the next fold; buckets are
never "closed". Nothing here writes on the tracking path.

Deliveries. Triggers on `deliveries` (and on a lead's country) append count changes to `rollup_delivery_deltas`;
`refresh` moves the committed ones into `rollup_deliveries` (DELETE ... RETURNING moves only what it sees, and an
uncommitted delta stays for the next time). A read adds both.

`reading` refreshes on a connection of its own, committing as it goes (a chunk of `FOLD_CHUNK` ids a transaction,
the first fold all at once: it needs no look back), then reads on it in one snapshot (REPEATABLE READ). Two readers
of a workspace do not wait for each other: the one that finds the state locked skips the refresh and reads a longer
tail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import TextClause

from api.scoping import Scope

SETTLE_SECONDS = 2.0
FOLD_CHUNK = 500_000  # event ids per fold transaction
QUARTER = timedelta(minutes=15)

# A conversion's value as the report sums it (also in migration 0012's erasure trigger).
VALUE_SQL = "CASE WHEN {m}->>'value' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN ({m}->>'value')::numeric END"
# The tail of workspace :w above :f (folded_to), through ix_events_workspace_id.
TAIL = "events e WHERE e.workspace_id = :w AND e.id > :f"

_TUNE = (
    text("SET LOCAL plan_cache_mode = force_custom_plan"),  # ranges and tails vary: no generic plans
    text("SET LOCAL work_mem = '128MB'"),  # a chunk's rows, materialised once for five aggregates
)
_READ_TUNE = (
    text("SET LOCAL plan_cache_mode = force_custom_plan"),
    text("SET LOCAL jit = off"),  # a few thousand rows: compiling would cost more than it saves
)
_FOLDED_TO = text("SELECT folded_to FROM rollup_state WHERE workspace_id = :w")
_ENSURE = text("INSERT INTO rollup_state (workspace_id) VALUES (:w) ON CONFLICT DO NOTHING")
_LOCK = text(
    "SELECT folded_to, settled_to, pending_to, pending_at, pending_vxids FROM rollup_state "
    "WHERE workspace_id = :w FOR UPDATE SKIP LOCKED"
)
# Settled: none of the candidate's transactions still runs, unless it ran without a transaction id for
# SETTLE_SECONDS (a reader). A session whose state is not shown (another role's, or one pg_stat_activity, a snapshot
# per transaction, does not list yet) counts as running.
_SETTLED = text(
    """
    SELECT NOT EXISTS (
        SELECT 1 FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'virtualxid' AND l.granted AND l.virtualxid = ANY(CAST(:vxids AS text[]))
          AND (a.backend_xid IS NOT NULL OR a.state IS NULL
               OR clock_timestamp() < CAST(:at AS timestamptz) + make_interval(secs => :settle))
    )
    """
)
_PROMOTE = text(
    "UPDATE rollup_state SET settled_to = greatest(settled_to, pending_to), pending_to = NULL, pending_at = NULL, "
    "pending_vxids = NULL WHERE workspace_id = :w RETURNING settled_to"
)
# The largest visible id (the statement's snapshot) and the transactions running in this database (or that
# pg_stat_activity's snapshot does not show yet), except this one and `quiet` (the caller's own session, which writes
# no events).
_CANDIDATE = text(
    """
    UPDATE rollup_state SET pending_to = m.top, pending_at = clock_timestamp(), pending_vxids = ARRAY(
        SELECT l.virtualxid FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_backend_pid()
          AND l.pid <> ALL(CAST(:quiet AS int[]))
          AND (a.pid IS NULL OR (a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                                 AND coalesce(a.backend_type, 'client backend') = 'client backend')))
    FROM (SELECT coalesce(max(id), 0) AS top FROM events) m
    WHERE workspace_id = :w AND m.top > settled_to
    RETURNING pending_to
    """
)
_MOVE_DELTAS = text(
    """
    WITH moved AS (
        DELETE FROM rollup_delivery_deltas WHERE workspace_id = :w
        RETURNING run_id, step, variant, channel, status, country, sent_bucket, n, opened, clicked
    )
    INSERT INTO rollup_deliveries AS d (workspace_id, run_id, step, variant, channel, status, country, sent_bucket, n,
                                        opened, clicked)
    SELECT :w, run_id, step, variant, channel, status, country, sent_bucket, sum(n), sum(opened), sum(clicked)
    FROM moved GROUP BY 2, 3, 4, 5, 6, 7, 8 ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (workspace_id, run_id, step, variant, channel, status, country, sent_bucket)
    DO UPDATE SET n = d.n + excluded.n, opened = d.opened + excluded.opened, clicked = d.clicked + excluded.clicked
    """
)
_EMPTY_DELIVERY_ROWS = text(
    "DELETE FROM rollup_deliveries WHERE workspace_id = :w AND n = 0 AND opened = 0 AND clicked = 0"
)
# One chunk (f, t] of a workspace's events into the rollups. A (delivery, URL) or (delivery, open/click, device) pair
# is new on its first event in the chunk (row_number) when no event at or below f has it (a probe through
# ix_events_delivery; none for the first fold).
_FOLD = text(
    f"""
    WITH r AS MATERIALIZED (
        SELECT id, run_id, step, variant, type, machine, url, delivery_id, lead_id,
               rollup_quarter(occurred_at) AS bucket, coalesce(metadata->>'user_agent', '') AS agent,
               coalesce(metadata->>'conversion_id', id::text) AS conversion,
               metadata->>'permanent' = 'true' AS permanent, {VALUE_SQL.format(m="metadata")} AS value
        FROM events WHERE workspace_id = :w AND id > CAST(:f AS bigint) AND id <= CAST(:t AS bigint)
    ), counts AS (
        INSERT INTO rollup_event_counts AS c (workspace_id, run_id, step, variant, type, machine, bucket, n, value)
        SELECT :w, run_id, step, variant, type, machine, bucket, count(*), coalesce(sum(value), 0)
        FROM r GROUP BY 2, 3, 4, 5, 6, 7 ORDER BY 2, 3, 4, 5, 6, 7
        ON CONFLICT (workspace_id, run_id, step, variant, type, machine, bucket)
        DO UPDATE SET n = c.n + excluded.n, value = c.value + excluded.value
    ), clicks AS (
        SELECT run_id, url,
               delivery_id IS NOT NULL AND row_number() OVER (PARTITION BY run_id, delivery_id, url ORDER BY id) = 1
               AND (CAST(:f AS bigint) = 0 OR NOT EXISTS (
                   SELECT 1 FROM events p WHERE p.delivery_id = r.delivery_id AND p.id <= CAST(:f AS bigint)
                   AND p.type = 'click' AND NOT p.machine AND p.url = r.url AND p.run_id = r.run_id)) AS first
        FROM r WHERE type = 'click' AND NOT machine AND url IS NOT NULL AND run_id IS NOT NULL
    ), links AS (
        INSERT INTO rollup_links AS k (workspace_id, run_id, url, clicks, unique_clicks)
        SELECT :w, run_id, url, count(*), count(*) FILTER (WHERE first)
        FROM clicks GROUP BY run_id, url ORDER BY run_id, md5(url)
        ON CONFLICT (workspace_id, run_id, md5(url))
        DO UPDATE SET clicks = k.clicks + excluded.clicks, unique_clicks = k.unique_clicks + excluded.unique_clicks
    ), agents AS MATERIALIZED (  -- each User-Agent classified once
        SELECT agent, rollup_device(agent) AS device
        FROM (SELECT DISTINCT agent FROM r WHERE type IN ('open', 'click') AND NOT machine) a
    ), seen AS (
        SELECT r.run_id, r.type, g.device,
               r.delivery_id IS NOT NULL
               AND row_number() OVER (PARTITION BY r.run_id, r.type, r.delivery_id, g.device ORDER BY r.id) = 1
               AND (CAST(:f AS bigint) = 0 OR NOT EXISTS (
                   SELECT 1 FROM events p WHERE p.delivery_id = r.delivery_id AND p.id <= CAST(:f AS bigint)
                   AND p.type = r.type AND NOT p.machine AND p.run_id = r.run_id
                   AND rollup_device(coalesce(p.metadata->>'user_agent', '')) = g.device)) AS first
        FROM r JOIN agents g ON g.agent = r.agent
        WHERE r.type IN ('open', 'click') AND NOT r.machine AND r.run_id IS NOT NULL
    ), devices AS (
        INSERT INTO rollup_devices AS v (workspace_id, run_id, device, n, opened, clicked)
        SELECT :w, run_id, device, count(*), count(*) FILTER (WHERE type = 'open' AND first),
               count(*) FILTER (WHERE type = 'click' AND first)
        FROM seen GROUP BY run_id, device ORDER BY run_id, device
        ON CONFLICT (workspace_id, run_id, device)
        DO UPDATE SET n = v.n + excluded.n, opened = v.opened + excluded.opened, clicked = v.clicked + excluded.clicked
    ), keys AS (
        INSERT INTO rollup_event_keys (workspace_id, run_id, step, variant, type, machine, bucket, key, lead_id)
        SELECT DISTINCT :w, run_id, step, variant, type, machine, bucket,
               CASE WHEN type = 'conversion' THEN conversion ELSE lead_id::text END, lead_id
        FROM r WHERE type = 'conversion' OR (type = 'bounce' AND permanent AND lead_id IS NOT NULL)
        ON CONFLICT DO NOTHING
    )
    UPDATE rollup_state SET folded_to = CAST(:t AS bigint) WHERE workspace_id = :w
    """
)


@dataclass
class _State:
    folded_to: int
    settled_to: int
    pending_to: int | None
    pending_at: datetime | None
    pending_vxids: list[str] | None


class Reading:
    """Statements of one snapshot over a workspace's rollups and tail (`:w` and `:f` are filled in)."""

    def __init__(self, conn: AsyncConnection, workspace_id: int, folded_to: int) -> None:
        self._conn = conn
        self._params = {"w": workspace_id, "f": folded_to}

    async def execute(self, statement: TextClause, params: dict[str, Any] | None = None) -> Result[Any]:
        return await self._conn.execute(statement, {**self._params, **(params or {})})


@asynccontextmanager
async def reading(
    engine: AsyncEngine, workspace_id: int, quiet_pids: list[int] | None = None
) -> AsyncIterator[Reading]:
    """Refreshes the workspace's rollups, then reads them in one snapshot (REPEATABLE READ, read only): the rollups
    and `folded_to` agree, and the tail's bound is a plain parameter the planner sees (a tail of a few rows is an
    index range, with no JIT compilation and no parallel workers for it)."""
    async with engine.connect() as conn:
        await refresh(conn, workspace_id, quiet_pids)
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            await conn.execute(text("SET TRANSACTION READ ONLY"))
            for statement in _READ_TUNE:
                await conn.execute(statement)
            folded_to = await conn.scalar(_FOLDED_TO, {"w": workspace_id})
            yield Reading(conn, workspace_id, folded_to or 0)


@asynccontextmanager
async def reading_for(scope: Scope) -> AsyncIterator[Reading]:
    """`reading` of the scope's workspace; the scope's own session (which writes no events) is not waited for."""
    own = (await scope.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    async with reading(scope.session.bind, scope.workspace_id, [own]) as read:
        yield read


async def refresh(conn: AsyncConnection, workspace_id: int, quiet_pids: list[int] | None = None) -> None:
    """Moves the workspace's delivery deltas, folds its settled events and notes a new candidate (module
    docstring), committing as it goes. `quiet_pids`: backends known to write no events (the caller's own
    session)."""
    params = {"w": workspace_id, "quiet": quiet_pids or [], "settle": SETTLE_SECONDS}
    rechecked = False
    first = True
    while True:
        async with conn.begin():
            for statement in _TUNE:
                await conn.execute(statement)
            state = await _lock(conn, params)
            if state is None:  # another reader is at it
                return
            if first:
                await conn.execute(_MOVE_DELTAS, params)
                await conn.execute(_EMPTY_DELIVERY_ROWS, params)
                first = False
            if state.pending_to is not None and state.pending_at is not None:
                settled = await conn.scalar(
                    _SETTLED, {**params, "vxids": state.pending_vxids or [], "at": state.pending_at}
                )
                if settled:
                    state.settled_to = await conn.scalar(_PROMOTE, params)
                    state.pending_to = None
            folded = False
            if state.settled_to > state.folded_to:
                # The first fold needs no look back (nothing was folded before): all of it at once.
                chunk = FOLD_CHUNK if state.folded_to else state.settled_to
                upto = min(state.settled_to, state.folded_to + chunk)
                await conn.execute(_FOLD, {**params, "f": state.folded_to, "t": upto})
                folded = True
            recorded = False
            if state.pending_to is None:
                recorded = (await conn.execute(_CANDIDATE, params)).first() is not None
        if folded:
            continue
        if recorded and not rechecked:  # no other transaction may have been running: settled already
            rechecked = True
            continue
        return


async def _lock(conn: AsyncConnection, params: dict) -> _State | None:
    await conn.execute(_ENSURE, params)
    row = (await conn.execute(_LOCK, params)).first()
    if row is None:
        return None
    return _State(row.folded_to, row.settled_to, row.pending_to, row.pending_at, row.pending_vxids)


def period_start(now: datetime, days: int) -> datetime:
    """The overview's period starts at the quarter-hour at or before `now - days` (the rollups' bucket)."""
    start = now - timedelta(days=days)
    epoch = datetime(2000, 1, 1, tzinfo=start.tzinfo)
    return start - (start - epoch) % QUARTER


# --- The campaign report of run :r in workspace :w ------------------------------------------------------------------

DELIVERIES = text(
    """
    SELECT step, variant, channel, status, country, CAST(sum(n) AS bigint) AS n, CAST(sum(opened) AS bigint) AS opened,
           CAST(sum(clicked) AS bigint) AS clicked FROM (
        SELECT step, variant, channel, status, country, n, opened, clicked FROM rollup_deliveries
        WHERE workspace_id = :w AND run_id = :r
        UNION ALL
        SELECT step, variant, channel, status, country, n, opened, clicked FROM rollup_delivery_deltas
        WHERE workspace_id = :w AND run_id = :r
    ) d GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
    """
)
EVENT_COUNTS = text(
    f"""
    SELECT step, variant, type, machine, CAST(sum(n) AS bigint) AS n, sum(value) AS value FROM (
        SELECT step, variant, type, machine, n, value FROM rollup_event_counts WHERE workspace_id = :w AND run_id = :r
        UNION ALL
        SELECT e.step, e.variant, e.type, e.machine, 1, {VALUE_SQL.format(m="e.metadata")} FROM {TAIL} AND e.run_id = :r
    ) c GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
    """
)
# Conversions (by conversion id) and leads with a permanent bounce, distinct per group and over the run (the
# grouping set by type alone).
EVENT_KEYS = text(
    f"""
    SELECT step, variant, type, machine, count(DISTINCT key) AS n, GROUPING(step) = 1 AS whole_run FROM (
        SELECT step, variant, type, machine, key FROM rollup_event_keys WHERE workspace_id = :w AND run_id = :r
        UNION ALL
        SELECT e.step, e.variant, e.type, e.machine,
               CASE WHEN e.type = 'conversion' THEN coalesce(e.metadata->>'conversion_id', e.id::text)
                    ELSE e.lead_id::text END
        FROM {TAIL} AND e.run_id = :r AND (e.type = 'conversion'
            OR (e.type = 'bounce' AND e.metadata->>'permanent' = 'true' AND e.lead_id IS NOT NULL))
    ) k GROUP BY GROUPING SETS ((step, variant, type, machine), (type))
    """
)
# A tail click is new if no human click of the same delivery on the same URL has a smaller id.
LINKS = text(
    f"""
    SELECT url, CAST(sum(clicks) AS bigint) AS clicks, CAST(sum(unique_clicks) AS bigint) AS unique_clicks FROM (
        SELECT url, clicks, unique_clicks FROM rollup_links WHERE workspace_id = :w AND run_id = :r
        UNION ALL
        SELECT e.url, 1, CASE WHEN e.delivery_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM events p WHERE p.delivery_id = e.delivery_id AND p.id < e.id AND p.type = 'click'
                   AND NOT p.machine AND p.url = e.url AND p.run_id = e.run_id) THEN 1 ELSE 0 END
        FROM {TAIL} AND e.run_id = :r AND e.type = 'click' AND NOT e.machine AND e.url IS NOT NULL
    ) l GROUP BY url HAVING sum(clicks) > 0 ORDER BY clicks DESC, url LIMIT 200
    """
)
DEVICES = text(
    f"""
    SELECT device, CAST(sum(opened) AS bigint) AS opened, CAST(sum(clicked) AS bigint) AS clicked FROM (
        SELECT device, n, opened, clicked FROM rollup_devices WHERE workspace_id = :w AND run_id = :r
        UNION ALL
        SELECT device, 1, CASE WHEN type = 'open' AND first THEN 1 ELSE 0 END,
               CASE WHEN type = 'click' AND first THEN 1 ELSE 0 END
        FROM (
            SELECT t.type, t.device, t.delivery_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM events p WHERE p.delivery_id = t.delivery_id AND p.id < t.id AND p.type = t.type
                AND NOT p.machine AND p.run_id = t.run_id
                AND rollup_device(coalesce(p.metadata->>'user_agent', '')) = t.device) AS first
            FROM (SELECT e.id, e.type, e.run_id, e.delivery_id,
                         rollup_device(coalesce(e.metadata->>'user_agent', '')) AS device
                  FROM {TAIL} AND e.run_id = :r AND NOT e.machine AND e.type IN ('open', 'click')) t
        ) x
    ) d GROUP BY device HAVING sum(n) > 0
    """
)
SERIES = text(
    f"""
    SELECT date_trunc(:bucket, at AT TIME ZONE :tz) AS at, CAST(sum(opens) AS bigint) AS opens,
           CAST(sum(clicks) AS bigint) AS clicks FROM (
        SELECT bucket AS at, CASE WHEN type = 'open' THEN n ELSE 0 END AS opens,
               CASE WHEN type = 'click' THEN n ELSE 0 END AS clicks
        FROM rollup_event_counts
        WHERE workspace_id = :w AND run_id = :r AND NOT machine AND type IN ('open', 'click')
        UNION ALL
        SELECT e.occurred_at, CASE WHEN e.type = 'open' THEN 1 ELSE 0 END, CASE WHEN e.type = 'click' THEN 1 ELSE 0 END
        FROM {TAIL} AND e.run_id = :r AND NOT e.machine AND e.type IN ('open', 'click')
    ) s GROUP BY 1 HAVING sum(opens) + sum(clicks) > 0 ORDER BY 1
    """
)

# --- The workspace overview of :w since :since (a quarter-hour) ----------------------------------------------------

_SENT_DELIVERIES = """
    SELECT run_id, sent_bucket, n, opened, clicked FROM rollup_deliveries
    WHERE workspace_id = :w AND status = 'sent' AND sent_bucket >= :since
    UNION ALL
    SELECT run_id, sent_bucket, n, opened, clicked FROM rollup_delivery_deltas
    WHERE workspace_id = :w AND status = 'sent' AND sent_bucket >= :since
"""
PERIOD_SENT = text(
    f"""
    SELECT CAST(coalesce(sum(n), 0) AS bigint) AS sent,
           CAST(coalesce(sum(opened), 0) AS bigint) AS opened, CAST(coalesce(sum(clicked), 0) AS bigint) AS clicked
    FROM ({_SENT_DELIVERIES}) d
    """
)
PERIOD_EVENT_COUNTS = text(
    f"""
    SELECT type, machine, CAST(sum(n) AS bigint) AS n, sum(value) AS value FROM (
        SELECT type, machine, n, value FROM rollup_event_counts WHERE workspace_id = :w AND bucket >= :since
        UNION ALL
        SELECT e.type, e.machine, 1, {VALUE_SQL.format(m="e.metadata")} FROM {TAIL} AND e.occurred_at >= :since
    ) c GROUP BY 1, 2 HAVING sum(n) <> 0
    """
)
PERIOD_EVENT_KEYS = text(
    f"""
    SELECT type, machine, count(DISTINCT key) AS n FROM (
        SELECT type, machine, key FROM rollup_event_keys WHERE workspace_id = :w AND bucket >= :since
        UNION ALL
        SELECT e.type, e.machine,
               CASE WHEN e.type = 'conversion' THEN coalesce(e.metadata->>'conversion_id', e.id::text)
                    ELSE e.lead_id::text END
        FROM {TAIL} AND e.occurred_at >= :since AND (e.type = 'conversion'
            OR (e.type = 'bounce' AND e.metadata->>'permanent' = 'true' AND e.lead_id IS NOT NULL))
    ) k GROUP BY 1, 2
    """
)
PERIOD_TREND = text(
    f"""
    WITH days AS (
        SELECT generate_series(date_trunc('day', :since AT TIME ZONE :tz), date_trunc('day', now() AT TIME ZONE :tz),
                               interval '1 day') AS day
    ), sent AS (
        SELECT date_trunc('day', sent_bucket AT TIME ZONE :tz) AS day, CAST(sum(n) AS bigint) AS n
        FROM ({_SENT_DELIVERIES}) d GROUP BY 1
    ), engaged AS (
        SELECT date_trunc('day', at AT TIME ZONE :tz) AS day, sum(opens) AS opens, sum(clicks) AS clicks FROM (
            SELECT bucket AS at, CASE WHEN type = 'open' THEN n ELSE 0 END AS opens,
                   CASE WHEN type = 'click' THEN n ELSE 0 END AS clicks
            FROM rollup_event_counts
            WHERE workspace_id = :w AND bucket >= :since AND NOT machine AND type IN ('open', 'click')
            UNION ALL
            SELECT e.occurred_at, CASE WHEN e.type = 'open' THEN 1 ELSE 0 END,
                   CASE WHEN e.type = 'click' THEN 1 ELSE 0 END
            FROM {TAIL} AND e.occurred_at >= :since AND NOT e.machine AND e.type IN ('open', 'click')
        ) x GROUP BY 1
    )
    SELECT to_char(days.day, 'YYYY-MM-DD') AS day, CAST(coalesce(sent.n, 0) AS bigint) AS sent,
           CAST(coalesce(engaged.opens, 0) AS bigint) AS opens, CAST(coalesce(engaged.clicks, 0) AS bigint) AS clicks
    FROM days LEFT JOIN sent ON sent.day = days.day LEFT JOIN engaged ON engaged.day = days.day ORDER BY days.day
    """
)
PERIOD_TOP = text(
    f"""
    SELECT c.id AS campaign_id, c.name, CAST(sum(d.n) AS bigint) AS sent,
           CAST(sum(d.opened) AS bigint) AS opened, CAST(sum(d.clicked) AS bigint) AS clicked
    FROM ({_SENT_DELIVERIES}) d JOIN campaign_runs r ON r.id = d.run_id JOIN campaigns c ON c.id = r.campaign_id
    GROUP BY c.id, c.name HAVING sum(d.n) > 0 ORDER BY sent DESC, c.id LIMIT 5
    """
)
