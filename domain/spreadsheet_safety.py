"""Formula injection: a cell a spreadsheet would read as a formula is written with a leading apostrophe.

Quoting alone does not stop Excel or LibreOffice from evaluating `=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)` and
friends; a leading `'` makes the cell text. Applied to every exported CSV and XLSX cell and to error reports.
"""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")


def neutralise(value: Any) -> Any:
    """The value, with a leading `'` when it is text a spreadsheet would evaluate; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
