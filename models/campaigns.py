"""Campaigns, their runs (one Temporal workflow each) and the audience snapshot of a run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_timestamp_field, updated_at_field, workspace_id_field


class CampaignStatus(StrEnum):
    draft = "draft"
    running = "running"
    paused = "paused"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"


ACTIVE_STATUSES = (CampaignStatus.running.value, CampaignStatus.paused.value)


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    status: str = Field(default=CampaignStatus.draft.value, max_length=16, index=True)
    template_id: int = Field(sa_column=Column(Integer, ForeignKey("templates.id"), nullable=False))
    # The template version the campaign sends, pinned at creation: later edits of the template never change it.
    template_version_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("template_versions.id"), nullable=True)
    )
    list_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("lists.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CampaignRun(SQLModel, table=True):
    __tablename__ = "campaign_runs"
    __table_args__ = (UniqueConstraint("campaign_id", "number", name="uq_campaign_runs_number"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    number: int
    workflow_id: str = Field(max_length=200, unique=True)
    status: str = Field(default=CampaignStatus.running.value, max_length=16)
    total: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    started_at: datetime = created_at_field()
    finished_at: datetime | None = optional_timestamp_field()


class RunAudience(SQLModel, table=True):
    """The leads a run targets, frozen at launch so later list edits do not change a running campaign."""

    __tablename__ = "campaign_run_audience"

    run_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign_runs.id", ondelete="CASCADE"), primary_key=True))
    lead_id: int = Field(sa_column=Column(Integer, primary_key=True))
