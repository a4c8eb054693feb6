"""ListStatsWorkflow: records every list's size and reachability for the day (run daily by a Temporal Schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.list_activities import ListActivities
    from models.payloads.lists import ListStatsInput, ListStatsResult

SNAPSHOT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=20
)


@workflow.defn
class ListStatsWorkflow:
    @workflow.run
    async def run(self, input: ListStatsInput) -> ListStatsResult:
        day = input.day or workflow.now().date().isoformat()
        return await workflow.execute_activity_method(
            ListActivities.snapshot_list_sizes,
            ListStatsInput(day=day),
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=SNAPSHOT_RETRY,
        )
