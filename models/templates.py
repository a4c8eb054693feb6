"""Message templates (jinja2 source rendered per lead at send time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field, workspace_id_field


class Template(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_templates_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    channel: str = Field(default="email", max_length=16)
    subject: str = Field(default="", max_length=998)
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
