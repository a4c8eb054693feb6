"""Where each column of an imported file goes: a standard lead field, a custom field, or nowhere.

The suggestion looks at the header first (synonyms in a few languages), then at the values (emails, phones, dates).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from domain.import_values import (
    ValueProblem,
    looks_like_date,
    looks_like_email,
    looks_like_phone,
    parse_boolean,
    parse_number,
)

STANDARD_TARGETS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "status",
    "score",
    "source",
    "tags",
    "timezone",
    "locale",
    "country",
    "external_id",
)
IGNORE = "ignore"
DEDUPE_KEYS = ("email", "phone", "external_id")

_SYNONYMS = {
    "email": ["email", "e mail", "mail", "email address", "courriel", "adresse email", "correo", "e mail address"],
    "phone": [
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "tel",
        "telephone",
        "telefon",
        "portable",
        "msisdn",
    ],
    "first_name": ["first name", "firstname", "given name", "prenom", "forename", "nombre", "vorname"],
    "last_name": ["last name", "lastname", "surname", "family name", "nom", "apellido", "nachname"],
    "company": ["company", "company name", "organisation", "organization", "account", "societe", "entreprise", "firma"],
    "job_title": ["job title", "title", "position", "role", "poste", "fonction"],
    "status": ["status", "lead status", "stage", "statut"],
    "score": ["score", "lead score"],
    "source": ["source", "lead source", "origin", "origine"],
    "tags": ["tags", "tag", "labels", "label"],
    "timezone": ["timezone", "time zone", "tz"],
    "locale": ["locale", "language", "lang", "langue"],
    "country": ["country", "country code", "pays", "land", "pais"],
    "external_id": ["external id", "id", "crm id", "contact id", "lead id", "record id"],
}
_BY_SYNONYM = {synonym: target for target, synonyms in _SYNONYMS.items() for synonym in synonyms}


def header_key(header: str) -> str:
    """Lower case, accents dropped, punctuation and underscores as spaces: "E-Mail_Address" → "e mail address"."""
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def standard_target(header: str) -> str | None:
    """The standard field a header names ("E-mail" → email, "Téléphone" → phone), or None."""
    return _BY_SYNONYM.get(header_key(header))


def custom_key_for(header: str) -> str:
    """A custom-field key made from a header: "Annual revenue (€)" → "annual_revenue"."""
    key = "_".join(header_key(header).split())[:64] or "field"
    return key if key[0].isalpha() else f"f_{key}"[:64]


def suggest_mapping(
    headers: Sequence[str], sample_rows: Sequence[Sequence[object]], custom_fields: Mapping[str, str]
) -> list[dict[str, object]]:
    """One suggestion per column: {"column", "header", "target", "reason"}; a target is used at most once."""
    used: set[str] = set()
    suggestions = []
    for index, header in enumerate(headers):
        values = [row[index] for row in sample_rows if index < len(row) and str(row[index]).strip()]
        target, reason = _by_header(header, custom_fields)
        if target is None or target in used:
            target, reason = _by_content(values)
        if target is None or target in used:
            target, reason = IGNORE, "no match"
        if target != IGNORE:
            used.add(target)
        suggestion: dict[str, object] = {"column": index, "header": header, "target": target, "reason": reason}
        if target == IGNORE and values:
            suggestion["new_custom_field"] = {"key": custom_key_for(header), "label": header, "type": _kind(values)}
        suggestions.append(suggestion)
    return suggestions


def _by_header(header: str, custom_fields: Mapping[str, str]) -> tuple[str | None, str]:
    target = standard_target(header)
    if target is not None:
        return target, "header"
    custom = "_".join(header_key(header).split())
    if custom in custom_fields:
        return f"custom.{custom}", "header matches a custom field"
    return None, ""


def _by_content(values: Sequence[object]) -> tuple[str | None, str]:
    if not values:
        return None, ""
    if _share(values, looks_like_email) >= 0.8:
        return "email", "values look like emails"
    if _share(values, looks_like_date) < 0.5 and _share(values, looks_like_phone) >= 0.8:
        return "phone", "values look like phone numbers"
    return None, ""


def _kind(values: Sequence[object]) -> str:
    """The custom-field type the sample values fit: boolean, number, date, else text."""
    if all(_parses(parse_boolean, value) for value in values) and not all(str(v).isdigit() for v in values):
        return "boolean"
    if all(_parses(parse_number, value) for value in values):
        return "number"
    if _share(values, looks_like_date) >= 0.8:
        return "date"
    return "text"


def _parses(parse, value: object) -> bool:
    try:
        parse(value)
        return True
    except ValueProblem:
        return False


def _share(values: Sequence[object], predicate) -> float:
    return sum(1 for value in values if predicate(value)) / len(values)
