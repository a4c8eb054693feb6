from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import Text, cast, func
from sqlmodel import col, select

from api.deps import SessionDep
from api.errors import not_found
from api.schemas import OutboxDetail, OutboxSummary, Page
from models.outbox import OutboxMessage

router = APIRouter(prefix="/api/outbox", tags=["outbox"])


@router.get("", response_model=Page[OutboxSummary])
async def list_outbox(
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    search: str | None = Query(None, max_length=200, description="Matches subject or recipient."),
) -> Page[OutboxSummary]:
    query = select(OutboxMessage)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(
            col(OutboxMessage.subject).ilike(pattern) | cast(OutboxMessage.rcpt_to, Text).ilike(pattern)
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (await session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit).offset(offset))).all()
    return Page(items=[OutboxSummary.model_validate(m) for m in rows], total=total, limit=limit, offset=offset)


@router.get("/{message_id}", response_model=OutboxDetail)
async def get_outbox_message(message_id: int, session: SessionDep) -> OutboxDetail:
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        raise not_found("outbox message", message_id)
    return OutboxDetail.model_validate(message)
