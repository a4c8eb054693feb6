"""Shapes of the scheduled reports API (/api/reports): definitions, their runs, and the options to build one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.report_definition import MAX_CAMPAIGNS, MAX_RECIPIENTS
from domain.report_metrics import DEFAULT_METRICS
from domain.report_schedule import MAX_DAY_OF_MONTH, Cadence, Period, Weekday

SELECTION = "Report on these campaigns (ids), or leave empty and give `tag`."
TAG = "Report on every campaign carrying this tag when the report runs (instead of campaign_ids)."
METRICS = "Metric keys from GET /api/reports/options, in the order of the report's columns."
PERIOD = (
    "Whole local days before the run: last_day (yesterday), last_7_days, last_30_days, previous_week (Monday to "
    "Sunday), previous_month (the calendar month)."
)
CADENCE = "daily, weekly (on `weekday`) or monthly (on `day_of_month`), at `hour`:`minute` in the workspace's timezone."


class ReportDefinitionIn(BaseModel):
    """A new scheduled report. Give `campaign_ids` or `tag` (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    campaign_ids: list[int] = Field(default_factory=list, max_length=MAX_CAMPAIGNS, description=SELECTION)
    tag: str | None = Field(default=None, max_length=50, description=TAG)
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS), min_length=1, description=METRICS)
    period: Period = Field(description=PERIOD)
    cadence: Cadence = Field(description=CADENCE)
    hour: int = Field(default=8, ge=0, le=23, description="Local hour the report runs")
    minute: int = Field(default=0, ge=0, le=59)
    weekday: Weekday | None = Field(default=None, description="Weekly reports only (required for them)")
    day_of_month: int | None = Field(
        default=None, ge=1, le=MAX_DAY_OF_MONTH, description="Monthly reports only (required for them); 1-28"
    )
    recipients: list[str] = Field(
        min_length=1, max_length=MAX_RECIPIENTS, description="Email addresses the files are mailed to"
    )
    enabled: bool = Field(default=True, description="False: the schedule is paused (a run can still be started)")


class ReportDefinitionPatch(BaseModel):
    """Changes to a scheduled report: only the fields given change; the result must be valid as a whole. Setting
    `campaign_ids` to a non-empty list clears `tag` and giving `tag` clears `campaign_ids`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    campaign_ids: list[int] | None = Field(default=None, max_length=MAX_CAMPAIGNS, description=SELECTION)
    tag: str | None = Field(default=None, max_length=50, description=TAG)
    metrics: list[str] | None = Field(default=None, min_length=1, description=METRICS)
    period: Period | None = Field(default=None, description=PERIOD)
    cadence: Cadence | None = Field(default=None, description=CADENCE)
    hour: int | None = Field(default=None, ge=0, le=23)
    minute: int | None = Field(default=None, ge=0, le=59)
    weekday: Weekday | None = None
    day_of_month: int | None = Field(default=None, ge=1, le=MAX_DAY_OF_MONTH)
    recipients: list[str] | None = Field(default=None, min_length=1, max_length=MAX_RECIPIENTS)
    enabled: bool | None = Field(default=None, description="False pauses the schedule, true resumes it")


class ReportRunOut(BaseModel):
    id: int
    definition_id: int
    workflow_id: str = Field(description="ReportWorkflow's id in the Temporal UI")
    trigger: Literal["schedule", "manual"]
    status: Literal["queued", "running", "ready", "failed"]
    run_at: datetime = Field(description="The time reported on (the scheduled time, or when it was started by hand)")
    period_start: datetime | None = Field(description="Start of the period reported on (inclusive)")
    period_end: datetime | None = Field(description="End of the period reported on (exclusive)")
    first_day: date | None = Field(description="First local day of the period")
    last_day: date | None = Field(description="Last local day of the period")
    timezone: str | None
    metrics: list[str] = Field(description="The metrics the run reports, in column order")
    totals: dict[str, float | None] = Field(
        description="Each metric over all the campaigns (null: nothing to measure); empty until the files exist"
    )
    campaign_count: int | None = Field(description="Campaigns listed in the files")
    recipients: list[str]
    emailed_to: list[str] = Field(description="Recipients whose message the mail relay accepted")
    email_failures: dict[str, str] = Field(description="Recipient → why the relay refused it for good")
    error: str | None = Field(description="Why the run failed")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    csv_url: str | None = Field(description="Download of the CSV, once written")
    html_url: str | None = Field(description="Download of the HTML summary, once written (?disposition=inline to view)")


class ReportDefinitionOut(BaseModel):
    id: int
    name: str
    campaign_ids: list[int]
    tag: str | None
    metrics: list[str]
    period: str
    cadence: str
    hour: int
    minute: int
    weekday: str | None
    day_of_month: int | None
    timezone: str = Field(description="The workspace's timezone, in which the schedule fires and periods are cut")
    recipients: list[str]
    enabled: bool
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    schedule_id: str = Field(description="The Temporal Schedule's id")
    next_run_at: datetime | None = Field(description="When the schedule fires next (null while paused)")
    last_run: ReportRunOut | None = Field(description="The latest run, scheduled or started by hand")


class MetricOption(BaseModel):
    key: str
    label: str
    kind: Literal["count", "rate", "money"] = Field(description="rate: a fraction from 0 to 1 in `totals`")
    description: str
    default: bool = Field(description="Chosen when a new report names no metrics")


class Choice(BaseModel):
    key: str
    label: str


class ReportOptionsOut(BaseModel):
    metrics: list[MetricOption]
    periods: list[Choice]
    cadences: list[str]
    weekdays: list[str]
    max_day_of_month: int
    max_recipients: int
    max_campaigns: int
    campaign_tags: list[str] = Field(description="Tags the workspace's campaigns carry now")
    timezone: str = Field(description="The workspace's timezone")
