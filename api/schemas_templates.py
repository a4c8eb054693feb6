"""Request and response bodies of the template library: templates, versions, previews, test sends, folders,
content blocks and brand guidelines."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ChannelName = Literal["email", "sms", "whatsapp", "social"]
NetworkName = Literal["x", "linkedin", "facebook"]
BlockKindName = Literal["header", "footer", "signature", "other"]
MAX_BODY = 500_000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class TemplateContent(BaseModel):
    """The fields one version holds; which ones a channel uses is in docs/templates.md."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(default="", max_length=998, description="Email only")
    preheader: str = Field(default="", max_length=250, description="Email only: the inbox preview line")
    body_html: str = Field(default="", max_length=MAX_BODY, description="Email only: the rich-text body")
    body_text: str = Field(
        default="",
        max_length=MAX_BODY,
        description="Email: explicit plain-text part (empty: generated from the HTML); other channels: the message",
    )
    media_ids: list[int] = Field(default_factory=list, max_length=10, description="WhatsApp (1) and social (4)")
    whatsapp_template: str = Field(default="", max_length=512, description="Approved WhatsApp template name")
    social_networks: list[NetworkName] = Field(default_factory=list, description="Social only")

    @field_validator("social_networks")
    @classmethod
    def _unique_networks(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("media_ids")
    @classmethod
    def _unique_media(cls, value: list[int]) -> list[int]:
        if any(item <= 0 for item in value):
            raise ValueError("media ids are positive")
        return list(dict.fromkeys(value))


class TemplateCreate(TemplateContent):
    name: str = Field(min_length=1, max_length=200)
    channel: ChannelName = "email"
    folder_id: int | None = Field(default=None, gt=0)
    description: str = Field(default="", max_length=1000)
    note: str = Field(default="", max_length=500, description="Kept with version 1")

    _name = field_validator("name")(_not_blank)


class TemplateUpdate(TemplateContent):
    """The new content: saved as the next version (unless identical to the current one)."""

    note: str = Field(default="", max_length=500)


class TemplateMetaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    folder_id: int | None = Field(default=None, gt=0, description="null takes the template out of its folder")
    description: str | None = Field(default=None, max_length=1000)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return None if value is None else _not_blank(value)


class TemplateProblemOut(BaseModel):
    severity: Literal["error", "warning"]
    rule: str
    message: str
    field: str
    line: int | None = None
    column: int | None = None


class TemplateSummary(BaseModel):
    id: int
    name: str
    channel: ChannelName
    folder_id: int | None
    description: str
    subject: str
    snippet: str = Field(description="The first 140 characters of the message text")
    version: int = Field(description="Number of the current version")
    updated_at: datetime
    updated_by: str | None = Field(description="Name (or email) of who saved last")
    thumbnail_media_id: int | None


class TemplateOut(TemplateSummary):
    preheader: str
    body_html: str
    body_text: str
    media_ids: list[int]
    whatsapp_template: str
    social_networks: list[NetworkName]
    created_at: datetime
    problems: list[TemplateProblemOut] = Field(description="Template and brand problems of the current version")


class VersionSummary(BaseModel):
    number: int
    note: str
    author: str | None
    created_at: datetime


class TemplateVersionOut(VersionSummary):
    subject: str
    preheader: str
    body_html: str
    body_text: str
    media_ids: list[int]
    whatsapp_template: str
    social_networks: list[NetworkName]


class RestoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500, description='Default: "Rolled back to version N"')


class CheckBody(TemplateContent):
    channel: ChannelName


class SmsInfo(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    segments: int
    per_segment: int
    remaining: int
    non_gsm: list[str] = Field(description="The characters that forced UCS-2")


class SocialLength(BaseModel):
    network: NetworkName
    limit: int
    length: int
    over: bool


class CheckOut(BaseModel):
    problems: list[TemplateProblemOut]
    sms: SmsInfo | None = Field(description="SMS only: encoding and segments of the text as typed")
    social: list[SocialLength] | None = Field(description="Social only: length against each network's limit")


class TokenOut(BaseModel):
    token: str = Field(description='What to insert, e.g. "{{ lead.first_name }}"')
    label: str
    group: str = Field(description="Lead | Custom fields | Workspace | Campaign | Links")
    example: str


class PreviewBody(TemplateContent):
    channel: ChannelName
    lead_id: int | None = Field(default=None, gt=0, description="Null renders for a sample lead")


class TemplatePreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_id: int | None = Field(default=None, gt=0, description="Null renders for a sample lead")
    version: int | None = Field(default=None, gt=0, description="Default: the current version")


class PreviewLead(BaseModel):
    id: int
    name: str


class TemplatePreviewOut(BaseModel):
    channel: ChannelName
    lead: PreviewLead | None = Field(description="Null: rendered for the sample lead")
    subject: str
    preheader: str
    html: str = Field(description="Email: the complete document as sent (layout, inlined CSS)")
    text: str
    sms: SmsInfo | None
    social: list[SocialLength] | None
    media_urls: list[str] = Field(description="Public links of the attached media (WhatsApp, social)")


class TestSendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(
        min_length=1, max_length=5, description="Email addresses, phone numbers (SMS, WhatsApp) or social accounts"
    )
    lead_id: int | None = Field(default=None, gt=0, description="Whose data fills the tokens; null: a sample lead")
    version: int | None = Field(default=None, gt=0, description="Default: the current version")


class TestSendResultOut(BaseModel):
    to: str
    ok: bool
    message_id: str | None = None
    error: str | None = None


class TestSendOut(BaseModel):
    workflow_id: str
    results: list[TestSendResultOut]


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)

    _name = field_validator("name")(_not_blank)


class FolderOut(BaseModel):
    id: int
    name: str
    template_count: int
    created_at: datetime


class ContentBlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: BlockKindName = "other"
    body_html: str = Field(default="", max_length=MAX_BODY)
    body_text: str = Field(default="", max_length=MAX_BODY)

    _name = field_validator("name")(_not_blank)


class ContentBlockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: BlockKindName
    body_html: str
    body_text: str
    created_at: datetime
    updated_at: datetime


class BrandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colors: list[str] = Field(default_factory=list, max_length=50, description="Allowed colours, #rgb or #rrggbb")
    fonts: list[str] = Field(default_factory=list, max_length=20, description="Allowed font families")
    logo_media_id: int | None = Field(default=None, gt=0)
    require_footer: bool = Field(default=True, description="Emails need an unsubscribe link and the postal address")
    postal_address: str = Field(default="", max_length=500)
    banned_phrases: list[str] = Field(default_factory=list, max_length=200)
    link_domains: list[str] = Field(
        default_factory=list, max_length=100, description="Links may only point here (and subdomains); empty: any"
    )
    max_image_bytes: int | None = Field(default=None, gt=0, description="Total weight of an email's images")


class BrandOut(BrandIn):
    configured: bool = Field(description="False until the guidelines are first saved: no brand rule applies")
    updated_at: datetime | None
