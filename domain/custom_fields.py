"""Typed custom fields: a workspace defines them, lead values are validated against the definitions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FIELD_TYPES = ("text", "number", "date", "boolean", "choice")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 2000


@dataclass(frozen=True)
class FieldDefinition:
    key: str
    type: str
    choices: Sequence[str] = field(default_factory=tuple)


class CustomFieldError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def validate_custom_values(values: Mapping[str, Any], definitions: Mapping[str, FieldDefinition]) -> dict[str, Any]:
    """The values checked and normalised (dates as ISO strings); None removes a value."""
    clean: dict[str, Any] = {}
    for key, value in values.items():
        path = f"custom_fields.{key}"
        definition = definitions.get(key)
        if definition is None:
            raise CustomFieldError(path, "no such custom field in this workspace")
        clean[key] = None if value is None else _check(path, definition, value)
    return clean


def _check(path: str, definition: FieldDefinition, value: Any) -> Any:
    kind = definition.type
    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise CustomFieldError(path, f"expected text of at most {MAX_TEXT} characters")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CustomFieldError(path, "expected a number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise CustomFieldError(path, "expected true or false")
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError as exc:
            raise CustomFieldError(path, "expected a date as YYYY-MM-DD") from exc
    if kind == "choice":
        if value not in definition.choices:
            raise CustomFieldError(path, f"expected one of {list(definition.choices)}")
        return value
    raise CustomFieldError(path, f"unknown field type {kind!r}")


def merge_custom_values(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
