"""Deliveries: one row per lead × run × send step (× fallback), the idempotency guard of every send.

`step` is the send step's index in `domain.campaign_flow.iter_steps(flow)` order (0-based over all steps of the run's
flow; 0 for a legacy single-step run). A fallback send is its own delivery (`fallback` true) with the same step.
Test sends never write deliveries; every row is a marketing message unless `marketing` is false.

A journey's message (#10) is a delivery of its automation's pseudo run for the lead's entry (`campaign_runs` with
`automation_id` set): `step` is the journey's step number (`journey_steps.seq`, so a send node reached twice in a
loop sends twice, a retried send once), `journey_id` and `node_id` say which journey and node sent it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlmodel import Field, SQLModel

from models import automations as _automations  # noqa: F401  (registers the tables our foreign keys name)
from models.base import created_at_field, optional_timestamp_field, updated_at_field, workspace_id_field


class SkipReason(StrEnum):
    """Why a lead got no message at a step (deliveries.skip_reason when status is skipped)."""

    no_consent = "no_consent"
    suppressed = "suppressed"
    invalid_address = "invalid_address"
    capped = "capped"  # frequency cap reached
    exited = "exited"  # left the flow (goal reached) before this step
    no_template = "no_template"


class DeliveryStatus(StrEnum):
    sending = "sending"  # claimed by a send attempt; outcome not yet recorded
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class Delivery(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "step", "lead_id", "fallback", name="uq_deliveries_idempotency"),
        Index("ix_deliveries_lead", "lead_id"),
        Index("ix_deliveries_journey", "journey_id", "node_id", postgresql_where=text("journey_id IS NOT NULL")),
        # No index on what a mark changes (status, sent_at, ...) and room left on each page: marking a delivery
        # sent can be a heap-only update, writing no index entry (migration 0009).
        {"postgresql_with": {"fillfactor": 80}},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    workspace_id: int = workspace_id_field()
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("campaign_runs.id", ondelete="CASCADE"), nullable=False))
    step: int = 0
    lead_id: int = Field(sa_column=Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False))
    fallback: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    channel: str = Field(default="email", max_length=16)
    status: str = Field(default=DeliveryStatus.sending.value, max_length=16)
    variant: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    skip_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    marketing: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    provider_message_id: str | None = Field(default=None, max_length=998)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attempts: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    sent_at: datetime | None = optional_timestamp_field()
    journey_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("journeys.id", ondelete="CASCADE"), nullable=True)
    )
    node_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Filled by tracking (opens, clicks); the filter engine's engagement conditions read them.
    opened_at: datetime | None = optional_timestamp_field()
    clicked_at: datetime | None = optional_timestamp_field()
