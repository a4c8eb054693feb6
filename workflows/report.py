"""ReportWorkflow: one run of a scheduled report (`report-<definition>-<scheduled time>`, or `...-manual-<time>`).

Started by the definition's Temporal Schedule or by "run now", with ids only. It records the run, writes the CSV
and the HTML summary to storage, mails both to the recipients and marks the run ready; a failure marks it failed
with the reason. The period reported on is cut from the schedule's scheduled time (not the start time, which a
busy or restarted server may delay), from `run_at` for a run started by hand.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import CancelledError as TemporalCancelledError

with workflow.unsafe.imports_passed_through():
    from activities.report_activities import EMAIL_DEFERRED, REFUSED, ReportActivities
    from models.payloads.reports import (
        ReportInput,
        ReportResult,
        ReportRunOutcome,
        ReportRunRef,
        StartReportRun,
    )

# Set by Temporal on every workflow a schedule starts.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=[REFUSED],
)
FILES_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=[REFUSED],
)
# A relay that is down or says "later" (4xx) gets about half an hour; a permanent refusal is recorded per recipient
# inside the activity, and only "nobody could be mailed" fails the run.
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=[REFUSED],
)
FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=20
)


@workflow.defn
class ReportWorkflow:
    @workflow.run
    async def run(self, input: ReportInput) -> ReportResult:
        run_at = self._run_at(input)
        ref = await workflow.execute_activity_method(
            ReportActivities.start_report_run,
            StartReportRun(
                definition_id=input.definition_id,
                workspace_id=input.workspace_id,
                workflow_id=workflow.info().workflow_id,
                run_at=run_at,
                manual=input.manual,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        if ref is None:
            workflow.logger.info("report %s skipped: deleted or paused", input.definition_id)
            return ReportResult(run_id=None, status="skipped")
        try:
            await workflow.execute_activity_method(
                ReportActivities.write_report_files,
                ref,
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=FILES_RETRY,
            )
            mailed = await workflow.execute_activity_method(
                ReportActivities.email_report,
                ref,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=EMAIL_RETRY,
            )
        except asyncio.CancelledError:
            await self._finish(ref, "failed", "cancelled")
            raise
        except ActivityError as err:
            if isinstance(err.cause, TemporalCancelledError):
                await self._finish(ref, "failed", "cancelled")
                raise asyncio.CancelledError() from err
            reason = _reason(err)
            await self._finish(ref, "failed", reason)
            raise ApplicationError(f"report run {ref.run_id} failed: {reason}", non_retryable=True) from err
        await self._finish(ref, "ready", None)
        return ReportResult(run_id=ref.run_id, status="ready", emailed_to=mailed.emailed_to)

    @staticmethod
    def _run_at(input: ReportInput) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        return scheduled or input.run_at or workflow.now()

    async def _finish(self, ref: ReportRunRef, status: str, error: str | None) -> None:
        await workflow.execute_activity_method(
            ReportActivities.finish_report_run,
            ReportRunOutcome(run_id=ref.run_id, workspace_id=ref.workspace_id, status=status, error=error),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=FINISH_RETRY,
        )


def _reason(err: ActivityError) -> str:
    cause = err.cause or err
    message = str(getattr(cause, "message", None) or cause)
    if getattr(cause, "type", None) == EMAIL_DEFERRED:
        return f"emailing gave up after retries: {message}"
    return message
