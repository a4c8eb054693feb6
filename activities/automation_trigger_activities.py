"""The activity of AutomationTriggerWorkflow (#10): one page of a workspace's leads read for a scheduled trigger,
and those it fires for entered in the automation through the dispatcher (core.journeys.enter).

- `recurring_schedule`: every lead matching the trigger's `filter` (compiled into the page's query) is due; the
  event is `recurring:<node>:<the run's date in the workspace's timezone>`.
- `date_field`: a lead is due when its date (+ offset, or its anniversary with `every_year`) is its local today
  and the trigger's local time has come (domain.journey_steps.date_trigger_instant); the event is
  `date:<node>:<the lead's local date>`. The query only reads leads whose date can be today somewhere on Earth.
  An enrollment `filter`, when the trigger has one, is part of the query too.

Each page reads up to `batch_size` leads by id. A lead that this very event already entered (a `journeys` row with
that trigger event id: an earlier run the same day) is skipped before Temporal is asked; the others are entered
under the automation's re-entry policy with their entry history, a few at a time, heartbeating. A retried attempt
enters nobody twice: the event ids and the journeys' workflow ids make every entry idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, and_, func, literal, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client

from core.journey_intake import load_entry_histories, load_published
from core.journeys import Dispatched, PublishedAutomation, enter
from domain.automation_graph import node_by_id
from domain.filters import FilterContext, FilterError, compile_filter, parse_filter
from domain.journey_steps import EntryHistory, date_trigger_instant, field_date, lead_zone
from domain.lists import filter_context_from
from domain.send_timing import zone
from models.leads import Lead
from models.payloads.automation import DateFieldNode, JourneyEvent, RecurringScheduleNode
from models.payloads.automation_trigger import TriggerBatchInput, TriggerBatchResult, TriggerCounts

log = structlog.get_logger("herald.activities.automation_triggers")
LEADS = Lead.__table__
BATCH_SIZE = 500
CONCURRENT_ENTRIES = 20  # signal-with-start calls in flight at once


class AutomationTriggerActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: Client,
        task_queue: str,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.task_queue = task_queue
        self.batch_size = batch_size

    @activity.defn
    async def enter_scheduled_leads(self, input: TriggerBatchInput) -> TriggerBatchResult:
        """One page of leads after `input.after_lead_id`: those the trigger fires for at `input.at` are entered.
        Nobody is read when the automation is not active (paused, deleted) or its published version has no such
        trigger any more."""
        info = activity.info()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            workflow_id=info.workflow_id,
            activity=info.activity_type,
            attempt=info.attempt,
            automation_id=input.automation_id,
            node=input.node_id,
        )
        async with self.sessions() as session:
            automation = await load_published(session, input.workspace_id, input.automation_id)
            if automation is None:
                return TriggerBatchResult(counts=TriggerCounts(), next_lead_id=None, skipped="not_active")
            node = node_by_id(automation.graph, input.node_id)
            if not isinstance(node, DateFieldNode | RecurringScheduleNode):
                return TriggerBatchResult(
                    counts=TriggerCounts(), next_lead_id=None, skipped="no_trigger", version=automation.version
                )
            timezone, ctx = await _workspace(session, input.workspace_id, input.at)
            try:
                condition = _page_condition(node, ctx, input.at)
            except FilterError as exc:  # validated at publication; a custom field deleted since, for instance
                log.warning("trigger filter no longer compiles", error=str(exc))
                return TriggerBatchResult(
                    counts=TriggerCounts(), next_lead_id=None, skipped="invalid_filter", version=automation.version
                )
            value = (
                LEADS.c.custom_fields[node.config.field].astext if isinstance(node, DateFieldNode) else literal(None)
            )
            page = (
                await session.execute(
                    select(LEADS.c.id, LEADS.c.timezone, value.label("value"))
                    .where(LEADS.c.workspace_id == input.workspace_id, LEADS.c.id > input.after_lead_id, condition)
                    .order_by(LEADS.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            due = _due(node, page, input.at, timezone)
            entered = await _entered_by(session, input.automation_id, due)
            fresh = {lead_id: event_id for lead_id, event_id in due.items() if (lead_id, event_id) not in entered}
            found = await load_entry_histories(session, fresh, [input.automation_id])
            histories = {lead_id: by[input.automation_id] for lead_id, by in found.items()}
        counts = TriggerCounts(examined=len(page), due=len(due), duplicate=len(due) - len(fresh))
        counts = counts.plus(await self._enter(input, automation, fresh, histories))
        next_lead_id = page[-1].id if len(page) == self.batch_size else None
        log.info("scheduled trigger page", **counts.model_dump(), next_lead_id=next_lead_id)
        return TriggerBatchResult(counts=counts, next_lead_id=next_lead_id, version=automation.version)

    async def _enter(
        self,
        input: TriggerBatchInput,
        automation: PublishedAutomation,
        due: dict[int, str],
        histories: dict[int, EntryHistory],
    ) -> TriggerCounts:
        """Each due lead entered through the dispatcher, CONCURRENT_ENTRIES at a time, heartbeating."""
        results: list[Dispatched] = []
        items = list(due.items())
        for start in range(0, len(items), CONCURRENT_ENTRIES):
            chunk = items[start : start + CONCURRENT_ENTRIES]
            results += await asyncio.gather(
                *(
                    enter(
                        self.client,
                        workspace_id=input.workspace_id,
                        automation=automation,
                        trigger_node=input.node_id,
                        event=JourneyEvent(
                            kind="scheduled",
                            event_id=event_id,
                            lead_id=lead_id,
                            occurred_at=input.at,
                            node_id=input.node_id,
                        ),
                        history=histories.get(lead_id, EntryHistory()),
                        task_queue=self.task_queue,
                    )
                    for lead_id, event_id in chunk
                )
            )
            activity.heartbeat({"after_lead_id": input.after_lead_id, "entered": len(results)})
        actions = [result.action for result in results]
        return TriggerCounts(
            started=actions.count("started"),
            signalled=actions.count("signalled"),
            refused=actions.count("refused") + actions.count("filtered"),
            duplicate=actions.count("duplicate"),
        )


# --- Who is due -------------------------------------------------------------------------------------------------------


async def _workspace(session: AsyncSession, workspace_id: int, at: datetime) -> tuple[str, FilterContext]:
    """The workspace's timezone, and the context its filters compile in (relative dates counted from `at`)."""
    row = (
        await session.execute(text("SELECT timezone, lead_statuses FROM workspaces WHERE id = :w"), {"w": workspace_id})
    ).one()
    definitions = await session.execute(
        text("SELECT key, type, choices FROM custom_field_definitions WHERE workspace_id = :w"), {"w": workspace_id}
    )
    ctx = filter_context_from(workspace_id, at, list(row.lead_statuses or []), list(definitions))
    return row.timezone or "UTC", ctx


def _page_condition(node: DateFieldNode | RecurringScheduleNode, ctx: FilterContext, at: datetime) -> Any:
    """What the page's query keeps: the audience (recurring), or the leads whose date may fall today in some zone,
    and the enrollment filter when there is one (date)."""
    conditions: list[ColumnElement[bool]] = []
    if node.config.filter is not None:
        conditions.append(compile_filter(parse_filter(node.config.filter), ctx))
    if isinstance(node, DateFieldNode):
        value = LEADS.c.custom_fields[node.config.field].astext
        config = node.config
        if config.every_year:
            conditions.append(func.substr(value, 6, 5).in_(_candidate_month_days(at, config.offset_days)))
        else:
            conditions.append(func.substr(value, 1, 10).in_(_candidate_days(at, config.offset_days)))
    return and_(*conditions) if conditions else LEADS.c.id.isnot(None)


def _local_todays(at: datetime) -> list[date]:
    """Every zone's today at `at`: from UTC-12 to UTC+14, the UTC date give or take a day."""
    today = at.astimezone(UTC).date()
    return [today + timedelta(days=shift) for shift in (-1, 0, 1)]


def _candidate_days(at: datetime, offset_days: int) -> list[str]:
    """The field values (ISO dates) that are due today somewhere: today - offset."""
    return [(day - timedelta(days=offset_days)).isoformat() for day in _local_todays(at)]


def _candidate_month_days(at: datetime, offset_days: int) -> list[str]:
    """The "MM-DD" of the field values whose anniversary is due today somewhere; 29 February also when the 28th is
    due in a common year (domain.journey_steps: 29 February is the 28th in common years)."""
    found: list[str] = []
    for day in _local_todays(at):
        base = day - timedelta(days=offset_days)
        found.append(f"{base:%m-%d}")
        if (base.month, base.day) == (2, 28) and not _leap(base.year):
            found.append("02-29")
    return found


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _due(
    node: DateFieldNode | RecurringScheduleNode, page: Sequence[Any], at: datetime, workspace_timezone: str
) -> dict[int, str]:
    """lead id -> the event id it is entered with, for the leads of the page the trigger fires for at `at`."""
    if isinstance(node, RecurringScheduleNode):
        day = at.astimezone(zone(workspace_timezone, "UTC")).date()
        return {row.id: f"recurring:{node.id}:{day.isoformat()}" for row in page}
    due: dict[int, str] = {}
    for row in page:
        day = field_date(row.value)
        if day is None:
            continue
        tz = lead_zone(row.timezone, workspace_timezone)
        instant = date_trigger_instant(day, node.config, at, tz)
        if instant is not None and instant <= at:
            due[row.id] = f"date:{node.id}:{at.astimezone(tz).date().isoformat()}"
    return due


# --- What the dispatcher needs ----------------------------------------------------------------------------------------


async def _entered_by(session: AsyncSession, automation_id: int, due: dict[int, str]) -> set[tuple[int, str]]:
    """The (lead, event id) pairs among `due` that already entered the lead in this automation (live journeys)."""
    if not due:
        return set()
    rows = await session.execute(
        text(
            "SELECT lead_id, trigger_event_id FROM journeys WHERE automation_id = :a AND mode = 'live' "
            "AND lead_id = ANY(:leads) AND trigger_event_id = ANY(:events)"
        ),
        {"a": automation_id, "leads": list(due), "events": sorted(set(due.values()))},
    )
    return {(row.lead_id, row.trigger_event_id) for row in rows}
