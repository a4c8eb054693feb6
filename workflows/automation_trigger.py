"""AutomationTriggerWorkflow: one run of a scheduled trigger of an automation
(`automation-<id>-trigger-<node>-<scheduled time>`), started by the trigger's Temporal Schedule
(core/automation_schedules.py) with ids only.

It pages through the workspace's leads by id, one activity per page of a few hundred leads
(activities/automation_trigger_activities.py): the activity enters the due ones in the automation's published
version through the dispatcher, so no lead costs an activity of its own. The run's instant is the Schedule's
scheduled time (not the start time, which a busy or restarted server may delay), or `at` when given. It continues
as new when Temporal suggests it, carrying the cursor and the counts. A paused or deleted automation, or a version
without this trigger, enters nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.automation_trigger_activities import AutomationTriggerActivities
    from models.payloads.automation_trigger import (
        AutomationTriggerInput,
        AutomationTriggerResult,
        TriggerBatchInput,
        TriggerBatchResult,
    )

# Set by Temporal on every workflow a schedule starts.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
# A page is idempotent (event ids), so a database or Temporal outage is retried; after that the run fails and the
# next run (15 minutes later for a date trigger) picks the leads up again.
PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)
PAGE_TIMEOUT = timedelta(minutes=10)
PAGE_HEARTBEAT = timedelta(minutes=1)


@workflow.defn
class AutomationTriggerWorkflow:
    @workflow.run
    async def run(self, input: AutomationTriggerInput) -> AutomationTriggerResult:
        at = self._at(input)
        counts = input.counts
        cursor = input.after_lead_id
        while True:
            page: TriggerBatchResult = await workflow.execute_activity_method(
                AutomationTriggerActivities.enter_scheduled_leads,
                TriggerBatchInput(
                    workspace_id=input.workspace_id,
                    automation_id=input.automation_id,
                    node_id=input.node_id,
                    at=at,
                    after_lead_id=cursor,
                ),
                start_to_close_timeout=PAGE_TIMEOUT,
                heartbeat_timeout=PAGE_HEARTBEAT,
                retry_policy=PAGE_RETRY,
            )
            counts = counts.plus(page.counts)
            if page.skipped is not None or page.next_lead_id is None:
                if page.skipped is not None:
                    workflow.logger.info("trigger %s skipped: %s", input.node_id, page.skipped)
                return AutomationTriggerResult(
                    automation_id=input.automation_id,
                    node_id=input.node_id,
                    at=at,
                    version=page.version,
                    counts=counts,
                    skipped=page.skipped,
                )
            cursor = page.next_lead_id
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(input.model_copy(update={"at": at, "after_lead_id": cursor, "counts": counts}))

    @staticmethod
    def _at(input: AutomationTriggerInput) -> datetime:
        return input.at or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
