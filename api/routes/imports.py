"""Lead imports: upload and preview a file, map its columns, start ImportWorkflow, follow it, download the errors."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.context import guard
from api.deps import SettingsDep, StorageDep, TemporalDep
from api.errors import ApiError
from api.lead_service import custom_definitions, workspace_of
from api.schemas_imports import (
    ImportCountsOut,
    ImportOut,
    ImportPreviewOut,
    ImportProgressOut,
    ImportStart,
    MappingSuggestion,
    SavedMappingIn,
    SavedMappingOut,
    TargetOption,
)
from api.scoping import Scope, ScopeDep
from api.uploads import receive_upload
from core.settings import Settings
from core.storage import ObjectNotFound, Storage
from core.tabular import FileFormat, Limits, TabularError, detect_format, read_preview
from core.workflow_ids import import_workflow_id
from domain.custom_fields import FIELD_TYPES, KEY_PATTERN
from domain.export_columns import STANDARD_COLUMNS
from domain.import_mapping import IGNORE, STANDARD_TARGETS, suggest_mapping
from domain.import_values import text_of
from domain.permissions import Permission
from domain.spreadsheet_safety import neutralise
from models.imports import ImportMapping, ImportRejection, ImportStatus, LeadImport
from models.leads import CustomFieldDefinition
from models.lists import LeadList
from models.payloads.imports import ImportInput

router = APIRouter(prefix="/api", tags=["imports"])
WORKFLOW_NAME = "ImportWorkflow"  # by name: the API never imports workflow code


def _limits(settings: Settings) -> Limits:
    return Limits(
        max_columns=settings.import_max_columns,
        max_xlsx_uncompressed_bytes=settings.import_xlsx_max_uncompressed_bytes,
    )


def display_filename(name: str | None) -> str:
    """The uploaded name for display only: no directories, no control characters, bounded."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:255] or "upload"


def _out(row: LeadImport, cls: type[ImportOut] = ImportOut, **extra: Any) -> Any:
    return cls(
        id=row.id,
        filename=row.filename,
        status=row.status,
        kind=row.kind,
        encoding=row.encoding,
        delimiter=row.delimiter,
        sheets=row.sheets,
        sheet=row.sheet,
        headers=row.headers,
        size_bytes=row.size_bytes,
        mapping=row.mapping,
        options=row.options,
        counts=_counts(row),
        error=row.error,
        workflow_id=import_workflow_id(row.id),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        **extra,
    )


def _counts(row: LeadImport) -> ImportCountsOut:
    return ImportCountsOut(
        total_rows=row.total_rows,
        rows_read=row.rows_read,
        imported=row.imported,
        updated=row.updated,
        skipped=row.skipped,
        rejected=row.rejected,
        reported=row.reported,
    )


async def _preview(scope: Scope, row: LeadImport, path: Path, settings: Settings, sheet: str | None) -> dict[str, Any]:
    """Reads the first rows of `sheet` (setting the row's headers and sheet); the extra fields of the preview."""
    fmt = FileFormat(row.kind, row.encoding, row.delimiter, row.sheets)
    try:
        preview = await asyncio.to_thread(read_preview, path, fmt, sheet, 20, _limits(settings))
    except TabularError as exc:
        raise ApiError(422, f"file: {exc}", field="file") from exc
    definitions = await custom_definitions(scope)
    custom_types = {key: definition.type for key, definition in definitions.items()}
    suggestions = suggest_mapping(preview.headers, preview.rows, custom_types)
    targets = [TargetOption(value=IGNORE, label="Do not import", type="ignore")]
    targets += [TargetOption(value=t, label=STANDARD_COLUMNS[t], type="standard") for t in STANDARD_TARGETS]
    targets += [
        TargetOption(value=f"custom.{key}", label=f"Custom: {key}", type=kind)
        for key, kind in sorted(custom_types.items())
    ]
    saved = (await scope.session.exec(scope.select(ImportMapping).order_by(col(ImportMapping.name)))).all()
    row.headers = preview.headers
    row.sheet = sheet
    return {
        "rows": [[text_of(cell) for cell in r] for r in preview.rows],
        "suggestions": [MappingSuggestion.model_validate(s) for s in suggestions],
        "targets": targets,
        "saved_mappings": [_mapping_out(m) for m in saved],
    }


@router.post("/imports", response_model=ImportPreviewOut, status_code=201, **guard(Permission.leads_write))
async def upload_import(
    request: Request,
    scope: ScopeDep,
    settings: SettingsDep,
    storage: StorageDep,
    file: UploadFile = File(description="CSV (any delimiter, UTF-8/UTF-16/CP1252) or XLSX"),
) -> ImportPreviewOut:
    """Stores the file and answers with a preview and a suggested mapping; nothing is imported yet."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.import_max_bytes + (1 << 16):
        raise ApiError(
            413, f"file: larger than the limit of {settings.import_max_bytes:,} bytes", field="file", code="too_large"
        )
    with tempfile.TemporaryDirectory(prefix="herald-upload-") as tmp:
        path = Path(tmp) / "upload"
        size = (await receive_upload(file, path, settings.import_max_bytes)).size
        try:
            fmt = await asyncio.to_thread(detect_format, path, _limits(settings))
        except TabularError as exc:
            raise ApiError(422, f"file: {exc}", field="file") from exc
        row = LeadImport(
            filename=display_filename(file.filename),
            storage_key=f"imports/{scope.workspace_id}/{uuid.uuid4().hex}",
            size_bytes=size,
            kind=fmt.kind,
            encoding=fmt.encoding,
            delimiter=fmt.delimiter,
            sheets=fmt.sheets,
            created_by=scope.context.user_id,
        )
        sheet = fmt.sheets[0] if fmt.sheets else None
        extra = await _preview(scope, row, path, settings, sheet)
        # The object exists before the row commits; a failed commit leaves an orphan the cleanup removes.
        await asyncio.to_thread(storage.put_file, row.storage_key, path, "application/octet-stream")
    scope.add(row)
    await scope.session.flush()
    scope.audit("import.uploaded", "import", row.id, after={"filename": row.filename, "bytes": size})
    await scope.session.commit()
    await scope.session.refresh(row)
    return _out(row, ImportPreviewOut, **extra)


@router.get("/imports", response_model=list[ImportOut], **guard(Permission.workspace_read))
async def list_imports(scope: ScopeDep, limit: int = Query(50, ge=1, le=200)) -> list[ImportOut]:
    rows = (await scope.session.exec(scope.select(LeadImport).order_by(col(LeadImport.id).desc()).limit(limit))).all()
    return [_out(r) for r in rows]


@router.get("/imports/{import_id}", response_model=ImportOut, **guard(Permission.workspace_read))
async def get_import(import_id: int, scope: ScopeDep) -> ImportOut:
    return _out(await scope.get(LeadImport, import_id, "import"))


@router.get("/imports/{import_id}/preview", response_model=ImportPreviewOut, **guard(Permission.leads_write))
async def preview_sheet(
    import_id: int, scope: ScopeDep, settings: SettingsDep, storage: StorageDep, sheet: str | None = None
) -> ImportPreviewOut:
    """The preview again, for another sheet of a workbook (the sheet becomes the one imported)."""
    row = await scope.get(LeadImport, import_id, "import", for_update=True)
    if row.status != ImportStatus.uploaded:
        raise ApiError(409, f"import {import_id} is already {row.status}")
    if sheet is not None and sheet not in row.sheets:
        raise ApiError(422, f"sheet: no sheet named {sheet!r} (sheets: {row.sheets})", field="sheet")
    with tempfile.TemporaryDirectory(prefix="herald-preview-") as tmp:
        path = await _download(storage, row.storage_key, Path(tmp))
        extra = await _preview(scope, row, path, settings, sheet or row.sheet)
    scope.session.add(row)
    await scope.session.commit()
    await scope.session.refresh(row)
    return _out(row, ImportPreviewOut, **extra)


async def _download(storage: Storage, key: str, directory: Path) -> Path:
    path = directory / "source"
    try:
        await asyncio.to_thread(storage.download, key, path)
    except ObjectNotFound as exc:
        raise ApiError(410, "the uploaded file is no longer in storage; upload it again", code="gone") from exc
    return path


@router.post("/imports/{import_id}/start", response_model=ImportOut, status_code=202, **guard(Permission.leads_write))
async def start_import(
    import_id: int, body: ImportStart, scope: ScopeDep, settings: SettingsDep, client: TemporalDep
) -> ImportOut:
    """Checks the mapping and options, creates the new custom fields, then starts ImportWorkflow."""
    row = await scope.get(LeadImport, import_id, "import", for_update=True)
    if row.status != ImportStatus.uploaded:
        raise ApiError(409, f"import {import_id} is already {row.status}", code="already_started")
    mapping = await _checked_mapping(scope, row, body)
    options = body.options
    await _check_options(scope, options, mapping)
    row.mapping = mapping
    row.options = options.model_dump(mode="json")
    row.status = ImportStatus.queued
    scope.session.add(row)
    if body.save_mapping_as:
        scope.add(
            ImportMapping(
                name=body.save_mapping_as.strip(),
                columns={h: t for h, t in zip(row.headers, mapping, strict=True)},
                options=options.model_dump(mode="json", exclude={"date_orders"}),
            )
        )
        await scope.flush_or_conflict(f"a mapping named {body.save_mapping_as!r} already exists", "save_mapping_as")
    scope.audit("import.started", "import", row.id, after={"mapping": mapping, "options": row.options})
    await scope.session.commit()
    workflow_id = import_workflow_id(row.id)
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            ImportInput(import_id=row.id, workspace_id=scope.workspace_id),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
        )
    except WorkflowAlreadyStartedError as exc:
        raise ApiError(409, f"workflow {workflow_id} already exists", code="already_started") from exc
    except Exception as exc:
        row.status = ImportStatus.uploaded
        scope.session.add(row)
        await scope.session.commit()
        raise ApiError(503, f"could not start the import: {exc}", code="unavailable") from exc
    await scope.session.refresh(row)
    return _out(row)


async def _checked_mapping(scope: Scope, row: LeadImport, body: ImportStart) -> list[str]:
    if len(body.mapping) != len(row.headers):
        raise ApiError(
            422,
            f"mapping: expected {len(row.headers)} targets (one per column), got {len(body.mapping)}",
            field="mapping",
        )
    mapping = list(body.mapping)
    definitions = await custom_definitions(scope)
    for index, spec in enumerate(body.new_custom_fields):
        path = f"new_custom_fields[{index}]"
        if spec.column >= len(mapping):
            raise ApiError(422, f"{path}.column: no column {spec.column}", field=f"{path}.column")
        if not KEY_PATTERN.match(spec.key):
            raise ApiError(422, f"{path}.key: use lower-case letters, digits and _", field=f"{path}.key")
        if spec.key in definitions:
            raise ApiError(422, f"{path}.key: custom field {spec.key!r} already exists", field=f"{path}.key")
        if spec.type not in FIELD_TYPES or (spec.type == "choice" and not spec.choices):
            raise ApiError(422, f"{path}.choices: a choice field needs choices", field=f"{path}.choices")
        scope.add(
            CustomFieldDefinition(key=spec.key, label=spec.label or spec.key, type=spec.type, choices=spec.choices)
        )
        mapping[spec.column] = f"custom.{spec.key}"
    new_keys = {spec.key for spec in body.new_custom_fields}
    used: dict[str, int] = {}
    for index, target in enumerate(mapping):
        path = f"mapping[{index}]"
        if target == IGNORE:
            continue
        if target.startswith("custom."):
            if target[7:] not in definitions and target[7:] not in new_keys:
                raise ApiError(422, f"{path}: no custom field {target[7:]!r}", field=path)
        elif target not in STANDARD_TARGETS:
            raise ApiError(422, f"{path}: unknown target {target!r}", field=path)
        if target in used:
            raise ApiError(422, f"{path}: {target} is already mapped from column {used[target]}", field=path)
        used[target] = index
    if body.new_custom_fields:
        await scope.flush_or_conflict("a custom field with that key already exists", "new_custom_fields")
    return mapping


async def _check_options(scope: Scope, options: Any, mapping: list[str]) -> None:
    if options.dedupe_key not in mapping:
        raise ApiError(
            422, f"options.dedupe_key: no column is mapped to {options.dedupe_key}", field="options.dedupe_key"
        )
    if options.list_id is not None:
        lst = await scope.find(LeadList, options.list_id)
        if lst is None:
            raise ApiError(422, f"options.list_id: list {options.list_id} not found", field="options.list_id")
        if lst.kind == "dynamic":
            raise ApiError(422, "options.list_id: a dynamic list has no explicit members", field="options.list_id")
    workspace = await workspace_of(scope)
    if options.default_status is not None and options.default_status not in workspace.lead_statuses:
        raise ApiError(
            422, f"options.default_status: use one of {workspace.lead_statuses}", field="options.default_status"
        )
    if options.default_region:
        options.default_region = options.default_region.upper()


@router.post("/imports/{import_id}/cancel", response_model=ImportOut, **guard(Permission.leads_write))
async def cancel_import(import_id: int, scope: ScopeDep, client: TemporalDep) -> ImportOut:
    """Stops after the chunk in flight; what was committed stays, and the counts say how much."""
    row = await scope.get(LeadImport, import_id, "import")
    if row.status not in (ImportStatus.queued, ImportStatus.running):
        raise ApiError(409, f"import {import_id} is {row.status}, not running", code="not_running")
    await client.get_workflow_handle(import_workflow_id(import_id)).cancel()
    scope.audit("import.cancelled", "import", import_id)
    await scope.session.commit()
    return _out(row)


@router.get("/imports/{import_id}/progress", response_model=ImportProgressOut, **guard(Permission.workspace_read))
async def import_progress(import_id: int, scope: ScopeDep, request: Request) -> ImportProgressOut:
    """Counts committed so far (exact: each chunk commits them) and the workflow's phase."""
    row = await scope.get(LeadImport, import_id, "import")
    phase = row.status
    if row.status in (ImportStatus.queued, ImportStatus.running):
        phase = await _workflow_phase(request, import_id) or row.status
    total = row.total_rows or 0
    done = row.rows_read if row.status not in (ImportStatus.completed,) else total
    percent = 100.0 if row.status == ImportStatus.completed else (round(100 * done / total, 1) if total else 0.0)
    return ImportProgressOut(
        id=row.id, status=row.status, phase=phase, counts=_counts(row), percent=percent, error=row.error
    )


async def _workflow_phase(request: Request, import_id: int) -> str | None:
    try:
        client: Client = await request.app.state.temporal.get()
        progress = await client.get_workflow_handle(import_workflow_id(import_id)).query("progress")
        return progress.get("phase") if isinstance(progress, dict) else getattr(progress, "phase", None)
    except Exception:  # the counts answer from the database while Temporal is unreachable
        return None


@router.get("/imports/{import_id}/errors.csv", **guard(Permission.workspace_read))
async def error_report(import_id: int, scope: ScopeDep) -> StreamingResponse:
    """Every refused or duplicate row: its row number, the reasons per field, and the row as it was."""
    row = await scope.get(LeadImport, import_id, "import")
    sessions = scope.session

    async def lines() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["row", "fields", "reasons", *row.headers])
        yield ("\ufeff" + buffer.getvalue()).encode()
        after = 0
        while True:
            batch = (
                await sessions.exec(
                    select(ImportRejection)
                    .where(ImportRejection.import_id == import_id, col(ImportRejection.row_number) > after)
                    .order_by(col(ImportRejection.row_number))
                    .limit(2000)
                )
            ).all()
            if not batch:
                return
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for rejection in batch:
                fields = ", ".join(field for field, _ in rejection.reasons)
                reasons = "; ".join(f"{field}: {message}" for field, message in rejection.reasons)
                writer.writerow([rejection.row_number, fields, reasons, *(neutralise(c) for c in rejection.cells)])
            after = batch[-1].row_number
            yield buffer.getvalue().encode()

    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(row.filename).stem)[:80] or "import"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-errors.csv"'},
    )


@router.get("/import-mappings", response_model=list[SavedMappingOut], **guard(Permission.workspace_read))
async def list_mappings(scope: ScopeDep) -> list[SavedMappingOut]:
    rows = (await scope.session.exec(scope.select(ImportMapping).order_by(col(ImportMapping.name)))).all()
    return [_mapping_out(m) for m in rows]


@router.post("/import-mappings", response_model=SavedMappingOut, status_code=201, **guard(Permission.leads_write))
async def save_mapping(body: SavedMappingIn, scope: ScopeDep) -> SavedMappingOut:
    for header, target in body.columns.items():
        if target != IGNORE and target not in STANDARD_TARGETS and not target.startswith("custom."):
            raise ApiError(422, f"columns.{header}: unknown target {target!r}", field=f"columns.{header}")
    mapping = scope.add(
        ImportMapping(name=body.name.strip(), columns=body.columns, options=body.options.model_dump(mode="json"))
    )
    await scope.flush_or_conflict(f"a mapping named {body.name!r} already exists", "name")
    scope.audit("import_mapping.created", "import_mapping", mapping.id, after={"name": mapping.name})
    await scope.session.commit()
    await scope.session.refresh(mapping)
    return _mapping_out(mapping)


@router.delete("/import-mappings/{mapping_id}", status_code=204, **guard(Permission.leads_write))
async def delete_mapping(mapping_id: int, scope: ScopeDep) -> None:
    mapping = await scope.get(ImportMapping, mapping_id, "import mapping")
    await scope.session.delete(mapping)
    scope.audit("import_mapping.deleted", "import_mapping", mapping_id, before={"name": mapping.name})
    await scope.session.commit()


def _mapping_out(mapping: ImportMapping) -> SavedMappingOut:
    return SavedMappingOut(
        id=mapping.id,
        name=mapping.name,
        columns=mapping.columns,
        options=mapping.options,
        created_at=mapping.created_at,
    )
