"""A lead's interactions with what it was sent: opens, clicks, unsubscribes, bounces, complaints, conversions (the
`events` table), newest first, with the campaign each belongs to. The lead profile shows them beside its timeline."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import text

from api.context import guard
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.leads import Lead

router = APIRouter(prefix="/api/leads", tags=["leads"])

INTERACTIONS = text(
    """
    SELECT e.id, e.type, e.machine, e.url, e.occurred_at, e.channel, e.campaign_id, c.name AS campaign_name,
           e.run_id, e.step, e.variant,
           e.metadata->>'value' AS value,
           coalesce(e.metadata->>'machine_reason', e.metadata->>'diagnostic') AS detail,
           (e.metadata->>'permanent')::boolean AS permanent
    FROM events e LEFT JOIN campaigns c ON c.id = e.campaign_id AND c.workspace_id = e.workspace_id
    WHERE e.workspace_id = :w AND e.lead_id = :lead AND (CAST(:before AS bigint) IS NULL OR e.id < :before)
    ORDER BY e.id DESC LIMIT :limit
    """
)


class InteractionOut(BaseModel):
    id: int
    type: str
    machine: bool
    url: str | None
    occurred_at: datetime
    channel: str | None
    campaign_id: int | None
    campaign_name: str | None
    run_id: int | None
    step: int | None
    variant: str | None
    value: str | None = None
    detail: str | None = None
    permanent: bool | None = None


@router.get("/{lead_id}/interactions", response_model=list[InteractionOut], **guard(Permission.workspace_read))
async def lead_interactions(
    lead_id: int, scope: ScopeDep, before: int | None = Query(None, gt=0), limit: int = Query(100, ge=1, le=500)
) -> list[InteractionOut]:
    """Newest first; pass the last id as `before` for the next page. Automated opens and clicks are included, flagged
    `machine`."""
    await scope.get(Lead, lead_id, "lead")
    rows = await scope.session.execute(
        INTERACTIONS, {"w": scope.workspace_id, "lead": lead_id, "before": before, "limit": limit}
    )
    return [InteractionOut(**row._mapping) for row in rows]
