"""The columns a lead export offers, checking a requested list of them, and a lead's value in each column.

Pure: a lead is anything with the attributes of `models.leads.Lead`; the owner's email comes from the caller.
Values keep their type (int, str, bool, datetime, None, custom values as stored); the writers in core/exports.py turn
them into text, spreadsheet cells or JSON.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CUSTOM_PREFIX = "custom."
MAX_COLUMNS = 200

# id -> label, in the order the export dialog offers them.
STANDARD_COLUMNS: dict[str, str] = {
    "id": "Id",
    "email": "Email",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "job_title": "Job title",
    "status": "Status",
    "score": "Score",
    "owner": "Owner (email)",
    "source": "Source",
    "tags": "Tags",
    "timezone": "Time zone",
    "locale": "Locale",
    "country": "Country",
    "external_id": "External id",
    "consent_email": "Email consent",
    "consent_sms": "SMS consent",
    "consent_whatsapp": "WhatsApp consent",
    "suppressed_email": "Email suppressed",
    "suppressed_sms": "SMS suppressed",
    "suppressed_whatsapp": "WhatsApp suppressed",
    "created_at": "Created at",
    "updated_at": "Updated at",
}
STANDARD_TYPES = {"id": "number", "score": "number", "created_at": "datetime", "updated_at": "datetime"}
DEFAULT_COLUMNS: tuple[str, ...] = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "status",
    "score",
    "tags",
    "country",
    "created_at",
)
TAG_SEPARATOR = ", "


class ColumnError(ValueError):
    """A requested column list that cannot be exported; `field` names the offending entry (`columns[2]`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ColumnInfo:
    id: str
    label: str
    type: str  # text, number, datetime, or the custom field's type


def column_catalogue(
    custom_fields: Mapping[str, str], custom_labels: Mapping[str, str] | None = None
) -> list[ColumnInfo]:
    """Every exportable column: the standard ones, then `custom.<key>` per custom field (key -> type)."""
    labels = custom_labels or {}
    standard = [ColumnInfo(id_, label, STANDARD_TYPES.get(id_, "text")) for id_, label in STANDARD_COLUMNS.items()]
    custom = [
        ColumnInfo(f"{CUSTOM_PREFIX}{key}", labels.get(key) or key, type_)
        for key, type_ in sorted(custom_fields.items())
    ]
    return standard + custom


def validate_columns(columns: Sequence[Any], custom_keys: Collection[str], field: str = "columns") -> list[str]:
    """The columns as given when each is known and appears once; else ColumnError naming `columns[i]`."""
    if not columns:
        raise ColumnError(field, "choose at least one column")
    if len(columns) > MAX_COLUMNS:
        raise ColumnError(field, f"at most {MAX_COLUMNS} columns")
    seen: set[str] = set()
    for index, column in enumerate(columns):
        where = f"{field}[{index}]"
        if not isinstance(column, str) or not is_known(column, custom_keys):
            raise ColumnError(where, f"unknown column {column!r}; use a standard column or custom.<key>")
        if column in seen:
            raise ColumnError(where, f"column {column!r} is listed twice")
        seen.add(column)
    return list(columns)


def is_known(column: str, custom_keys: Collection[str]) -> bool:
    if column.startswith(CUSTOM_PREFIX):
        return column[len(CUSTOM_PREFIX) :] in custom_keys
    return column in STANDARD_COLUMNS


def cell_value(lead: Any, column: str, owner_email: str | None = None) -> Any:
    """The lead's value for one (validated) column; None when it has none."""
    if column.startswith(CUSTOM_PREFIX):
        return (lead.custom_fields or {}).get(column[len(CUSTOM_PREFIX) :])
    if column == "owner":
        return owner_email
    if column == "tags":
        return TAG_SEPARATOR.join(lead.tags or [])
    if column not in STANDARD_COLUMNS:
        raise KeyError(column)
    return getattr(lead, column)


def row_values(lead: Any, columns: Sequence[str], owner_email: str | None = None) -> list[Any]:
    return [cell_value(lead, column, owner_email) for column in columns]
