"""CampaignWorkflow: one execution per campaign run.

Two engines live here:
- the legacy single-step engine (a campaign without a flow, and every execution started before the flow engine
  existed): snapshot the audience, page through it in batched send activities;
- the flow engine (`workflow.patched(FLOW_ENGINE_PATCH)` and a run with a flow): optional approval, the schedule,
  then the flow walked by *tracks*, cohorts of the audience (campaign_run_audience.track) that move through the
  steps together. A send step pages through its track in batches; a wait, a branch, an A/B split or a timezone
  bucket turns a track into new ones. The state is a short list of tracks (position, ready time, cursor), so
  continue-as-new carries no lead data and no flow (both are read back from the run).
"""

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
    from activities.campaign_flow_activities import CampaignFlowActivities
    from domain.campaign_flow import Position, enter, iter_steps, step_at
    from domain.campaign_tracks import (
        HOLDOUT,
        continuation,
        earliest_ready_at,
        next_ready,
        paid_until,
        step_indexes,
        throttle_limit,
    )
    from models.payloads.campaign import (
        ApprovalDecision,
        CampaignProgress,
        CampaignRunInput,
        CampaignRunState,
        ExitTrackInput,
        FinishRunInput,
        FlowRunState,
        Partition,
        PartitionInput,
        PickWinnerInput,
        PlanTimingInput,
        Reschedule,
        RunPlan,
        RunPlanInput,
        RunStatusInput,
        SendBatchInput,
        SendStepInput,
        SendStepResult,
        SnapshotAudienceInput,
        StepCount,
        StepProgress,
        TimingKind,
        TrackGroup,
        TrackState,
        VariantProgress,
    )
    from models.payloads.campaign_flow import BranchStep, ExitStep, SendStep, SplitStep, WaitStep

# Database work: retry transient failures with backoff, give up after a few minutes of trying.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=10
)
# Sending: provider throttling and outages must not end a campaign, so transient errors retry without limit;
# a broken template or configuration is non-retryable and fails the run. (Permanent provider refusals never reach
# the retry policy: the send activity records them as failed deliveries.)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=0,
    non_retryable_error_types=["TemplateError", "ConfigurationError"],
)
# Track planning (timing, branches, splits): database work that a bad flow or filter cannot fix by retrying.
PLAN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=["ConfigurationError"],
)
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=60)
CANCELLED_ACTIVITY_PATCH = "cancelled-activity-means-cancelled"  # 2026-11: was recorded as a failed run
# 2026-11: a cancel used to run finish_run while the cancelled batch was still recording its in-flight sends, so the
# run's counts could miss them; the workflow now waits for the batch to stop before finishing.
WAIT_FOR_BATCH_CANCEL_PATCH = "wait-for-cancelled-batch"
# 2026-12 (#8): the run's plan is loaded first; a run with a flow goes to the flow engine, approval is awaited when
# the input asks for it. Executions started before this keep the single-step engine.
FLOW_ENGINE_PATCH = "flow-engine"
LOCAL_DATE_PATCH = "local-time-reschedule"  # 2026-11: a scheduled local-time run can move to another date
SEND_WINDOW_PATCH = "send-window-recheck"  # 2026-11: a send step re-checks quiet hours/weekdays between its batches


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, input: CampaignRunInput) -> None:
        self._input = input
        self._state = CampaignRunState()
        self._status = "running"
        self._paused = False
        # Flow engine
        self._flow_state: FlowRunState | None = input.flow_state.model_copy(deep=True) if input.flow_state else None
        self._decision: ApprovalDecision | None = self._flow_state.decision if self._flow_state else None
        self._plan: RunPlan | None = None
        self._steps: dict[int, StepProgress] = {}
        self._indexes: dict[Position, int] = {}
        self._wake = False
        self._new_date: str | None = None  # a local-time run's new date, planned by _drive
        if self._flow_state is not None:
            self._paused = self._flow_state.paused

    @workflow.run
    async def run(self, input: CampaignRunInput) -> CampaignProgress:
        if input.flow_state is not None:
            return await self._run_flow(input)
        if input.state is None and workflow.patched(FLOW_ENGINE_PATCH):
            return await self._run_flow(input)
        return await self._run_legacy(input)

    # --- Legacy single-step engine ------------------------------------------------------------------------------------

    async def _run_legacy(self, input: CampaignRunInput) -> CampaignProgress:
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
                    workflow.continue_as_new(input.model_copy(update={"state": self._state, "flow_state": None}))
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

    async def _finish(
        self,
        input: CampaignRunInput,
        status: str,
        error: str | None = None,
        decision: ApprovalDecision | None = None,
    ) -> None:
        await workflow.execute_activity_method(
            CampaignActivities.finish_run,
            FinishRunInput(
                run_id=input.run_id,
                status=status,
                error=error,
                comment=decision.comment if decision else None,
                decided_by=decision.user_id if decision else None,
            ),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=DB_RETRY,
        )

    # --- Flow engine --------------------------------------------------------------------------------------------------

    async def _run_flow(self, input: CampaignRunInput) -> CampaignProgress:
        continued = input.flow_state is not None
        if self._flow_state is None:
            self._flow_state = FlowRunState(phase="approval" if input.requires_approval else "running")
        state = self._flow_state
        try:
            plan = await workflow.execute_activity_method(
                CampaignFlowActivities.load_run_plan,
                RunPlanInput(run_id=input.run_id, with_counts=continued),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=PLAN_RETRY,
            )
            if not continued and input.requires_approval:
                decision = await self._await_decision(input, plan)
                if not decision.approved:
                    self._status = "rejected"
                    await self._finish(input, "rejected", decision=decision)
                    return self.progress()
        except asyncio.CancelledError:
            self._status = "cancelled"
            await self._finish(input, "cancelled")
            raise
        except ActivityError as err:
            return await self._fail(input, err)
        if plan.flow is None:
            # A campaign without a flow: the single-step engine (approval, if any, was given above).
            self._flow_state = None
            return await self._run_legacy(input)
        try:
            self._use_plan(plan)
            if not continued:
                snapshot = await workflow.execute_activity_method(
                    CampaignActivities.snapshot_audience,
                    SnapshotAudienceInput(campaign_id=input.campaign_id, run_id=input.run_id),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=DB_RETRY,
                )
                state.total = snapshot.total
                await self._start(input)
            await self._drive(input)
        except asyncio.CancelledError:
            self._status = "cancelled"
            await self._finish(input, "cancelled")
            raise
        except ActivityError as err:
            return await self._fail(input, err)
        self._status = "completed"
        await self._finish(input, "completed")
        return self.progress()

    async def _fail(self, input: CampaignRunInput, err: ActivityError) -> CampaignProgress:
        if isinstance(err.cause, TemporalCancelledError):
            self._status = "cancelled"
            await self._finish(input, "cancelled")
            raise asyncio.CancelledError() from err
        self._status = "failed"
        await self._finish(input, "failed", error=str(err.cause or err))
        raise ApplicationError(f"campaign run failed: {err.cause or err}", non_retryable=True) from err

    def _use_plan(self, plan: RunPlan) -> None:
        assert plan.flow is not None
        self._plan = plan
        self._indexes = step_indexes(plan.flow)
        self._steps = {}
        for index, (_, step) in enumerate(iter_steps(plan.flow)):
            self._steps[index] = StepProgress(
                step_id=step.id, index=index, type=step.type, channel=getattr(step, "channel", None)
            )
        for count in plan.counts:
            self._count(count)

    def _count(self, count: StepCount) -> None:
        """Recorded outcomes (after continue-as-new) into the per-step progress."""
        step = self._steps.get(count.index)
        if step is None:
            return
        variant = self._variant(step, count.variant)
        for target in (step, variant):
            if target is None:
                continue
            if count.status in ("sent", "failed", "skipped"):
                setattr(target, count.status, getattr(target, count.status) + count.count)
        if count.status == "sent" and count.fallback:
            step.fallback_sent += count.count
        if count.status == "skipped" and count.skip_reason:
            step.by_reason[count.skip_reason] = step.by_reason.get(count.skip_reason, 0) + count.count

    @staticmethod
    def _variant(step: StepProgress, variant: str | None) -> VariantProgress | None:
        if variant is None:
            return None
        for found in step.variants:
            if found.variant == variant:
                return found
        created = VariantProgress(variant=variant)
        step.variants.append(created)
        return created

    async def _await_decision(self, input: CampaignRunInput, plan: RunPlan) -> ApprovalDecision:
        state = self._flow_state
        assert state is not None
        state.phase = "approval"
        if plan.schedule.mode == "at" and state.scheduled_for is None:
            state.scheduled_for = plan.schedule.at
        await workflow.wait_condition(lambda: self._decision is not None)
        assert self._decision is not None
        state.decision = self._decision
        if self._decision.approved:
            waits = plan.schedule.mode != "now"
            state.phase = "scheduled" if waits else "running"
            await self._set_status(input, "scheduled" if waits else "running", only_from=["pending_approval"])
        return self._decision

    async def _start(self, input: CampaignRunInput) -> None:
        """The first track(s): the whole audience at the first step, now, at the scheduled time, or per timezone."""
        state, plan = self._flow_state, self._plan
        assert state is not None and plan is not None and plan.flow is not None
        schedule = plan.schedule
        first = TrackState(id=0, position=[0], entered_at=workflow.now(), leads=state.total)
        state.tracks = [first] if state.total > 0 and plan.flow.steps else []
        if not state.tracks:
            return
        if schedule.mode == "at":
            at = state.scheduled_for or schedule.at
            state.scheduled_for = at
            first.ready_at = at
            if at is not None and at > workflow.now():
                state.phase = "scheduled"
        elif schedule.mode == "local_time":
            await self._plan_timing(input, first, "start")
            state.scheduled_for = earliest_ready_at(state.tracks)
            if state.scheduled_for is not None and state.scheduled_for > workflow.now():
                state.phase = "scheduled"
        if state.phase == "scheduled":
            await self._set_status(input, "scheduled", only_from=["running"])

    async def _drive(self, input: CampaignRunInput) -> None:
        state = self._flow_state
        assert state is not None
        while True:
            await workflow.wait_condition(lambda: not self._paused)
            state.tracks = [t for t in state.tracks if t.position is not None]
            if not state.tracks:
                return
            if self._new_date is not None and state.phase == "scheduled" and workflow.patched(LOCAL_DATE_PATCH):
                await self._plan_new_date(input, self._new_date)
            now = workflow.now()
            track = next_ready(state.tracks, now)
            if track is None:
                wake_at = earliest_ready_at(state.tracks)
                assert wake_at is not None
                self._wake = False
                try:
                    await workflow.wait_condition(lambda: self._wake or self._paused, timeout=wake_at - now)
                except TimeoutError:
                    pass
                continue
            if state.phase != "running":
                state.phase = "running"
                await self._set_status(input, "running", only_from=["scheduled", "pending_approval"])
            assert isinstance(track, TrackState)
            await self._advance(input, track)
            active = any(t.position is not None for t in state.tracks)
            if active and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                state.paused = self._paused
                state.decision = self._decision
                workflow.continue_as_new(input.model_copy(update={"flow_state": state, "state": None}))

    async def _plan_new_date(self, input: CampaignRunInput, date: str) -> None:
        """A scheduled local-time run moved to another date: each timezone bucket (none has started: the run is
        still scheduled) is planned again for the new date."""
        state, plan = self._flow_state, self._plan
        assert state is not None and plan is not None
        self._new_date = None
        plan.schedule = plan.schedule.model_copy(update={"date": date})
        for track in list(state.tracks):
            if track.position is not None:
                await self._plan_timing(input, track, "start", date=date)
        state.scheduled_for = earliest_ready_at(state.tracks)

    async def _advance(self, input: CampaignRunInput, track: TrackState) -> None:
        """One unit of work for a ready track: a send batch, a timing plan, a partition, a winner, an exit."""
        plan = self._plan
        assert plan is not None and plan.flow is not None and track.position is not None
        position = tuple(track.position)
        step = step_at(plan.flow, position)
        index = self._indexes[position]
        if isinstance(step, SendStep):
            if (
                track.planned
                and track.window_ends_at is not None
                and workflow.now() >= track.window_ends_at
                and workflow.patched(SEND_WINDOW_PATCH)
            ):
                track.planned = False  # the sending window closed partway through the step: plan it again
            if self._has_window() and not track.planned:
                await self._plan_timing(input, track, "send", index)
                return
            await self._send_batch(input, track, step, index)
        elif isinstance(step, WaitStep):
            if not track.planned:
                await self._plan_timing(input, track, "wait", index)
            else:
                self._move_on(track, continuation(plan.flow, position))
        elif isinstance(step, BranchStep):
            await self._partition(input, track, index, position, CampaignFlowActivities.partition_track)
        elif isinstance(step, SplitStep):
            if track.holdout:
                await self._pick_winner(input, track, step, index, position)
            else:
                await self._partition(input, track, index, position, CampaignFlowActivities.split_track)
        elif isinstance(step, ExitStep):
            await workflow.execute_activity_method(
                CampaignFlowActivities.exit_track,
                ExitTrackInput(run_id=input.run_id, track=track.id, reason=f"exit:{step.id}"),
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=PLAN_RETRY,
            )
            track.position = None

    def _has_window(self) -> bool:
        """Whether the schedule restricts sending to some hours or weekdays (then a send step first splits its
        track by the leads' local time)."""
        assert self._plan is not None
        schedule = self._plan.schedule
        return schedule.quiet_hours is not None or len(schedule.weekdays) < 7

    def _move_on(self, track: TrackState, position: Position | None) -> None:
        track.position = list(position) if position is not None else None
        track.cursor = 0
        track.planned = False
        track.ready_at = None
        track.window_ends_at = None
        track.entered_at = workflow.now()

    async def _send_batch(self, input: CampaignRunInput, track: TrackState, step: SendStep, index: int) -> None:
        state, plan = self._flow_state, self._plan
        assert state is not None and plan is not None and plan.flow is not None
        throttle = plan.schedule.throttle_per_minute or {}
        now = workflow.now()
        owed = state.throttle.get(step.channel)
        if step.channel in throttle and owed is not None and owed > now:
            track.ready_at = owed  # the channel is ahead of its rate: come back when it has caught up
            return
        limit = throttle_limit(input.batch_size, throttle.get(step.channel))
        result: SendStepResult = await workflow.execute_activity_method(
            CampaignFlowActivities.send_step_batch,
            SendStepInput(
                run_id=input.run_id,
                track=track.id,
                step=index,
                variant=track.variant,
                after_lead_id=track.cursor,
                limit=limit,
            ),
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
            retry_policy=SEND_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        state.batches += 1
        self._add_counts(index, track.variant, result)
        for channel, messages in result.attempted.items():
            if channel in throttle and messages > 0:
                state.throttle[channel] = paid_until(state.throttle.get(channel), now, messages, throttle[channel])
        track.ready_at = None
        if result.more:
            track.cursor = result.last_lead_id
        else:
            self._move_on(track, continuation(plan.flow, tuple(track.position or ())))

    def _add_counts(self, index: int, variant: str | None, result: SendStepResult) -> None:
        step = self._steps[index]
        for target in (step, self._variant(step, variant)):
            if target is None:
                continue
            target.sent += result.sent
            target.failed += result.failed
            target.skipped += result.skipped
        step.fallback_sent += result.fallback_sent
        for reason, count in result.by_reason.items():
            step.by_reason[reason] = step.by_reason.get(reason, 0) + count

    async def _plan_timing(
        self,
        input: CampaignRunInput,
        track: TrackState,
        kind: TimingKind,
        index: int | None = None,
        *,
        date: str | None = None,
    ) -> None:
        state = self._flow_state
        assert state is not None
        now = workflow.now()
        timing = await workflow.execute_activity_method(
            CampaignFlowActivities.plan_timing,
            PlanTimingInput(
                run_id=input.run_id,
                track=track.id,
                base=state.next_track,
                kind=kind,
                step=index,
                now=now,
                started_at=track.entered_at or now,
                date=date,
            ),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=PLAN_RETRY,
        )
        self._regroup(track, timing.groups, planned=kind != "start")

    def _regroup(self, track: TrackState, groups: list[TrackGroup], *, planned: bool) -> None:
        """The track's leads now sit in these groups (the track itself among them, or not): one track each."""
        state = self._flow_state
        assert state is not None
        kept = False
        for group in groups:
            state.next_track = max(state.next_track, group.track + 1)
            if group.track == track.id:
                kept = True
                track.ready_at, track.planned, track.zones = group.ready_at, planned, group.zones or track.zones
                track.leads = group.leads or track.leads
                track.window_ends_at = group.window_ends_at
                continue
            state.tracks.append(
                track.model_copy(
                    update={
                        "id": group.track,
                        "ready_at": group.ready_at,
                        "planned": planned,
                        "leads": group.leads,
                        "zones": group.zones,
                        # Planned again partway through a send step, a new track skips the leads it already had
                        # (pages go in lead id order); before a step starts, the cursor is 0 anyway.
                        "cursor": track.cursor,
                        "window_ends_at": group.window_ends_at,
                    }
                )
            )
        if not kept:
            track.position = None  # emptied: its leads moved to the new tracks (or there were none)

    async def _partition(self, input: CampaignRunInput, track: TrackState, index: int, position: Position, activity):
        state, plan = self._flow_state, self._plan
        assert state is not None and plan is not None and plan.flow is not None
        partition: Partition = await workflow.execute_activity_method(
            activity,
            PartitionInput(run_id=input.run_id, track=track.id, base=state.next_track, step=index),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=PLAN_RETRY,
        )
        step = step_at(plan.flow, position)
        now = workflow.now()
        for arm, group in sorted(partition.arms.items(), key=lambda item: item[1].track):
            state.next_track = max(state.next_track, group.track + 1)
            if group.leads <= 0:
                continue
            if arm == HOLDOUT:
                assert isinstance(step, SplitStep) and step.winner is not None
                new = TrackState(
                    id=group.track,
                    position=list(position),
                    ready_at=now + step.winner.after.as_timedelta(),
                    holdout=True,
                    variant=None,
                    entered_at=now,
                    leads=group.leads,
                )
            else:
                target = enter(plan.flow, position, arm)
                new = TrackState(
                    id=group.track,
                    position=list(target) if target is not None else None,
                    variant=arm if isinstance(step, SplitStep) else track.variant,
                    entered_at=now,
                    leads=group.leads,
                )
            if new.position is not None:
                state.tracks.append(new)
        track.position = None

    async def _pick_winner(
        self, input: CampaignRunInput, track: TrackState, step: SplitStep, index: int, position: Position
    ) -> None:
        state, plan = self._flow_state, self._plan
        assert state is not None and plan is not None and plan.flow is not None
        result = await workflow.execute_activity_method(
            CampaignFlowActivities.pick_winner,
            PickWinnerInput(run_id=input.run_id, step=index, holdout_track=track.id),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=PLAN_RETRY,
        )
        state.winners[step.id] = result.winner
        progress = self._steps[index]
        for score in result.scores:
            variant = self._variant(progress, score.variant)
            if variant is not None:
                variant.opened, variant.clicked = score.opened, score.clicked
        track.holdout = False
        track.variant = result.winner
        self._move_on(track, enter(plan.flow, position, result.winner))

    async def _set_status(self, input: CampaignRunInput, status: str, *, only_from: list[str]) -> None:
        await workflow.execute_activity_method(
            CampaignFlowActivities.set_run_status,
            RunStatusInput(run_id=input.run_id, status=status, only_from=only_from),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=DB_RETRY,
        )

    # --- Handlers -----------------------------------------------------------------------------------------------------

    @workflow.signal
    def pause(self) -> None:
        self._paused = True

    @workflow.signal
    def resume(self) -> None:
        self._paused = False
        self._wake = True

    @workflow.signal
    def reschedule(self, change: Reschedule) -> None:
        """Moves the start of a run that has not started sending yet (ignored once it has). A local-time run gets a
        new date: its timezone buckets are planned again (`_drive`), as a shift by whole days would be an hour off
        across a daylight-saving change."""
        state = self._flow_state
        if state is None or state.phase == "running":
            return
        if change.date is not None:
            self._new_date = change.date
            self._wake = True
            return
        if state.phase == "scheduled" and state.scheduled_for is not None and state.tracks:
            delta = change.at - state.scheduled_for
            for track in state.tracks:
                track.ready_at = (track.ready_at or state.scheduled_for) + delta
        state.scheduled_for = change.at
        self._wake = True

    @workflow.update
    def decide(self, decision: ApprovalDecision) -> str:
        self._decision = decision
        return "approved" if decision.approved else "rejected"

    @decide.validator
    def _validate_decision(self, decision: ApprovalDecision) -> None:
        if not self._input.requires_approval:
            raise ValueError("this run does not wait for an approval")
        if self._decision is not None:
            raise ValueError(f"this run was already {'approved' if self._decision.approved else 'rejected'}")
        if not decision.approved and not (decision.comment or "").strip():
            raise ValueError("a rejection needs a comment")

    @workflow.query
    def progress(self) -> CampaignProgress:
        input = self._input
        flow = self._flow_state
        status = "paused" if self._paused and self._status == "running" else self._status
        if flow is not None and status == "running":
            status = {"approval": "pending_approval", "scheduled": "scheduled"}.get(flow.phase, status)
        if flow is None:
            return CampaignProgress(
                campaign_id=input.campaign_id,
                run_id=input.run_id,
                run_number=input.run_number,
                status=status,
                paused=self._paused,
                total=self._state.total,
                sent=self._state.sent,
                failed=self._state.failed,
                skipped=self._state.skipped,
                batches=self._state.batches,
            )
        steps = [step.model_copy(deep=True) for _, step in sorted(self._steps.items())]
        for track in flow.tracks:
            if track.position is not None and tuple(track.position) in self._indexes:
                steps[self._indexes[tuple(track.position)]].leads_here += track.leads
        return CampaignProgress(
            campaign_id=input.campaign_id,
            run_id=input.run_id,
            run_number=input.run_number,
            status=status,
            paused=self._paused,
            total=flow.total,
            sent=sum(s.sent for s in steps),
            failed=sum(s.failed for s in steps),
            skipped=sum(s.skipped for s in steps),
            batches=flow.batches,
            phase=flow.phase,
            scheduled_for=flow.scheduled_for,
            comment=self._decision.comment if self._decision and not self._decision.approved else None,
            steps=steps,
            winners=dict(flow.winners),
            tracks=len([t for t in flow.tracks if t.position is not None]),
        )
