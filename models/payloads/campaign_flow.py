"""A campaign's flow definition and schedule: the wizard's output and the campaign workflow's input.

Only shapes are checked here (types, formats, ranges that need no context). The rules that need the whole tree or the
workspace (templates exist, engagement branches look back at an earlier send, A/B percents sum to 100...) are in
`domain.campaign_flow.validate_flow`, which names the step at fault. Everything is JSON: ids and settings, no lead data.
See docs/campaign-flows.md.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

STEP_ID_PATTERN = r"^[a-z0-9_-]{1,40}$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

Channel = Literal["email", "sms", "whatsapp"]
StepId = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN)]
HourMinute = Annotated[str, StringConstraints(pattern=HHMM_PATTERN)]
IsoDate = Annotated[str, StringConstraints(pattern=DATE_PATTERN)]
EngagementEvent = Literal["opened", "clicked", "not_opened", "not_clicked", "delivered", "failed"]
WinnerMetric = Literal["open_rate", "click_rate", "conversion_rate"]
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


def parse_hhmm(value: str) -> time:
    """'09:30' -> time(9, 30)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _check_date(value: str) -> str:
    date.fromisoformat(value)  # rejects 2026-02-30
    return value


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Duration(_Shape):
    """Elapsed time; a day is 24 hours (a wait is a durable timer, not a calendar rule)."""

    days: int = Field(default=0, ge=0, le=100_000)
    hours: int = Field(default=0, ge=0, le=1_000_000)
    minutes: int = Field(default=0, ge=0, le=10_000_000)

    def as_timedelta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


# --- Steps ------------------------------------------------------------------------------------------------------------


class Fallback(_Shape):
    """Tried when the primary channel is impossible for a lead or fails permanently."""

    channel: Channel
    template_id: int = Field(ge=1)
    template_version: int | None = Field(default=None, ge=1)


class SendStep(_Shape):
    id: StepId
    type: Literal["send"] = "send"
    channel: Channel
    template_id: int = Field(ge=1)
    template_version: int | None = Field(default=None, ge=1, description="None: the version current at launch")
    fallback: Fallback | None = None


class WaitUntil(_Shape):
    date: IsoDate
    time: HourMinute
    timezone_mode: Literal["workspace", "lead"] = "workspace"

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        return _check_date(value)

    def local_date(self) -> date:
        return date.fromisoformat(self.date)

    def local_time(self) -> time:
        return parse_hhmm(self.time)

    def wall_clock(self) -> datetime:
        """The naive local date-time, for comparing two waits of the same timezone mode."""
        return datetime.combine(self.local_date(), self.local_time())


class WaitStep(_Shape):
    """Either a duration or an until (exactly one)."""

    id: StepId
    type: Literal["wait"] = "wait"
    duration: Duration | None = None
    until: WaitUntil | None = None
    respect_quiet_hours: bool = True

    @model_validator(mode="after")
    def _exactly_one(self) -> WaitStep:
        if (self.duration is None) == (self.until is None):
            raise ValueError("a wait needs exactly one of 'duration' and 'until'")
        return self


class EngagementCondition(_Shape):
    """True when the lead's delivery of an earlier send step had (or did not have) this event."""

    kind: Literal["engagement"] = "engagement"
    step_id: StepId
    event: EngagementEvent


class FieldCondition(_Shape):
    """A lead filter (react-querybuilder JSON, checked by domain.filters) evaluated when the lead reaches the branch."""

    kind: Literal["filter"] = "filter"
    filter: dict[str, Any]


Condition = Annotated[EngagementCondition | FieldCondition, Field(discriminator="kind")]


class BranchStep(_Shape):
    """Leads matching the condition continue with `yes`, the others with `no`; both then continue after the branch."""

    id: StepId
    type: Literal["branch"] = "branch"
    condition: Condition
    yes: list[Step] = Field(default_factory=list)
    no: list[Step] = Field(default_factory=list)


class Variant(_Shape):
    id: StepId
    name: str = Field(min_length=1, max_length=80)
    percent: int = Field(ge=0, le=100)
    steps: list[Step] = Field(default_factory=list)


class Winner(_Shape):
    """Automatic winner: `test_percent` of the leads are split between the variants; after `after`, the variant with
    the best `metric` is sent to the rest."""

    metric: WinnerMetric
    after: Duration
    test_percent: int = Field(ge=5, le=50)


class SplitStep(_Shape):
    id: StepId
    type: Literal["ab_split"] = "ab_split"
    variants: list[Variant] = Field(max_length=16)
    winner: Winner | None = None


class ExitStep(_Shape):
    """The lead leaves the campaign here."""

    id: StepId
    type: Literal["exit"] = "exit"


Step = Annotated[SendStep | WaitStep | BranchStep | SplitStep | ExitStep, Field(discriminator="type")]


class FlowDefinition(_Shape):
    steps: list[Step] = Field(default_factory=list)
    exit_on_statuses: list[str] = Field(
        default_factory=list, description="A lead whose status becomes one of these leaves the campaign (goal reached)"
    )


BranchStep.model_rebuild()
Variant.model_rebuild()
FlowDefinition.model_rebuild()


# --- Schedule ---------------------------------------------------------------------------------------------------------


class FrequencyCap(_Shape):
    """At most `max_messages` marketing messages per lead in any rolling `days`, across all campaigns."""

    max_messages: int = Field(ge=1, le=1000)
    days: int = Field(default=7, ge=1, le=365)


class QuietHours(_Shape):
    """Local hours in which nothing is sent, [start, end); start > end crosses midnight (22:00-08:00)."""

    start: HourMinute
    end: HourMinute

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")
        return self


class CampaignSchedule(_Shape):
    """When the first step runs and the sending rules every send obeys.

    - now: at launch;
    - at: an aware date-time (the wizard reads it in the workspace's timezone);
    - local_time: on `date` at `local_time` in each lead's own timezone (timezone buckets).
    """

    mode: Literal["now", "at", "local_time"] = "now"
    at: AwareDatetime | None = None
    local_time: HourMinute | None = None
    date: IsoDate | None = None
    throttle_per_minute: dict[Channel, Annotated[int, Field(ge=1, le=1_000_000)]] | None = None
    frequency_cap: FrequencyCap | None = None
    quiet_hours: QuietHours | None = None
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: list(ALL_WEEKDAYS), min_length=1, description="Allowed local weekdays, Monday = 0"
    )

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        return None if value is None else _check_date(value)

    @field_validator("weekdays")
    @classmethod
    def _unique_sorted(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _mode_fields(self) -> CampaignSchedule:
        wanted = {"now": set(), "at": {"at"}, "local_time": {"local_time", "date"}}[self.mode]
        for name in ("at", "local_time", "date"):
            given = getattr(self, name) is not None
            if name in wanted and not given:
                raise ValueError(f"mode '{self.mode}' needs '{name}'")
            if name not in wanted and given:
                raise ValueError(f"'{name}' is only for mode {'at' if name == 'at' else 'local_time'}")
        return self
