"""Mail captured by the embedded SMTP sink, shown on the Outbox page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, workspace_id_field


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int | None = workspace_id_field(nullable=True)
    received_at: datetime = created_at_field()
    mail_from: str = Field(default="", max_length=998)
    rcpt_to: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    message_id: str = Field(default="", max_length=998, index=True)
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    raw: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
