"""Shared column helpers for SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()),
    )


def optional_timestamp_field() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def jsonb_field(default_factory: Any = dict) -> Any:
    return Field(
        default_factory=default_factory,
        sa_column=Column(JSONB, nullable=False, server_default="{}"),
    )


def workspace_id_field(nullable: bool = False) -> Any:
    """The tenant column every business table carries; API queries are scoped by it in api/scoping.py."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=nullable, index=True),
    )
