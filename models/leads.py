"""Leads: the CRM contacts campaigns are sent to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
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


class Lead(SQLModel, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_workspace_email", "workspace_id", "email", unique=True),
        Index("ix_leads_status", "status"),
        Index("ix_leads_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: str = Field(default="", max_length=200)
    last_name: str = Field(default="", max_length=200)
    status: str = Field(default=LeadStatus.new.value, max_length=32)
    timezone: str = Field(default="UTC", max_length=64)
    custom_fields: dict[str, Any] = jsonb_field()
    consent_email: str = Field(default=Consent.unknown.value, max_length=16)
    consent_sms: str = Field(default=Consent.unknown.value, max_length=16)
    consent_whatsapp: str = Field(default=Consent.unknown.value, max_length=16)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
