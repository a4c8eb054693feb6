"""Lead imports and exports: the uploaded file, its mapping and options, progress, and the rows refused."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, jsonb_field, optional_timestamp_field, workspace_id_field


class ImportStatus(StrEnum):
    uploaded = "uploaded"  # file stored, preview shown, waiting for a mapping
    queued = "queued"
    running = "running"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"


class LeadImport(SQLModel, table=True):
    __tablename__ = "imports"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    filename: str = Field(max_length=255, description="Original name, sanitised, for display only")
    storage_key: str = Field(max_length=512)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=8, description="csv or xlsx")
    encoding: str | None = Field(default=None, max_length=32)
    delimiter: str | None = Field(default=None, max_length=4)
    sheets: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    sheet: str | None = Field(default=None, max_length=255)
    headers: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    mapping: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default="[]"),
        description="A target per column: a standard field, custom.<key> or ignore",
    )
    options: dict[str, Any] = jsonb_field()
    status: str = Field(default=ImportStatus.uploaded.value, max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    total_rows: int | None = None
    # Progress, committed with each chunk: a resumed import starts at next_offset/next_row with these counts.
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    reported: int = Field(default=0, description="Rows in the error report: the rejected and the repeats in the file")
    next_row: int = Field(default=0, description="Rows consumed so far (the header is row 1)")
    next_offset: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    started_at: datetime | None = optional_timestamp_field()
    finished_at: datetime | None = optional_timestamp_field()


class ImportRejection(SQLModel, table=True):
    """A row refused (or skipped as a duplicate inside the file), for the downloadable error report."""

    __tablename__ = "import_rejections"

    import_id: int = Field(sa_column=Column(Integer, ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True))
    row_number: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    cells: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    reasons: list[list[str]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))


class ImportKey(SQLModel, table=True):
    """The duplicate keys already seen in a file (first row wins); kept in the database so a resume keeps them."""

    __tablename__ = "import_keys"

    import_id: int = Field(sa_column=Column(Integer, ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True))
    key: str = Field(sa_column=Column(Text, primary_key=True))
    row_number: int


class ImportMapping(SQLModel, table=True):
    """A saved mapping (by header) with its options, to reuse for the next file of the same shape."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_import_mappings_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    columns: dict[str, str] = jsonb_field()  # header → target
    options: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()


class SuppressionEntry(SQLModel, table=True):
    """An address that must not be contacted on a channel, kept as a hash: it survives the lead's deletion, and
    an import of the same address comes in suppressed."""

    __tablename__ = "suppressions"
    __table_args__ = (Index("ix_suppressions_key", "workspace_id", "channel", "address_hash", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    channel: str = Field(max_length=16)
    address_hash: str = Field(max_length=64, description="sha256 hex of the normalised address")
    reason: str = Field(max_length=16, description="unsubscribed, bounced, complained")
    created_at: datetime = created_at_field()


class LeadExport(SQLModel, table=True):
    """A large export written by ExportWorkflow to storage; small ones stream directly and leave no row."""

    __tablename__ = "exports"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    format: str = Field(max_length=8)
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    selection: dict[str, Any] = jsonb_field()
    status: str = Field(default="queued", max_length=16)
    row_count: int | None = None
    storage_key: str | None = Field(default=None, max_length=512)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    finished_at: datetime | None = optional_timestamp_field()
