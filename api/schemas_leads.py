"""Bodies of the lead store API: leads, their timeline, bulk operations, custom fields, lists and previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from domain.contacts import normalise_email, valid_timezone
from domain.custom_fields import KEY_PATTERN

ConsentValue = Literal["granted", "denied", "unknown"]
SuppressionValue = Literal["unsubscribed", "bounced", "complained"]
SortField = Literal["created_at", "updated_at", "score", "last_name", "first_name", "email", "company", "status"]
Tag = Field(min_length=1, max_length=64)


class _LeadFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    first_name: str = Field(default="", max_length=200)
    last_name: str = Field(default="", max_length=200)
    company: str = Field(default="", max_length=200)
    job_title: str = Field(default="", max_length=200)
    status: str = Field(default="new", max_length=32)
    score: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    owner_id: int | None = Field(default=None, gt=0)
    source: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=100)
    timezone: str | None = Field(default=None, description="IANA name; inferred from phone or country when omitted")
    locale: str = Field(default="", max_length=16)
    country: str = Field(default="", max_length=2)
    external_id: str | None = Field(default=None, max_length=200)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    consent_email: ConsentValue = "unknown"
    consent_sms: ConsentValue = "unknown"
    consent_whatsapp: ConsentValue = "unknown"
    consent_details: dict[str, dict[str, str]] = Field(
        default_factory=dict, description='Per channel: {"email": {"source": ..., "wording": ..., "at": ...}}'
    )
    suppressed_email: SuppressionValue | None = None
    suppressed_sms: SuppressionValue | None = None
    suppressed_whatsapp: SuppressionValue | None = None

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str | None) -> str | None:
        return None if value is None else normalise_email(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and not valid_timezone(value):
            raise ValueError(f"unknown IANA timezone {value!r}")
        return value

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        cleaned = sorted({tag.strip().lower() for tag in value if tag.strip()})
        if any(len(tag) > 64 for tag in cleaned):
            raise ValueError("a tag has at most 64 characters")
        return cleaned


class LeadCreate(_LeadFields):
    pass


class LeadUpdate(_LeadFields):
    """Only the fields sent are changed; custom_fields are merged (null removes a value)."""


class LeadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    phone: str | None
    first_name: str
    last_name: str
    company: str
    job_title: str
    status: str
    score: int
    owner_id: int | None
    source: str
    tags: list[str]
    timezone: str
    locale: str
    country: str
    external_id: str | None
    custom_fields: dict[str, Any]
    consent_email: str
    consent_sms: str
    consent_whatsapp: str
    consent_details: dict[str, Any]
    suppressed_email: str | None
    suppressed_sms: str | None
    suppressed_whatsapp: str | None
    created_at: datetime
    updated_at: datetime


class LeadPage(BaseModel):
    items: list[LeadOut]
    total: int
    limit: int
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null on the last page.")


class LeadQuery(BaseModel):
    """Search, filter and sort leads; keyset pagination through `cursor`."""

    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] | None = Field(default=None, description="A filter tree (react-querybuilder JSON).")
    search: str | None = Field(default=None, max_length=200, description="Full-text over name, email, company.")
    sort: SortField = "created_at"
    order: Literal["asc", "desc"] = "desc"
    cursor: str | None = Field(default=None, max_length=500)
    limit: int = Field(default=50, ge=1, le=500)


class Selection(BaseModel):
    """Either explicit lead ids or everything matching a filter (and search)."""

    model_config = ConfigDict(extra="forbid")

    lead_ids: list[int] | None = Field(default=None, max_length=10_000)
    filter: dict[str, Any] | None = None
    search: str | None = Field(default=None, max_length=200)


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selection: Selection
    action: Literal["tag", "untag", "set_status", "set_owner", "add_to_list", "remove_from_list", "delete"]
    value: str | int | list[str] | None = Field(
        default=None, description="tags for tag/untag, a status, an owner user id (null clears), a list id"
    )


class BulkResult(BaseModel):
    action: str
    affected: int


class UpsertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Literal["email", "phone", "external_id"]
    lead: LeadUpdate


class UpsertResult(BaseModel):
    created: bool
    lead: LeadOut


class LeadEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    data: dict[str, Any]
    actor: str
    created_at: datetime


class CustomFieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=64, description="lower_snake_case, used in filters as custom.<key>")
    label: str = Field(min_length=1, max_length=200)
    type: Literal["text", "number", "date", "boolean", "choice"]
    choices: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("key")
    @classmethod
    def _key_shape(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError("use lower_snake_case starting with a letter")
        return value


class CustomFieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    label: str
    type: str
    choices: list[str]
    created_at: datetime


class FieldInfo(BaseModel):
    name: str
    label: str
    type: str
    operators: list[str]
    choices: list[str] | None = None


class ListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    kind: Literal["static", "dynamic", "hybrid"] = "static"
    filter: dict[str, Any] | None = None
    lead_ids: list[int] = Field(default_factory=list, max_length=100_000, description="Always-include members")
    exclude_lead_ids: list[int] = Field(default_factory=list, max_length=100_000, description="Hybrid lists only")


class ListUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    filter: dict[str, Any] | None = None


class ListOut(BaseModel):
    id: int
    name: str
    description: str
    kind: str
    filter: dict[str, Any] | None
    member_count: int = Field(description="Leads in the list now (dynamic parts evaluated)")
    created_at: datetime


class ListRef(BaseModel):
    id: int
    name: str
    kind: str


class MembersChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_ids: list[int] = Field(min_length=1, max_length=100_000)
    mode: Literal["include", "exclude"] = "include"


class Reachability(BaseModel):
    email: int
    sms: int
    whatsapp: int


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] | None = None
    kind: Literal["static", "dynamic", "hybrid"] = "dynamic"
    lead_ids: list[int] = Field(default_factory=list, max_length=100_000)
    exclude_lead_ids: list[int] = Field(default_factory=list, max_length=100_000)


class PreviewOut(BaseModel):
    total: int
    sample: list[LeadOut]
    reachable: Reachability


class CountRow(BaseModel):
    key: str
    count: int


class SnapshotRow(BaseModel):
    day: str
    size: int


class ListStatsOut(BaseModel):
    size: int
    reachable: Reachability
    by_status: list[CountRow]
    by_country: list[CountRow]
    history: list[SnapshotRow]
