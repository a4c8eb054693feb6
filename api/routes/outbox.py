from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Text, cast
from sqlmodel import col, select

from api.deps import SessionDep
from api.errors import not_found
from api.pagination import PageParamsDep, paginate, search_filter
from api.schemas import OutboxDetail, OutboxSummary, Page
from models.outbox import OutboxMessage

router = APIRouter(prefix="/api/outbox", tags=["outbox"])


@router.get("", response_model=Page[OutboxSummary])
async def list_outbox(session: SessionDep, params: PageParamsDep) -> Page[OutboxSummary]:
    """Newest first; `search` matches the subject or a recipient."""
    where = search_filter(params.search, OutboxMessage.subject, cast(OutboxMessage.rcpt_to, Text))
    return await paginate(session, select(OutboxMessage), params, col(OutboxMessage.id).desc(), OutboxSummary, where)


@router.get("/{message_id}", response_model=OutboxDetail)
async def get_outbox_message(message_id: int, session: SessionDep) -> OutboxDetail:
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        raise not_found("outbox message", message_id)
    return OutboxDetail.model_validate(message)
