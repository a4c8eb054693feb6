"""ExportWorkflow (`export-<id>`): write a large lead export to storage, or record why it could not be written.

The export row holds the selection and the columns; the workflow only carries ids. The writing activity heartbeats
between batches, so a worker that dies is noticed within the heartbeat timeout and the file is written again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import CancelledError as TemporalCancelledError

with workflow.unsafe.imports_passed_through():
    from activities.export_activities import REFUSED, ExportActivities
    from models.payloads.imports import ExportFailure, ExportInput, ExportResult

WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=[REFUSED],
)
FAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=20
)


@workflow.defn
class ExportWorkflow:
    @workflow.run
    async def run(self, input: ExportInput) -> ExportResult:
        try:
            return await workflow.execute_activity_method(
                ExportActivities.write_export,
                input,
                start_to_close_timeout=timedelta(hours=4),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=WRITE_RETRY,
            )
        except asyncio.CancelledError:
            await self._fail(input, "cancelled")
            raise
        except ActivityError as err:
            # A cancellation that lands while the activity runs arrives as the activity's CancelledError.
            if isinstance(err.cause, TemporalCancelledError):
                await self._fail(input, "cancelled")
                raise asyncio.CancelledError() from err
            reason = _reason(err)
            await self._fail(input, reason)
            raise ApplicationError(f"export {input.export_id} failed: {reason}", non_retryable=True) from err

    async def _fail(self, input: ExportInput, reason: str) -> None:
        await workflow.execute_activity_method(
            ExportActivities.fail_export,
            ExportFailure(export_id=input.export_id, workspace_id=input.workspace_id, error=reason),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=FAIL_RETRY,
        )


def _reason(err: ActivityError) -> str:
    cause = err.cause or err
    return str(getattr(cause, "message", None) or cause)
