"""Payloads of MediaProcessingWorkflow and the storage cleanup: keys and ids, never file bytes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MediaInput(BaseModel):
    asset_id: int
    workspace_id: int
    storage_key: str
    kind: str  # image, video, document
    content_type: str


class VariantInfo(BaseModel):
    key: str
    content_type: str
    width: int | None = None
    height: int | None = None
    size: int | None = None


class MediaResult(BaseModel):
    asset_id: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    page_count: int | None = None
    variants: dict[str, VariantInfo] = Field(default_factory=dict)


class MediaFailure(BaseModel):
    asset_id: int
    reason: str


class CleanupInput(BaseModel):
    grace_hours: int = 24
    dry_run: bool = False


class CleanupResult(BaseModel):
    scanned: int
    deleted: list[str] = Field(default_factory=list)
