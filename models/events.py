"""Engagement events: one row per thing that happened to a sent message (open, click, unsubscribe, bounce, ...).

Append-only (migration 0010): a trigger refuses UPDATE and DELETE, except what a foreign key does on its own when a
parent goes (deleting a workspace deletes its events; deleting a delivery, e.g. with its run, sets `delivery_id`
NULL and nothing else) and the erasure of a deleted lead's events (a trigger on leads). The event keeps its lead,
campaign, run, step, variant and channel as plain values, so reports still count it after the delivery is gone.
docs/tracking.md describes the types and the columns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class EventType(StrEnum):
    open = "open"
    click = "click"
    unsubscribe = "unsubscribe"
    bounce = "bounce"
    complaint = "complaint"
    conversion = "conversion"


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        # The report's rollups fold a workspace's events by id and read the tail above (migration 0012).
        Index("ix_events_workspace_id", "workspace_id", "id"),
        Index("ix_events_lead_at", "lead_id", "occurred_at"),
        Index("ix_events_workspace_at", "workspace_id", "occurred_at"),
        # The ON DELETE SET NULL of a deleted delivery looks its events up here (no index: a scan per delivery).
        Index("ix_events_delivery", "delivery_id", postgresql_where=text("delivery_id IS NOT NULL")),
        # Provider webhooks (bounces, complaints) may arrive twice: their id goes here and the second insert is refused.
        Index(
            "ux_events_dedupe",
            "workspace_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    )
    delivery_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("deliveries.id", ondelete="SET NULL"), nullable=True)
    )
    lead_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    campaign_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    run_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    step: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    variant: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    type: str = Field(sa_column=Column(Text, nullable=False))
    machine: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    occurred_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    # `metadata` is taken on SQLModel classes (the table registry): the column keeps its name, the attribute is `meta`.
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSONB, nullable=False, server_default="{}")
    )
    dedupe_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class LeadEventOutbox(SQLModel, table=True):
    """A `lead_events` row (models/leads.py) that may start or reach journeys, not yet dispatched: written by a
    trigger on lead_events in the inserting transaction, deleted once dispatched (core/journey_intake.py
    `mark_dispatched`); TriggerSweepWorkflow re-dispatches what is left (migration 0015). No foreign key: the sweep
    drops the rows of deleted leads."""

    __tablename__ = "lead_event_outbox"

    lead_event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    workspace_id: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class TrackingOutbox(SQLModel, table=True):
    """An open or click that a journey may wait for (or that may start one: `campaign_interaction`), not yet
    delivered: written with the event by the tracking batch statement, deleted once delivered (core/tracked_events.py
    `settle_tracked`); TriggerSweepWorkflow delivers what is left (migration 0017). No foreign key: the sweep drops
    the rows of deleted deliveries."""

    __tablename__ = "tracking_outbox"
    __table_args__ = (UniqueConstraint("delivery_id", "type", "machine", name="uq_tracking_outbox_event"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    delivery_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))  # open | click
    machine: bool = Field(sa_column=Column(Boolean, nullable=False))
    workspace_id: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
