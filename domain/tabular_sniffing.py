"""Guessing how a delimited text file was written: its encoding, its delimiter, its header.

Pure functions over a sample of bytes/text; the readers in core/tabular.py open the files.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from typing import Any

DELIMITERS = (",", ";", "\t", "|")
BYTE_COMPATIBLE = {"utf-8", "utf-8-sig", "cp1252", "latin-1"}  # a b"\n" in the bytes is a newline in the text


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or the zero-byte pattern of ASCII text), else CP1252/Latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4:
        even_zeros = sample[0:200:2].count(0)
        odd_zeros = sample[1:200:2].count(0)
        half = min(len(sample), 200) // 2
        if odd_zeros > half * 0.6 and even_zeros == 0:
            return "utf-16-le"
        if even_zeros > half * 0.6 and odd_zeros == 0:
            return "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason in ("unexpected end of data",):
            return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"  # every byte decodes: the last resort


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, frequency = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (frequency, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def clean_headers(raw: list[str]) -> list[str]:
    """Headers stripped, blanks named "Column N", repeats suffixed " (2)", " (3)"..."""
    seen: Counter[str] = Counter()
    headers = []
    for index, value in enumerate(raw):
        name = " ".join(str(value).replace("\ufeff", "").split()) or f"Column {index + 1}"
        seen[name.lower()] += 1
        if seen[name.lower()] > 1:
            name = f"{name} ({seen[name.lower()]})"
        headers.append(name)
    return headers


def trailing_empty_columns(raw_headers: list[Any], rows: list[list[Any]]) -> int:
    """How many columns at the right have neither a header nor a value in the sample (spreadsheet leftovers)."""
    count = 0
    for index in range(len(raw_headers) - 1, -1, -1):
        if str(raw_headers[index]).strip() or any(index < len(row) and str(row[index]).strip() for row in rows):
            break
        count += 1
    return count
