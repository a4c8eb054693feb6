"""Request and response bodies of the import endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.payloads.imports import ImportOptions


class ImportCountsOut(BaseModel):
    total_rows: int | None = None
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    reported: int = Field(default=0, description="Rows in the error report (rejected rows and repeats in the file)")


class ImportOut(BaseModel):
    id: int
    filename: str
    status: str
    kind: str
    encoding: str | None
    delimiter: str | None
    sheets: list[str]
    sheet: str | None
    headers: list[str]
    size_bytes: int
    mapping: list[str]
    options: dict[str, Any]
    counts: ImportCountsOut
    error: str | None
    workflow_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class NewCustomFieldSpec(BaseModel):
    key: str
    label: str
    type: Literal["text", "number", "date", "boolean", "choice"]
    choices: list[str] = Field(default_factory=list)


class MappingSuggestion(BaseModel):
    column: int
    header: str
    target: str
    reason: str
    new_custom_field: NewCustomFieldSpec | None = None


class TargetOption(BaseModel):
    value: str
    label: str
    type: str


class ImportPreviewOut(ImportOut):
    """The import with its first rows, a suggested mapping, every target a column can go to, saved mappings."""

    rows: list[list[str]]
    suggestions: list[MappingSuggestion]
    targets: list[TargetOption]
    saved_mappings: list[SavedMappingOut] = Field(default_factory=list)


class ColumnCustomField(NewCustomFieldSpec):
    column: int = Field(ge=0, description="The column this new custom field is filled from")


class ImportStart(BaseModel):
    mapping: list[str] = Field(description="A target per column: a standard field, custom.<key> or ignore")
    new_custom_fields: list[ColumnCustomField] = Field(default_factory=list, max_length=50)
    options: ImportOptions = Field(default_factory=ImportOptions)
    save_mapping_as: str | None = Field(default=None, max_length=200)


class ImportProgressOut(BaseModel):
    id: int
    status: str
    phase: str
    counts: ImportCountsOut
    percent: float
    error: str | None


class SavedMappingIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    columns: dict[str, str] = Field(description="header → target")
    options: ImportOptions = Field(default_factory=ImportOptions)


class SavedMappingOut(SavedMappingIn):
    id: int
    created_at: datetime


ImportPreviewOut.model_rebuild()
