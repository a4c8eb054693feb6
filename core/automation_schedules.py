"""The Temporal Schedules of an automation's scheduled triggers (#10): one per `date_field` or `recurring_schedule`
trigger of the published version, `automation-<id>-trigger-<node id>`.

Each starts AutomationTriggerWorkflow by name (the API never imports workflow code) with ids only; the workflow
reads the published version when it runs, so a run started just before a pause or a new publication enters nobody
or enters the new version's leads. Runs never overlap (SKIP).

- `recurring_schedule`: at the trigger's `time` (daily, weekly on `weekday`, monthly on `day_of_month`) in the
  workspace's timezone, given to Temporal as the spec's zone so daylight-saving changes are followed. A run missed
  while Temporal was down is still started within RECURRING_CATCHUP.
- `date_field`: every 15 minutes, aligned on the trigger's minute (09:10 → :10, :25, :40, :55). Each lead is due on
  its own local day at its own local time, and every zone's offset is a multiple of 15 minutes, so each lead is
  entered at its time, or at the next run when that one was missed (a late run fires at once; the event id
  `date:<node>:<local date>` stops a second entry the same day).

Publishing replaces the schedules (a trigger no longer in the new version loses its own), pausing pauses them,
resuming unpauses them, deleting the automation deletes them. Every call here is idempotent, so the API can undo one
by calling the opposite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from core.temporal_schedules import delete_schedule, replace_schedule
from models.payloads.automation import AutomationGraph, DateFieldNode, RecurringScheduleNode
from models.payloads.automation_trigger import AutomationTriggerInput

WORKFLOW_NAME = "AutomationTriggerWorkflow"
DATE_INTERVAL = timedelta(minutes=15)
DATE_CATCHUP = timedelta(hours=1)  # the next run (15 minutes later) catches up anyway
RECURRING_CATCHUP = timedelta(hours=6)
RUN_TIMEOUT = timedelta(hours=6)
TriggerKind = Literal["date_field", "recurring_schedule"]


def trigger_schedule_id(automation_id: int, node_id: str) -> str:
    """The Schedule of one trigger node; each workflow it starts is this id plus `-<scheduled time>`."""
    return f"automation-{automation_id}-trigger-{node_id}"


@dataclass(frozen=True)
class TriggerSchedule:
    """What the Schedule of one scheduled trigger depends on."""

    automation_id: int
    workspace_id: int
    node_id: str
    kind: TriggerKind
    hour: int
    minute: int
    frequency: str | None = None  # recurring: daily, weekly, monthly
    weekday: int | None = None  # recurring weekly: Monday = 0
    day_of_month: int | None = None  # recurring monthly
    timezone: str = "UTC"  # recurring: the workspace's

    @property
    def schedule_id(self) -> str:
        return trigger_schedule_id(self.automation_id, self.node_id)


def scheduled_triggers(
    automation_id: int, workspace_id: int, graph: AutomationGraph | None, timezone: str
) -> list[TriggerSchedule]:
    """The Schedules a published graph needs (none for an unpublished automation: `graph` None)."""
    found: list[TriggerSchedule] = []
    for node in graph.nodes if graph is not None else ():
        if isinstance(node, DateFieldNode):
            hour, minute = _hour_minute(node.config.time)
            found.append(TriggerSchedule(automation_id, workspace_id, node.id, "date_field", hour, minute))
        elif isinstance(node, RecurringScheduleNode):
            config = node.config
            hour, minute = _hour_minute(config.time)
            found.append(
                TriggerSchedule(
                    automation_id,
                    workspace_id,
                    node.id,
                    "recurring_schedule",
                    hour,
                    minute,
                    frequency=config.frequency,
                    weekday=config.weekday,
                    day_of_month=config.day_of_month,
                    timezone=timezone,
                )
            )
    return found


def build_schedule(spec: TriggerSchedule, task_queue: str, *, paused: bool) -> Schedule:
    if spec.kind == "date_field":
        schedule_spec = ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=DATE_INTERVAL, offset=timedelta(minutes=spec.minute % 15))]
        )
        catchup = DATE_CATCHUP
    else:
        calendar = ScheduleCalendarSpec(
            second=[ScheduleRange(0)],
            minute=[ScheduleRange(spec.minute)],
            hour=[ScheduleRange(spec.hour)],
            # Temporal counts weekdays from Sunday = 0; the graph from Monday = 0.
            **({"day_of_week": [ScheduleRange((spec.weekday + 1) % 7)]} if spec.weekday is not None else {}),
            **({"day_of_month": [ScheduleRange(spec.day_of_month)]} if spec.day_of_month is not None else {}),
        )
        schedule_spec = ScheduleSpec(calendars=[calendar], time_zone_name=spec.timezone)
        catchup = RECURRING_CATCHUP
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_NAME,
            AutomationTriggerInput(
                workspace_id=spec.workspace_id, automation_id=spec.automation_id, node_id=spec.node_id
            ),
            id=spec.schedule_id,
            task_queue=task_queue,
            execution_timeout=RUN_TIMEOUT,
        ),
        spec=schedule_spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup),
        state=ScheduleState(note=f"automation {spec.automation_id}, trigger {spec.node_id}", paused=paused),
    )


async def sync_trigger_schedules(
    client: Client,
    wanted: Sequence[TriggerSchedule],
    *,
    previous: Sequence[TriggerSchedule] = (),
    paused: bool,
    task_queue: str,
) -> None:
    """Make Temporal hold exactly `wanted` (created or replaced, paused or not) instead of `previous`: a trigger of
    `previous` that is not wanted any more loses its Schedule."""
    for spec in wanted:
        await _upsert(client, spec, task_queue, paused=paused)
    keep = {spec.schedule_id for spec in wanted}
    for spec in previous:
        if spec.schedule_id not in keep:
            await delete_schedule(client, spec.schedule_id)


async def pause_trigger_schedules(
    client: Client, specs: Sequence[TriggerSchedule], *, paused: bool, task_queue: str
) -> None:
    """Pause (or unpause) the Schedules; one found missing is created again in that state."""
    note = "automation paused" if paused else "automation resumed"
    for spec in specs:
        handle = client.get_schedule_handle(spec.schedule_id)
        try:
            await (handle.pause(note=note) if paused else handle.unpause(note=note))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            await _upsert(client, spec, task_queue, paused=paused)


async def delete_trigger_schedules(client: Client, specs: Sequence[TriggerSchedule]) -> None:
    for spec in specs:
        await delete_schedule(client, spec.schedule_id)


async def move_trigger_schedules(
    client: Client, specs: Sequence[tuple[TriggerSchedule, bool]], *, task_queue: str
) -> None:
    """Replace each Schedule by its spec (a recurring trigger in the workspace's new timezone), paused or not as
    given; one found missing is created."""
    for spec, paused in specs:
        await _upsert(client, spec, task_queue, paused=paused, note="workspace timezone changed")


async def _upsert(
    client: Client, spec: TriggerSchedule, task_queue: str, *, paused: bool, note: str | None = None
) -> None:
    schedule = build_schedule(spec, task_queue, paused=paused)
    try:
        await client.create_schedule(spec.schedule_id, schedule)
        return
    except ScheduleAlreadyRunningError:
        pass
    note = note or ("automation paused" if paused else "automation published")
    await replace_schedule(client.get_schedule_handle(spec.schedule_id), schedule, paused=paused, note=note)


def _hour_minute(value: str) -> tuple[int, int]:
    hour, minute = value.split(":")
    return int(hour), int(minute)
