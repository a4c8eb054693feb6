"""Lead rules shared by the lead and list routes: normalising input, filters, keyset pages, the timeline."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.errors import ApiError
from api.journey_dispatch import after_commit, lead_event_after_commit
from api.schemas_leads import LeadOut, LeadPage
from api.scoping import Scope
from core.journey_intake import lead_event_journey_events, may_trigger
from domain.contacts import ContactError, infer_timezone, normalise_country, normalise_phone
from domain.custom_fields import CustomFieldError, FieldDefinition, merge_custom_values, validate_custom_values
from domain.filters import FilterContext, FilterError, compile_filter, parse_filter
from domain.lead_search import search_condition
from domain.lists import filter_context_from
from models.leads import CustomFieldDefinition, Lead, LeadEvent
from models.workspaces import Membership, Workspace

SORT_COLUMNS = {
    "created_at": Lead.created_at,
    "updated_at": Lead.updated_at,
    "score": Lead.score,
    "last_name": Lead.last_name,
    "first_name": Lead.first_name,
    "email": func.coalesce(Lead.email, ""),
    "company": Lead.company,
    "status": Lead.status,
}
DATE_SORTS = {"created_at", "updated_at"}
TRACKED_FIELDS = (
    "owner_id",
    "score",
    "email",
    "phone",
    "company",
    "first_name",
    "last_name",
    "country",
    "timezone",
    "consent_email",
    "consent_sms",
    "consent_whatsapp",
    "suppressed_email",
    "suppressed_sms",
    "suppressed_whatsapp",
)


async def workspace_of(scope: Scope) -> Workspace:
    return await scope.session.get(Workspace, scope.workspace_id)


async def custom_definitions(scope: Scope) -> dict[str, FieldDefinition]:
    rows = (await scope.session.exec(scope.select(CustomFieldDefinition))).all()
    return {d.key: FieldDefinition(d.key, d.type, tuple(d.choices)) for d in rows}


async def filter_context(scope: Scope) -> FilterContext:
    workspace = await workspace_of(scope)
    definitions = (await scope.session.exec(scope.select(CustomFieldDefinition))).all()
    return filter_context_from(scope.workspace_id, datetime.now(UTC), workspace.lead_statuses, definitions)


def compile_or_422(filter_data: Any, ctx: FilterContext, field: str = "filter") -> ColumnElement[bool]:
    try:
        return compile_filter(parse_filter(filter_data), ctx)
    except FilterError as exc:
        path = f"{field}.{exc.path}" if exc.path else field
        raise ApiError(422, f"{path}: {exc.message}", field=path) from exc


async def leads_condition(scope: Scope, filter_data: Any, search: str | None) -> ColumnElement[bool]:
    conditions = [scope.where(Lead)]
    if filter_data:
        conditions.append(compile_or_422(filter_data, await filter_context(scope)))
    found = search_condition(search)
    if found is not None:
        conditions.append(found)
    return and_(*conditions)


def encode_cursor(value: Any, lead_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return base64.urlsafe_b64encode(json.dumps([value, lead_id]).encode()).decode()


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        value, lead_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if sort in DATE_SORTS:
            value = datetime.fromisoformat(value)
        return value, int(lead_id)
    except Exception as exc:
        raise ApiError(422, "cursor: not a cursor this API returned", field="cursor") from exc


async def lead_page(
    scope: Scope, condition: ColumnElement[bool], sort: str, order: str, cursor: str | None, limit: int
) -> LeadPage:
    column = SORT_COLUMNS[sort]
    total = (await scope.session.exec(select(func.count()).select_from(Lead).where(condition))).one()
    query = select(Lead, column.label("sort_value")).where(condition)
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        key = tuple_(column, Lead.id)
        query = query.where(key < tuple_(value, last_id) if order == "desc" else key > tuple_(value, last_id))
    ordering = (column.desc(), col(Lead.id).desc()) if order == "desc" else (column.asc(), col(Lead.id).asc())
    rows = (await scope.session.exec(query.order_by(*ordering).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][1], rows[-1][0].id) if more and rows else None
    return LeadPage(
        items=[LeadOut.model_validate(lead) for lead, _ in rows], total=total, limit=limit, next_cursor=next_cursor
    )


async def phone_e164(scope: Scope, raw: str, workspace: Workspace | None = None) -> tuple[str, str | None]:
    """The phone in E.164 (numbers without +country use the workspace's region) and its region; 422 if invalid."""
    workspace = workspace or await workspace_of(scope)
    try:
        return normalise_phone(raw, workspace.default_region)
    except ContactError as exc:
        raise ApiError(422, str(exc), field=exc.field) from exc


async def check_owner(scope: Scope, owner_id: int, field: str = "owner_id") -> None:
    if await scope.session.get(Membership, (owner_id, scope.workspace_id)) is None:
        raise ApiError(422, f"{field}: user {owner_id} is not a member", field=field)


async def apply_fields(scope: Scope, lead: Lead, changes: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validates and normalises the changed fields onto the lead; returns {field: (old, new)} of what changed."""
    workspace = await workspace_of(scope)
    if changes.get("phone"):
        changes["phone"], region = await phone_e164(scope, changes["phone"], workspace)
        if region and not changes.get("country") and not lead.country:
            changes["country"] = region
    if "country" in changes:
        try:
            changes["country"] = normalise_country(changes["country"] or "")
        except ContactError as exc:
            raise ApiError(422, str(exc), field=exc.field) from exc
    if "status" in changes and changes["status"] not in [*workspace.lead_statuses, "unsubscribed"]:
        raise ApiError(422, f"status: use one of {workspace.lead_statuses}", field="status")
    if changes.get("owner_id") is not None:
        await check_owner(scope, changes["owner_id"])
    if "custom_fields" in changes:
        try:
            values = validate_custom_values(changes["custom_fields"], await custom_definitions(scope))
        except CustomFieldError as exc:
            raise ApiError(422, str(exc), field=exc.path) from exc
        changes["custom_fields"] = merge_custom_values({} if creating else lead.custom_fields, values)
    if changes.get("timezone") is None and (creating or "phone" in changes or "country" in changes):
        inferred = infer_timezone(changes.get("phone", lead.phone), changes.get("country", lead.country))
        changes["timezone"] = inferred or (lead.timezone if not creating else None) or "UTC"
    if changes.get("timezone") is None:
        changes.pop("timezone", None)
    diff = {}
    for field, value in changes.items():
        old = getattr(lead, field, None)
        if creating or old != value:
            diff[field] = (old, value)
            setattr(lead, field, value)
    if not creating and diff:
        lead.updated_at = datetime.now(UTC)
    return diff


def record_event(scope: Scope, lead_id: int, type_: str, data: dict[str, Any] | None = None) -> LeadEvent:
    """Adds a timeline row to the transaction; the journey events it makes (a status change, a tag, a list...) are
    dispatched once it commits (api/journey_dispatch.py)."""
    event = scope.add(LeadEvent(lead_id=lead_id, type=type_, data=data or {}, actor=scope.context.actor))
    if may_trigger(type_, event.data):
        lead_event_after_commit(scope.session, event)
    return event


TIMELINE_SQL = text(
    "INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at) "
    "VALUES (:w, :lead_id, :type, CAST(:data AS jsonb), :actor, now()) RETURNING id"
)


async def note_on_timeline(
    session: AsyncSession, workspace_id: int, lead_id: int, type_: str, data: dict[str, Any], actor: str
) -> int:
    """`record_event` for callers without a Scope: public links and provider webhooks, whose actor is the recipient
    or the provider. Returns the row's id; its journey events (a conversion...) are dispatched after commit."""
    row_id = (
        await session.execute(
            TIMELINE_SQL,
            {"w": workspace_id, "lead_id": lead_id, "type": type_, "data": json.dumps(data), "actor": actor},
        )
    ).scalar_one()
    if may_trigger(type_, data):
        after_commit(session, workspace_id, lead_event_journey_events(row_id, lead_id, type_, data))
    return row_id


def events_for_changes(scope: Scope, lead_id: int, diff: dict[str, Any]) -> None:
    """One event per meaningful change; status changes carry old and new (automations start from them)."""
    for field, (old, new) in diff.items():
        if field == "status":
            record_event(scope, lead_id, "status_changed", {"from": old, "to": new})
        elif field == "tags":
            added = sorted(set(new) - set(old or []))
            removed = sorted(set(old or []) - set(new))
            if added:
                record_event(scope, lead_id, "tagged", {"tags": added})
            if removed:
                record_event(scope, lead_id, "untagged", {"tags": removed})
        elif field in TRACKED_FIELDS or field == "custom_fields":
            record_event(
                scope, lead_id, "field_changed", {"field": field, "from": _jsonable(old), "to": _jsonable(new)}
            )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
