"""Reading the audit log. There is deliberately no route that changes or deletes it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from sqlmodel import col

from api.context import guard
from api.pagination import PageParamsDep, paginate
from api.schemas import Page
from api.schemas_access import AuditOut
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.audit import AuditEntry

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut], **guard(Permission.audit_read))
async def list_audit(
    scope: ScopeDep,
    params: PageParamsDep,
    user_id: int | None = Query(None, gt=0),
    action: str | None = Query(None, max_length=64, description="Exact action, or a prefix ending in '.'"),
    entity_type: str | None = Query(None, max_length=64),
    entity_id: str | None = Query(None, max_length=64),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditOut]:
    """Newest first, filtered by user, action, entity and date range; `search` matches the actor."""
    query = scope.select(AuditEntry)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if action:
        query = query.where(
            col(AuditEntry.action).startswith(action) if action.endswith(".") else AuditEntry.action == action
        )
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if since:
        query = query.where(AuditEntry.created_at >= since)
    if until:
        query = query.where(AuditEntry.created_at < until)
    if params.search:
        query = query.where(col(AuditEntry.actor).ilike(f"%{params.search}%"))
    return await paginate(scope.session, query, params, col(AuditEntry.id).desc(), AuditOut)
