"""Request and response bodies of the HTTP API (kept apart from the SQLModel tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    template_id: int = Field(gt=0)
    template_version: int | None = Field(
        default=None, gt=0, description="The version the campaign sends (pinned); default: the current one."
    )
    list_id: int | None = Field(default=None, gt=0, description="Null sends to every lead.")

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class RunOut(BaseModel):
    id: int
    number: int
    workflow_id: str
    status: str
    total: int
    sent: int
    failed: int
    skipped: int
    percent: float
    started_at: datetime
    finished_at: datetime | None
    temporal_url: str


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str
    template_id: int
    template_name: str
    template_version: int | None = Field(description="Number of the pinned template version")
    list_id: int | None
    list_name: str | None
    created_at: datetime
    updated_at: datetime
    latest_run: RunOut | None = None


class CampaignDetail(CampaignOut):
    runs: list[RunOut] = Field(default_factory=list)


class ProgressOut(BaseModel):
    campaign_id: int
    run_id: int
    run_number: int
    workflow_id: str
    status: str
    paused: bool
    total: int
    sent: int
    failed: int
    skipped: int
    percent: float
    temporal_url: str
    live: bool = Field(description="True when read from the running workflow, false when read from the database.")


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
