"""Workflow and activity payloads of a campaign run: ids, positions and counters only, never lead data.

Two engines share `CampaignWorkflow`: the legacy single-step run (`CampaignRunState`, a lead-id cursor) and the flow
engine (`FlowRunState`: a few tracks, each a cohort of the run's audience at one position of the flow). The flow
itself is never carried in a payload: activities and the workflow read it from the run (`load_run_plan`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from models.payloads.campaign_flow import CampaignSchedule, FlowDefinition

# --- Counters ---------------------------------------------------------------------------------------------------------


class RunCounters(BaseModel):
    total: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0


class CampaignRunState(RunCounters):
    """What a legacy (single-step) run carries across continue-as-new."""

    cursor: int = Field(default=0, description="Highest lead id already processed; the next batch starts after it.")
    batches: int = 0
    paused: bool = False


# --- Flow engine state ------------------------------------------------------------------------------------------------

Phase = Literal["approval", "scheduled", "running"]


class TrackState(BaseModel):
    """A cohort of the run's audience (campaign_run_audience.track = id) that moves through the flow together."""

    id: int
    position: list[int | str] | None = Field(description="The step the track runs next; None: done")
    ready_at: datetime | None = Field(default=None, description="Not before this instant (None: now)")
    planned: bool = Field(
        default=False, description="The timing of the step at `position` is settled (wait end, sending window)"
    )
    cursor: int = Field(default=0, description="Send steps: the highest lead id already sent this step")
    variant: str | None = Field(default=None, description="The A/B variant of the innermost split the track is in")
    holdout: bool = Field(default=False, description="Waits at its split for the winner")
    entered_at: datetime | None = Field(default=None, description="When the track reached `position`")
    leads: int = Field(default=0, description="How many leads the track had when it was formed (informative)")
    zones: list[str] = Field(default_factory=list, description="The timezones of a timezone-bucket track")
    window_ends_at: datetime | None = Field(
        default=None, description="Send steps under quiet hours/weekdays: when the planned sending window closes"
    )


class FlowRunState(BaseModel):
    """What a flow run carries across continue-as-new: tracks and cursors, no counters (they come back from the
    deliveries) and no flow (it comes back from the run)."""

    phase: Phase = "running"
    total: int = 0
    tracks: list[TrackState] = Field(default_factory=list)
    next_track: int = 1
    batches: int = 0
    paused: bool = False
    decision: ApprovalDecision | None = None
    scheduled_for: datetime | None = None
    throttle: dict[str, datetime] = Field(
        default_factory=dict, description="Per channel: the instant the messages sent so far are 'paid for'"
    )
    winners: dict[str, str] = Field(default_factory=dict, description="A/B split step id -> winning variant")


class CampaignRunInput(BaseModel):
    campaign_id: int
    run_id: int
    run_number: int
    batch_size: int = Field(default=1000, ge=1, le=2000)
    requires_approval: bool = False
    state: CampaignRunState | None = None
    flow_state: FlowRunState | None = None


# --- Signals, updates, queries ----------------------------------------------------------------------------------------


class ApprovalDecision(BaseModel):
    approved: bool
    user_id: int | None = None
    comment: str | None = Field(default=None, max_length=2000)


class Reschedule(BaseModel):
    at: AwareDatetime = Field(description="The new start; for a local-time run, when the new date's first zone starts")
    date: str | None = Field(
        default=None, description="Local-time runs: the new date (YYYY-MM-DD) of the schedule's local time"
    )


class VariantProgress(BaseModel):
    variant: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    opened: int = 0
    clicked: int = 0


class StepProgress(BaseModel):
    step_id: str
    index: int
    type: str
    channel: str | None = None
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    fallback_sent: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    variants: list[VariantProgress] = Field(default_factory=list)
    leads_here: int = Field(default=0, description="Leads of the tracks now at this step")


class CampaignProgress(RunCounters):
    campaign_id: int
    run_id: int
    run_number: int
    status: str
    paused: bool = False
    batches: int = 0
    phase: Phase | None = None
    scheduled_for: datetime | None = None
    comment: str | None = Field(default=None, description="The approver's comment (a rejected run)")
    steps: list[StepProgress] = Field(default_factory=list)
    winners: dict[str, str] = Field(default_factory=dict)
    tracks: int = 0


# --- Activities -------------------------------------------------------------------------------------------------------


class SnapshotAudienceInput(BaseModel):
    campaign_id: int
    run_id: int


class AudienceSnapshot(BaseModel):
    total: int


class SendBatchInput(BaseModel):
    campaign_id: int
    run_id: int
    step: int = 0
    after_lead_id: int = 0
    limit: int = 500


class SendBatchResult(BaseModel):
    processed: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    last_lead_id: int = 0


class FinishRunInput(BaseModel):
    run_id: int
    status: str
    error: str | None = None
    comment: str | None = None
    decided_by: int | None = None


class RunPlanInput(BaseModel):
    run_id: int
    with_counts: bool = False


class StepCount(BaseModel):
    """Deliveries of one send step (and variant), as recorded: what a continued run's progress starts from."""

    index: int
    variant: str | None = None
    fallback: bool = False
    status: str
    skip_reason: str | None = None
    count: int


class RunPlan(BaseModel):
    flow: FlowDefinition | None = Field(description="None: a legacy campaign, sent by the single-step engine")
    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    workspace_timezone: str = "UTC"
    counts: list[StepCount] = Field(default_factory=list)


class RunStatusInput(BaseModel):
    run_id: int
    status: str
    only_from: list[str] = Field(default_factory=list, description="Change only a run in one of these statuses")


class SendStepInput(BaseModel):
    run_id: int
    track: int
    step: int = Field(description="The send step's index in iter_steps order")
    variant: str | None = None
    after_lead_id: int = 0
    limit: int = 500


class SendStepResult(BaseModel):
    processed: int = Field(description="Audience rows of the track read (exited ones included)")
    last_lead_id: int = 0
    more: bool = Field(default=False, description="The track has leads after last_lead_id: the step goes on")
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    fallback_sent: int = 0
    attempted: dict[str, int] = Field(default_factory=dict, description="Per channel: messages handed to it")
    by_reason: dict[str, int] = Field(default_factory=dict)


TimingKind = Literal["start", "wait", "send"]


class PlanTimingInput(BaseModel):
    run_id: int
    track: int
    base: int = Field(description="The first unused track id: groups other than the first get base, base + 1, ...")
    kind: TimingKind
    step: int | None = Field(default=None, description="The wait or send step's index (kind wait/send)")
    now: AwareDatetime
    started_at: AwareDatetime | None = Field(default=None, description="When the track reached the wait")
    date: str | None = Field(
        default=None, description="kind start: the local-time date to plan for (a rescheduled run), else the schedule's"
    )


class TrackGroup(BaseModel):
    track: int
    ready_at: datetime
    leads: int
    zones: list[str] = Field(default_factory=list)
    window_ends_at: datetime | None = Field(
        default=None, description="Send plans: when the first of the group's zones leaves the sending window"
    )


class TimingPlan(BaseModel):
    groups: list[TrackGroup]


class PartitionInput(BaseModel):
    run_id: int
    track: int
    base: int
    step: int = Field(description="The branch or split step's index")


class Partition(BaseModel):
    """Where the track's leads went: arm ("yes"/"no", a variant id, or "holdout") -> (track, leads)."""

    arms: dict[str, TrackGroup]


class PickWinnerInput(BaseModel):
    run_id: int
    step: int = Field(description="The split step's index")
    holdout_track: int


class VariantScore(BaseModel):
    variant: str
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0


class WinnerResult(BaseModel):
    winner: str
    scores: list[VariantScore]


class ExitTrackInput(BaseModel):
    run_id: int
    track: int
    reason: str


# --- Dry run ----------------------------------------------------------------------------------------------------------


class DryRunInput(BaseModel):
    campaign_id: int


class DryRunStep(BaseModel):
    step_id: str
    index: int
    channel: str
    exact: bool = Field(description="False after a branch or split: `reach` is then an upper bound")
    reach: int = Field(description="Leads reaching the step")
    sendable: int = Field(description="Of those, how many the primary channel would be sent")
    fallback_sendable: int = 0
    skipped: dict[str, int] = Field(default_factory=dict, description="Reason -> leads (no_consent, suppressed...)")


class DryRunResult(BaseModel):
    campaign_id: int
    audience: int
    steps: list[DryRunStep]
    problems: list[str] = Field(default_factory=list)


FlowRunState.model_rebuild()
CampaignRunInput.model_rebuild()
