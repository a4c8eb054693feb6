"""Lead exports, shared by the API (small exports, streamed) and ExportActivities (large ones, written to storage).

- the selection: one SQL condition for a filter, a saved list, explicit ids and/or a search, always in one workspace;
- reading the selected leads in keyset batches by id, as rows of cell values (domain/export_columns.py);
- writers: CSV (UTF-8 with a BOM, so Excel reads accents right), XLSX (xlsxwriter in constant-memory mode, every
  text cell written with `write_string` so nothing becomes a formula) and JSON (one array). CSV and XLSX cells that a
  spreadsheet would evaluate get a leading `'` (domain/spreadsheet_safety.py); JSON keeps the raw values.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Integer, and_, any_, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.export_columns import row_values
from domain.filters import FilterContext, compile_filter, parse_filter
from domain.lead_search import search_condition
from domain.lists import saved_list_membership
from domain.spreadsheet_safety import neutralise
from models.leads import Lead
from models.lists import LeadList
from models.workspaces import User

FORMATS = ("csv", "xlsx", "json")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows, less the header
BATCH_ROWS = 1000
CSV_BOM = "\ufeff"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
XLSX_SHEET = "Leads"
MAX_EXACT_FLOAT_INT = 2**53


class ExportError(ValueError):
    """An export that cannot be written as asked (e.g. more rows than a worksheet holds)."""


def export_filename(fmt: str, day: date) -> str:
    return f"leads-{day.isoformat()}.{fmt}"


def storage_key(workspace_id: int, export_id: int, fmt: str) -> str:
    return f"exports/{workspace_id}/{export_id}/leads.{fmt}"


# -- the selection -----------------------------------------------------------------------------------------------


def selection_condition(
    workspace_id: int,
    ctx: FilterContext,
    *,
    filter_data: Any = None,
    lead_list: LeadList | None = None,
    lead_ids: Sequence[int] | None = None,
    search: str | None = None,
) -> ColumnElement[bool]:
    """The workspace's leads matching every part given; raises domain.filters.FilterError for a bad filter."""
    conditions: list[Any] = [Lead.workspace_id == workspace_id]
    if filter_data:
        conditions.append(compile_filter(parse_filter(filter_data), ctx))
    if lead_list is not None:
        conditions.append(saved_list_membership(lead_list.id, lead_list.kind, lead_list.filter, ctx))
    if lead_ids is not None:
        # An array parameter, not IN (...): a selection of 100,000 ids must not become 100,000 bind parameters.
        conditions.append(
            col(Lead.id) == any_(bindparam("export_lead_ids", list(lead_ids), type_=ARRAY(Integer), unique=True))
        )
    found = search_condition(search)
    if found is not None:
        conditions.append(found)
    return and_(*conditions)


async def count_selected(session: AsyncSession, condition: ColumnElement[bool]) -> int:
    return (await session.exec(select(func.count()).select_from(Lead).where(condition))).one()


async def row_batches(
    sessions: async_sessionmaker[AsyncSession],
    condition: ColumnElement[bool],
    columns: Sequence[str],
    batch_rows: int = BATCH_ROWS,
) -> AsyncIterator[list[list[Any]]]:
    """The selected leads in id order, `batch_rows` at a time, as cell values of `columns`.

    Keyset pagination by id, each batch in its own short session: no transaction stays open while a slow client
    reads a stream or a writer works, and memory stays flat whatever the size of the export.
    """
    owner_email = select(User.email).where(User.id == Lead.owner_id).scalar_subquery().label("owner_email")
    last_id = 0
    while True:
        async with sessions() as session:
            query = (
                select(Lead, owner_email)
                .where(condition, col(Lead.id) > last_id)
                .order_by(col(Lead.id))
                .limit(batch_rows)
            )
            found = (await session.exec(query)).all()
            rows = [row_values(lead, columns, owner) for lead, owner in found]
        if not found:
            return
        last_id = found[-1][0].id
        yield rows
        if len(found) < batch_rows:
            return


# -- cells -------------------------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A value as CSV text: empty for None, true/false, ISO 8601 dates, JSON for structured custom values."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot export a {type(value).__name__} as JSON")


def json_object(columns: Sequence[str], row: Sequence[Any]) -> str:
    return json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=_json_default)


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    _write_csv(buffer, rows)
    return buffer.getvalue()


def _write_csv(out: TextIO, rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(cell_text(value)) for value in row])


# -- streaming (API) ---------------------------------------------------------------------------------------------


async def stream_chunks(
    fmt: str, columns: Sequence[str], batches: AsyncIterator[list[list[Any]]]
) -> AsyncIterator[bytes]:
    """CSV or JSON bytes, one chunk per batch, for a StreamingResponse (XLSX cannot stream: use ExportWriter)."""
    if fmt == "csv":
        yield (CSV_BOM + csv_lines([columns])).encode()
        async for rows in batches:
            yield csv_lines(rows).encode()
    elif fmt == "json":
        yield b"["
        first = True
        async for rows in batches:
            parts = [json_object(columns, row) for row in rows]
            if parts:
                yield (("\n" if first else ",\n") + ",\n".join(parts)).encode()
                first = False
        yield b"]\n" if first else b"\n]\n"
    else:
        raise ExportError(f"cannot stream {fmt}; write it to a file")


# -- files (API for XLSX, ExportActivities for everything) -------------------------------------------------------


class ExportWriter:
    """Writes an export file row batch by batch; synchronous (run `write_rows` and `close` in a thread)."""

    def __init__(self, fmt: str, path: Path, columns: Sequence[str]) -> None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r}")
        self.fmt = fmt
        self.path = path
        self.columns = list(columns)
        self.rows = 0
        self._closed = False
        if fmt == "xlsx":
            self._open_xlsx()
        elif fmt == "csv":
            # utf-8-sig writes the BOM Excel needs to read the file as UTF-8.
            self._text = path.open("w", encoding="utf-8-sig", newline="")
            _write_csv(self._text, [self.columns])
        else:
            self._text = path.open("w", encoding="utf-8")
            self._text.write("[")

    def _open_xlsx(self) -> None:
        import xlsxwriter

        self._book = xlsxwriter.Workbook(
            str(self.path),
            {
                "constant_memory": True,  # rows are flushed as they are written: flat memory for a million rows
                "tmpdir": str(self.path.parent),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._sheet = self._book.add_worksheet(XLSX_SHEET)
        self._datetime = self._book.add_format({"num_format": XLSX_DATETIME_FORMAT})
        bold = self._book.add_format({"bold": True})
        for index, column in enumerate(self.columns):
            self._sheet.write_string(0, index, neutralise(column), bold)
        self._sheet.freeze_panes(1, 0)

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        if self.fmt == "xlsx":
            if self.rows + len(rows) > XLSX_MAX_ROWS:
                raise ExportError(f"an XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows; export as CSV or JSON")
            for row in rows:
                self.rows += 1
                for index, value in enumerate(row):
                    self._xlsx_cell(self.rows, index, value)
            return
        if self.fmt == "csv":
            _write_csv(self._text, rows)
            self.rows += len(rows)
            return
        for row in rows:
            self._text.write(("\n" if self.rows == 0 else ",\n") + json_object(self.columns, row))
            self.rows += 1

    def _xlsx_cell(self, row: int, column: int, value: Any) -> None:
        sheet = self._sheet
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, column, value)
        elif isinstance(value, int | float) and _exact_number(value):
            sheet.write_number(row, column, value)
        elif isinstance(value, datetime):
            naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
            sheet.write_datetime(row, column, naive, self._datetime)
        else:
            sheet.write_string(row, column, neutralise(cell_text(value)))

    def close(self) -> int:
        """Finishes the file; returns the number of data rows."""
        if not self._closed:
            self._closed = True
            if self.fmt == "xlsx":
                self._book.close()
            else:
                if self.fmt == "json":
                    self._text.write("]\n" if self.rows == 0 else "\n]\n")
                self._text.close()
        return self.rows

    def abort(self) -> None:
        """Releases the file after a failure (the caller removes its directory)."""
        if self._closed:
            return
        self._closed = True
        if self.fmt != "xlsx":
            self._text.close()
            return
        try:  # xlsxwriter complains at garbage collection about a workbook never closed
            self._book.close()
        except Exception:
            pass


def _exact_number(value: int | float) -> bool:
    """Numbers a spreadsheet keeps exactly (a double); others are written as text rather than rounded."""
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return -MAX_EXACT_FLOAT_INT <= value <= MAX_EXACT_FLOAT_INT
