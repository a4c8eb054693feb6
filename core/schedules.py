"""Temporal Schedules Herald keeps: created when a worker starts, left alone when they already exist."""

from __future__ import annotations

from datetime import timedelta

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
)

from models.payloads.lists import ListStatsInput
from models.payloads.media import CleanupInput
from models.payloads.trigger_sweep import TriggerSweepInput

LIST_STATS_SCHEDULE = "list-stats-daily"  # every day at 00:10 UTC
STORAGE_CLEANUP_SCHEDULE = "storage-cleanup-daily"  # every day at 03:30 UTC
TRIGGER_SWEEP_SCHEDULE = "trigger-sweep-every-minute"  # the trigger outbox (docs/automations.md "Trigger intake")


async def ensure_schedules(client: Client, task_queue: str) -> None:
    await _daily(client, LIST_STATS_SCHEDULE, "ListStatsWorkflow", ListStatsInput(), "list-stats", task_queue, 0, 10)
    await _daily(
        client, STORAGE_CLEANUP_SCHEDULE, "StorageCleanupWorkflow", CleanupInput(), "storage-cleanup", task_queue, 3, 30
    )
    await _every_minute(
        client, TRIGGER_SWEEP_SCHEDULE, "TriggerSweepWorkflow", TriggerSweepInput(), "trigger-sweep", task_queue
    )


async def _daily(
    client: Client, schedule_id: str, workflow: str, arg: object, workflow_id: str, task_queue: str, hour: int,
    minute: int,
) -> None:  # fmt: skip
    """A daily schedule (UTC) that skips a run while the previous one is still going; an existing one is kept."""
    try:
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(workflow, arg, id=workflow_id, task_queue=task_queue),
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)])]
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass


async def _every_minute(
    client: Client, schedule_id: str, workflow: str, arg: object, workflow_id: str, task_queue: str
) -> None:
    """A schedule every minute that skips a run while the previous one is still going, and after an outage runs
    once, not once per missed minute; an existing one is kept."""
    try:
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    workflow, arg, id=workflow_id, task_queue=task_queue, execution_timeout=timedelta(minutes=30)
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=1))]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=1)),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
