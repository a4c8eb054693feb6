"""CampaignWorkflow: one execution per campaign run, paging through the audience in batched send activities."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import CancelledError as TemporalCancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.campaign_activities import CampaignActivities
    from models.payloads.campaign import (
        CampaignProgress,
        CampaignRunInput,
        CampaignRunState,
        FinishRunInput,
        SendBatchInput,
        SnapshotAudienceInput,
    )

# Database work: retry transient failures with backoff, give up after a few minutes of trying.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=10
)
# Sending: provider throttling and outages must not end a campaign, so transient errors retry without limit;
# a broken template or configuration is non-retryable and fails the run.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=0,
    non_retryable_error_types=["TemplateError", "ConfigurationError"],
)
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=60)
CANCELLED_ACTIVITY_PATCH = "cancelled-activity-means-cancelled"  # 2026-11: was recorded as a failed run
# 2026-11: a cancel used to run finish_run while the cancelled batch was still recording its in-flight sends, so the
# run's counts could miss them; the workflow now waits for the batch to stop before finishing.
WAIT_FOR_BATCH_CANCEL_PATCH = "wait-for-cancelled-batch"


@workflow.defn
class CampaignWorkflow:
    def __init__(self) -> None:
        self._input: CampaignRunInput | None = None
        self._state = CampaignRunState()
        self._status = "running"
        self._paused = False

    @workflow.run
    async def run(self, input: CampaignRunInput) -> CampaignProgress:
        self._input = input
        if input.state is not None:
            self._state = input.state.model_copy()
            self._paused = input.state.paused
        try:
            if input.state is None:
                snapshot = await workflow.execute_activity_method(
                    CampaignActivities.snapshot_audience,
                    SnapshotAudienceInput(campaign_id=input.campaign_id, run_id=input.run_id),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=DB_RETRY,
                )
                self._state.total = snapshot.total
            while await self._send_next_batch(input):
                if workflow.info().is_continue_as_new_suggested():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    self._state.paused = self._paused
                    workflow.continue_as_new(input.model_copy(update={"state": self._state}))
        except asyncio.CancelledError:
            self._status = "cancelled"
            await self._finish(input, "cancelled")
            raise
        except ActivityError as err:
            # A cancellation that lands while an activity runs arrives as the activity's CancelledError.
            if workflow.patched(CANCELLED_ACTIVITY_PATCH) and isinstance(err.cause, TemporalCancelledError):
                self._status = "cancelled"
                await self._finish(input, "cancelled")
                raise asyncio.CancelledError() from err
            self._status = "failed"
            await self._finish(input, "failed", error=str(err.cause or err))
            raise ApplicationError(f"campaign run failed: {err.cause or err}", non_retryable=True) from err
        self._status = "completed"
        await self._finish(input, "completed")
        return self.progress()

    async def _send_next_batch(self, input: CampaignRunInput) -> bool:
        """Send one batch; False once the audience is exhausted."""
        await workflow.wait_condition(lambda: not self._paused)
        result = await workflow.execute_activity_method(
            CampaignActivities.send_batch,
            SendBatchInput(
                campaign_id=input.campaign_id,
                run_id=input.run_id,
                after_lead_id=self._state.cursor,
                limit=input.batch_size,
            ),
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
            retry_policy=SEND_RETRY,
            cancellation_type=(
                ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
                if workflow.patched(WAIT_FOR_BATCH_CANCEL_PATCH)
                else ActivityCancellationType.TRY_CANCEL
            ),
        )
        if result.processed == 0:
            return False
        self._state.sent += result.sent
        self._state.failed += result.failed
        self._state.skipped += result.skipped
        self._state.cursor = result.last_lead_id
        self._state.batches += 1
        return True

    async def _finish(self, input: CampaignRunInput, status: str, error: str | None = None) -> None:
        await workflow.execute_activity_method(
            CampaignActivities.finish_run,
            FinishRunInput(run_id=input.run_id, status=status, error=error),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=DB_RETRY,
        )

    @workflow.signal
    def pause(self) -> None:
        self._paused = True

    @workflow.signal
    def resume(self) -> None:
        self._paused = False

    @workflow.query
    def progress(self) -> CampaignProgress:
        input = self._input
        status = "paused" if self._paused and self._status == "running" else self._status
        return CampaignProgress(
            campaign_id=input.campaign_id if input else 0,
            run_id=input.run_id if input else 0,
            run_number=input.run_number if input else 0,
            status=status,
            paused=self._paused,
            total=self._state.total,
            sent=self._state.sent,
            failed=self._state.failed,
            skipped=self._state.skipped,
            batches=self._state.batches,
        )
