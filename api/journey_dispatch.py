"""The API's side of the trigger intake (#10, docs/automations.md "Trigger intake"): lead changes, conversions,
unsubscribes and tracked opens and clicks reach the journeys.

After commit, never before. A route's timeline rows (`lead_service.record_event`, `note_on_timeline`) are queued on
the request's session (`after_commit`); SQLAlchemy's session events move them to a "committed" list when the
transaction commits and drop them when it rolls back, and the session dependency (api/deps.py `get_session`)
dispatches the committed ones when the request is over (FastAPI runs a request-scoped dependency's exit after the
response is sent: the client does not wait for Temporal). A change whose transaction rolled back dispatches nothing;
Temporal being down is logged (`journey dispatch failed`), the committed change stands, and its timeline rows stay
in the outbox (`lead_event_outbox`, migration 0015) for TriggerSweepWorkflow; dispatched ones are deleted from it.

Tracking (`JourneyIntake.tracked`, called by api/tracking_recorder.py after each batch commits, off the request path):
an open or click of a journey's message signals that journey (`message_opened` / `message_clicked`, its node, the
delivery id as message id; a machine's flagged `machine`), and a person's open or click of a campaign message is a
`campaign_interaction` event, dispatched only in workspaces whose active automations have such a trigger (checked
at most every `TRIGGER_CACHE_SECONDS`). Both run in one background task per app, closed by the app's lifespan
(core/tracked_events.py builds the events). The tracking statement put them in `tracking_outbox` (migration 0017)
with the events; the task takes out those it delivered, and TriggerSweepWorkflow delivers the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession as AnyAsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

from core.journey_intake import (
    EventDispatch,
    active_trigger_types,
    dispatch_events,
    dispatched_rows,
    lead_event_journey_events,
    mark_dispatched,
)
from core.settings import Settings
from core.tracked_events import (
    TrackedGroup,
    TrackedKey,
    campaign_interaction_event,
    delivered_keys,
    group_by_event,
    journey_signal,
    settle_tracked,
    signal_tracked,
    tracked_key,
)
from models.leads import LeadEvent
from models.payloads.automation import JourneyEvent

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.deps import TemporalProvider

log = structlog.get_logger("herald.api.journeys")

PENDING = "herald.journey_events.pending"  # session.info: queued in the open transaction
COMMITTED = "herald.journey_events.committed"  # session.info: (workspace id, event) committed, to dispatch
TRIGGER_CACHE_SECONDS = 30.0
MAX_TRACKING_BACKLOG = 100_000  # reports waiting for the background task; beyond, new ones are dropped (logged)
RECENT_TRACKING_IDS = 20_000  # event ids already handled (a second open of a message is no news)

Queued = LeadEvent | tuple[int, JourneyEvent]


# --- After commit -----------------------------------------------------------------------------------------------------


def after_commit(session: AsyncSession | Session, workspace_id: int, events: Iterable[JourneyEvent]) -> None:
    """Dispatch these events once the session's transaction commits (nothing if it rolls back)."""
    _pending(session).extend((workspace_id, event) for event in events)


def lead_event_after_commit(session: AsyncSession | Session, lead_event: LeadEvent) -> None:
    """Dispatch a timeline row's events once committed (its id, the events' id, exists only after the flush)."""
    _pending(session).append(lead_event)


def _pending(session: AsyncSession | Session) -> list[Queued]:
    sync = session.sync_session if isinstance(session, AnyAsyncSession) else session
    pending = sync.info.get(PENDING)
    if pending is None:
        pending = sync.info[PENDING] = []
        sa_event.listen(sync, "after_commit", _committed)
        sa_event.listen(sync, "after_soft_rollback", _rolled_back)
    return pending


def _committed(sync: Session) -> None:
    """The transaction committed: its queue becomes the committed list (timeline rows as plain values, made into
    events by `committed_events`, after the response: a bulk change's thousands of rows cost the commit nothing)."""
    pending: list[Queued] = sync.info.get(PENDING) or []
    if not pending:
        return
    committed = sync.info.setdefault(COMMITTED, [])
    for item in pending:
        if not isinstance(item, LeadEvent):
            committed.append(item)
        elif item.id is not None and not inspect(item).transient:  # transient: its savepoint rolled back
            committed.append((item.workspace_id, item.id, item.lead_id, item.type, item.data))
    pending.clear()


def _rolled_back(sync: Session, previous: SessionTransaction) -> None:
    pending: list[Queued] = sync.info.get(PENDING) or []
    if previous.nested:
        pending[:] = [item for item in pending if not (isinstance(item, LeadEvent) and inspect(item).transient)]
    else:
        pending.clear()


def committed_events(session: AsyncSession) -> list[tuple[int, JourneyEvent]]:
    """The committed events not dispatched yet, as (workspace id, event) (and forgets them)."""
    committed = session.info.pop(COMMITTED, None) or []
    now = datetime.now(UTC)
    events: list[tuple[int, JourneyEvent]] = []
    for item in committed:
        if len(item) == 2:
            events.append(item)
        else:
            workspace_id, row_id, lead_id, type_, data = item
            events.extend(
                (workspace_id, event) for event in lead_event_journey_events(row_id, lead_id, type_, data, now)
            )
    return events


# --- The app's intake -------------------------------------------------------------------------------------------------


class JourneyIntake:
    """One per app (`app.state.journeys`, made by its lifespan): dispatches with the app's sessions and Temporal
    client (connected only when a journey is to be started or signalled)."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], temporal: TemporalProvider):
        self.settings = settings
        self.sessions = sessions
        self.temporal = temporal
        self._backlog: list[Mapping[str, Any]] = []
        self._worker: asyncio.Task[None] | None = None
        self._triggers: dict[int, tuple[float, bool]] = {}  # workspace -> (checked at, has campaign triggers)
        self._recent: OrderedDict[str, None] = OrderedDict()

    async def dispatch(
        self, workspace_id: int, events: Sequence[JourneyEvent], session: AsyncSession | None = None
    ) -> list[EventDispatch]:
        """Dispatch now (with `session`: in it, e.g. inside the caller's transaction); failures are in the results."""
        return await dispatch_events(
            self.temporal.get, session or self.sessions, workspace_id, events, self.settings.temporal_task_queue
        )

    async def dispatch_committed(self, items: Sequence[tuple[int, JourneyEvent]]) -> None:
        """A request's committed events, per workspace; failures are logged, never raised (the change stands).
        The timeline rows dispatched leave the outbox; those that failed stay for TriggerSweepWorkflow."""
        by_workspace: dict[int, list[JourneyEvent]] = {}
        for workspace_id, journey_event in items:
            by_workspace.setdefault(workspace_id, []).append(journey_event)
        for workspace_id, events in by_workspace.items():
            try:
                outcomes = await self.dispatch(workspace_id, events)
            except Exception as error:
                log.error(
                    "journey dispatch failed",
                    workspace_id=workspace_id,
                    events=len(events),
                    error=f"{type(error).__name__}: {error}",
                )
                continue
            try:
                await mark_dispatched(self.sessions, dispatched_rows(outcomes))
            except Exception as error:  # the sweep dispatches them again: same event ids, nothing starts twice
                log.warning("dispatched timeline rows not marked", error=f"{type(error).__name__}: {error}")

    # --- Tracking ---------------------------------------------------------------------------------------------------

    def tracked(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """A committed tracking batch's events (api/tracking_recorder.py): journey deliveries', and people's opens
        and clicks of campaign messages, are handed to the background task; the rest costs one pass over the rows."""
        wanted = [
            row
            for row in rows
            if row["journey_id"] is not None or (row["campaign_id"] is not None and not row["machine"])
        ]
        if not wanted:
            return
        if len(self._backlog) + len(wanted) > MAX_TRACKING_BACKLOG:
            log.warning("tracking backlog full: opens and clicks left to the trigger sweep", events=len(wanted))
            return
        self._backlog.extend(wanted)
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())

    async def close(self) -> None:
        """Lets the background task finish what is queued (the app is stopping)."""
        if self._worker is not None:
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _drain(self) -> None:
        try:
            while self._backlog:
                batch, self._backlog = self._backlog, []
                try:
                    await self._handle(batch)
                except Exception as error:
                    log.error("tracked events not delivered to journeys", error=f"{type(error).__name__}: {error}")
        finally:
            self._worker = None

    async def _handle(self, rows: list[Mapping[str, Any]]) -> None:
        """The events delivered, then taken out of the tracking outbox (those whose delivery failed stay there for
        TriggerSweepWorkflow, and are forgotten here so that a repeat of them is not skipped)."""
        now = datetime.now(UTC)
        settled: list[TrackedKey] = []
        journey_rows, campaign_rows = [], []
        for row in rows:
            (journey_rows if row["journey_id"] is not None else campaign_rows).append(row)
        if journey_rows:
            settled += await self._signal_journeys(journey_rows, now)
        by_workspace: dict[int, list[Mapping[str, Any]]] = {}
        for row in campaign_rows:
            by_workspace.setdefault(row["workspace_id"], []).append(row)
        for workspace_id, found in by_workspace.items():
            if await self._has_campaign_triggers(workspace_id):
                settled += await self._dispatch_interactions(workspace_id, found, now)
        try:
            await settle_tracked(self.sessions, settled)
        except Exception as error:  # the sweep delivers them again: same event ids, nothing happens twice
            log.warning("delivered tracking events not settled", error=f"{type(error).__name__}: {error}")

    async def _signal_journeys(self, rows: list[Mapping[str, Any]], now: datetime) -> list[TrackedKey]:
        """Each journey message's open or click to its journey, if it still runs; the rows delivered."""
        groups = group_by_event(rows, lambda row: journey_signal(row, now), tracked_key)
        signals = [
            (group.row["journey_id"], group.event) for event_id, group in groups.items() if not self._seen(event_id)
        ]
        try:
            failed = await signal_tracked(self.temporal.get, self.sessions, signals)
        except Exception as error:  # Temporal unreachable...: all stay in the outbox
            log.error("journeys not signalled", events=len(signals), error=f"{type(error).__name__}: {error}")
            failed = {event.event_id for _, event in signals}
        return self._delivered(groups, failed)

    async def _dispatch_interactions(
        self, workspace_id: int, rows: list[Mapping[str, Any]], now: datetime
    ) -> list[TrackedKey]:
        """People's opens and clicks of campaign messages as `campaign_interaction` events; the rows delivered."""
        groups = group_by_event(rows, lambda row: campaign_interaction_event(row, now), tracked_key)
        events = [group.event for event_id, group in groups.items() if not self._seen(event_id)]
        try:
            outcomes = await self.dispatch(workspace_id, events)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            log.error("campaign interactions not dispatched", workspace_id=workspace_id, error=reason)
            return self._delivered(groups, {event.event_id for event in events})
        return self._delivered(groups, {o.event.event_id for o in outcomes if o.error is not None})

    def _delivered(self, groups: dict[str, TrackedGroup[TrackedKey]], failed: set[str]) -> list[TrackedKey]:
        """The rows delivered; the failed events are forgotten, so that a repeat of one is not skipped."""
        for event_id in failed:
            self._recent.pop(event_id, None)
        return delivered_keys(groups, failed)

    async def _has_campaign_triggers(self, workspace_id: int) -> bool:
        checked = self._triggers.get(workspace_id)
        if checked is not None and time.monotonic() - checked[0] < TRIGGER_CACHE_SECONDS:
            return checked[1]
        async with self.sessions() as session:
            found = "campaign_interaction" in await active_trigger_types(session, workspace_id)
        if len(self._triggers) > 10_000:
            self._triggers.clear()
        self._triggers[workspace_id] = (time.monotonic(), found)
        return found

    def _seen(self, event_id: str) -> bool:
        """Whether this event was handled lately (and remembers it)."""
        if event_id in self._recent:
            return True
        self._recent[event_id] = None
        if len(self._recent) > RECENT_TRACKING_IDS:
            self._recent.popitem(last=False)
        return False


def journey_intake(app: FastAPI) -> JourneyIntake:
    """The app's intake (made on first use when its lifespan did not make one)."""
    intake = getattr(app.state, "journeys", None)
    if intake is None:
        intake = app.state.journeys = JourneyIntake(app.state.settings, app.state.sessions, app.state.temporal)
    return intake
