"""Request and response bodies of the HTTP API (kept apart from the SQLModel tables); the campaign bodies are in
api/schemas_campaigns.py."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class OutboxSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    channel: str = Field(description="email, or sms / whatsapp / social for test sends kept locally")
    mail_from: str
    rcpt_to: list[str]
    subject: str
    message_id: str


class OutboxDetail(OutboxSummary):
    body_text: str
    body_html: str


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: ComponentHealth
    temporal: ComponentHealth


class AppConfigOut(BaseModel):
    version: str
    temporal_ui_url: str
    temporal_namespace: str
    smtp_sink: bool
