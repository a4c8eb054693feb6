"""Bulk operations from a file: suppress, unsubscribe, tag or delete the leads whose email or phone is listed.

The file is a CSV, an XLSX or plain text with one address per line. The addresses are read from the column whose
header is email or phone (a header row is then skipped), else from the first column. Every valid address of a
suppress or unsubscribe lands on the workspace's suppression list (hashed), found or not, so a later import of that
address comes in suppressed; deleting a suppressed lead keeps its suppression the same way.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel
from sqlalchemy import text

from api.context import guard
from api.deps import SettingsDep
from api.errors import ApiError
from api.lead_service import record_event, workspace_of
from api.scoping import Scope, ScopeDep
from api.uploads import receive_upload
from core.tabular import FileFormat, Limits, TabularError, detect_format, iter_records
from domain.contacts import ContactError, normalise_phone
from domain.import_mapping import standard_target
from domain.import_values import ValueProblem, parse_email, text_of
from domain.permissions import Permission
from domain.suppression import CHANNEL_ADDRESS, REMEMBER_ADDRESSES_SQL, address_hash_sql

router = APIRouter(prefix="/api/leads", tags=["leads"])
CHUNK_ROWS = 5000

Action = Literal["suppress", "unsubscribe", "tag", "delete"]
Channel = Literal["email", "sms", "whatsapp"]
Reason = Literal["unsubscribed", "bounced", "complained"]
Entry = tuple[str, str | None]  # ("email" | "phone" | "invalid", the normalised address)


class BulkFileResult(BaseModel):
    action: str
    rows: int  # data rows read (blank rows and the header are not counted)
    matched: int  # rows whose address belongs to at least one lead
    not_found: int  # rows with a valid address no lead has
    invalid: int  # rows whose cell is neither a valid email nor a valid phone
    affected: int  # leads changed (or deleted)


@dataclass
class Counts:
    rows: int = 0
    matched: int = 0
    not_found: int = 0
    invalid: int = 0
    affected: int = 0


@router.post("/bulk-file", response_model=BulkFileResult, **guard(Permission.leads_write))
async def bulk_file(
    scope: ScopeDep,
    settings: SettingsDep,
    file: UploadFile = File(..., description="CSV, XLSX or plain text: one email or phone per row"),
    action: Action = Form(...),
    channel: Channel = Form("email", description="suppress and unsubscribe: the channel"),
    reason: Reason = Form("unsubscribed", description="suppress: why"),
    tag: str | None = Form(None, max_length=200, description="tag: the tag to add"),
) -> BulkFileResult:
    """Applies one action to every lead whose email or phone is in the file; answers with the counts."""
    tag_value = _tag(tag) if action == "tag" else None
    region = (await workspace_of(scope)).default_region
    limits = Limits(
        max_columns=settings.import_max_columns,
        max_xlsx_uncompressed_bytes=settings.import_xlsx_max_uncompressed_bytes,
    )
    counts = Counts()
    with tempfile.TemporaryDirectory(prefix="herald-bulk-") as tmp:
        path = Path(tmp) / "upload"
        await receive_upload(file, path, settings.import_max_bytes)
        try:
            fmt = await asyncio.to_thread(detect_format, path, limits)
        except TabularError as exc:
            raise ApiError(422, f"file: {exc}", field="file") from exc
        prefer = CHANNEL_ADDRESS[channel] if action in ("suppress", "unsubscribe") else "email"
        chunks = _read_chunks(path, fmt, region, prefer)
        while (chunk := await _next_chunk(chunks)) is not None:
            counts.rows += len(chunk)
            if counts.rows > settings.import_max_rows:
                raise ApiError(422, f"file: more than {settings.import_max_rows:,} rows, over the limit", field="file")
            await _apply(scope, chunk, counts, action, channel, reason, tag_value)
            await scope.session.flush()
    result = BulkFileResult(
        action=action,
        rows=counts.rows,
        matched=counts.matched,
        not_found=counts.not_found,
        invalid=counts.invalid,
        affected=counts.affected,
    )
    details: dict[str, Any] = {"filename": (file.filename or "")[:255], **result.model_dump(exclude={"action"})}
    if action in ("suppress", "unsubscribe"):
        details["channel"] = channel
    if action == "suppress":
        details["reason"] = reason
    if action == "tag":
        details["tag"] = tag_value
    scope.audit(f"lead.bulk_file_{action}", "lead", None, after=details)
    await scope.session.commit()
    return result


def _tag(tag: str | None) -> str:
    value = (tag or "").strip().lower()
    if not value or len(value) > 64:
        raise ApiError(422, "tag: a tag of 1 to 64 characters is required for the tag action", field="tag")
    return value


async def _next_chunk(chunks: Iterator[list[Entry]]) -> list[Entry] | None:
    """The next chunk, parsed in a thread; a file that turns out unreadable half-way is a 422 on `file`."""
    try:
        return await asyncio.to_thread(next, chunks, None)
    except (TabularError, csv.Error, UnicodeError) as exc:
        raise ApiError(422, f"file: {exc}", field="file") from exc


# -- reading the file --------------------------------------------------------------------------------------------


def _address_column(cells: list[Any], prefer: str) -> tuple[int, str] | None:
    """(column, kind) when the row is a header naming an email or phone column; the channel's kind wins a tie."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        kind = standard_target(text_of(cell))
        if kind in ("email", "phone") and kind not in found:
            found[kind] = index
    if not found:
        return None
    kind = prefer if prefer in found else next(iter(found))
    return found[kind], kind


def _looks_like_a_title(cell: Any) -> bool:
    """A first cell with neither an @ nor a digit ("Contacts", "Unsubscribes") is a header, not an address."""
    value = text_of(cell)
    return bool(value) and "@" not in value and not any(ch.isdigit() for ch in value)


def _parse(raw: str, kind: str | None, region: str) -> Entry:
    if kind == "email" or (kind is None and "@" in raw):
        try:
            return "email", parse_email(raw)
        except ValueProblem:
            return "invalid", None
    try:
        return "phone", normalise_phone(raw, region)[0]
    except ContactError:
        return "invalid", None


def _read_chunks(path: Path, fmt: FileFormat, region: str, prefer: str) -> Iterator[list[Entry]]:
    """The file's non-blank data rows as (kind, normalised address), CHUNK_ROWS at a time."""
    column, kind = 0, None
    first = True
    chunk: list[Entry] = []
    for _, cells, _ in iter_records(path, fmt):
        if not any(text_of(cell) for cell in cells):
            continue
        if first:
            first = False
            header = _address_column(cells, prefer)
            if header is not None:
                column, kind = header
                continue
            if _looks_like_a_title(cells[0]):
                continue
        raw = text_of(cells[column]) if column < len(cells) else ""
        chunk.append(_parse(raw, kind, region) if raw else ("invalid", None))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- applying the action -----------------------------------------------------------------------------------------


async def _apply(
    scope: Scope,
    chunk: list[Entry],
    counts: Counts,
    action: str,
    channel: str,
    reason: str,
    tag: str | None,
) -> None:
    session, ws = scope.session, scope.workspace_id
    emails = sorted({value for kind, value in chunk if kind == "email"})
    phones = sorted({value for kind, value in chunk if kind == "phone"})
    leads = (
        await session.execute(
            text(
                "SELECT id, email, phone FROM leads WHERE workspace_id = :w "
                "AND (email = ANY(CAST(:emails AS text[])) OR phone = ANY(CAST(:phones AS text[])))"
            ),
            {"w": ws, "emails": emails, "phones": phones},
        )
    ).all()
    found = {("email", lead.email) for lead in leads} | {("phone", lead.phone) for lead in leads}
    for entry in chunk:
        if entry[0] == "invalid":
            counts.invalid += 1
        elif entry in found:
            counts.matched += 1
        else:
            counts.not_found += 1
    ids = sorted({lead.id for lead in leads})
    if action in ("suppress", "unsubscribe"):
        address = CHANNEL_ADDRESS[channel]
        listed = emails if address == "email" else phones
        known = [getattr(lead, address) for lead in leads if getattr(lead, address)]
        entry_reason = reason if action == "suppress" else "unsubscribed"
        await _remember(scope, channel, sorted({*listed, *known}), entry_reason)
        if action == "suppress":
            counts.affected += await _suppress(scope, ids, channel, reason)
        else:
            counts.affected += await _unsubscribe(scope, ids, channel)
    elif action == "tag":
        counts.affected += await _add_tag(scope, ids, tag or "")
    elif action == "delete":
        counts.affected += await _delete(scope, ids)


async def _remember(scope: Scope, channel: str, addresses: list[str], reason: str) -> None:
    """Adds the addresses to the suppression list (an address already there keeps its first reason)."""
    if not addresses:
        return
    await scope.session.execute(
        text(REMEMBER_ADDRESSES_SQL),
        {"w": scope.workspace_id, "channel": channel, "reason": reason, "addresses": addresses},
    )


async def _suppress(scope: Scope, ids: list[int], channel: str, reason: str) -> int:
    if not ids:
        return 0
    column = f"suppressed_{channel}"
    # The self-join reads the row as it was before the update, for the timeline's "from".
    changed = (
        await scope.session.execute(
            text(
                f"UPDATE leads AS l SET {column} = :reason, updated_at = now() FROM leads AS o "
                f"WHERE o.id = l.id AND l.workspace_id = :w AND l.id = ANY(CAST(:ids AS integer[])) "
                f"AND l.{column} IS DISTINCT FROM :reason RETURNING l.id, o.{column}"
            ),
            {"w": scope.workspace_id, "ids": ids, "reason": reason},
        )
    ).all()
    for lead_id, old in changed:
        record_event(scope, lead_id, "field_changed", {"field": column, "from": old, "to": reason})
    return len(changed)


async def _unsubscribe(scope: Scope, ids: list[int], channel: str) -> int:
    if not ids:
        return 0
    suppressed, consent = f"suppressed_{channel}", f"consent_{channel}"
    changed = (
        await scope.session.execute(
            text(
                f"UPDATE leads AS l SET {suppressed} = 'unsubscribed', {consent} = 'denied', updated_at = now() "
                f"FROM leads AS o WHERE o.id = l.id AND l.workspace_id = :w AND l.id = ANY(CAST(:ids AS integer[])) "
                f"AND (l.{suppressed} IS DISTINCT FROM 'unsubscribed' OR l.{consent} <> 'denied') "
                f"RETURNING l.id, o.{suppressed}, o.{consent}"
            ),
            {"w": scope.workspace_id, "ids": ids},
        )
    ).all()
    for lead_id, old_suppressed, old_consent in changed:
        if old_suppressed != "unsubscribed":
            record_event(
                scope, lead_id, "field_changed", {"field": suppressed, "from": old_suppressed, "to": "unsubscribed"}
            )
        if old_consent != "denied":
            record_event(scope, lead_id, "field_changed", {"field": consent, "from": old_consent, "to": "denied"})
    return len(changed)


async def _add_tag(scope: Scope, ids: list[int], tag: str) -> int:
    if not ids:
        return 0
    result = await scope.session.execute(
        text(
            "UPDATE leads SET tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || ARRAY[CAST(:tag AS text)]) t "
            "ORDER BY t), updated_at = now() WHERE workspace_id = :w AND id = ANY(CAST(:ids AS integer[])) "
            "AND NOT (tags @> ARRAY[CAST(:tag AS text)]) RETURNING id"
        ),
        {"w": scope.workspace_id, "ids": ids, "tag": tag},
    )
    touched = list(result.scalars())
    for lead_id in touched:
        record_event(scope, lead_id, "tagged", {"tags": [tag]})
    return len(touched)


async def _delete(scope: Scope, ids: list[int]) -> int:
    """Deletes the leads; each suppressed channel first leaves an entry for the address (its timeline goes)."""
    if not ids:
        return 0
    params = {"w": scope.workspace_id, "ids": ids}
    for channel, address in CHANNEL_ADDRESS.items():
        await scope.session.execute(
            text(
                "INSERT INTO suppressions (workspace_id, channel, address_hash, reason, created_at) "
                f"SELECT DISTINCT workspace_id, '{channel}', {address_hash_sql(address)}, suppressed_{channel}, "
                f"now() FROM leads WHERE workspace_id = :w AND id = ANY(CAST(:ids AS integer[])) "
                f"AND suppressed_{channel} IS NOT NULL AND {address} IS NOT NULL "
                "ON CONFLICT (workspace_id, channel, address_hash) DO NOTHING"
            ),
            params,
        )
    result = await scope.session.execute(
        text("DELETE FROM leads WHERE workspace_id = :w AND id = ANY(CAST(:ids AS integer[])) RETURNING id"), params
    )
    return len(list(result.scalars()))
