"""The leads search box: a prefix match of every word over name, email and company, or a substring of the email.

Shared by the leads table (api) and exports (core, activities), so an export of a search holds what the table showed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal_column, or_
from sqlmodel import col

from domain.filters import like_escape
from models.leads import SEARCH_DOCUMENT, Lead

MAX_SEARCH_WORDS = 10


def search_condition(search: str | None) -> ColumnElement[bool] | None:
    text = (search or "").strip()
    if not text:
        return None
    terms = [f"{word}:*" for word in (_ts_word(w) for w in text.split()[:MAX_SEARCH_WORDS]) if word]
    matches = [col(Lead.email).ilike(f"%{like_escape(text)}%", escape="\\")]
    if terms:
        matches.append(literal_column(SEARCH_DOCUMENT).op("@@")(func.to_tsquery("simple", " & ".join(terms))))
    return or_(*matches)


def _ts_word(word: str) -> str:
    """Only characters a tsquery term may hold: a search can never inject tsquery operators."""
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch in "._-@")
