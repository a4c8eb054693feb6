"""Leads: the CRM contacts campaigns are sent to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, jsonb_field, updated_at_field, workspace_id_field


class Consent(StrEnum):
    granted = "granted"
    denied = "denied"
    unknown = "unknown"


class LeadStatus(StrEnum):
    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    proposal = "proposal"
    won = "won"
    lost = "lost"
    unsubscribed = "unsubscribed"


class Suppression(StrEnum):
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    complained = "complained"


CHANNELS = ("email", "sms", "whatsapp")
# Full-text search document; the GIN index is on this expression (no stored column keeps the rows narrow).
SEARCH_DOCUMENT = (
    "to_tsvector('simple', coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
    "coalesce(email, '') || ' ' || coalesce(company, ''))"
)


class Lead(SQLModel, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_workspace_email", "workspace_id", "email", unique=True),
        Index("ix_leads_workspace_phone", "workspace_id", "phone"),
        Index(
            "ix_leads_workspace_external_id",
            "workspace_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index("ix_leads_status", "workspace_id", "status"),
        # Skip-scannable composites (PostgreSQL 18): one index lookup per branch of the common segment filters.
        Index("ix_leads_status_country_score", "workspace_id", "status", "country", "score"),
        Index("ix_leads_consent_score", "workspace_id", "consent_email", "consent_sms", "consent_whatsapp", "score"),
        Index("ix_leads_created_at", "workspace_id", "created_at"),
        Index("ix_leads_score", "workspace_id", "score"),
        Index("ix_leads_country", "workspace_id", "country"),
        Index("ix_leads_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_leads_custom_fields",
            "custom_fields",
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        ),
        Index("ix_leads_search", text(SEARCH_DOCUMENT), postgresql_using="gin"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: str = Field(default="", max_length=200)
    last_name: str = Field(default="", max_length=200)
    status: str = Field(default=LeadStatus.new.value, max_length=32)
    timezone: str = Field(default="UTC", max_length=64)
    company: str = Field(default="", max_length=200)
    job_title: str = Field(default="", max_length=200)
    score: int = 0
    owner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    source: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    locale: str = Field(default="", max_length=16)
    country: str = Field(default="", max_length=2, description="ISO 3166-1 alpha-2, upper case")
    external_id: str | None = Field(default=None, max_length=200)
    custom_fields: dict[str, Any] = jsonb_field()
    consent_email: str = Field(default=Consent.unknown.value, max_length=16)
    consent_sms: str = Field(default=Consent.unknown.value, max_length=16)
    consent_whatsapp: str = Field(default=Consent.unknown.value, max_length=16)
    # Per channel: {"email": {"source": "...", "at": "...", "wording": "..."}} — proof of consent (GDPR).
    consent_details: dict[str, Any] = jsonb_field()
    suppressed_email: str | None = Field(default=None, max_length=16, description="unsubscribed, bounced, complained")
    suppressed_sms: str | None = Field(default=None, max_length=16)
    suppressed_whatsapp: str | None = Field(default=None, max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class LeadEvent(SQLModel, table=True):
    """The append-only timeline of a lead: created, field changed, status changed, tagged, added to a list..."""

    __tablename__ = "lead_events"
    __table_args__ = (
        Index("ix_lead_events_lead", "lead_id", "id"),
        Index("ix_lead_events_type", "workspace_id", "type"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    workspace_id: int = workspace_id_field()
    lead_id: int = Field(sa_column=Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False))
    type: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    actor: str = Field(default="", max_length=320)
    created_at: datetime = created_at_field()


class CustomFieldDefinition(SQLModel, table=True):
    """A typed custom field of a workspace; lead values are validated against it."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (Index("ix_custom_fields_key", "workspace_id", "key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    key: str = Field(max_length=64)
    label: str = Field(max_length=200)
    type: str = Field(max_length=16, description="text, number, date, boolean, choice")
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    created_at: datetime = created_at_field()


class LeadLastSent(SQLModel, table=True):
    """When each lead was last sent a message (any campaign), for the "received in the last N days" filter without
    a scan of deliveries. Triggers on deliveries keep it (migration 0009); a trigger on leads deletes a lead's row.

    Apart from `leads` because a broadcast writes it for every lead it reaches: as a column of `leads`, each mark
    rewrote the lead's row and its fifteen index entries (the full-text one included), the largest cost of a
    broadcast in the database. No foreign key either: its check locked each lead row the same way, and the lead's
    deliveries already guarantee the lead existed.
    """

    __tablename__ = "lead_last_sent"
    __table_args__ = (Index("ix_lead_last_sent_recent", "workspace_id", "last_sent_at"),)

    lead_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    workspace_id: int = Field(sa_column=Column(Integer, nullable=False))
    last_sent_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
