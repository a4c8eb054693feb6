"""TriggerSweepWorkflow: the trigger outbox's safety net (#10, docs/automations.md "Trigger intake"), started every
minute by a Temporal Schedule (core/schedules.py, `trigger-sweep-every-minute`; a run still going skips the next).

One activity (activities/trigger_sweep_activities.py) dispatches the committed timeline rows that their writer did
not dispatch (a process that died after the commit, Temporal unreachable), then the opens and clicks the API did
not deliver, and takes them out of their outboxes.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.trigger_sweep_activities import TriggerSweepActivities
    from models.payloads.trigger_sweep import TriggerSweepInput, TriggerSweepResult

# Every failure is transient (database, Temporal) and the sweep idempotent (event ids): a few retries, then the run
# fails and the next one, a minute later, starts over. No error type is non-retryable.
SWEEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
)
SWEEP_HEARTBEAT = timedelta(minutes=1)


@workflow.defn
class TriggerSweepWorkflow:
    @workflow.run
    async def run(self, input: TriggerSweepInput) -> TriggerSweepResult:
        result: TriggerSweepResult = await workflow.execute_activity_method(
            TriggerSweepActivities.sweep_trigger_outbox,
            input,
            # The time budget, plus one page's dispatch.
            start_to_close_timeout=timedelta(seconds=input.time_budget_seconds) + timedelta(minutes=5),
            heartbeat_timeout=SWEEP_HEARTBEAT,
            retry_policy=SWEEP_RETRY,
        )
        pending, expired = result.failed + result.tracked_failed, result.expired + result.tracked_expired
        if pending or expired:
            workflow.logger.warning("trigger sweep: %d rows still pending, %d expired undispatched", pending, expired)
        return result
