"""Messages captured locally, shown on the Outbox page: mail from the embedded SMTP sink, and the SMS, WhatsApp
and social messages Herald "sends" while those channels have no provider (test sends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, workspace_id_field


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int | None = workspace_id_field(nullable=True)
    received_at: datetime = created_at_field()
    channel: str = Field(default="email", sa_column=Column(String(16), nullable=False, server_default="email"))
    mail_from: str = Field(default="", max_length=998)
    rcpt_to: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    message_id: str = Field(default="", max_length=998, index=True)
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    raw: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
