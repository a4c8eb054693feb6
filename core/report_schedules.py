"""The Temporal Schedule of each report definition (`report-<id>`): created, replaced, paused and deleted with it.

The schedule fires at the definition's local time (a ScheduleCalendarSpec with the workspace's timezone on the
ScheduleSpec, so Temporal follows daylight-saving changes) and starts ReportWorkflow by name with the ids only; the
workflow reads the definition when it runs. Runs never overlap (SKIP), and a run missed while Temporal was down is
still started within the catch-up window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from core.temporal_schedules import delete_schedule, replace_schedule
from core.workflow_ids import report_schedule_id
from domain.report_schedule import CadenceSpec, calendar_fields
from models.payloads.reports import ReportInput

WORKFLOW_NAME = "ReportWorkflow"  # by name: the API never imports workflow code
CATCHUP_WINDOW = timedelta(hours=6)
RUN_TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class ReportScheduleSpec:
    """What the schedule of one definition depends on."""

    definition_id: int
    workspace_id: int
    name: str
    cadence: CadenceSpec
    timezone: str
    enabled: bool


def build_schedule(spec: ReportScheduleSpec, task_queue: str) -> Schedule:
    fields = calendar_fields(spec.cadence)
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(fields.minute)],
        hour=[ScheduleRange(fields.hour)],
        **({"day_of_week": [ScheduleRange(fields.day_of_week)]} if fields.day_of_week is not None else {}),
        **({"day_of_month": [ScheduleRange(fields.day_of_month)]} if fields.day_of_month is not None else {}),
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_NAME,
            ReportInput(definition_id=spec.definition_id, workspace_id=spec.workspace_id),
            id=report_schedule_id(spec.definition_id),
            task_queue=task_queue,
            execution_timeout=RUN_TIMEOUT,
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=spec.timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note=f"report {spec.name!r}", paused=not spec.enabled),
    )


async def create_report_schedule(client: Client, spec: ReportScheduleSpec, task_queue: str) -> None:
    await client.create_schedule(report_schedule_id(spec.definition_id), build_schedule(spec, task_queue))


async def update_report_schedule(client: Client, spec: ReportScheduleSpec, task_queue: str) -> None:
    """Replaces the spec and the action, then pauses or unpauses; a schedule found missing is created again."""
    handle = client.get_schedule_handle(report_schedule_id(spec.definition_id))
    note = "report enabled" if spec.enabled else "report paused"
    try:
        await replace_schedule(handle, build_schedule(spec, task_queue), paused=not spec.enabled, note=note)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        await create_report_schedule(client, spec, task_queue)


async def delete_report_schedule(client: Client, definition_id: int) -> None:
    """Deletes the schedule; one that is already gone is fine."""
    await delete_schedule(client, report_schedule_id(definition_id))
