"""CampaignDryRunWorkflow (`campaign-<id>-dry-run-<uuid>`): what a campaign would send, step by step, without
sending. A workflow so the API (which never imports activities) can run it on the worker and wait for the answer."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.campaign_dry_run import CampaignDryRunActivities
    from models.payloads.campaign import DryRunInput, DryRunResult

DRY_RUN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=3,
    non_retryable_error_types=["ConfigurationError"],
)


@workflow.defn
class CampaignDryRunWorkflow:
    @workflow.run
    async def run(self, input: DryRunInput) -> DryRunResult:
        return await workflow.execute_activity_method(
            CampaignDryRunActivities.dry_run,
            input,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=DRY_RUN_RETRY,
        )
