"""StorageCleanupWorkflow: removes stored objects no database row points at (run daily by a Temporal Schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.media_activities import StorageCleanupActivities
    from models.payloads.media import CleanupInput, CleanupResult


@workflow.defn
class StorageCleanupWorkflow:
    @workflow.run
    async def run(self, input: CleanupInput) -> CleanupResult:
        return await workflow.execute_activity_method(
            StorageCleanupActivities.clean_orphans,
            input,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=5),
        )
