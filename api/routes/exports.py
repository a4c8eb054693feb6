"""Lead exports: CSV, XLSX or JSON of a filter, a list or a selection, with the columns chosen.

Up to `export_stream_max_rows` leads the file is the response itself (CSV and JSON streamed batch by batch, XLSX
written to a temporary file first). Larger exports become an `exports` row written by ExportWorkflow to storage:
the answer is 202 with the export, to follow at GET /api/exports/{id} and fetch at /api/exports/{id}/download.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement
from sqlmodel import col
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.context import guard
from api.deps import SettingsDep, StorageDep
from api.errors import ApiError
from api.lead_service import filter_context
from api.scoping import Scope, ScopeDep
from core.exports import (
    CONTENT_TYPES,
    XLSX_MAX_ROWS,
    ExportWriter,
    count_selected,
    export_filename,
    row_batches,
    selection_condition,
    stream_chunks,
)
from core.settings import Settings
from core.storage import ObjectNotFound, Storage
from core.workflow_ids import export_workflow_id
from domain.export_columns import DEFAULT_COLUMNS, ColumnError, column_catalogue, validate_columns
from domain.filters import FilterContext, FilterError
from domain.permissions import Permission
from models.imports import LeadExport
from models.leads import CustomFieldDefinition
from models.lists import LeadList
from models.payloads.imports import ExportInput

router = APIRouter(prefix="/api", tags=["exports"])
WORKFLOW_NAME = "ExportWorkflow"  # by name: the API never imports workflow code
DOWNLOAD_URL_TTL = timedelta(minutes=15)
DOWNLOAD_CHUNK = 1 << 20
SELECTION_PARTS = ("filter", "list_id", "lead_ids")


class ExportRequest(BaseModel):
    """What to export: one of `filter`, `list_id` or `lead_ids` (none: every lead), optionally narrowed by `search`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "xlsx", "json"]
    columns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_COLUMNS),
        max_length=200,
        description="Column ids from GET /api/exports/columns, in file order (custom fields as custom.<key>).",
    )
    filter: dict[str, Any] | None = Field(default=None, description="A filter tree, as in POST /api/leads/search.")
    list_id: int | None = Field(default=None, gt=0, description="A saved list (static, dynamic or hybrid).")
    lead_ids: list[int] | None = Field(default=None, max_length=100_000, description="Explicitly selected leads.")
    search: str | None = Field(default=None, max_length=200, description="Full-text over name, email, company.")


class ExportOut(BaseModel):
    id: int
    status: str = Field(description="queued, running, ready or failed")
    format: str
    columns: list[str]
    row_count: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    workflow_id: str
    download_url: str | None = Field(description="Set once the export is ready.")


class ExportColumnOut(BaseModel):
    id: str
    label: str
    type: str
    default: bool = Field(description="In the columns an export has when the request names none")


def _out(export: LeadExport) -> ExportOut:
    ready = export.status == "ready"
    return ExportOut(
        id=export.id,
        status=export.status,
        format=export.format,
        columns=export.columns,
        row_count=export.row_count,
        error=export.error,
        created_at=export.created_at,
        finished_at=export.finished_at,
        workflow_id=export_workflow_id(export.id),
        download_url=f"/api/exports/{export.id}/download" if ready else None,
    )


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get("/exports/columns", response_model=list[ExportColumnOut], **guard(Permission.workspace_read))
async def export_columns(scope: ScopeDep) -> list[ExportColumnOut]:
    """Every column an export can hold, the workspace's custom fields included."""
    definitions = (await scope.session.exec(scope.select(CustomFieldDefinition))).all()
    catalogue = column_catalogue({d.key: d.type for d in definitions}, {d.key: d.label for d in definitions})
    return [ExportColumnOut(id=c.id, label=c.label, type=c.type, default=c.id in DEFAULT_COLUMNS) for c in catalogue]


@router.post(
    "/leads/export",
    response_model=None,
    responses={
        200: {
            "description": "The file itself (small exports)",
            "content": {content_type.split(";")[0]: {} for content_type in CONTENT_TYPES.values()},
        },
        202: {"model": ExportOut, "description": "A large export, written in the background"},
    },
    **guard(Permission.workspace_read),
)
async def export_leads(body: ExportRequest, scope: ScopeDep, settings: SettingsDep, request: Request) -> Response:
    given = [part for part in SELECTION_PARTS if getattr(body, part) is not None]
    if len(given) > 1:
        raise ApiError(422, f"{given[1]}: give one of filter, list_id or lead_ids, not several", field=given[1])
    ctx = await filter_context(scope)
    try:
        columns = validate_columns(body.columns, ctx.custom_fields.keys())
    except ColumnError as exc:
        raise ApiError(422, str(exc), field=exc.field) from exc
    condition = await _condition(scope, body, ctx)
    count = await count_selected(scope.session, condition)
    if body.format == "xlsx" and count > XLSX_MAX_ROWS:
        raise ApiError(
            422, f"format: {count:,} leads do not fit in one XLSX sheet ({XLSX_MAX_ROWS:,}); use csv", field="format"
        )
    selection = body.model_dump(include={*given, "search"}, exclude_none=True)
    if count <= settings.export_stream_max_rows:
        scope.audit(
            "leads.exported",
            "lead",
            None,
            after={"format": body.format, "count": count, "columns": columns, **_summary(selection)},
        )
        await scope.session.commit()
        return await _file_response(request, body.format, columns, condition)
    return await _queue(scope, settings, request, body.format, columns, selection, count)


async def _condition(scope: Scope, body: ExportRequest, ctx: FilterContext) -> ColumnElement[bool]:
    lead_list = None
    if body.list_id is not None:
        lead_list = await scope.find(LeadList, body.list_id)
        if lead_list is None:
            raise ApiError(422, f"list_id: list {body.list_id} not found", field="list_id")
    try:
        return selection_condition(
            scope.workspace_id,
            ctx,
            filter_data=body.filter,
            lead_list=lead_list,
            lead_ids=body.lead_ids,
            search=body.search,
        )
    except FilterError as exc:
        if body.filter is None:
            raise ApiError(422, f"list_id: the list's filter cannot be used: {exc}", field="list_id") from exc
        path = f"filter.{exc.path}" if exc.path else "filter"
        raise ApiError(422, f"{path}: {exc.message}", field=path) from exc


def _summary(selection: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a selection: the filter and list as given, the number of explicit ids."""
    summary = {key: value for key, value in selection.items() if key != "lead_ids"}
    if "lead_ids" in selection:
        summary["lead_ids"] = len(selection["lead_ids"])
    return summary


async def _file_response(request: Request, fmt: str, columns: list[str], condition: ColumnElement[bool]) -> Response:
    filename = export_filename(fmt, datetime.now(UTC).date())
    # Read on sessions of their own: the request's session is gone by the time a stream is sent.
    batches = row_batches(request.app.state.sessions, condition, columns)
    if fmt != "xlsx":
        return StreamingResponse(
            stream_chunks(fmt, columns, batches), media_type=CONTENT_TYPES[fmt], headers=_disposition(filename)
        )
    tmp = tempfile.mkdtemp(prefix="herald-export-")
    try:
        path = Path(tmp) / filename
        writer = await asyncio.to_thread(ExportWriter, fmt, path, columns)
        try:
            async for rows in batches:
                await asyncio.to_thread(writer.write_rows, rows)
            await asyncio.to_thread(writer.close)
        except BaseException:
            writer.abort()
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=CONTENT_TYPES[fmt],
        headers=_disposition(filename),
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


async def _queue(
    scope: Scope,
    settings: Settings,
    request: Request,
    fmt: str,
    columns: list[str],
    selection: dict[str, Any],
    count: int,
) -> JSONResponse:
    """Records the export and starts its workflow; 202 with the export to follow."""
    export = scope.add(
        LeadExport(format=fmt, columns=columns, selection=selection, status="queued", created_by=scope.context.user_id)
    )
    await scope.session.flush()
    scope.audit(
        "leads.exported",
        "export",
        export.id,
        after={"format": fmt, "count": count, "columns": columns, **_summary(selection)},
    )
    await scope.session.commit()
    workflow_id = export_workflow_id(export.id)
    try:
        client = await request.app.state.temporal.get()
        await client.start_workflow(
            WORKFLOW_NAME,
            ExportInput(export_id=export.id, workspace_id=scope.workspace_id),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
        )
    except Exception as exc:
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        export.status = "failed"
        export.error = f"could not start the export: {message}"
        export.finished_at = datetime.now(UTC)
        scope.session.add(export)
        await scope.session.commit()
        raise ApiError(503, f"could not start the export workflow: {message}", code="unavailable") from exc
    await scope.session.refresh(export)
    return JSONResponse(status_code=202, content=_out(export).model_dump(mode="json"))


@router.get("/exports", response_model=list[ExportOut], **guard(Permission.workspace_read))
async def list_exports(scope: ScopeDep, limit: int = Query(50, ge=1, le=200)) -> list[ExportOut]:
    """The workspace's background exports, newest first."""
    rows = (await scope.session.exec(scope.select(LeadExport).order_by(col(LeadExport.id).desc()).limit(limit))).all()
    return [_out(export) for export in rows]


@router.get("/exports/{export_id}", response_model=ExportOut, **guard(Permission.workspace_read))
async def get_export(export_id: int, scope: ScopeDep) -> ExportOut:
    return _out(await scope.get(LeadExport, export_id, "export"))


@router.get(
    "/exports/{export_id}/download",
    response_model=None,
    responses={
        200: {"description": "The file (local storage)"},
        307: {"description": "Redirect to a short-lived URL of the file (S3 storage)"},
    },
    **guard(Permission.workspace_read),
)
async def download_export(export_id: int, scope: ScopeDep, storage: StorageDep) -> Response:
    """The export's file: a redirect to a presigned URL on S3, the file itself on local storage; 409 until ready."""
    export = await scope.get(LeadExport, export_id, "export")
    if export.status != "ready" or not export.storage_key:
        raise ApiError(409, f"export {export_id} is {export.status}, not ready to download", code="not_ready")
    filename = export_filename(export.format, export.created_at.date())
    url = await run_in_threadpool(storage.presigned_get_url, export.storage_key, DOWNLOAD_URL_TTL, filename)
    if url:
        return RedirectResponse(url, status_code=307)
    return StreamingResponse(
        _chunks(await _open(storage, export.storage_key, export_id)),
        media_type=CONTENT_TYPES.get(export.format, "application/octet-stream"),
        headers=_disposition(filename),
    )


async def _open(storage: Storage, key: str, export_id: int) -> BinaryIO:
    try:
        return await run_in_threadpool(storage.open, key)
    except ObjectNotFound as exc:
        raise ApiError(404, f"the file of export {export_id} is no longer stored") from exc


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """Sync on purpose: Starlette iterates it in a thread pool, so blocking reads never stall the event loop."""
    try:
        while chunk := handle.read(DOWNLOAD_CHUNK):
            yield chunk
    finally:
        handle.close()
