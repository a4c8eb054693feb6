"""TestSendWorkflow (`test-send-<template>-<uuid>`): one template version sent to a few addresses as a test.

A workflow rather than a call from the API so the send runs where the channels are (the worker's SMTP pool) and
shows up in the Temporal UI next to the campaigns; the API waits for its result.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.test_send_activities import TestSendActivities
    from models.payloads.test_send import TestSendInput, TestSendResult

# Per-address failures are results, not errors; what is retried is the database or a worker dying mid-way.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=3,
    non_retryable_error_types=["TemplateError", "ConfigurationError"],
)


@workflow.defn
class TestSendWorkflow:
    __test__ = False  # not a pytest class

    @workflow.run
    async def run(self, input: TestSendInput) -> TestSendResult:
        return await workflow.execute_activity_method(
            TestSendActivities.send_test,
            input,
            start_to_close_timeout=timedelta(seconds=45),
            retry_policy=SEND_RETRY,
        )
