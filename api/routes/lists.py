"""Diffusion lists: static, dynamic and hybrid, with a live preview for unsaved filters and statistics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import ColumnElement, and_, delete, func, text
from sqlmodel import col, select

from api.context import guard
from api.errors import ApiError
from api.lead_service import filter_context, lead_page, record_event
from api.schemas_leads import (
    CountRow,
    LeadOut,
    LeadPage,
    ListCreate,
    ListOut,
    ListStatsOut,
    ListUpdate,
    MembersChange,
    PreviewOut,
    PreviewRequest,
    Reachability,
    SnapshotRow,
)
from api.scoping import Scope, ScopeDep
from domain.filters import FilterError, reachable
from domain.lists import member_of, membership, saved_list_membership
from domain.permissions import Permission
from models.leads import Lead
from models.lists import LeadList, ListMember, ListSnapshot

router = APIRouter(prefix="/api/lists", tags=["lists"])
# Returns the leads whose membership changed (a lead already a member in that mode is no "added to list").
ADD_MEMBERS = text(
    "INSERT INTO list_members (list_id, lead_id, mode, added_at) "
    "SELECT :list_id, unnest(CAST(:ids AS integer[])), :mode, now() "
    "ON CONFLICT (list_id, lead_id) DO UPDATE SET mode = EXCLUDED.mode "
    "WHERE list_members.mode IS DISTINCT FROM EXCLUDED.mode RETURNING lead_id"
)
SAMPLE_SIZE = 20


async def _condition(
    scope: Scope,
    kind: str,
    filter_data: Any,
    *,
    list_id: int | None = None,
    include: list[int] | None = None,
    exclude: list[int] | None = None,
) -> ColumnElement[bool]:
    ctx = await filter_context(scope)
    try:
        if list_id is not None:
            condition = saved_list_membership(list_id, kind, filter_data, ctx)
        else:
            condition = membership(
                kind,
                filter_data,
                ctx,
                included=col(Lead.id).in_(include) if include else None,
                excluded=col(Lead.id).in_(exclude) if exclude else None,
            )
    except FilterError as exc:
        path = f"filter.{exc.path}" if exc.path else "filter"
        raise ApiError(422, f"{path}: {exc.message}", field=path) from exc
    return and_(scope.where(Lead), condition)


async def _count(scope: Scope, condition: ColumnElement[bool]) -> int:
    return (await scope.session.exec(select(func.count()).select_from(Lead).where(condition))).one()


# A filter's SQL is the same text whatever its values (they are bound parameters): after five runs on a pooled
# connection PostgreSQL may settle on a generic plan, blind to how many leads the values match (on 1M leads, a tag +
# date sample sorted all 5,000 matches, 25 ms, instead of walking the primary key back to the newest 20, 2 ms; the
# OR of three groups counted in 87 ms instead of 61). So the preview's queries are planned for their values
# (set_config(..., true) is SET LOCAL: for the rest of the transaction).
CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")


async def _size_and_reachability(scope: Scope, condition: ColumnElement[bool]) -> tuple[int, Reachability]:
    """One scan for the count and the reachable count per channel."""
    await scope.session.execute(CUSTOM_PLANS)
    row = (
        await scope.session.exec(
            select(func.count(), *(func.count().filter(reachable(ch)) for ch in ("email", "sms", "whatsapp"))).where(
                condition
            )
        )
    ).one()
    return row[0], Reachability(email=row[1], sms=row[2], whatsapp=row[3])


def _list_out(lst: LeadList, size: int) -> ListOut:
    return ListOut(
        id=lst.id,
        name=lst.name,
        description=lst.description,
        kind=lst.kind,
        filter=lst.filter,
        member_count=size,
        created_at=lst.created_at,
    )


async def _check_members(scope: Scope, ids: list[int], field: str) -> list[int]:
    ids = sorted(set(ids))
    if not ids:
        return ids
    found = set((await scope.session.exec(select(Lead.id).where(scope.where(Lead), col(Lead.id).in_(ids)))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiError(422, f"{field}: unknown lead ids {missing[:10]}", field=field)
    return ids


@router.get("", response_model=list[ListOut], **guard(Permission.workspace_read))
async def list_lists(scope: ScopeDep) -> list[ListOut]:
    lists = (await scope.session.exec(scope.select(LeadList).order_by(col(LeadList.name)))).all()
    return [
        _list_out(lst, await _count(scope, await _condition(scope, lst.kind, lst.filter, list_id=lst.id)))
        for lst in lists
    ]


async def _sample(request: Request, condition: ColumnElement[bool]) -> list[Lead]:
    async with request.app.state.sessions() as session:
        await session.execute(CUSTOM_PLANS)
        query = select(Lead).where(condition).order_by(col(Lead.id).desc()).limit(SAMPLE_SIZE)
        return list((await session.exec(query)).all())


@router.post("/preview", response_model=PreviewOut, **guard(Permission.workspace_read))
async def preview(body: PreviewRequest, scope: ScopeDep, request: Request) -> PreviewOut:
    """Count, a sample of 20 and reachable counts per channel for an unsaved list definition.

    The sample is read on a second connection at the same time as the counts: the preview answers as you type.
    """
    condition = await _condition(scope, body.kind, body.filter, include=body.lead_ids, exclude=body.exclude_lead_ids)
    total_and_reach, sample = await asyncio.gather(
        _size_and_reachability(scope, condition), _sample(request, condition)
    )
    total, reach = total_and_reach
    return PreviewOut(total=total, sample=[LeadOut.model_validate(lead) for lead in sample], reachable=reach)


@router.post("", response_model=ListOut, status_code=201, **guard(Permission.lists_write))
async def create_list(body: ListCreate, scope: ScopeDep) -> ListOut:
    if body.kind == "static" and body.filter:
        raise ApiError(422, "filter: a static list has no filter (use kind dynamic or hybrid)", field="filter")
    if body.kind == "dynamic" and (body.lead_ids or body.exclude_lead_ids):
        raise ApiError(422, "lead_ids: a dynamic list has no explicit members (use hybrid)", field="lead_ids")
    if body.kind != "hybrid" and body.exclude_lead_ids:
        raise ApiError(422, "exclude_lead_ids: only hybrid lists exclude leads", field="exclude_lead_ids")
    await _condition(scope, body.kind, body.filter)  # validates the filter (422 naming the path)
    include = await _check_members(scope, body.lead_ids, "lead_ids")
    exclude = await _check_members(scope, body.exclude_lead_ids, "exclude_lead_ids")
    lst = scope.add(
        LeadList(
            name=body.name.strip(),
            description=body.description,
            kind=body.kind,
            filter=body.filter if body.kind != "static" else None,
        )
    )
    await scope.flush_or_conflict(f"a list named {body.name!r} already exists", "name")
    for ids, mode in ((include, "include"), (exclude, "exclude")):
        if ids:
            await scope.session.execute(ADD_MEMBERS, {"list_id": lst.id, "ids": ids, "mode": mode})
    scope.audit("list.created", "list", lst.id, after={"name": lst.name, "kind": lst.kind, "members": len(include)})
    await scope.session.commit()
    await scope.session.refresh(lst)
    return _list_out(lst, await _count(scope, await _condition(scope, lst.kind, lst.filter, list_id=lst.id)))


@router.get("/{list_id}", response_model=ListOut, **guard(Permission.workspace_read))
async def get_list(list_id: int, scope: ScopeDep) -> ListOut:
    lst = await scope.get(LeadList, list_id, "list")
    return _list_out(lst, await _count(scope, await _condition(scope, lst.kind, lst.filter, list_id=lst.id)))


@router.patch("/{list_id}", response_model=ListOut, **guard(Permission.lists_write))
async def update_list(list_id: int, body: ListUpdate, scope: ScopeDep) -> ListOut:
    lst = await scope.get(LeadList, list_id, "list")
    changes = body.model_dump(exclude_unset=True)
    if "filter" in changes:
        if lst.kind == "static":
            raise ApiError(422, "filter: a static list has no filter", field="filter")
        await _condition(scope, lst.kind, changes["filter"])
    before = {k: getattr(lst, k) for k in changes}
    for key, value in changes.items():
        setattr(lst, key, value.strip() if key == "name" else value)
    scope.session.add(lst)
    await scope.flush_or_conflict(f"a list named {body.name!r} already exists", "name")
    scope.audit("list.updated", "list", lst.id, before=before, after=changes)
    await scope.session.commit()
    return await get_list(list_id, scope)


@router.delete("/{list_id}", status_code=204, **guard(Permission.lists_write))
async def delete_list(list_id: int, scope: ScopeDep) -> None:
    lst = await scope.get(LeadList, list_id, "list")
    scope.audit("list.deleted", "list", lst.id, before={"name": lst.name, "kind": lst.kind})
    await scope.session.delete(lst)
    await scope.session.commit()


@router.get("/{list_id}/leads", response_model=LeadPage, **guard(Permission.workspace_read))
async def list_leads(
    list_id: int,
    scope: ScopeDep,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=500),
) -> LeadPage:
    lst = await scope.get(LeadList, list_id, "list")
    condition = await _condition(scope, lst.kind, lst.filter, list_id=lst.id)
    return await lead_page(scope, condition, "created_at", "desc", cursor, limit)


@router.get("/{list_id}/members", response_model=LeadPage, **guard(Permission.workspace_read))
async def explicit_members(
    list_id: int,
    scope: ScopeDep,
    mode: str = Query("include", pattern="^(include|exclude)$"),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=500),
) -> LeadPage:
    """The leads explicitly added to (include) or kept out of (exclude, hybrid lists) the list."""
    lst = await scope.get(LeadList, list_id, "list")
    condition = and_(scope.where(Lead), member_of(lst.id, mode))
    return await lead_page(scope, condition, "created_at", "desc", cursor, limit)


@router.post("/{list_id}/members", response_model=ListOut, **guard(Permission.lists_write))
async def add_members(list_id: int, body: MembersChange, scope: ScopeDep) -> ListOut:
    lst = await scope.get(LeadList, list_id, "list")
    if lst.kind == "dynamic":
        raise ApiError(422, "a dynamic list has no explicit members (make it hybrid)", field="lead_ids")
    if body.mode == "exclude" and lst.kind != "hybrid":
        raise ApiError(422, "mode: only hybrid lists exclude leads", field="mode")
    ids = await _check_members(scope, body.lead_ids, "lead_ids")
    added = (await scope.session.execute(ADD_MEMBERS, {"list_id": lst.id, "ids": ids, "mode": body.mode})).scalars()
    if body.mode == "include":
        for lead_id in added:
            record_event(scope, lead_id, "added_to_list", {"list_id": lst.id})
    scope.audit("list.members_added", "list", lst.id, after={"mode": body.mode, "count": len(ids)})
    await scope.session.commit()
    return await get_list(list_id, scope)


@router.post("/{list_id}/members/remove", response_model=ListOut, **guard(Permission.lists_write))
async def remove_members(list_id: int, body: MembersChange, scope: ScopeDep) -> ListOut:
    lst = await scope.get(LeadList, list_id, "list")
    result = await scope.session.execute(
        delete(ListMember)
        .where(ListMember.list_id == lst.id, col(ListMember.lead_id).in_(body.lead_ids), ListMember.mode == body.mode)
        .returning(ListMember.lead_id)
    )
    removed = list(result.scalars())
    if body.mode == "include":
        for lead_id in removed:
            record_event(scope, lead_id, "removed_from_list", {"list_id": lst.id})
    scope.audit("list.members_removed", "list", lst.id, after={"mode": body.mode, "count": len(removed)})
    await scope.session.commit()
    return await get_list(list_id, scope)


@router.get("/{list_id}/stats", response_model=ListStatsOut, **guard(Permission.workspace_read))
async def list_stats(list_id: int, scope: ScopeDep) -> ListStatsOut:
    lst = await scope.get(LeadList, list_id, "list")
    condition = await _condition(scope, lst.kind, lst.filter, list_id=lst.id)

    async def breakdown(column) -> list[CountRow]:
        rows = await scope.session.exec(
            select(column, func.count()).where(condition).group_by(column).order_by(func.count().desc()).limit(20)
        )
        return [CountRow(key=key or "—", count=n) for key, n in rows.all()]

    history = await scope.session.exec(
        select(ListSnapshot).where(ListSnapshot.list_id == lst.id).order_by(col(ListSnapshot.day)).limit(366)
    )
    size, reach = await _size_and_reachability(scope, condition)
    return ListStatsOut(
        size=size,
        reachable=reach,
        by_status=await breakdown(Lead.status),
        by_country=await breakdown(Lead.country),
        history=[SnapshotRow(day=s.day.isoformat(), size=s.size) for s in history.all()],
    )
