"""Message templates (jinja2 source rendered per lead at send time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class Template(SQLModel, table=True):
    __tablename__ = "templates"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    channel: str = Field(default="email", max_length=16)
    subject: str = Field(default="", max_length=998)
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
