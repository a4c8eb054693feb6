"""Shared column helpers for SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, func
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
