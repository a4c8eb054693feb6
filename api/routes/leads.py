"""The lead store: search/filter/sort with keyset pages, CRUD with a timeline, bulk operations, upsert."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import delete, func, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.context import guard
from api.conversion_service import WON_STATUS, record_won
from api.errors import ApiError
from api.lead_service import (
    apply_fields,
    check_owner,
    events_for_changes,
    filter_context,
    lead_page,
    leads_condition,
    phone_e164,
    record_event,
)
from api.schemas_leads import (
    BulkRequest,
    BulkResult,
    FieldInfo,
    LeadCreate,
    LeadEventOut,
    LeadOut,
    LeadPage,
    LeadQuery,
    LeadUpdate,
    ListRef,
    UpsertRequest,
    UpsertResult,
)
from api.scoping import Scope, ScopeDep
from domain.filters import field_catalogue
from domain.permissions import Permission
from models.leads import Lead, LeadEvent
from models.lists import LeadList, ListMember

router = APIRouter(prefix="/api/leads", tags=["leads"])
BULK_CHUNK = 5000
TAG_SQL = text(
    "UPDATE leads SET tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || CAST(:tags AS text[])) t ORDER BY t), "
    "updated_at = now() WHERE id = ANY(CAST(:ids AS integer[])) AND workspace_id = :w "
    "AND NOT tags @> CAST(:tags AS text[]) RETURNING id"
)
UNTAG_SQL = text(
    "UPDATE leads SET tags = ARRAY(SELECT t FROM unnest(tags) t WHERE t <> ALL(CAST(:tags AS text[])) ORDER BY t), "
    "updated_at = now() WHERE id = ANY(CAST(:ids AS integer[])) AND workspace_id = :w "
    "AND tags && CAST(:tags AS text[]) RETURNING id"
)


@router.get("", response_model=LeadPage, **guard(Permission.workspace_read))
async def list_leads(
    scope: ScopeDep,
    search: str | None = Query(None, max_length=200),
    sort: str = Query(
        "created_at", pattern="^(created_at|updated_at|score|last_name|first_name|email|company|status)$"
    ),
    order: str = Query("desc", pattern="^(asc|desc)$"),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=500),
) -> LeadPage:
    """Keyset-paginated; for a filter tree use POST /api/leads/search."""
    return await lead_page(scope, await leads_condition(scope, None, search), sort, order, cursor, limit)


@router.post("/search", response_model=LeadPage, **guard(Permission.workspace_read))
async def search_leads(body: LeadQuery, scope: ScopeDep) -> LeadPage:
    condition = await leads_condition(scope, body.filter, body.search)
    return await lead_page(scope, condition, body.sort, body.order, body.cursor, body.limit)


@router.get("/fields", response_model=list[FieldInfo], **guard(Permission.workspace_read))
async def filter_fields(scope: ScopeDep) -> list[FieldInfo]:
    """The fields and operators the filter builder offers, custom fields included."""
    return [FieldInfo(**item) for item in field_catalogue(await filter_context(scope))]


@router.post("", response_model=LeadOut, status_code=201, **guard(Permission.leads_write))
async def create_lead(body: LeadCreate, scope: ScopeDep) -> LeadOut:
    if body.email is None and body.phone is None:
        raise ApiError(422, "a lead needs an email or a phone", field="email")
    lead = scope.add(Lead())
    await apply_fields(scope, lead, body.model_dump(), creating=True)
    await _flush_unique(scope, body.model_dump())
    record_event(scope, lead.id, "created", {"source": lead.source or "api"})
    scope.audit("lead.created", "lead", lead.id, after=body.model_dump(include={"email", "phone", "status"}))
    await scope.session.commit()
    await scope.session.refresh(lead)
    return LeadOut.model_validate(lead)


@router.put("/upsert", response_model=UpsertResult, **guard(Permission.leads_write))
async def upsert_lead(body: UpsertRequest, scope: ScopeDep) -> UpsertResult:
    """For integrations: update the lead with this email, phone or external id, or create it."""
    sent = body.lead.model_dump(exclude_unset=True)
    if not sent.get(body.key):
        raise ApiError(422, f"lead.{body.key}: required as the upsert key", field=f"lead.{body.key}")
    if body.key == "phone":
        sent["phone"], _region = await phone_e164(scope, sent["phone"])
    key_value = sent[body.key]
    existing = (await scope.session.exec(scope.select(Lead).where(getattr(Lead, body.key) == key_value))).first()
    if existing is None:
        lead = scope.add(Lead())
        await apply_fields(scope, lead, body.lead.model_dump() | sent, creating=True)
        await _flush_unique(scope, sent)
        record_event(scope, lead.id, "created", {"source": lead.source or "upsert"})
        scope.audit("lead.created", "lead", lead.id, after={body.key: key_value})
    else:
        lead = existing
        diff = await apply_fields(scope, lead, sent, creating=False)
        await _flush_unique(scope, sent)
        events_for_changes(scope, lead.id, diff)
        if diff:
            scope.audit("lead.updated", "lead", lead.id, after={k: _plain(v[1]) for k, v in diff.items()})
        if "status" in diff and lead.status == WON_STATUS:
            await record_won(scope.session, scope.workspace_id, lead.id, lead.custom_fields, scope.context.actor)
    await scope.session.commit()
    await scope.session.refresh(lead)
    return UpsertResult(created=existing is None, lead=LeadOut.model_validate(lead))


@router.post("/bulk", response_model=BulkResult, **guard(Permission.leads_write))
async def bulk(body: BulkRequest, scope: ScopeDep) -> BulkResult:
    """Applies one action to a selection (ids) or to everything a filter matches; answers with the count affected."""
    ids = await _selected_ids(scope, body)
    affected = 0
    for start in range(0, len(ids), BULK_CHUNK):
        affected += await _apply_bulk(scope, body, ids[start : start + BULK_CHUNK])
    scope.audit(f"lead.bulk_{body.action}", "lead", None, after={"value": body.value, "affected": affected})
    await scope.session.commit()
    return BulkResult(action=body.action, affected=affected)


@router.get("/{lead_id}", response_model=LeadOut, **guard(Permission.workspace_read))
async def get_lead(lead_id: int, scope: ScopeDep) -> LeadOut:
    return LeadOut.model_validate(await scope.get(Lead, lead_id, "lead"))


@router.patch("/{lead_id}", response_model=LeadOut, **guard(Permission.leads_write))
async def update_lead(lead_id: int, body: LeadUpdate, scope: ScopeDep) -> LeadOut:
    lead = await scope.get(Lead, lead_id, "lead", for_update=True)
    sent = body.model_dump(exclude_unset=True)
    diff = await apply_fields(scope, lead, sent, creating=False)
    if lead.email is None and lead.phone is None:
        raise ApiError(422, "a lead needs an email or a phone", field="email")
    await _flush_unique(scope, sent)
    events_for_changes(scope, lead.id, diff)
    if "status" in diff and lead.status == WON_STATUS:
        await record_won(scope.session, scope.workspace_id, lead.id, lead.custom_fields, scope.context.actor)
    if diff:
        scope.audit(
            "lead.updated",
            "lead",
            lead.id,
            before={k: _plain(v[0]) for k, v in diff.items()},
            after={k: _plain(v[1]) for k, v in diff.items()},
        )
    await scope.session.commit()
    await scope.session.refresh(lead)
    return LeadOut.model_validate(lead)


@router.delete("/{lead_id}", status_code=204, **guard(Permission.leads_write))
async def delete_lead(lead_id: int, scope: ScopeDep) -> None:
    lead = await scope.get(Lead, lead_id, "lead")
    scope.audit("lead.deleted", "lead", lead.id, before={"email": lead.email, "phone": lead.phone})
    await scope.session.delete(lead)
    await scope.session.commit()


@router.get("/{lead_id}/events", response_model=list[LeadEventOut], **guard(Permission.workspace_read))
async def lead_events(
    lead_id: int, scope: ScopeDep, before: int | None = Query(None, gt=0), limit: int = Query(100, ge=1, le=500)
) -> list[LeadEventOut]:
    """The timeline, newest first; pass the last id as `before` for the next page."""
    await scope.get(Lead, lead_id, "lead")
    query = scope.select(LeadEvent).where(LeadEvent.lead_id == lead_id)
    if before:
        query = query.where(LeadEvent.id < before)
    rows = (await scope.session.exec(query.order_by(col(LeadEvent.id).desc()).limit(limit))).all()
    return [LeadEventOut.model_validate(e) for e in rows]


@router.get("/{lead_id}/lists", response_model=list[ListRef], **guard(Permission.workspace_read))
async def lead_lists(lead_id: int, scope: ScopeDep) -> list[ListRef]:
    """Lists the lead is explicitly a member of."""
    await scope.get(Lead, lead_id, "lead")
    rows = await scope.session.exec(
        select(LeadList)
        .join(ListMember, ListMember.list_id == LeadList.id)
        .where(scope.where(LeadList), ListMember.lead_id == lead_id, ListMember.mode == "include")
        .order_by(col(LeadList.name))
    )
    return [ListRef(id=lst.id, name=lst.name, kind=lst.kind) for lst in rows.all()]


async def _flush_unique(scope: Scope, sent: dict[str, Any]) -> None:
    try:
        await scope.session.flush()
    except IntegrityError as exc:
        await scope.session.rollback()
        field = "external_id" if "external_id" in str(exc.orig) else "email"
        raise ApiError(409, f"another lead already has this {field}: {sent.get(field)}", field=field) from exc


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def _selected_ids(scope: Scope, body: BulkRequest) -> list[int]:
    selection = body.selection
    if selection.lead_ids is not None:
        if selection.filter or selection.search:
            raise ApiError(422, "selection: give lead_ids or a filter, not both", field="selection")
        query = select(Lead.id).where(scope.where(Lead), col(Lead.id).in_(selection.lead_ids))
    elif selection.filter is not None or selection.search:
        query = select(Lead.id).where(await leads_condition(scope, selection.filter, selection.search))
    else:
        raise ApiError(422, "selection: give lead_ids or a filter", field="selection")
    return list((await scope.session.exec(query.order_by(Lead.id))).all())


async def _apply_bulk(scope: Scope, body: BulkRequest, ids: list[int]) -> int:
    session = scope.session
    action, value = body.action, body.value
    in_scope = (col(Lead.id).in_(ids), scope.where(Lead))
    if action in ("tag", "untag"):
        tags = sorted({str(t).strip().lower() for t in (value if isinstance(value, list) else [value]) if t})
        if not tags or any(len(t) > 64 for t in tags):
            raise ApiError(422, "value: one or more tags of at most 64 characters", field="value")
        statement = TAG_SQL if action == "tag" else UNTAG_SQL
        result = await session.execute(statement, {"ids": ids, "w": scope.workspace_id, "tags": tags})
        touched = list(result.scalars())
        _bulk_events(scope, touched, "tagged" if action == "tag" else "untagged", {"tags": tags})
        return len(touched)
    if action == "set_status":
        context = await filter_context(scope)
        if value not in context.statuses:
            raise ApiError(422, f"value: use one of {list(context.statuses)}", field="value")
        old = dict((await session.execute(select(Lead.id, Lead.status).where(*in_scope, Lead.status != value))).all())
        await session.execute(
            update(Lead).where(col(Lead.id).in_(list(old))).values(status=value, updated_at=func.now())
        )
        for lead_id, previous in old.items():
            record_event(scope, lead_id, "status_changed", {"from": previous, "to": value})
        if value == WON_STATUS and old:
            won = await session.execute(select(Lead.id, Lead.custom_fields).where(col(Lead.id).in_(list(old))))
            for lead_id, custom_fields in won.all():
                await record_won(session, scope.workspace_id, lead_id, custom_fields, scope.context.actor)
        return len(old)
    if action == "set_owner":
        if value is not None:
            if not isinstance(value, int):
                raise ApiError(422, "value: an owner user id (or null)", field="value")
            await check_owner(scope, value, field="value")
        result = await session.execute(
            update(Lead).where(*in_scope).values(owner_id=value, updated_at=func.now()).returning(Lead.id)
        )
        touched = list(result.scalars())
        _bulk_events(scope, touched, "field_changed", {"field": "owner_id", "to": value})
        return len(touched)
    if action in ("add_to_list", "remove_from_list"):
        if not isinstance(value, int) or await scope.find(LeadList, value) is None:
            raise ApiError(422, f"value: list {value} not found", field="value")
        if action == "add_to_list":
            result = await session.execute(
                text(
                    "INSERT INTO list_members (list_id, lead_id, mode, added_at) "
                    "SELECT :list_id, unnest(CAST(:ids AS integer[])), 'include', now() "
                    "ON CONFLICT (list_id, lead_id) DO UPDATE SET mode = 'include' "
                    "WHERE list_members.mode <> 'include' RETURNING lead_id"
                ),
                {"list_id": value, "ids": ids},
            )
            touched = list(result.scalars())
            _bulk_events(scope, touched, "added_to_list", {"list_id": value})
        else:
            result = await session.execute(
                delete(ListMember)
                .where(ListMember.list_id == value, col(ListMember.lead_id).in_(ids))
                .returning(ListMember.lead_id)
            )
            touched = list(result.scalars())
            _bulk_events(scope, touched, "removed_from_list", {"list_id": value})
        return len(touched)
    if action == "delete":
        result = await session.execute(delete(Lead).where(*in_scope).returning(Lead.id))
        return len(list(result.scalars()))
    raise ApiError(422, f"action: unknown action {action}", field="action")


def _bulk_events(scope: Scope, lead_ids: list[int], type_: str, data: dict[str, Any]) -> None:
    for lead_id in lead_ids:
        record_event(scope, lead_id, type_, data)
