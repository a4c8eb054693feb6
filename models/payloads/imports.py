"""Payloads of ImportWorkflow and ExportWorkflow: ids in, counts out (the file itself stays in storage)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field


class ImportInput(BaseModel):
    import_id: int
    workspace_id: int


class ImportCounts(BaseModel):
    total_rows: int | None = None
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    reported: int = 0


class ImportProgress(BaseModel):
    phase: str  # preparing, importing, completed, cancelled, failed
    counts: ImportCounts


class ImportEnd(BaseModel):
    import_id: int
    status: str  # completed, cancelled, failed
    error: str | None = None


class ExportInput(BaseModel):
    export_id: int
    workspace_id: int


class ExportFailure(BaseModel):
    """Input of `fail_export`: why the export could not be written."""

    export_id: int
    workspace_id: int
    error: str


class ExportResult(BaseModel):
    export_id: int
    rows: int


class ConsentToRecord(BaseModel):
    """Consent the marketer collected for everyone in the file (proof: source and wording, kept per lead)."""

    channels: list[Literal["email", "sms", "whatsapp"]] = Field(min_length=1)
    source: str = Field(min_length=1, max_length=200)
    wording: str = Field(min_length=1, max_length=2000)


class ImportOptions(BaseModel):
    dedupe_key: Literal["email", "phone", "external_id"] = "email"
    on_duplicate: Literal["skip", "update_empty", "overwrite"] = "skip"
    list_id: int | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=20)
    consent: ConsentToRecord | None = None
    default_region: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    default_status: str | None = None
    source: str = Field(default="import", max_length=100)
    date_order: Literal["auto", "dmy", "mdy"] = "auto"
    # Filled by the prepare step for "auto": the order found per date column ("dmy" / "mdy").
    date_orders: dict[str, str] = Field(default_factory=dict)
