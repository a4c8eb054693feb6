"""Message templates per channel, their immutable versions, folders, reusable content blocks and brand guidelines.

A template row carries the *current* content (a copy of its newest version) so the library lists and searches
without a join; every save writes a new `TemplateVersion`, and campaigns pin the version they send.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models import media as _media  # noqa: F401  (registers media_assets, which brand guidelines refer to)
from models.base import created_at_field, updated_at_field, workspace_id_field


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    whatsapp = "whatsapp"
    social = "social"


class BlockKind(StrEnum):
    header = "header"
    footer = "footer"
    signature = "signature"
    other = "other"


# The fields one version copies; the template row mirrors the newest version's values.
CONTENT_FIELDS = (
    "subject",
    "preheader",
    "body_html",
    "body_text",
    "media_ids",
    "whatsapp_template",
    "social_networks",
)


def _text_column() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


def _user_fk() -> Any:
    return Field(default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True))


class TemplateFolder(SQLModel, table=True):
    """A flat folder of the template library; deleting it leaves its templates folder-less."""

    __tablename__ = "template_folders"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_template_folders_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class Template(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_templates_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    channel: str = Field(default=Channel.email.value, max_length=16)
    folder_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("template_folders.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    description: str = Field(default="", max_length=1000)
    subject: str = Field(default="", max_length=998)
    preheader: str = Field(default="", max_length=250)
    body_html: str = _text_column()
    body_text: str = _text_column()
    media_ids: list[int] = _json_list()
    whatsapp_template: str = Field(default="", max_length=512)
    social_networks: list[str] = _json_list()
    version: int = Field(default=1, description="Number of the newest version")
    updated_by_id: int | None = _user_fk()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class TemplateVersion(SQLModel, table=True):
    """One immutable copy of a template's content: never updated, never deleted while its template lives."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number", name="uq_template_versions_number"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    template_id: int = Field(
        sa_column=Column(Integer, ForeignKey("templates.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    number: int
    subject: str = Field(default="", max_length=998)
    preheader: str = Field(default="", max_length=250)
    body_html: str = _text_column()
    body_text: str = _text_column()
    media_ids: list[int] = _json_list()
    whatsapp_template: str = Field(default="", max_length=512)
    social_networks: list[str] = _json_list()
    note: str = Field(default="", max_length=500)
    author_id: int | None = _user_fk()
    created_at: datetime = created_at_field()


class ContentBlock(SQLModel, table=True):
    """A reusable piece (header, footer, signature) the editor inserts into templates by copy."""

    __tablename__ = "content_blocks"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_content_blocks_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    kind: str = Field(default=BlockKind.other.value, max_length=16)
    body_html: str = _text_column()
    body_text: str = _text_column()
    updated_by_id: int | None = _user_fk()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class BrandGuidelines(SQLModel, table=True):
    """The workspace's brand rules (one row per workspace; none means no rules are enforced)."""

    __tablename__ = "brand_guidelines"

    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    )
    colors: list[str] = _json_list()
    fonts: list[str] = _json_list()
    logo_media_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("media_assets.id", ondelete="SET NULL"), nullable=True)
    )
    require_footer: bool = True
    postal_address: str = Field(default="", max_length=500)
    banned_phrases: list[str] = _json_list()
    link_domains: list[str] = _json_list()
    max_image_bytes: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated_by_id: int | None = _user_fk()
    updated_at: datetime = updated_at_field()
