"""The database side of the trigger dispatcher (#10, docs/automations.md "Trigger intake"): what core.journeys.dispatch
needs to know, read from the database, for the API and for activities alike (api/ never imports activities/).

- Loaders: `load_published` (one active automation), `load_dispatch_targets` (one lead: the workspace's active
  automations, its entry history, its running journeys), `load_histories`, `lead_matches` (an enrollment filter),
  `active_trigger_types` (which trigger types the workspace's active automations have).
- `dispatch_needed(session, workspace_id, events)`: whether dispatch_events would do anything for them.
- `dispatch_events(client, sessions, workspace_id, events, task_queue)`: many events (of many leads) of one workspace
  dispatched with one read of the workspace's active automations. A workspace with no automation that these events
  trigger, and no running journey that could be waiting for them, costs one query and no Temporal call (the Temporal
  client may be given as a factory, called only when needed). Events of different leads are dispatched concurrently
  (at most `DISPATCH_CONCURRENCY` leads at a time), a lead's own events in order.
- `lead_event_journey_events`: a `lead_events` row as the journey events it makes, ids `lead-event:<row id>`.
- The outbox (migration 0015): a trigger on lead_events notes every row that `may_trigger` in `lead_event_outbox`
  in its own transaction; whoever dispatches the committed rows deletes theirs (`dispatched_rows`,
  `mark_dispatched`: one DELETE per batch) and TriggerSweepWorkflow re-dispatches what is left.

Published graphs are parsed once per process and version row (a published version never changes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession as AnyAsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.db import autocommit
from core.journeys import Dispatched, PublishedAutomation, dispatch
from domain.automation_graph import parse_graph, timeline_events, trigger_nodes, triggers_matching
from domain.filters import FilterContext, FilterError, compile_filter, parse_filter
from domain.journey_steps import EntryHistory
from domain.lists import filter_context_from
from models.automations import RUNNING_JOURNEY_STATUSES
from models.leads import Lead
from models.payloads.automation import JourneyEvent

log = structlog.get_logger("herald.journeys.intake")

LEADS = Lead.__table__
DISPATCH_CONCURRENCY = 16
LEAD_CHUNK = 5000  # leads per batched query (histories, running journeys)
MAX_CACHED_GRAPHS = 1024
# The event kinds a `wait_for_event` or an event goal can look for (models EventSpec): only these are delivered to
# the lead's other running journeys. The others (lead_created, added_to_list, field_changed, campaign_interaction,
# scheduled) can only start journeys.
WAITABLE_KINDS = frozenset(
    {"status_changed", "tag_added", "external_event", "converted", "message_opened", "message_clicked"}
)
# lead_events types that make journey events (domain timeline_events, plus conversions).
TIMELINE_TYPES = frozenset({"created", "status_changed", "tagged", "added_to_list", "converted"})

ClientSource = Client | Callable[[], Awaitable[Client]]
Sessions = async_sessionmaker[AsyncSession] | AsyncSession


# --- lead_events rows as journey events -------------------------------------------------------------------------------


def lead_event_id(row_id: int) -> str:
    """The id of the journey events a lead_events row makes (stable: a retried dispatch is recognised)."""
    return f"lead-event:{row_id}"


def may_trigger(type_: str, data: Mapping[str, Any]) -> bool:
    """Whether a lead_events row of this type makes journey events at all (custom field changes only)."""
    return type_ in TIMELINE_TYPES or (type_ == "field_changed" and data.get("field") == "custom_fields")


def lead_event_journey_events(
    row_id: int, lead_id: int, type_: str, data: Mapping[str, Any], occurred_at: datetime | None = None
) -> list[JourneyEvent]:
    """The journey events of one lead_events row (none for a type no trigger, wait or goal looks at)."""
    if not may_trigger(type_, data):
        return []
    event_id = lead_event_id(row_id)
    if type_ == "converted":
        events = [JourneyEvent(kind="converted", event_id=event_id, lead_id=lead_id)]
    else:
        events = timeline_events(type_, data, lead_id=lead_id, event_id=event_id)
    at = occurred_at or datetime.now(UTC)
    return [event.model_copy(update={"occurred_at": at}) for event in events]


# --- Loaders ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchTargets:
    """The arguments of core.journeys.dispatch for one lead: the workspace's active automations, the lead's entry
    history per automation, and the workflow ids of its running journeys."""

    automations: list[PublishedAutomation]
    histories: dict[int, EntryHistory]
    running: list[str]


_GRAPHS: dict[tuple[int, datetime], Any] = {}  # (automation_versions id, published_at) -> graph (None: unparseable)


async def load_published(session: AsyncSession, workspace_id: int, automation_id: int) -> PublishedAutomation | None:
    """An active automation's published version and graph (None: not active, unpublished, or another workspace's)."""
    found = await _published(session, workspace_id, automation_id)
    return found[0] if found else None


ACTIVE_AUTOMATIONS = (
    "SELECT a.id AS automation_id, v.id AS version_row, v.version, v.published_at FROM automations a "
    "JOIN automation_versions v ON v.automation_id = a.id AND v.version = a.published_version "
    "WHERE a.workspace_id = :w AND a.status = 'active'"
)


async def _published(session: AsyncSession, workspace_id: int, automation_id: int | None) -> list[PublishedAutomation]:
    """The workspace's active automations (or the one given) with their published graph, in id order."""
    rows = (
        await session.execute(
            text(f"{ACTIVE_AUTOMATIONS} AND (CAST(:a AS integer) IS NULL OR a.id = CAST(:a AS integer)) ORDER BY a.id"),
            {"w": workspace_id, "a": automation_id},
        )
    ).all()
    return await _with_graphs(session, rows)


async def _with_graphs(session: AsyncSession, rows: Sequence[Any]) -> list[PublishedAutomation]:
    """Rows of ACTIVE_AUTOMATIONS (in the order wanted) as automations with their graphs: parsed once per process
    and version row, an unparseable one left out."""
    missing = [row.version_row for row in rows if (row.version_row, row.published_at) not in _GRAPHS]
    if missing:
        graphs = await session.execute(
            text("SELECT id, automation_id, published_at, graph FROM automation_versions WHERE id = ANY(:ids)"),
            {"ids": missing},
        )
        if len(_GRAPHS) + len(missing) > MAX_CACHED_GRAPHS:
            _GRAPHS.clear()
        for found in graphs:
            data = found.graph if isinstance(found.graph, dict) else json.loads(found.graph)
            graph, problems = parse_graph(data)
            if graph is None:
                log.warning(
                    "published automation does not parse", automation_id=found.automation_id, problems=len(problems)
                )
            _GRAPHS[(found.id, found.published_at)] = graph
    published = []
    for row in rows:
        graph = _GRAPHS.get((row.version_row, row.published_at))
        if graph is not None:
            published.append(PublishedAutomation(row.automation_id, row.version, graph))
    return published


async def active_trigger_types(session: AsyncSession, workspace_id: int) -> set[str]:
    """The trigger node types of the workspace's active automations (e.g. to skip work no trigger wants)."""
    automations = await _published(session, workspace_id, None)
    return {node.type for automation in automations for node in trigger_nodes(automation.graph)}


async def load_histories(session: AsyncSession, lead_id: int, automation_ids: list[int]) -> dict[int, EntryHistory]:
    """The lead's live and test journeys per automation: running and finished."""
    return (await load_entry_histories(session, [lead_id], automation_ids)).get(lead_id, {})


async def load_entry_histories(
    session: AsyncSession, lead_ids: Iterable[int], automation_ids: list[int]
) -> dict[int, dict[int, EntryHistory]]:
    """The leads' live and test journeys per lead and automation (the re-entry policy's history), many leads at once:
    the dispatcher's batches, the scheduled triggers' pages, the simulator's leads."""
    found: dict[int, dict[int, EntryHistory]] = {}
    for chunk in _chunks(sorted(set(lead_ids))):
        rows = await session.execute(
            text(
                "SELECT lead_id, automation_id, count(*) FILTER (WHERE status = ANY(:running)) AS active, "
                "count(*) FILTER (WHERE NOT status = ANY(:running)) AS finished FROM journeys "
                "WHERE lead_id = ANY(:leads) AND automation_id = ANY(:ids) AND mode <> 'simulation' "
                "GROUP BY lead_id, automation_id"
            ),
            {"leads": chunk, "ids": automation_ids, "running": list(RUNNING_JOURNEY_STATUSES)},
        )
        for row in rows:
            found.setdefault(row.lead_id, {})[row.automation_id] = EntryHistory(
                active=row.active, finished=row.finished
            )
    return found


async def _running(session: AsyncSession, workspace_id: int, lead_ids: Iterable[int]) -> dict[int, list[str]]:
    """The workflow ids of the leads' running journeys (live and test), per lead."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(lead_ids))):
        rows = await session.execute(
            text(
                "SELECT DISTINCT lead_id, workflow_id FROM journeys WHERE lead_id = ANY(:leads) AND workspace_id = :w "
                "AND status = ANY(:running) AND mode <> 'simulation' ORDER BY lead_id, workflow_id"
            ),
            {"leads": chunk, "w": workspace_id, "running": list(RUNNING_JOURNEY_STATUSES)},
        )
        for row in rows:
            found.setdefault(row.lead_id, []).append(row.workflow_id)
    return found


async def load_dispatch_targets(session: AsyncSession, workspace_id: int, lead_id: int) -> DispatchTargets:
    automations = await _published(session, workspace_id, None)
    histories = await load_histories(session, lead_id, [a.automation_id for a in automations])
    running = await _running(session, workspace_id, [lead_id])
    return DispatchTargets(automations, histories, running.get(lead_id, []))


async def lead_matches(
    session: AsyncSession, workspace_id: int, lead_id: int, tree: dict[str, Any], statuses: list[str] | None = None
) -> bool:
    """Whether the lead matches a filter tree now (an enrollment filter); False for an invalid tree."""
    return await _Enrollment(workspace_id, statuses).matches(session, lead_id, tree)


class _Enrollment:
    """Enrollment filters checked against one workspace, its filter context read once."""

    def __init__(self, workspace_id: int, statuses: list[str] | None = None) -> None:
        self.workspace_id = workspace_id
        self.statuses = statuses
        self._context: FilterContext | None = None

    async def matches(self, session: AsyncSession, lead_id: int, tree: dict[str, Any]) -> bool:
        context = self._context or await self._load(session)
        try:
            condition = compile_filter(parse_filter(tree), context)
        except FilterError:
            return False
        query = (
            select(literal(1))
            .select_from(LEADS)
            .where(LEADS.c.id == lead_id, LEADS.c.workspace_id == self.workspace_id, condition)
            .limit(1)
        )
        return (await session.execute(query)).scalar() is not None

    async def _load(self, session: AsyncSession) -> FilterContext:
        statuses = self.statuses
        if statuses is None:
            found = await session.execute(
                text("SELECT lead_statuses FROM workspaces WHERE id = :w"), {"w": self.workspace_id}
            )
            statuses = list(found.scalar() or [])
        definitions = await session.execute(
            text("SELECT key, type, choices FROM custom_field_definitions WHERE workspace_id = :w"),
            {"w": self.workspace_id},
        )
        self._context = filter_context_from(self.workspace_id, datetime.now(UTC), statuses, list(definitions))
        return self._context


# --- Dispatching ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventDispatch:
    """What became of one event: the dispatcher's results, or the error that stopped its lead's dispatch."""

    event: JourneyEvent
    results: tuple[Dispatched, ...] = ()
    error: str | None = None


_Plan = tuple[list[list[PublishedAutomation]], set[int], dict[int, list[str]]]


async def _plan(
    session: AsyncSession, workspace_id: int, events: Sequence[JourneyEvent], exclude: Collection[str]
) -> _Plan | None:
    """Per event the active automations it triggers, the leads with a triggered automation, and per lead the
    running journeys (but `exclude`) that could wait for its events, read in one statement; None when there is
    nothing to do (the common case)."""
    waiting_leads = {event.lead_id for event in events if event.kind in WAITABLE_KINDS}
    automations, running = await _automations_and_running(session, workspace_id, waiting_leads)
    triggered = [[a for a in automations if triggers_matching(a.graph, event)] for event in events]
    trigger_leads = {event.lead_id for event, found in zip(events, triggered, strict=True) if found}
    if exclude:
        running = {lead: kept for lead, ids in running.items() if (kept := [i for i in ids if i not in exclude])}
    if not trigger_leads and not running:
        return None
    return triggered, trigger_leads, running


async def _automations_and_running(
    session: AsyncSession, workspace_id: int, lead_ids: set[int]
) -> tuple[list[PublishedAutomation], dict[int, list[str]]]:
    """_published and _running in one round trip (the automations' rows first, in id order, then the running
    journeys'), for up to LEAD_CHUNK leads (more: _running's chunks after)."""
    if len(lead_ids) > LEAD_CHUNK:
        return await _published(session, workspace_id, None), await _running(session, workspace_id, lead_ids)
    rows = (
        await session.execute(
            text(
                f"SELECT active.*, CAST(NULL AS bigint) AS lead_id, CAST(NULL AS text) AS workflow_id "
                f"FROM ({ACTIVE_AUTOMATIONS}) active "
                "UNION ALL SELECT DISTINCT CAST(NULL AS integer), CAST(NULL AS integer), CAST(NULL AS integer), "
                "CAST(NULL AS timestamptz), lead_id, workflow_id FROM journeys WHERE lead_id = ANY(:leads) "
                "AND workspace_id = :w AND status = ANY(:running) AND mode <> 'simulation' "
                "ORDER BY automation_id, lead_id, workflow_id"
            ),
            {"w": workspace_id, "leads": sorted(lead_ids), "running": list(RUNNING_JOURNEY_STATUSES)},
        )
    ).all()
    running: dict[int, list[str]] = {}
    for row in rows:
        if row.lead_id is not None:
            running.setdefault(row.lead_id, []).append(row.workflow_id)
    return await _with_graphs(session, [row for row in rows if row.automation_id is not None]), running


async def dispatch_needed(
    session: AsyncSession, workspace_id: int, events: Sequence[JourneyEvent], exclude: Collection[str] = ()
) -> bool:
    """Whether dispatch_events would start or signal anything for these events (read in `session`, which may be
    in the transaction that writes them: a writer that finds nothing to dispatch drops its outbox rows there and
    then, instead of dispatching after its commit)."""
    return bool(events) and await _plan(session, workspace_id, events, exclude) is not None


async def dispatch_events(
    client: ClientSource,
    sessions: Sessions,
    workspace_id: int,
    events: Sequence[JourneyEvent],
    task_queue: str,
    *,
    concurrency: int = DISPATCH_CONCURRENCY,
    exclude: Collection[str] = (),
) -> list[EventDispatch]:
    """Dispatch the events (of one workspace, any leads) and say what became of each, in the order given.

    `client`: a Temporal client, or an async factory of one (called only when a journey is to be started or
    signalled). `sessions`: a session factory (leads are then dispatched concurrently, each with its own session) or
    one session (leads one after the other; it may be in a transaction). A lead whose dispatch fails (Temporal
    unreachable...) is logged and its events carry the error; the other leads go on. Never raises for a lead.
    `exclude`: workflow ids of running journeys not to signal (core.journeys.dispatch).
    """
    if not events:
        return []
    bound = log.bind(workspace_id=workspace_id)
    async with _session(sessions) as session:
        plan = await _plan(session, workspace_id, events, exclude)
        if plan is None:
            return [EventDispatch(event) for event in events]
        triggered, trigger_leads, running = plan
        automation_ids = sorted({a.automation_id for found in triggered for a in found})
        histories = await load_entry_histories(session, trigger_leads, automation_ids) if trigger_leads else {}

    outcomes: list[EventDispatch] = [EventDispatch(event) for event in events]
    by_lead: dict[int, list[int]] = {}
    for index, event in enumerate(events):
        if triggered[index] or (event.kind in WAITABLE_KINDS and running.get(event.lead_id)):
            by_lead.setdefault(event.lead_id, []).append(index)
    get_client = _client_getter(client)
    enrollment = _Enrollment(workspace_id)
    shared = isinstance(sessions, AnyAsyncSession)
    gate = asyncio.Semaphore(1 if shared else max(1, concurrency))

    async def one_lead(lead_id: int, indices: list[int]) -> None:
        async with gate:
            lead_log = bound.bind(lead_id=lead_id)
            lead_histories = dict(histories.get(lead_id, {}))
            lead_running = list(running.get(lead_id, []))
            done = 0
            try:
                async with _session(sessions) as own:

                    async def check(lead: int, tree: dict) -> bool:
                        return await enrollment.matches(own, lead, tree)

                    temporal = await get_client()
                    for index in indices:
                        event = events[index]
                        results = await dispatch(
                            temporal,
                            workspace_id,
                            event,
                            triggered[index],
                            task_queue=task_queue,
                            histories=lead_histories,
                            running=lead_running if event.kind in WAITABLE_KINDS else (),
                            exclude=exclude,
                            enrollment=check,
                        )
                        outcomes[index] = EventDispatch(event, tuple(results))
                        done += 1
                        _after(results, lead_histories, lead_running)
                        started = [r.workflow_id for r in results if r.action == "started"]
                        if started:
                            lead_log.info(
                                "journeys started", event_id=event.event_id, kind=event.kind, workflows=started
                            )
            except Exception as error:  # one lead's failure is logged, the others go on
                failed = [events[index].event_id for index in indices[done:]]
                lead_log.error("journey dispatch failed", error=f"{type(error).__name__}: {error}", event_ids=failed)
                for index in indices[done:]:
                    outcomes[index] = EventDispatch(events[index], (), f"{type(error).__name__}: {error}")

    await asyncio.gather(*(one_lead(lead_id, indices) for lead_id, indices in by_lead.items()))
    return outcomes


def _after(results: Sequence[Dispatched], histories: dict[int, EntryHistory], running: list[str]) -> None:
    """A journey started by one event is running for the lead's next events (history and signals)."""
    for result in results:
        if result.action == "started" and result.automation_id is not None:
            history = histories.get(result.automation_id, EntryHistory())
            histories[result.automation_id] = replace(history, active=history.active + 1)
            if result.workflow_id is not None and result.workflow_id not in running:
                running.append(result.workflow_id)


def _client_getter(client: ClientSource) -> Callable[[], Awaitable[Client]]:
    """The client, or the factory's client made once (its failure too: a thousand leads do not retry it)."""
    if isinstance(client, Client):

        async def given() -> Client:
            return client

        return given
    made: asyncio.Future[Client] | None = None

    async def make() -> Client:
        nonlocal made
        if made is None:
            made = asyncio.ensure_future(client())
        return await asyncio.shield(made)

    return make


@asynccontextmanager
async def _session(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """The session given, or a new one in autocommit: the dispatcher only reads, and needs no BEGIN or ROLLBACK."""
    if isinstance(sessions, AnyAsyncSession):
        yield sessions
    else:
        async with sessions() as session:
            await autocommit(session)
            yield session


def _chunks(items: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(items), LEAD_CHUNK):
        yield items[start : start + LEAD_CHUNK]


# --- The outbox -------------------------------------------------------------------------------------------------------


def lead_event_row(event_id: str) -> int | None:
    """The lead_events row an event id names (`lead-event:<row id>`, `:<key>` per custom field), else None."""
    prefix, _, rest = event_id.partition(":")
    row = rest.partition(":")[0]
    return int(row) if prefix == "lead-event" and row.isdigit() else None


def dispatched_rows(outcomes: Iterable[EventDispatch], row_ids: Iterable[int] | None = None) -> list[int]:
    """The lead_events rows whose journey events were all dispatched: `row_ids` (a row making no event is done
    too), or the rows the outcomes' events name. A row with an event that failed is not."""
    failed = {lead_event_row(o.event.event_id) for o in outcomes if o.error is not None}
    named = {lead_event_row(o.event.event_id) for o in outcomes} if row_ids is None else set(row_ids)
    return sorted(row for row in named - failed if row is not None)


async def mark_dispatched(sessions: async_sessionmaker[AsyncSession], row_ids: Sequence[int]) -> int:
    """The rows leave the outbox (one statement for the batch); how many were still there."""
    if not row_ids:
        return 0
    async with sessions() as session:
        deleted = await drop_from_outbox(session, row_ids)
        await session.commit()
    return deleted


async def drop_from_outbox(session: AsyncSession, row_ids: Sequence[int]) -> int:
    """The rows taken out of the outbox in the session's transaction (committed with it); how many were there."""
    deleted = await session.execute(
        text("DELETE FROM lead_event_outbox WHERE lead_event_id = ANY(:ids)"), {"ids": list(row_ids)}
    )
    return deleted.rowcount or 0
