"""MediaProcessingWorkflow (`media-<id>`): render an asset's thumbnails and renditions, then mark it ready.

A corrupt file ends the asset `failed` with the reason the library shows; transient errors (storage, database)
are retried.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.media_activities import MediaActivities
    from models.payloads.media import MediaFailure, MediaInput, MediaResult

PROCESS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["MediaCorrupt"],
)
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=20)


@workflow.defn
class MediaProcessingWorkflow:
    @workflow.run
    async def run(self, input: MediaInput) -> MediaResult | None:
        try:
            result = await workflow.execute_activity_method(
                MediaActivities.process_media,
                input,
                start_to_close_timeout=timedelta(minutes=20),
                heartbeat_timeout=timedelta(minutes=5),
                retry_policy=PROCESS_RETRY,
            )
        except ActivityError as err:
            cause = err.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            await workflow.execute_activity_method(
                MediaActivities.record_media_failure,
                MediaFailure(asset_id=input.asset_id, reason=reason),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RECORD_RETRY,
            )
            return None
        await workflow.execute_activity_method(
            MediaActivities.record_media,
            result,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
        return result
