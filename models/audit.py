"""The audit log: append-only (a trigger refuses UPDATE and DELETE), written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_workspace_at", "workspace_id", "created_at"),
        Index("ix_audit_entity", "workspace_id", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    workspace_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("workspaces.id"), nullable=True)
    )
    user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    api_key_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    )
    actor: str = Field(default="", max_length=320, description="Email of the user, or the API key's name.")
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    request_id: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = created_at_field()
