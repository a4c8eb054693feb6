"""Turning the cells of an imported row into lead values, or into reasons the row is rejected.

Cells come as text (CSV) or typed (XLSX: float, bool, date, datetime). A `RowConverter` is built once per import from
the mapping and applies a precompiled converter per column, so a million rows cost one pass of cheap calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.contacts import (
    COUNTRY_TIMEZONES,
    ContactError,
    normalise_country,
    normalise_email,
    phone_details,
    valid_timezone,
)
from domain.custom_fields import MAX_TEXT, FieldDefinition

# Syntax only (no DNS): a local part without spaces or specials, a dotted domain; UTF-8 allowed (RFC 6531).
EMAIL_PATTERN = re.compile(r"^[^\s@\"(),:;<>\[\]\\]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$")
PHONE_SHAPE = re.compile(r"^\+?[\d\s().-]{6,20}$")
TEXT_LIMITS = {
    "first_name": 200,
    "last_name": 200,
    "company": 200,
    "job_title": 200,
    "source": 100,
    "locale": 16,
    "external_id": 200,
}
TAG_SPLIT = re.compile(r"[,;|]")
TRUE_WORDS = {"true", "yes", "y", "1", "oui", "si", "ja", "x"}
FALSE_WORDS = {"false", "no", "n", "0", "non", "nein"}
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/.-](\d{1,2})[/.-](\d{1,4})(?:[ T].*)?$")
_NAMED_MONTH_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y", "%d-%b-%y")


class ValueProblem(ValueError):
    """A cell that cannot become the value its column is mapped to."""


def text_of(cell: Any) -> str:
    """A cell as text: integral floats without ".0", dates in ISO form."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell).strip()


def looks_like_email(cell: Any) -> bool:
    return bool(EMAIL_PATTERN.match(text_of(cell)))


def looks_like_phone(cell: Any) -> bool:
    text = text_of(cell)
    return bool(PHONE_SHAPE.match(text)) and sum(ch.isdigit() for ch in text) >= 7


def looks_like_date(cell: Any) -> bool:
    if isinstance(cell, datetime | date):
        return True
    try:
        parse_date(cell, "dmy")
        return True
    except ValueProblem:
        return False


def parse_email(cell: Any) -> str:
    text = text_of(cell)
    if len(text) > 320 or not EMAIL_PATTERN.match(text):
        raise ValueProblem(f"not an email address: {text[:80]!r}")
    return normalise_email(text)


def parse_number(cell: Any) -> float | int:
    if isinstance(cell, bool):
        raise ValueProblem("expected a number")
    if isinstance(cell, int | float):
        return int(cell) if float(cell).is_integer() else cell
    text = text_of(cell).replace("\u00a0", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # decimal comma
    else:
        text = text.replace(",", "")  # thousands separator
    try:
        number = float(text)
    except ValueError as exc:
        raise ValueProblem(f"not a number: {text_of(cell)[:40]!r}") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueProblem("not a finite number")
    return int(number) if number.is_integer() else number


def parse_integer(cell: Any) -> int:
    number = parse_number(cell)
    if not isinstance(number, int):
        raise ValueProblem(f"expected a whole number, not {number}")
    if abs(number) > 2**31 - 1:
        raise ValueProblem("number too large")
    return number


def parse_boolean(cell: Any) -> bool:
    if isinstance(cell, bool):
        return cell
    word = text_of(cell).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueProblem(f"expected yes/no or true/false, not {word[:20]!r}")


def parse_date(cell: Any, order: str) -> date:
    """ISO dates, day/month/year or month/day/year by `order` ("dmy" or "mdy"), and named months."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = text_of(cell)
    match = _NUMERIC_DATE.match(text)
    try:
        if match:
            a, b, c = (int(part) for part in match.groups())
            if len(match.group(1)) == 4:
                return date(a, b, c)
            day, month = (a, b) if order == "dmy" else (b, a)
            year = c + 2000 if c < 70 else c + 1900 if c < 100 else c
            return date(year, month, day)
        cleaned = text.replace(",", " ").replace(".", " ")
        cleaned = " ".join(cleaned.split())
        for fmt in _NAMED_MONTH_FORMATS:
            try:
                return datetime.strptime(cleaned, fmt).date()
            except ValueError:
                continue
    except ValueError as exc:
        raise ValueProblem(f"not a date: {text[:40]!r}") from exc
    raise ValueProblem(f"not a date: {text[:40]!r}")


def infer_date_order(values: Sequence[Any]) -> str | None:
    """ "dmy" when a first number above 12 appears, "mdy" when a second one does; None when nothing tells."""
    for value in values:
        match = _NUMERIC_DATE.match(text_of(value)) if isinstance(value, str) else None
        if not match or len(match.group(1)) == 4:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            return "dmy"
        if second > 12 >= first:
            return "mdy"
    return None


@dataclass(frozen=True)
class ConversionRules:
    """What the converter needs to know besides the mapping."""

    dedupe_key: str = "email"
    default_region: str = "US"
    statuses: Sequence[str] = ("new", "contacted", "qualified", "proposal", "won", "lost")
    default_status: str | None = None
    max_cell_length: int = 10_000
    date_orders: Mapping[int, str] = field(default_factory=dict)  # column index → "dmy" / "mdy"
    default_date_order: str = "dmy"


@dataclass
class ConvertedRow:
    row_number: int
    key: str
    values: dict[str, Any]  # standard fields (None = not given) and "custom_fields"


@dataclass
class RejectedRow:
    row_number: int
    cells: list[str]
    reasons: list[tuple[str, str]]  # (field, message)

    @property
    def reason_text(self) -> str:
        return "; ".join(f"{name}: {message}" for name, message in self.reasons)


class RowConverter:
    """Applies a mapping (a target per column: a standard field, "custom.<key>" or "ignore") to rows."""

    def __init__(
        self,
        targets: Sequence[str],
        custom_fields: Mapping[str, FieldDefinition],
        rules: ConversionRules,
    ) -> None:
        self.rules = rules
        self.columns: list[tuple[int, str, Callable[[Any], Any]]] = []
        self.statuses = {status.lower(): status for status in rules.statuses}
        for index, target in enumerate(targets):
            if target == "ignore":
                continue
            self.columns.append((index, target, self._converter(index, target, custom_fields)))
        self.mapped = {target for _, target, _ in self.columns}

    def convert(self, row_number: int, cells: Sequence[Any]) -> ConvertedRow | RejectedRow | None:
        """None for a blank row (skipped silently, as spreadsheets leave them)."""
        if not any(text_of(cell) for cell in cells):
            return None
        values: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        reasons: list[tuple[str, str]] = []
        limit = self.rules.max_cell_length
        for index, target, convert in self.columns:
            cell = cells[index] if index < len(cells) else ""
            if isinstance(cell, str) and len(cell) > limit:
                reasons.append((target, f"cell longer than {limit} characters"))
                continue
            if isinstance(cell, str) and not cell.strip():
                continue
            if cell is None:
                continue
            try:
                value = convert(cell)
            except (ValueProblem, ContactError) as exc:
                reasons.append((target, _message(exc)))
                continue
            if target.startswith("custom."):
                custom[target.removeprefix("custom.")] = value
            elif target == "phone":
                values["phone"], values["_region"], values["_zone"] = value
            else:
                values[target] = value
        region = values.pop("_region", None)
        zone = values.pop("_zone", None)
        key = values.get(self.rules.dedupe_key)
        if not reasons and not key:
            reasons.append((self.rules.dedupe_key, "required: it is the duplicate key of this import"))
        if reasons:
            return RejectedRow(row_number, [text_of(cell) for cell in cells], reasons)
        if region and not values.get("country"):
            values["country"] = region
        if "timezone" not in values:
            values["inferred_timezone"] = zone or COUNTRY_TIMEZONES.get(values.get("country") or "")
        if "status" not in values and self.rules.default_status:
            values["status"] = self.rules.default_status
        values["custom_fields"] = custom
        return ConvertedRow(row_number, str(key), values)

    def _converter(self, index: int, target: str, custom_fields: Mapping[str, FieldDefinition]) -> Callable[[Any], Any]:
        if target == "email":
            return parse_email
        if target == "phone":
            region = self.rules.default_region
            return lambda cell: phone_details(text_of(cell), region)
        if target == "status":
            return self._status
        if target == "score":
            return parse_integer
        if target == "tags":
            return _tags
        if target == "timezone":
            return _timezone
        if target == "country":
            return lambda cell: normalise_country(text_of(cell)) or None
        if target in TEXT_LIMITS:
            return _bounded_text(TEXT_LIMITS[target])
        if target.startswith("custom."):
            definition = custom_fields.get(target.removeprefix("custom."))
            if definition is None:
                raise ValueError(f"{target}: no such custom field")
            order = self.rules.date_orders.get(index, self.rules.default_date_order)
            return _custom_converter(definition, order)
        raise ValueError(f"{target}: not a field an import can fill")

    def _status(self, cell: Any) -> str:
        status = self.statuses.get(text_of(cell).lower())
        if status is None:
            raise ValueProblem(f"use one of {list(self.rules.statuses)}")
        return status


def _message(exc: Exception) -> str:
    """The problem without the field prefix ContactError carries (the report names the field itself)."""
    if isinstance(exc, ContactError):
        return str(exc).removeprefix(f"{exc.field}: ")
    return str(exc)


def _bounded_text(limit: int) -> Callable[[Any], str]:
    def convert(cell: Any) -> str:
        text = text_of(cell)
        if len(text) > limit:
            raise ValueProblem(f"longer than {limit} characters")
        return text

    return convert


def _tags(cell: Any) -> list[str]:
    tags = [tag.strip()[:64] for tag in TAG_SPLIT.split(text_of(cell))]
    return sorted({tag for tag in tags if tag})


def _timezone(cell: Any) -> str:
    name = text_of(cell)
    if not valid_timezone(name):
        raise ValueProblem(f"not an IANA time zone: {name[:40]!r}")
    return name


def _custom_converter(definition: FieldDefinition, date_order: str) -> Callable[[Any], Any]:
    kind = definition.type
    if kind == "number":
        return parse_number
    if kind == "boolean":
        return parse_boolean
    if kind == "date":
        return lambda cell: parse_date(cell, date_order).isoformat()
    if kind == "choice":
        choices = {choice.lower(): choice for choice in definition.choices}

        def choice(cell: Any) -> str:
            value = choices.get(text_of(cell).lower())
            if value is None:
                raise ValueProblem(f"use one of {list(definition.choices)}")
            return value

        return choice
    return _bounded_text(MAX_TEXT)
