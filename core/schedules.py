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
    try:
        await client.create_schedule(
            LIST_STATS_SCHEDULE,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "ListStatsWorkflow", ListStatsInput(), id="list-stats", task_queue=task_queue
                ),
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(0)], minute=[ScheduleRange(10)])]
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
    try:
        await client.create_schedule(
            STORAGE_CLEANUP_SCHEDULE,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "StorageCleanupWorkflow", CleanupInput(), id="storage-cleanup", task_queue=task_queue
                ),
                spec=ScheduleSpec(
                    calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(3)], minute=[ScheduleRange(30)])]
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
