"""Workspaces (tenants), users, memberships with a role, login sessions and API keys."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_timestamp_field

DEFAULT_LEAD_STATUSES = ["new", "contacted", "qualified", "proposal", "won", "lost"]


class Workspace(SQLModel, table=True):
    __tablename__ = "workspaces"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64, unique=True)
    requires_approval: bool = False
    lead_statuses: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LEAD_STATUSES),
        sa_column=Column(JSONB, nullable=False, server_default=json.dumps(DEFAULT_LEAD_STATUSES)),
    )
    default_region: str = Field(default="US", max_length=2, description="Region for phone numbers without +country")
    # IANA name; campaign schedules "at a date/time" and waits in the workspace's timezone read it.
    timezone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    created_at: datetime = created_at_field()


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=500)
    is_active: bool = True
    created_at: datetime = created_at_field()
    password_changed_at: datetime | None = optional_timestamp_field()


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"

    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    role: str = Field(max_length=16)
    created_at: datetime = created_at_field()


class LoginSession(SQLModel, table=True):
    """A browser session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "login_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    )
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = optional_timestamp_field()


class ApiKey(SQLModel, table=True):
    """A Bearer key for integrations: `hk_<prefix>_<secret>`; only the SHA-256 of the whole key is kept."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    role: str = Field(max_length=16)
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = optional_timestamp_field()
    revoked_at: datetime | None = optional_timestamp_field()


class LoginFailure(SQLModel, table=True):
    """Failed logins, counted per email and per IP over a sliding window for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_at", "email", "at"), Index("ix_login_failures_ip_at", "ip", "at"))

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    ip: str = Field(max_length=64)
    at: datetime = created_at_field()
