"""Request and response bodies of the campaign routes (the flow and schedule shapes are the engine's own payloads:
models/payloads/campaign_flow.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.schemas_templates import TestSendResultOut
from models.payloads.campaign import DryRunResult
from models.payloads.campaign_flow import CampaignSchedule, FlowDefinition, FrequencyCap
from models.payloads.campaign_tracking import CampaignTracking

Objective = Literal["awareness", "lead_generation", "conversion", "retention"]
GoalMetricName = Literal["open_rate", "click_rate", "conversions", "none"]
ChannelName = Literal["email", "sms", "whatsapp"]
MAX_LISTS = 50
MAX_TAGS = 20
MAX_ID = 2**31 - 1


def _strip_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class CampaignCreate(BaseModel):
    """A campaign: basics, audience, flow and schedule. The legacy body {name, template_id, template_version,
    list_id} still works: it becomes a one-step email flow pinning the version and an audience of that list."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    objective: Objective = "awareness"
    goal_metric: GoalMetricName = "none"
    goal_target: float | None = Field(default=None, ge=0, le=1_000_000_000)
    owner_id: int | None = Field(default=None, gt=0, le=MAX_ID, description="A member of the workspace")
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    cost: Decimal = Field(default=Decimal("0"), ge=0, le=Decimal("9999999999.99"), decimal_places=2)
    list_ids: list[int] = Field(
        default_factory=list, max_length=MAX_LISTS, description="The union of these lists; empty: every lead"
    )
    exclude_list_ids: list[int] = Field(default_factory=list, max_length=MAX_LISTS)
    exclude_filter: dict[str, Any] | None = Field(
        default=None, description="Leads matching this filter (react-querybuilder JSON) are left out"
    )
    flow: FlowDefinition | None = Field(default=None, description="Null: no steps yet (a draft that cannot launch)")
    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    tracking: CampaignTracking | None = Field(
        default=None,
        description="Open and click tracking, UTM parameters (docs/tracking.md); null: unchanged (on creation: opens "
        "and clicks tracked, no UTM)",
    )
    # Legacy single-template body.
    template_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="Legacy: one email step sending this template"
    )
    template_version: int | None = Field(
        default=None, gt=0, description="Legacy: the version the step sends (pinned); default: the current one."
    )
    list_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="Legacy: the one list to send to; null: every lead."
    )

    _name = field_validator("name")(_strip_name)

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        tags = list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))
        if any(len(tag) > 50 for tag in tags):
            raise ValueError("a tag has at most 50 characters")
        return tags

    @field_validator("list_ids", "exclude_list_ids")
    @classmethod
    def _positive_unique(cls, value: list[int]) -> list[int]:
        if any(not 1 <= item <= MAX_ID for item in value):
            raise ValueError("list ids are positive 32-bit integers")
        return list(dict.fromkeys(value))


class CampaignUpdate(CampaignCreate):
    """The whole campaign again (PUT): draft, scheduled or rejected campaigns only."""


class RunOut(BaseModel):
    id: int
    number: int
    workflow_id: str
    status: str
    total: int
    sent: int
    failed: int
    skipped: int
    percent: float
    started_at: datetime
    finished_at: datetime | None
    temporal_url: str


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str
    objective: Objective = "awareness"
    goal_metric: GoalMetricName = "none"
    goal_target: float | None = None
    owner_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    cost: float = 0
    template_id: int | None = Field(description="The (first) template the campaign sends; null without send steps")
    template_name: str | None
    template_version: int | None = Field(description="Number of the pinned template version")
    channels: list[ChannelName] = Field(default_factory=list, description="Channels of the send steps")
    list_id: int | None
    list_name: str | None
    list_ids: list[int] = Field(default_factory=list)
    scheduled_at: datetime | None = Field(default=None, description="When a scheduled campaign first sends")
    approval_status: Literal["none", "pending", "approved", "rejected"] = "none"
    created_at: datetime
    updated_at: datetime
    latest_run: RunOut | None = None


class CampaignDetail(CampaignOut):
    exclude_list_ids: list[int] = Field(default_factory=list)
    exclude_filter: dict[str, Any] | None = None
    flow: FlowDefinition | None = Field(default=None, description="Null for a campaign from before flows")
    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    tracking: CampaignTracking = Field(default_factory=CampaignTracking)
    approved_by_id: int | None = None
    approved_by: str | None = Field(default=None, description="Who approved or rejected the launch")
    approved_at: datetime | None = None
    approval_comment: str | None = None
    runs: list[RunOut] = Field(default_factory=list)


class VariantProgress(BaseModel):
    variant: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    opened: int = 0
    clicked: int = 0


class StepProgress(BaseModel):
    step_id: str
    index: int = Field(description="Position in execution (depth-first) order over all steps: deliveries.step")
    type: str
    channel: str | None = None
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict, description="Skipped leads by reason")
    fallback_sent: int = 0
    opened: int = 0
    clicked: int = 0
    variants: list[VariantProgress] = Field(default_factory=list)
    leads_here: int = Field(default=0, description="Leads now waiting at this step (live runs only)")


class ProgressOut(BaseModel):
    campaign_id: int
    run_id: int
    run_number: int
    workflow_id: str
    status: str
    paused: bool
    total: int
    sent: int
    failed: int
    skipped: int
    percent: float
    temporal_url: str
    live: bool = Field(description="True when read from the running workflow, false when read from the database.")
    steps: list[StepProgress] = Field(
        default_factory=list, description="Every step of the run's flow; counts from the recorded deliveries"
    )
    winners: dict[str, str] = Field(default_factory=dict, description="A/B split step id -> the winning variant")


# --- Validation, reachability ---------------------------------------------------------------------------------------


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    list_ids: list[int] = Field(default_factory=list, max_length=MAX_LISTS)
    exclude_list_ids: list[int] = Field(default_factory=list, max_length=MAX_LISTS)
    exclude_filter: dict[str, Any] | None = None
    frequency_cap: FrequencyCap | None = Field(default=None, description="Count the leads already at this cap")


class ValidateIn(BaseModel):
    """What the wizard's review step checks (unknown keys, e.g. the basics, are ignored)."""

    model_config = ConfigDict(extra="ignore")

    flow: FlowDefinition
    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    list_ids: list[int] = Field(default_factory=list, max_length=MAX_LISTS)
    exclude_list_ids: list[int] = Field(default_factory=list, max_length=MAX_LISTS)
    exclude_filter: dict[str, Any] | None = None


class Problem(BaseModel):
    severity: Literal["error", "warning"]
    step_id: str | None = None
    field: str = Field(description='Where: "flow.steps[2].template_id", "schedule.at", "list_ids"...')
    message: str
    rule: str = Field(default="flow", description="flow, schedule, audience, or the template/brand rule")
    line: int | None = None
    column: int | None = None


class ChannelReach(BaseModel):
    reachable: int = Field(description="Leads that would get a message on this channel (not capped)")
    capped: int = Field(default=0, description="Reachable but already at the frequency cap")
    no_consent: int = 0
    suppressed: int = 0
    invalid_address: int = 0


class ReachabilityOut(BaseModel):
    total: int = Field(description="Leads in the audience")
    capped: int = Field(default=0, description="Leads of the audience at the frequency cap")
    channels: dict[ChannelName, ChannelReach]


class StepEstimate(BaseModel):
    step_id: str
    channel: ChannelName
    reachable: int = Field(description="Of the whole audience (steps after a branch or split reach fewer)")
    fallback_channel: ChannelName | None = None
    fallback_reachable: int = Field(default=0, description="Unreachable on the step's channel, reachable on fallback")


class ValidateOut(BaseModel):
    ok: bool = Field(description="No errors: the campaign can launch")
    problems: list[Problem]
    estimate: dict[ChannelName, int] = Field(description="Per channel, the audience reachable on it (not capped)")
    audience: ReachabilityOut | None = None
    steps: list[StepEstimate] = Field(default_factory=list)


# --- Launch, approval, schedule -------------------------------------------------------------------------------------


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000, description="Required: why (the author reads it)")


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime = Field(description="The new start time (with its UTC offset)")


class CalendarEntry(BaseModel):
    campaign_id: int
    name: str
    status: str
    start: datetime
    end: datetime | None = Field(default=None, description="When the run finished; null while it runs")
    schedule_mode: str
    channels: list[ChannelName] = Field(default_factory=list)
    can_reschedule: bool = Field(description="Scheduled or pending approval with mode 'at': drag to move")


class CampaignTestSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(
        min_length=1, max_length=10, description="Email addresses and phone numbers; each step sends to its kind"
    )
    lead_id: int | None = Field(
        default=None, gt=0, le=MAX_ID, description="Whose data fills the tokens; null: a sample lead"
    )


class StepTestResult(BaseModel):
    step_id: str
    channel: ChannelName
    template_id: int
    version: int
    fallback: bool = False
    workflow_id: str | None = None
    results: list[TestSendResultOut] = Field(default_factory=list)
    skipped: str | None = Field(default=None, description="Why nothing was sent for this step (no address of its kind)")


class CampaignTestSendOut(BaseModel):
    steps: list[StepTestResult]


class DryRunOut(DryRunResult):
    """The engine's dry run (CampaignDryRunWorkflow): per send step, who it would reach and why others are skipped."""

    workflow_id: str
