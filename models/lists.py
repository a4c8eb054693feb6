"""Diffusion lists (static membership for now; dynamic lists come with the filter engine)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, workspace_id_field


class ListKind(StrEnum):
    static = "static"  # explicit membership
    dynamic = "dynamic"  # a filter, evaluated when used
    hybrid = "hybrid"  # a filter, plus always-include and always-exclude members


class LeadList(SQLModel, table=True):
    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_lists_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    kind: str = Field(default=ListKind.static.value, max_length=16)
    filter: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True), description="The filter tree of a dynamic or hybrid list."
    )
    created_at: datetime = created_at_field()


class ListMember(SQLModel, table=True):
    __tablename__ = "list_members"

    list_id: int = Field(sa_column=Column(Integer, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True))
    lead_id: int = Field(
        sa_column=Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    mode: str = Field(
        default="include", max_length=8, description="include (always in) or exclude (never in, hybrid lists)"
    )
    added_at: datetime = created_at_field()


class ListSnapshot(SQLModel, table=True):
    """A list's size and reachability on one day, for the statistics over time."""

    __tablename__ = "list_snapshots"
    __table_args__ = (UniqueConstraint("list_id", "day", name="uq_list_snapshots_day"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    list_id: int = Field(sa_column=Column(Integer, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False))
    day: date
    size: int = 0
    reachable: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
