"""Export activities: write a large lead export to a file, put it in storage, record how it ended.

The leads are read in keyset batches on the event loop; each batch is written to the file in a thread, and a task on
the event loop heartbeats the progress all along (heartbeats cannot come from a thread). A retried attempt simply
writes the whole file again: the object in storage is replaced, never appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import ColumnElement, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.exports import (
    BATCH_ROWS,
    CONTENT_TYPES,
    FORMATS,
    ExportError,
    ExportWriter,
    row_batches,
    selection_condition,
    storage_key,
)
from core.storage import Storage
from domain.filters import FilterError
from domain.lists import filter_context_from
from models.imports import LeadExport
from models.leads import CustomFieldDefinition
from models.lists import LeadList
from models.payloads.imports import ExportFailure, ExportInput, ExportResult
from models.workspaces import Workspace

log = structlog.get_logger("herald.activities.exports")
REFUSED = "ExportRefused"  # non-retryable: the same input would fail the same way
HEARTBEAT_SECONDS = 5.0
MAX_ERROR_LENGTH = 2000


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type=REFUSED, non_retryable=True)


class ExportActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], storage: Storage, batch_rows: int = BATCH_ROWS
    ) -> None:
        self.sessions = sessions
        self.storage = storage
        self.batch_rows = batch_rows

    @activity.defn
    async def write_export(self, input: ExportInput) -> ExportResult:
        """Writes the selection to `exports/<workspace>/<id>/leads.<ext>` and marks the export ready."""
        async with self.sessions() as session:
            export = await session.get(LeadExport, input.export_id)
            if export is None or export.workspace_id != input.workspace_id:
                raise _refuse(f"export {input.export_id} not found")
            if export.status == "ready":  # a retry after the row was marked: nothing left to do
                return ExportResult(export_id=export.id, rows=export.row_count or 0)
            if export.status == "failed":
                raise _refuse(f"export {input.export_id} has already failed: {export.error}")
            if export.format not in FORMATS:
                raise _refuse(f"unknown export format {export.format!r}")
            condition = await _condition(session, export)
            fmt, columns = export.format, list(export.columns)
            export.status = "running"
            session.add(export)
            await session.commit()
        key = storage_key(input.workspace_id, input.export_id, fmt)
        progress: dict[str, Any] = {"phase": "writing", "rows": 0}
        with tempfile.TemporaryDirectory(prefix="herald-export-") as tmp:
            async with _heartbeating(progress):
                path = Path(tmp) / f"leads.{fmt}"
                rows = await self._write(path, fmt, columns, condition, progress)
                progress["phase"] = "uploading"
                await asyncio.to_thread(self.storage.put_file, key, path, CONTENT_TYPES[fmt])
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE exports SET status = 'ready', row_count = :rows, storage_key = :key, error = NULL, "
                    "finished_at = now() WHERE id = :id"
                ),
                {"rows": rows, "key": key, "id": input.export_id},
            )
            await session.commit()
        log.info("export written", export_id=input.export_id, format=fmt, rows=rows, key=key)
        return ExportResult(export_id=input.export_id, rows=rows)

    async def _write(
        self, path: Path, fmt: str, columns: list[str], condition: ColumnElement[bool], progress: dict[str, Any]
    ) -> int:
        """Reads batches on the event loop and writes each in a thread; `progress` is what the heartbeats carry."""
        writer = await asyncio.to_thread(ExportWriter, fmt, path, columns)
        try:
            async for rows in row_batches(self.sessions, condition, columns, self.batch_rows):
                await asyncio.to_thread(writer.write_rows, rows)
                progress["rows"] = writer.rows
            progress["phase"] = "finishing"
            return await asyncio.to_thread(writer.close)
        except ExportError as exc:
            writer.abort()
            raise _refuse(str(exc)) from exc
        except BaseException:
            writer.abort()
            raise

    @activity.defn
    async def fail_export(self, input: ExportFailure) -> None:
        """Marks the export failed with the reason (an export already ready stays ready)."""
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE exports SET status = 'failed', error = :error, finished_at = now() "
                    "WHERE id = :id AND workspace_id = :w AND status <> 'ready'"
                ),
                {"error": input.error[:MAX_ERROR_LENGTH], "id": input.export_id, "w": input.workspace_id},
            )
            await session.commit()
        log.warning("export failed", export_id=input.export_id, error=input.error)


async def _condition(session: AsyncSession, export: LeadExport) -> ColumnElement[bool]:
    """The stored selection as a condition, compiled in the workspace's current filter context."""
    workspace_id = export.workspace_id
    workspace = await session.get(Workspace, workspace_id)
    definitions = (
        await session.exec(select(CustomFieldDefinition).where(CustomFieldDefinition.workspace_id == workspace_id))
    ).all()
    ctx = filter_context_from(workspace_id, datetime.now(UTC), workspace.lead_statuses, definitions)
    selection: dict[str, Any] = export.selection or {}
    lead_list = None
    if selection.get("list_id") is not None:
        lead_list = await session.get(LeadList, selection["list_id"])
        if lead_list is None or lead_list.workspace_id != workspace_id:
            raise _refuse(f"list {selection['list_id']} no longer exists")
    try:
        return selection_condition(
            workspace_id,
            ctx,
            filter_data=selection.get("filter"),
            lead_list=lead_list,
            lead_ids=selection.get("lead_ids"),
            search=selection.get("search"),
        )
    except FilterError as exc:
        raise _refuse(f"the selection's filter no longer applies: {exc}") from exc


@contextlib.asynccontextmanager
async def _heartbeating(details: dict[str, Any], every: float = HEARTBEAT_SECONDS) -> AsyncIterator[None]:
    """Heartbeats `details` (as it is at each beat) from the event loop while the body runs.

    The work itself is done in threads and in database round trips, neither of which may heartbeat; a slow query or
    a long upload keeps the activity alive, a dead worker stops the beats and Temporal retries the export elsewhere.
    """

    async def beat() -> None:
        while True:
            activity.heartbeat(dict(details))
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
