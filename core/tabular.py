"""Reading imported spreadsheets: CSV in any usual encoding and delimiter, or XLSX, checked before parsing.

The API reads a preview; the import activities read every row, resuming at a byte offset (CSV) or a row number.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.tabular_sniffing import (
    BYTE_COMPATIBLE,
    clean_headers,
    detect_delimiter,
    detect_encoding,
    trailing_empty_columns,
)

SAMPLE_BYTES = 1 << 20
XML_HEAD_BYTES = 4096
csv.field_size_limit(1 << 24)  # cells longer than the import's limit are rejected per row, not by the parser


class TabularError(ValueError):
    """A file we refuse to read, with the reason a marketer can act on."""


@dataclass
class FileFormat:
    kind: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)


@dataclass
class Preview:
    format: FileFormat
    sheet: str | None
    headers: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Limits:
    max_columns: int = 200
    max_xlsx_uncompressed_bytes: int = 500 << 20


def detect_format(path: Path, limits: Limits = Limits()) -> FileFormat:
    """CSV (encoding and delimiter sniffed) or XLSX (zip checked against bombs and XML entities)."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample:
        raise TabularError("the file is empty")
    if sample.startswith(b"PK\x03\x04"):
        return FileFormat("xlsx", sheets=_check_xlsx(path, limits))
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    if not encoding.startswith("utf-16") and "\x00" in text:
        raise TabularError("not a CSV or XLSX file (binary content)")
    return FileFormat("csv", encoding=encoding, delimiter=detect_delimiter(text))


def _check_xlsx(path: Path, limits: Limits) -> list[str]:
    """Sheet names of a safe workbook; refuses zip bombs and XML with a DTD (entity expansion, external entities)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise TabularError("not a valid XLSX file (broken zip)") from exc
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if "xl/workbook.xml" not in names:
            raise TabularError("not an XLSX workbook (a zip without xl/workbook.xml)")
        total = sum(member.file_size for member in members)
        if total > limits.max_xlsx_uncompressed_bytes:
            raise TabularError(
                f"the workbook unpacks to {total:,} bytes, over the limit of {limits.max_xlsx_uncompressed_bytes:,}"
            )
        for member in members:
            if member.compress_size and member.file_size / member.compress_size > 1000:
                raise TabularError(f"{member.filename}: compression ratio too high (zip bomb)")
            if member.filename.endswith((".xml", ".rels")):
                with archive.open(member) as part:
                    head = part.read(XML_HEAD_BYTES)
                if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
                    raise TabularError(f"{member.filename}: XML with a DTD or entities is refused")
    try:
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(str(path))
        sheets = list(workbook.sheet_names)
        workbook.close()
    except Exception as exc:  # calamine raises its own error types for every kind of broken workbook
        raise TabularError(f"not a readable XLSX file: {exc}") from exc
    if not sheets:
        raise TabularError("the workbook has no sheet")
    return sheets


def read_preview(path: Path, fmt: FileFormat, sheet: str | None, count: int = 20, limits: Limits = Limits()) -> Preview:
    """Headers (cleaned, trailing empty columns dropped) and the first `count` non-blank rows."""
    rows_iter = iter_records(path, fmt, sheet)
    try:
        _, raw_headers, _ = next(rows_iter)
    except StopIteration as exc:
        raise TabularError("the file has no header row") from exc
    rows: list[list[Any]] = []
    for _, cells, _ in rows_iter:
        if any(str(cell).strip() for cell in cells if cell is not None):
            rows.append(list(cells))
            if len(rows) >= count:
                break
    width = len(raw_headers) - trailing_empty_columns(raw_headers, rows)
    if width == 0:
        raise TabularError("the header row is empty")
    if width > limits.max_columns:
        raise TabularError(f"the file has {width} columns, over the limit of {limits.max_columns}")
    headers = clean_headers([str(h) for h in raw_headers[:width]])
    return Preview(fmt, sheet, headers, [(row + [""] * width)[:width] for row in rows])


def iter_records(
    path: Path, fmt: FileFormat, sheet: str | None = None, start_offset: int = 0, start_row: int = 0
) -> Iterator[tuple[int, list[Any], int | None]]:
    """(row number, cells, byte offset after the row or None) for every record, the header being row 1.

    Resumes after `start_row` rows: by seeking to `start_offset` where the encoding allows it, else by skipping.
    """
    if fmt.kind == "xlsx":
        yield from _xlsx_records(path, sheet, start_row)
    else:
        yield from _csv_records(path, fmt.encoding or "utf-8", fmt.delimiter or ",", start_offset, start_row)


def _csv_records(
    path: Path, encoding: str, delimiter: str, start_offset: int, start_row: int
) -> Iterator[tuple[int, list[Any], int | None]]:
    with path.open("rb") as raw:
        if encoding in BYTE_COMPATIBLE:
            decoder_name = "utf-8" if encoding == "utf-8-sig" else encoding
            if start_offset:
                raw.seek(start_offset)
            elif encoding == "utf-8-sig" and raw.read(3) != codecs.BOM_UTF8:
                raw.seek(0)
            offset = raw.tell()
            positions = [offset]

            def lines() -> Iterator[str]:
                for line in raw:
                    positions[0] += len(line)
                    yield line.decode(decoder_name, errors="replace")

            row_number = start_row
            for cells in csv.reader(lines(), delimiter=delimiter):
                row_number += 1
                yield row_number, cells, positions[0]
            return
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        row_number = 0
        for cells in csv.reader(text, delimiter=delimiter):
            row_number += 1
            if row_number > start_row:
                yield row_number, [cell.lstrip("\ufeff") if row_number == 1 else cell for cell in cells], None


def _xlsx_records(path: Path, sheet: str | None, start_row: int) -> Iterator[tuple[int, list[Any], int | None]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        worksheet = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
        for row_number, cells in enumerate(worksheet.iter_rows(), start=1):
            if row_number > start_row:
                yield row_number, list(cells), None
    finally:
        workbook.close()
