from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Text, cast
from sqlmodel import col

from api.context import guard
from api.pagination import PageParamsDep, paginate, search_filter
from api.schemas import OutboxDetail, OutboxSummary, Page
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.outbox import OutboxMessage

router = APIRouter(prefix="/api/outbox", tags=["outbox"])


@router.get("", response_model=Page[OutboxSummary], **guard(Permission.workspace_read))
async def list_outbox(scope: ScopeDep, params: PageParamsDep) -> Page[OutboxSummary]:
    """Mail the sink captured for this workspace, newest first; `search` matches the subject or a recipient."""
    where = search_filter(params.search, OutboxMessage.subject, cast(OutboxMessage.rcpt_to, Text))
    query = scope.select(OutboxMessage)
    return await paginate(scope.session, query, params, col(OutboxMessage.id).desc(), OutboxSummary, where)


@router.get("/{message_id}", response_model=OutboxDetail, **guard(Permission.workspace_read))
async def get_outbox_message(message_id: int, scope: ScopeDep) -> OutboxDetail:
    return OutboxDetail.model_validate(await scope.get(OutboxMessage, message_id, "outbox message"))
