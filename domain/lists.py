"""Who is in a list: static (explicit members), dynamic (a filter) or hybrid (filter + always-in − never-in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select

from domain.filters import FilterContext, compile_filter, parse_filter
from models.leads import Lead
from models.lists import ListMember

MATCH_ALL = {"combinator": "and", "rules": []}


def member_of(list_id: int, mode: str = "include") -> ColumnElement[bool]:
    return exists(
        select(ListMember.lead_id).where(
            ListMember.list_id == list_id, ListMember.lead_id == Lead.id, ListMember.mode == mode
        )
    )


def membership(
    kind: str,
    filter_data: Mapping[str, Any] | None,
    ctx: FilterContext,
    *,
    included: ColumnElement[bool] | None = None,
    excluded: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """The condition on `leads` for a list of this kind; `included`/`excluded` say who is always in / never in."""
    included = included if included is not None else false()
    if kind == "static":
        return included
    matched = compile_filter(parse_filter(filter_data or MATCH_ALL), ctx)
    if kind == "dynamic":
        return matched
    condition = or_(matched, included)
    return and_(condition, not_(excluded)) if excluded is not None else condition


def saved_list_membership(list_id: int, kind: str, filter_data: Mapping[str, Any] | None, ctx: FilterContext):
    return membership(
        kind, filter_data, ctx, included=member_of(list_id, "include"), excluded=member_of(list_id, "exclude")
    )


def filter_context_from(
    workspace_id: int, now: datetime, statuses: Iterable[str], definitions: Iterable[Any]
) -> FilterContext:
    """The context a workspace's filters compile in: its pipeline statuses and typed custom fields."""
    definitions = list(definitions)
    return FilterContext(
        workspace_id=workspace_id,
        now=now,
        custom_fields={d.key: d.type for d in definitions},
        custom_choices={d.key: list(d.choices) for d in definitions if d.type == "choice"},
        statuses=[*statuses, "unsubscribed"],
    )
