"""Campaigns, their runs (one Temporal workflow each) and the audience snapshot of a run.

A campaign's `flow` is a FlowDefinition (models/payloads/campaign_flow.py) as JSON; NULL is the legacy single send
step made of `template_id` / `template_version_id`. At launch the flow, every template version resolved to a number,
is copied into the run (`campaign_runs.flow`): what a run sends never changes afterwards.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Numeric, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from models import automations as _automations  # noqa: F401  (registers the tables our foreign keys name)
from models.base import created_at_field, optional_timestamp_field, updated_at_field, workspace_id_field


class CampaignStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"  # launched; the run waits for its start time
    pending_approval = "pending_approval"  # launched; the run waits for a manager's decision
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"
    rejected = "rejected"  # a manager refused the launch; the campaign can be edited and launched again


# A run in one of these holds the campaign: no second launch, pause/resume/cancel apply.
ACTIVE_STATUSES = (
    CampaignStatus.running.value,
    CampaignStatus.paused.value,
    CampaignStatus.scheduled.value,
    CampaignStatus.pending_approval.value,
)
# A campaign in one of these can be edited (PUT).
EDITABLE_STATUSES = (CampaignStatus.draft.value, CampaignStatus.scheduled.value, CampaignStatus.rejected.value)


class CampaignObjective(StrEnum):
    awareness = "awareness"
    lead_generation = "lead_generation"
    conversion = "conversion"
    retention = "retention"


class GoalMetric(StrEnum):
    open_rate = "open_rate"
    click_rate = "click_rate"
    conversions = "conversions"
    none = "none"


class ApprovalStatus(StrEnum):
    none = "none"  # never submitted (or approval not required)
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


DEFAULT_SCHEDULE: dict[str, Any] = {"mode": "now"}
# What sent email of the campaign tracks (docs/tracking.md): the open pixel, click redirects, UTM parameters added to
# its links ({"source", "medium", "campaign"}, or null for none).
DEFAULT_TRACKING: dict[str, Any] = {"opens": True, "clicks": True, "utm": None}


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_workspace_scheduled_at", "workspace_id", "scheduled_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    status: str = Field(default=CampaignStatus.draft.value, max_length=16, index=True)
    objective: str = Field(
        default=CampaignObjective.awareness.value, max_length=20, sa_column_kwargs={"server_default": "awareness"}
    )
    goal_metric: str = Field(default=GoalMetric.none.value, max_length=16, sa_column_kwargs={"server_default": "none"})
    goal_target: float | None = None
    owner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    cost: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(12, 2), nullable=False, server_default="0"))
    # Legacy single-step campaigns (flow NULL) send this template; flow campaigns leave both NULL.
    template_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("templates.id"), nullable=True))
    # The template version the legacy step sends, pinned at creation: later edits of the template never change it.
    template_version_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("template_versions.id"), nullable=True)
    )
    # Legacy single list; kept equal to list_ids[0] when there is exactly one list, NULL otherwise.
    list_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("lists.id", ondelete="SET NULL"), nullable=True)
    )
    # Audience: the union of these lists (empty: every lead of the workspace) minus exclude_list_ids and the leads
    # matching exclude_filter (react-querybuilder JSON, domain.filters).
    list_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    exclude_list_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    exclude_filter: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    flow: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    schedule: dict[str, Any] = Field(
        default_factory=lambda: dict(DEFAULT_SCHEDULE),
        sa_column=Column(JSONB, nullable=False, server_default=json.dumps(DEFAULT_SCHEDULE)),
    )
    tracking: dict[str, Any] = Field(
        default_factory=lambda: dict(DEFAULT_TRACKING),
        sa_column=Column(JSONB, nullable=False, server_default=json.dumps(DEFAULT_TRACKING)),
    )
    # The schedule's first fire time (mode at: `at`; local_time: the earliest local instant), for the calendar.
    scheduled_at: datetime | None = optional_timestamp_field()
    approval_status: str = Field(
        default=ApprovalStatus.none.value, max_length=16, sa_column_kwargs={"server_default": "none"}
    )
    approved_by_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    approved_at: datetime | None = optional_timestamp_field()
    approval_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CampaignRun(SQLModel, table=True):
    """A campaign's run, or (campaign_id NULL, automation_id set) the pseudo run that holds the deliveries of an
    automation's journeys for one entry number (`number`: a lead's first, second... entry): its messages then have
    a (run, step, lead) key, Message-ID, unsubscribe link and tracking like every campaign message (migration 0013).
    """

    __tablename__ = "campaign_runs"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_campaign_runs_number"),
        UniqueConstraint("automation_id", "number", name="uq_campaign_runs_automation_entry"),
        CheckConstraint("(campaign_id IS NULL) <> (automation_id IS NULL)", name="ck_campaign_runs_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    campaign_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    automation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("automations.id", ondelete="CASCADE"), nullable=True)
    )
    number: int
    workflow_id: str = Field(max_length=200, unique=True)
    status: str = Field(default=CampaignStatus.running.value, max_length=16)
    total: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    # The FlowDefinition this run executes, every template_version resolved to a number at launch (NULL: a legacy
    # run of a flow-less campaign). The workflow input carries only the run id; activities read this.
    flow: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # The CampaignSchedule at launch (NULL for runs from before flows); `reschedule` moves the live workflow's timer
    # and this copy's `at` together.
    schedule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    started_at: datetime = created_at_field()
    finished_at: datetime | None = optional_timestamp_field()


class RunAudience(SQLModel, table=True):
    """The leads a run targets, frozen at launch so later list edits do not change a running campaign."""

    __tablename__ = "campaign_run_audience"
    __table_args__ = (Index("ix_campaign_run_audience_track", "run_id", "track", "lead_id"),)

    run_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign_runs.id", ondelete="CASCADE"), primary_key=True))
    lead_id: int = Field(sa_column=Column(Integer, primary_key=True))
    track: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    variant: str | None = Field(default=None, max_length=40)
    # Why the lead left the flow early (e.g. "goal:won"); NULL while it is in the flow or once it finished normally.
    exited: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
