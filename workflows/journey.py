"""JourneyWorkflow: one lead's way through one automation (`journey-<automation>-<lead>`, or with a per-entry
suffix for "every time" automations and test runs; core/journeys.py starts it by signal-with-start).

The graph of the version the lead entered is the input, so publishing a new version never changes a running
journey. A bounded loop interprets it node by node, every decision taken by domain/journey_steps.py (the simulator
shares them): delays are durable timers that an event goal can cut short, `wait_for_event` waits for a matching
`event` signal or its timeout, filter and engagement conditions ask an activity, a random split draws with
`stable_draw` (never `workflow.random()`), and actions are activities with the node's retry settings: a permanent
failure or a skip takes the node's `fallback` edge when there is one (domain.journey_steps.action_decision).

Signals `event` are deduplicated by event id (the latest MAX_SEEN ids are kept) and checked against the event goals
at once: a met goal ends the journey as `goal_met` wherever it is, also in the middle of a wait. Filter goals are
checked by each action's activity before it does anything.

Steps are written in batches (`record_steps` at each wait and at the end, with the journeys row's status, current
node and waiting_until), so a chain of actions costs one activity each, not two. The journey's own records
(`begin_journey`, `record_steps`) are local activities (patch LOCAL_RECORDS): no activity task through the server;
so are the lead-change actions (patch OWN_LEAD_CHANGES), whose own events the journey reads from their outcome
instead of receiving them as signals.
A wait continues as new when Temporal suggests it, carrying JourneyState (the wait's end included, so the wait goes
on where it was).

Modes: `test` cuts every delay and timeout to `max_delay_seconds`; `simulation` runs the action activities as dry
runs (nothing sent or written but the journey's own steps).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.journey_activities import OWN_EVENTS_DETAIL, JourneyActivities
    from domain.automation_graph import node_by_id
    from domain.automation_simulation import assumed_engagement
    from domain.journey_steps import (
        Decision,
        action_decision,
        date_field_wake,
        delay_decision,
        duration_wake,
        engagement_decision,
        event_satisfies,
        event_wait_deadline,
        event_wait_decision,
        exit_decision,
        filter_decision,
        filter_goals,
        goal_decision,
        goal_met_by_event,
        lead_zone,
        record_step,
        shortened,
        split_decision,
        stable_draw,
        time_of_day_wake,
    )
    from models.payloads.automation import (
        ActionNode,
        EngagementNode,
        EventSpec,
        ExitNode,
        FilterNode,
        JourneyEvent,
        JourneyInput,
        JourneyState,
        JourneyStep,
        MessageEvent,
        Node,
        RandomSplitNode,
        RetrySettings,
        WaitDurationNode,
        WaitForEventNode,
        WaitUntilDateFieldNode,
        WaitUntilTimeOfDayNode,
    )
    from models.payloads.journey import (
        JOURNEY_GONE,
        LEAD_GONE,
        NON_RETRYABLE,
        ActionInput,
        ActionOutcome,
        BeginJourney,
        ConditionInput,
        ConditionResult,
        GoalFilter,
        JourneyOutcome,
        JourneyProgress,
        JourneyRef,
        LeadTiming,
        LeadTimingInput,
        RecordSteps,
    )

MAX_SEEN = 200  # event ids remembered for deduplication (the oldest are forgotten first)
MAX_PATH = 100  # nodes kept for the `state` query (journey_steps has them all)
# A graph is validated before it runs (every cycle waits), but a journey never trusts that: this many steps in a row
# without a wait fails it instead of spinning.
MAX_STEPS_WITHOUT_WAIT = 500

# The journey's own bookkeeping: a database outage must not end journeys, so retry for as long as it lasts (the
# activity shows as retrying in the Temporal UI); a missing lead or journey row is final.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=0,
    non_retryable_error_types=NON_RETRYABLE,
)
DB_TIMEOUT = timedelta(minutes=1)
# Since this patch, a journey's own records (begin_journey, record_steps) are local activities: run by the worker
# within the workflow task that decides them, a marker in the history, instead of an activity task's round trip
# through the server (two workflow tasks per journey fewer: bench/journeys.py). Both are idempotent, so the rerun
# of a local activity whose workflow task was lost does no harm. Journeys begun before it keep remote activities,
# and so do simulations (_bookkeeping).
LOCAL_RECORDS = "journey-records-local"
# Since this patch, a wait for a node's message opened / clicked also ends with `event` when the open or click of
# that very message arrived after the send but before the wait began (while the journey ran the nodes between).
EARLY_MESSAGE_EVENTS = "journey-early-message-events"
# Since this patch, a lead-change action (LEAD_CHANGES) is a local activity (as LOCAL_RECORDS; not in a simulation),
# with the node's retry policy (a backoff beyond local_retry_threshold waits on a timer, as Temporal does for local
# activities), and the journey takes the events of its own change from the action's outcome (OWN_EVENTS_DETAIL):
# an event goal the change meets ends the journey at its next node. The activity no longer signals them to the
# journey that made the change (a second signal, and a task that completes the journey while a signal arrives
# fails and runs again): a journey begun before this patch no longer meets a goal by its own change.
OWN_LEAD_CHANGES = "journey-lead-changes-local"
LEAD_CHANGES = frozenset({"update_field", "add_tag", "remove_tag", "add_to_list", "remove_from_list", "assign_owner"})
ACTION_TIMEOUTS = {
    "send_message": timedelta(minutes=2),
    "notify_user": timedelta(minutes=2),
    "start_automation": timedelta(minutes=1),
}
DEFAULT_ACTION_TIMEOUT = timedelta(minutes=1)
WEBHOOK_MARGIN = timedelta(seconds=15)  # beyond the node's own HTTP timeout: the rendering and the record


def action_retry_policy(settings: RetrySettings) -> RetryPolicy:
    """A node's `retry` as Temporal's policy: its attempts and initial interval, doubling up to 10 minutes (or the
    initial interval, if longer); permanent failures are not retried."""
    return RetryPolicy(
        initial_interval=settings.initial_interval(),
        backoff_coefficient=2.0,
        maximum_interval=settings.maximum_interval(),
        maximum_attempts=settings.max_attempts,
        non_retryable_error_types=NON_RETRYABLE,
    )


class _LeadGone(Exception):
    """An activity found no lead (or no journeys row): the journey ends as exited."""


@workflow.defn
class JourneyWorkflow:
    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self._input = input
        self._graph = input.graph
        state = input.state.model_copy(deep=True) if input.state else JourneyState(node_id=input.trigger_node)
        self._state = state
        self._seen = set(state.seen_event_ids)
        self._received: list[JourneyEvent] = []  # events of the wait under way
        self._engaged: set[tuple[str, str]] = set()  # (send node, opened/clicked) from message events received
        self._engaged_messages = {(m, k) for m, k in state.engaged}  # (message id, opened/clicked), kept across CAN
        self._goal: int | None = None
        self._pending: list[JourneyStep] = []  # decided, not yet written (record_steps)
        self._pending_from = state.steps  # the seq of _pending[0]
        self._status = "active"
        self._waiting_until: datetime | None = None
        self._end: JourneyStep | None = None
        self._step_at: datetime | None = None  # when the step being decided began (a wait's start)
        if input.state is None:
            self._remember(input.trigger_event.event_id)

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyOutcome:
        state = self._state
        if state.journey_id is None:
            try:
                ref = await self._begin(input)
            except _LeadGone as gone:
                return JourneyOutcome(
                    journey_id=None,
                    end="exited",
                    reason=f"lead_deleted: {gone}",
                    node_id=state.node_id,
                    steps=0,
                    path=[],
                )
            if ref.duplicate:
                workflow.logger.info("journey %s: its trigger event entered the lead before", ref.journey_id)
                self._status = "exited"
                return JourneyOutcome(
                    journey_id=None, end="exited", reason="duplicate_trigger", node_id=state.node_id, steps=0, path=[]
                )
            state.journey_id, state.entry = ref.journey_id, ref.entry
        without_wait = 0
        while True:
            node = node_by_id(self._graph, state.node_id)
            if node is None:  # an invalid graph (never published as such): stop rather than guess
                step = self._unknown_node(state.node_id)
                break
            if self._goal is not None:
                decision, detail = goal_decision(self._goal), {}
            else:
                if node.category == "delay" and workflow.info().is_continue_as_new_suggested():
                    await self._continue_as_new()
                try:
                    decision, detail = await self._decide(node)
                except _LeadGone as gone:
                    decision, detail = Decision(None, "lead_deleted", end="exited"), {"error": str(gone)}
            step = self._record(node, decision, detail)
            if step.end is not None or step.next_node is None:
                break
            without_wait = 0 if node.category == "delay" else without_wait + 1
            if without_wait >= MAX_STEPS_WITHOUT_WAIT:
                step = self._record(
                    node_by_id(self._graph, step.next_node) or node,
                    Decision(None, "too_many_steps_without_a_wait", end="failed"),
                    {},
                )
                break
            state.node_id = step.next_node
        return await self._finish(step)

    # --- Nodes --------------------------------------------------------------------------------------------------------

    async def _decide(self, node: Node) -> tuple[Decision, dict[str, Any]]:
        if node.category == "trigger":
            event = self._input.trigger_event
            return Decision("next", "triggered"), {"event_id": event.event_id, "event": event.kind}
        if isinstance(node, FilterNode):
            result = await self._condition(ConditionInput(**self._lead_ref(), kind="filter", filter=node.config.filter))
            return filter_decision(result.matched), {}
        if isinstance(node, EngagementNode):
            config = node.config
            result = await self._condition(ConditionInput(**self._lead_ref(), kind="engagement", node=config.node))
            opened = result.opened or (config.node, "opened") in self._engaged
            clicked = result.clicked or (config.node, "clicked") in self._engaged
            return engagement_decision(config, opened=opened, clicked=clicked), {}
        if isinstance(node, RandomSplitNode):
            draw = stable_draw(self._input.automation_id, node.id, self._input.lead_id, self._state.entry)
            return split_decision(node.config, draw), {"draw": round(draw, 6)}
        if node.category == "delay":
            return await self._delay(node)
        return await self._act(node)  # type: ignore[arg-type]

    async def _delay(self, node: Node) -> tuple[Decision, dict[str, Any]]:
        state, now = self._state, workflow.now()
        if isinstance(node, WaitForEventNode):
            # A wait that continued as new goes on until the same instant.
            deadline = state.wake_at or self._short(event_wait_deadline(node.config, now), now)
            received = await self._wait(node, deadline, node.config.event)
            if self._goal is not None:
                return goal_decision(self._goal), {"ended_at": workflow.now().isoformat()}
            decision = event_wait_decision(received)
            ended = {"ended_at": workflow.now().isoformat()} if received else {}
            return Decision(decision.outcome, decision.reason, wake_at=deadline), ended
        if state.wake_at is not None:
            decision = delay_decision(state.wake_at)
        elif isinstance(node, WaitDurationNode):
            decision = delay_decision(duration_wake(node.config, now))
        elif isinstance(node, WaitUntilTimeOfDayNode):
            timing = await self._timing(None)
            zone = lead_zone(timing.timezone, timing.workspace_timezone)
            decision = delay_decision(time_of_day_wake(node.config, now, zone))
        elif isinstance(node, WaitUntilDateFieldNode):
            timing = await self._timing(node.config.field)
            zone = lead_zone(timing.timezone, timing.workspace_timezone)
            decision = date_field_wake(node.config, timing.value, now, zone)
        else:
            raise ApplicationError(f"unknown delay {node.type}", non_retryable=True)
        if decision.wake_at is None:  # a date wait with no date, or a past one skipped
            return decision, {}
        wake_at = state.wake_at or self._short(decision.wake_at, now)
        if wake_at > now:
            await self._wait(node, wake_at, None)
            if self._goal is not None:  # cut short
                return goal_decision(self._goal), {"ended_at": workflow.now().isoformat()}
        return Decision(decision.outcome, decision.reason, wake_at=wake_at), {}

    async def _act(self, node: ActionNode) -> tuple[Decision, dict[str, Any]]:
        if isinstance(node, ExitNode):
            return exit_decision(), {}
        config: Any = node.config
        settings: RetrySettings = config.retry
        timeout = ACTION_TIMEOUTS.get(node.type, DEFAULT_ACTION_TIMEOUT)
        if node.type == "call_webhook":
            timeout = timedelta(seconds=config.timeout_seconds) + WEBHOOK_MARGIN
        state, input = self._state, self._input
        assert state.journey_id is not None and state.entry is not None
        action = ActionInput(
            workspace_id=input.workspace_id,
            automation_id=input.automation_id,
            version=input.version,
            lead_id=input.lead_id,
            journey_id=state.journey_id,
            entry=state.entry,
            workflow_id=workflow.info().workflow_id,
            seq=state.steps,
            node=node,
            mode=input.mode,
            goal_filters=[GoalFilter(index=i, filter=f) for i, f in filter_goals(self._graph.goals)],
            max_attempts=settings.max_attempts,
        )
        # A simulation keeps remote actions (see _bookkeeping), and its dry runs change nothing.
        own_changes = input.mode != "simulation" and node.type in LEAD_CHANGES and workflow.patched(OWN_LEAD_CHANGES)
        run = workflow.execute_local_activity_method if own_changes else workflow.execute_activity_method
        try:
            outcome: ActionOutcome = await run(
                ACTIONS[node.type],
                action,
                start_to_close_timeout=timeout,
                retry_policy=action_retry_policy(settings),
            )
        except ActivityError as err:
            cause = err.cause
            kind = getattr(cause, "type", None) or type(cause).__name__
            if kind in (LEAD_GONE, JOURNEY_GONE):
                raise _LeadGone(str(getattr(cause, "message", cause))) from err
            decision = action_decision(self._graph, node, "failed")
            detail = {
                "error": str(getattr(cause, "message", None) or cause or err)[:1000],
                "error_type": kind,
                "retry_state": err.retry_state.name if err.retry_state is not None else None,
                "max_attempts": settings.max_attempts,
            }
            if decision.outcome == "fallback":
                detail["fallback"] = True
            return decision, detail
        if outcome.result == "goal_met" and outcome.goal is not None:
            return goal_decision(outcome.goal), {"goal": outcome.goal}
        if outcome.message_id is not None:
            state.sent_messages[node.id] = outcome.message_id
            if input.mode == "simulation" and node.type == "send_message":
                for kind in assumed_engagement(input.simulated_engagement):  # (a live journey assumes nothing)
                    self._engaged.add((node.id, kind))
                    self._engaged_messages.add((outcome.message_id, kind))
        result = "skipped" if outcome.result == "skipped" else "succeeded"
        decision = action_decision(self._graph, node, result)
        detail = dict(outcome.detail)
        own_events = detail.pop(OWN_EVENTS_DETAIL, None) or []
        if own_changes:
            for data in own_events:
                self._own_event(JourneyEvent.model_validate(data))
        if outcome.reason:
            detail["why"] = outcome.reason
        if outcome.attempt > 1:
            detail["attempts"] = outcome.attempt
        if decision.outcome == "fallback":
            detail["fallback"] = True
        return decision, detail

    # --- Waiting ------------------------------------------------------------------------------------------------------

    async def _wait(self, node: Node, until: datetime, spec: EventSpec | None) -> bool:
        """Wait until `until`, a met goal, or (with `spec`) a matching event received during the wait: True for the
        event. The journeys row shows the wait; a suggested continue-as-new carries it over to the next run."""
        state = self._state
        state.wake_at = until
        state.waited_from = state.waited_from or workflow.now()
        self._received = []
        self._status, self._waiting_until = "waiting", until
        await self._flush("waiting", node.id, until)

        # The message's open or click may have come before the wait (an event of any other kind must come during it).
        early = isinstance(spec, MessageEvent) and workflow.patched(EARLY_MESSAGE_EVENTS)

        def matched() -> bool:
            if spec is None:
                return False
            if early and (state.sent_messages.get(spec.node), spec.kind) in self._engaged_messages:  # type: ignore[union-attr]
                return True
            return any(event_satisfies(spec, event, state.sent_messages) for event in self._received)

        while self._goal is None and not matched():
            remaining = until - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: self._goal is not None or matched() or workflow.info().is_continue_as_new_suggested(),
                    timeout=remaining,
                )
            except TimeoutError:
                break
            if self._goal is None and not matched() and workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
        found = self._goal is None and matched()
        self._step_at = state.waited_from
        state.wake_at = state.waited_from = None
        self._received = []
        self._status, self._waiting_until = "active", None
        return found

    def _short(self, wake_at: datetime, now: datetime) -> datetime:
        """Test mode: every delay and timeout cut to max_delay_seconds."""
        input = self._input
        if input.mode != "test" or input.max_delay_seconds is None:
            return wake_at
        return shortened(wake_at, now, timedelta(seconds=input.max_delay_seconds))

    # --- Activities ---------------------------------------------------------------------------------------------------

    async def _begin(self, input: JourneyInput) -> JourneyRef:
        info = workflow.info()
        try:
            return await self._bookkeeping(
                JourneyActivities.begin_journey,
                BeginJourney(
                    workspace_id=input.workspace_id,
                    automation_id=input.automation_id,
                    version=input.version,
                    lead_id=input.lead_id,
                    workflow_id=info.workflow_id,
                    first_run_id=info.first_execution_run_id,
                    mode=input.mode,
                    trigger_node=input.trigger_node,
                    trigger_event_id=input.trigger_event.event_id,
                ),
            )
        except ActivityError as err:
            raise self._gone_or(err) from err

    def _lead_ref(self) -> dict[str, int]:
        assert self._state.journey_id is not None
        return {
            "workspace_id": self._input.workspace_id,
            "lead_id": self._input.lead_id,
            "journey_id": self._state.journey_id,
        }

    async def _condition(self, input: ConditionInput) -> ConditionResult:
        try:
            return await workflow.execute_activity_method(
                JourneyActivities.evaluate_condition,
                input,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        except ActivityError as err:
            raise self._gone_or(err) from err

    async def _timing(self, field: str | None) -> LeadTiming:
        try:
            return await workflow.execute_activity_method(
                JourneyActivities.lead_timing,
                LeadTimingInput(workspace_id=self._input.workspace_id, lead_id=self._input.lead_id, field=field),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        except ActivityError as err:
            raise self._gone_or(err) from err

    async def _bookkeeping(self, method: Any, arg: Any) -> Any:
        """begin_journey or record_steps: a local activity since LOCAL_RECORDS, a remote one before. A simulation
        keeps remote ones: the simulator stops at its horizon by polling, and a faster journey overshoots it (its
        journeys live and end on its own test server, so nothing ever replays them)."""
        if self._input.mode != "simulation" and workflow.patched(LOCAL_RECORDS):
            return await workflow.execute_local_activity_method(
                method, arg, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
            )
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
        )

    @staticmethod
    def _gone_or(err: ActivityError) -> BaseException:
        cause = err.cause
        if getattr(cause, "type", None) in (LEAD_GONE, JOURNEY_GONE):
            return _LeadGone(str(getattr(cause, "message", cause)))
        return err

    # --- Steps and the end --------------------------------------------------------------------------------------------

    def _record(self, node: Node, decision: Decision, detail: dict[str, Any]) -> JourneyStep:
        at, self._step_at = self._step_at or workflow.now(), None
        step = record_step(self._graph, node.id, decision, at)
        if detail:
            step = step.model_copy(update={"detail": detail})
        self._pending.append(step)
        state = self._state
        state.steps += 1
        state.path = [*state.path, node.id][-MAX_PATH:]
        return step

    def _unknown_node(self, node_id: str) -> JourneyStep:
        step = JourneyStep(
            node_id=node_id,
            node_type="unknown",
            at=workflow.now(),
            outcome=None,
            next_node=None,
            reason="unknown_node",
            end="failed",
        )
        self._pending.append(step)
        self._state.steps += 1
        return step

    async def _flush(
        self,
        status: str,
        node_id: str | None,
        waiting_until: datetime | None = None,
        end_reason: str | None = None,
    ) -> None:
        state = self._state
        assert state.journey_id is not None
        steps, first = self._pending, self._pending_from
        try:
            await self._bookkeeping(
                JourneyActivities.record_steps,
                RecordSteps(
                    journey_id=state.journey_id,
                    automation_id=self._input.automation_id,
                    first_seq=first,
                    steps=steps,
                    status=status,  # type: ignore[arg-type]
                    current_node=node_id,
                    waiting_until=waiting_until,
                    end_reason=end_reason,
                ),
            )
        except ActivityError as err:
            if getattr(err.cause, "type", None) != JOURNEY_GONE:
                raise
            workflow.logger.info("journey %s: its row is gone (lead or automation deleted)", state.journey_id)
        self._pending, self._pending_from = [], first + len(steps)

    async def _finish(self, step: JourneyStep) -> JourneyOutcome:
        end = step.end or "completed"
        self._end = step
        self._status = end
        await self._flush(end, step.node_id, None, step.reason)
        return JourneyOutcome(
            journey_id=self._state.journey_id,
            end=end,
            reason=step.reason,
            node_id=step.node_id,
            steps=self._state.steps,
            path=list(self._state.path),
        )

    async def _continue_as_new(self) -> None:
        """At a wait (before it, or during it with its end kept in the state): the steps so far are written first."""
        if self._pending:
            await self._flush(self._status, self._state.node_id, self._waiting_until)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._state.seen_event_ids = list(self._state.seen_event_ids)[-MAX_SEEN:]
        live = set(self._state.sent_messages.values())  # a message sent again replaced its node's older one
        self._state.engaged = sorted(e for e in self._engaged_messages if e[0] in live)
        workflow.continue_as_new(self._input.model_copy(update={"state": self._state}))

    # --- Handlers -----------------------------------------------------------------------------------------------------

    def _remember(self, event_id: str) -> None:
        state = self._state
        state.seen_event_ids.append(event_id)
        self._seen.add(event_id)
        if len(state.seen_event_ids) > MAX_SEEN:
            forgotten = state.seen_event_ids[: len(state.seen_event_ids) - MAX_SEEN]
            state.seen_event_ids = state.seen_event_ids[-MAX_SEEN:]
            self._seen.difference_update(forgotten)

    def _own_event(self, event: JourneyEvent) -> None:
        """An event of the journey's own lead change (not signalled to it): remembered, and checked against the
        event goals (the goal ends the journey at its next node). It counts for no wait: none is under way."""
        if event.event_id in self._seen:
            return
        self._remember(event.event_id)
        if self._goal is None:
            self._goal = goal_met_by_event(self._graph.goals, event)

    @workflow.signal
    def event(self, event: JourneyEvent) -> None:
        """Something happened to the lead. An id seen before is ignored; an event goal it meets ends the journey;
        a wait for it ends its wait (only events arriving while the lead waits count for a wait)."""
        if event.event_id in self._seen:
            return
        if event.lead_id != self._input.lead_id:
            workflow.logger.warning("journey of lead %s: event for lead %s ignored", self._input.lead_id, event.lead_id)
            return
        self._remember(event.event_id)
        if self._end is not None:
            return
        if event.kind in ("message_opened", "message_clicked") and not event.machine and event.node_id:
            sent = self._state.sent_messages.get(event.node_id)
            if sent is not None and event.message_id in (None, sent):
                self._engaged.add((event.node_id, "opened"))
                self._engaged_messages.add((sent, "opened"))
                if event.kind == "message_clicked":
                    self._engaged.add((event.node_id, "clicked"))
                    self._engaged_messages.add((sent, "clicked"))
        if self._goal is None:
            self._goal = goal_met_by_event(self._graph.goals, event)
        self._received.append(event)

    @workflow.query
    def state(self) -> JourneyProgress:
        state, end = self._state, self._end
        return JourneyProgress(
            journey_id=state.journey_id,
            entry=state.entry,
            version=self._input.version,
            mode=self._input.mode,
            status=self._status,  # type: ignore[arg-type]
            node_id=state.node_id,
            waiting_until=self._waiting_until,
            steps=state.steps,
            path=list(state.path),
            sent_messages=dict(state.sent_messages),
            end=(end.end or "completed") if end is not None else None,
            reason=end.reason if end is not None else None,
        )


# Each action node type's activity (the dry run is the same activity with mode "simulation").
ACTIONS = {
    "send_message": JourneyActivities.send_message,
    "update_field": JourneyActivities.change_lead,
    "add_tag": JourneyActivities.change_lead,
    "remove_tag": JourneyActivities.change_lead,
    "add_to_list": JourneyActivities.change_lead,
    "remove_from_list": JourneyActivities.change_lead,
    "assign_owner": JourneyActivities.change_lead,
    "notify_user": JourneyActivities.notify_user,
    "call_webhook": JourneyActivities.call_webhook,
    "start_automation": JourneyActivities.start_automation,
}
