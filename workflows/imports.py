"""ImportWorkflow (`import-<id>`): count and check the file, write it chunk by chunk, record how it ended.

The file stays in storage (the workflow only carries ids). The row-writing activity heartbeats after every committed
chunk; a retried attempt resumes after the last one, so a killed worker costs neither duplicates nor lost rows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import CancelledError as TemporalCancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.import_activities import ImportActivities
    from models.payloads.imports import ImportCounts, ImportEnd, ImportInput, ImportProgress

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=["ImportRefused"],
)


@workflow.defn
class ImportWorkflow:
    def __init__(self) -> None:
        self.phase = "preparing"
        self.counts = ImportCounts()

    @workflow.query
    def progress(self) -> ImportProgress:
        return ImportProgress(phase=self.phase, counts=self.counts)

    @workflow.run
    async def run(self, input: ImportInput) -> ImportCounts:
        try:
            self.counts = await workflow.execute_activity_method(
                ImportActivities.prepare_import,
                input,
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=RETRY,
            )
            self.phase = "importing"
            self.counts = await workflow.execute_activity_method(
                ImportActivities.import_rows,
                input,
                start_to_close_timeout=timedelta(hours=6),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RETRY,
                # A cancel waits for the chunk in flight to commit or roll back, so the final counts are exact.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except asyncio.CancelledError:
            await self._end(input, "cancelled")
            raise
        except ActivityError as err:
            # A cancellation that lands while an activity runs arrives as the activity's CancelledError.
            if isinstance(err.cause, TemporalCancelledError):
                await self._end(input, "cancelled")
                raise asyncio.CancelledError() from err
            error = _reason(err)
            await self._end(input, "failed", error)
            raise ApplicationError(f"import {input.import_id} failed: {error}", non_retryable=True) from err
        self.counts = await self._finish(ImportEnd(import_id=input.import_id, status="completed"))
        self.phase = "completed"
        return self.counts

    async def _end(self, input: ImportInput, status: str, error: str | None = None) -> None:
        self.phase = status
        self.counts = await self._finish(ImportEnd(import_id=input.import_id, status=status, error=error))

    async def _finish(self, end: ImportEnd) -> ImportCounts:
        return await workflow.execute_activity_method(
            ImportActivities.finish_import,
            end,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=20),
        )


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    return str(getattr(cause, "message", None) or cause)
