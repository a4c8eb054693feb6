"""Scheduled reports: a definition (which campaigns, which metrics, which period, when, to whom) and its runs.

A definition has one Temporal Schedule (`report-<id>`, core/report_schedules.py) that starts ReportWorkflow; each
run, scheduled or started by hand, is one `report_runs` row with the CSV and the HTML summary it stored. A run keeps
a copy of the definition as it was (`config`, `recipients`), so retries and the history show what was reported.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, jsonb_field, optional_timestamp_field, updated_at_field, workspace_id_field


class ReportRunStatus(StrEnum):
    queued = "queued"  # recorded by the API ("run now"), the workflow not yet started on it
    running = "running"
    ready = "ready"  # files stored and mailed (email_failures lists recipients refused for good)
    failed = "failed"


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


class ReportDefinition(SQLModel, table=True):
    __tablename__ = "report_definitions"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_report_definitions_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    # What is reported: these campaigns, or (campaign_ids empty) every campaign carrying `tag` when the report runs.
    campaign_ids: list[int] = _json_list()
    tag: str | None = Field(default=None, max_length=50)
    metrics: list[str] = _json_list()  # keys of domain.report_metrics.CATALOGUE, in column order
    period: str = Field(max_length=20)  # domain.report_schedule.PERIODS
    cadence: str = Field(max_length=10)  # daily, weekly, monthly
    hour: int = 8
    minute: int = 0
    weekday: str | None = Field(default=None, max_length=10, description="monday..sunday (weekly reports)")
    day_of_month: int | None = Field(default=None, description="1-28 (monthly reports)")
    # The workspace's timezone when the schedule was last written: the schedule fires and periods are cut in it.
    timezone: str = Field(default="UTC", max_length=64)
    recipients: list[str] = _json_list()
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ReportRun(SQLModel, table=True):
    __tablename__ = "report_runs"
    __table_args__ = (Index("ix_report_runs_definition", "definition_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    definition_id: int = Field(
        sa_column=Column(Integer, ForeignKey("report_definitions.id", ondelete="CASCADE"), nullable=False)
    )
    workflow_id: str = Field(max_length=200, unique=True)
    trigger: str = Field(default="schedule", max_length=16, description="schedule or manual")
    status: str = Field(default=ReportRunStatus.queued.value, max_length=16)
    run_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))  # the time reported on
    period_start: datetime | None = optional_timestamp_field()
    period_end: datetime | None = optional_timestamp_field()
    config: dict[str, Any] = jsonb_field()
    recipients: list[str] = _json_list()
    csv_key: str | None = Field(default=None, max_length=512)
    html_key: str | None = Field(default=None, max_length=512)
    # The chosen metrics over all the campaigns (metric key → value, null when unmeasurable) and how many campaigns
    # the files list, set with the files.
    totals: dict[str, float | None] = jsonb_field()
    campaign_count: int | None = None
    emailed_to: list[str] = _json_list()
    email_failures: dict[str, str] = jsonb_field()
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    started_at: datetime | None = optional_timestamp_field()
    finished_at: datetime | None = optional_timestamp_field()
