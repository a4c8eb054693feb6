"""Diffusion lists (static membership for now; dynamic lists come with the filter engine)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, workspace_id_field


class LeadList(SQLModel, table=True):
    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_lists_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = created_at_field()


class ListMember(SQLModel, table=True):
    __tablename__ = "list_members"

    list_id: int = Field(sa_column=Column(Integer, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True))
    lead_id: int = Field(
        sa_column=Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    added_at: datetime = created_at_field()
