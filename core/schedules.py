"""Temporal Schedules Herald keeps: created when a worker starts, left alone when they already exist."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from models.payloads.lists import ListStatsInput
from models.payloads.media import CleanupInput

LIST_STATS_SCHEDULE = "list-stats-daily"  # every day at 00:10 UTC
STORAGE_CLEANUP_SCHEDULE = "storage-cleanup-daily"  # every day at 03:30 UTC


async def ensure_schedules(client: Client, task_queue: str) -> None:
    await _daily(client, LIST_STATS_SCHEDULE, "ListStatsWorkflow", ListStatsInput(), "list-stats", task_queue, 0, 10)
    await _daily(
        client, STORAGE_CLEANUP_SCHEDULE, "StorageCleanupWorkflow", CleanupInput(), "storage-cleanup", task_queue, 3, 30
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
