"""Request and response bodies of the media library."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class VariantOut(BaseModel):
    url: str
    content_type: str
    width: int | None = None
    height: int | None = None
    size: int | None = None


class MediaUser(BaseModel):
    type: Literal["template", "campaign"]
    id: int
    name: str


class MediaOut(BaseModel):
    id: int
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    page_count: int | None
    alt_text: str
    title: str
    folder: str
    tags: list[str]
    status: str
    failure_reason: str | None
    url: str
    variants: dict[str, VariantOut]
    uploaded_by: int | None
    workflow_id: str
    created_at: datetime
    updated_at: datetime


class UploadOut(MediaOut):
    duplicate: bool = Field(description="True when the same bytes were already in the library: this is that asset")


class MediaDetailOut(MediaOut):
    used_by: list[MediaUser]


class MediaUpdate(BaseModel):
    model_config = {"extra": "forbid"}

    alt_text: str | None = Field(default=None, max_length=1000)
    title: str | None = Field(default=None, max_length=300)
    folder: str | None = Field(default=None, max_length=300)
    tags: list[str] | None = Field(default=None, max_length=50)


class MediaBulk(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)
    action: Literal["tag", "untag", "move", "delete"]
    tag: str | None = Field(default=None, max_length=64)
    folder: str | None = Field(default=None, max_length=300)
    force: bool = False


class MediaBulkOut(BaseModel):
    affected: int
    refused: list[MediaRefusal] = Field(default_factory=list)


class MediaRefusal(BaseModel):
    id: int
    reason: str
    used_by: list[MediaUser] = Field(default_factory=list)


class CountOut(BaseModel):
    name: str
    count: int


MediaBulkOut.model_rebuild()
