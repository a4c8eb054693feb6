"""AutomationSimulationWorkflow (`simulation-<id>`): one run of the simulator, started by the API once the
`automation_simulations` row is written (#10, docs/automations.md#simulator-and-test-mode).

The whole simulation is one activity (activities/simulation_activities.py): it runs the journeys on a private
time-skipping test server and stores the results in the row. It heartbeats, so a worker that dies is noticed within
the heartbeat timeout and the simulation runs again from the start (its earlier journeys are replaced); a
simulation that cannot run (its row, automation or graph gone or invalid) is not retried. Whatever ends it, the row
says so: `done` with the results, or `failed` with the error.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.simulation_activities import SimulationActivities
    from models.payloads.simulation import SIMULATION_REFUSED, SimulationFailure, SimulationInput, SimulationSummary

# A worker lost mid-run, or the database away for a moment: try again a couple of times, then give up.
RUN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=3,
    non_retryable_error_types=[SIMULATION_REFUSED],
)
RUN_TIMEOUT = timedelta(minutes=15)  # the activity stops its journeys after 5 minutes of real time
RUN_HEARTBEAT = timedelta(minutes=1)
FAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=20
)


@workflow.defn
class AutomationSimulationWorkflow:
    @workflow.run
    async def run(self, input: SimulationInput) -> SimulationSummary:
        try:
            return await workflow.execute_activity_method(
                SimulationActivities.run_simulation,
                input,
                start_to_close_timeout=RUN_TIMEOUT,
                heartbeat_timeout=RUN_HEARTBEAT,
                retry_policy=RUN_RETRY,
            )
        except asyncio.CancelledError:
            await self._fail(input, "cancelled")
            raise
        except ActivityError as err:
            cause = err.cause or err
            reason = str(getattr(cause, "message", None) or cause)
            await self._fail(input, reason)
            raise ApplicationError(f"simulation {input.simulation_id} failed: {reason}", non_retryable=True) from err

    async def _fail(self, input: SimulationInput, error: str) -> None:
        await workflow.execute_activity_method(
            SimulationActivities.fail_simulation,
            SimulationFailure(simulation_id=input.simulation_id, workspace_id=input.workspace_id, error=error),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=FAIL_RETRY,
        )
