"""`POST /api/conversions`: a lead converted (signed up, ordered...), credited to the campaign messages it clicked
(docs/tracking.md, "Conversions"; attribution rules in domain/attribution.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Response

from api.context import guard
from api.conversion_service import ConversionInput, conversion_out, record_conversion
from api.errors import ApiError
from api.schemas_conversions import ConversionIn, ConversionOut
from api.scoping import Scope, ScopeDep
from domain.contacts import normalise_email
from domain.permissions import Permission
from models.leads import Lead

router = APIRouter(prefix="/api/conversions", tags=["conversions"])
FUTURE_TOLERANCE = timedelta(minutes=5)
IDENTIFIERS = ("lead_id", "email", "external_id")


@router.post(
    "",
    response_model=ConversionOut,
    status_code=201,
    responses={200: {"model": ConversionOut, "description": "This `id` was recorded before: nothing new written"}},
    **guard(Permission.leads_write),
)
async def record(body: ConversionIn, scope: ScopeDep, response: Response) -> ConversionOut:
    """Records a conversion of one lead, attributed to its clicks within `window_days` by `model`; 201, or 200 with
    `duplicate: true` for an `id` recorded before."""
    lead = await _lead(scope, body)
    now = datetime.now(UTC)
    occurred_at = body.occurred_at or now
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    if occurred_at > now + FUTURE_TOLERANCE:
        raise ApiError(422, "occurred_at: in the future", field="occurred_at")
    conversion = ConversionInput(
        workspace_id=scope.workspace_id,
        lead_id=lead.id,
        occurred_at=occurred_at,
        model=body.model,
        window_days=body.window_days,
        value=None if body.value is None else Decimal(str(body.value)),
        currency=body.currency,
        name=body.name,
        source="api",
        dedupe=None if body.id is None else f"conversion:{body.id}",
    )
    recorded = await record_conversion(scope.session, conversion, scope.context.actor)
    if recorded.duplicate:
        response.status_code = 200
    await scope.session.commit()
    return conversion_out(lead.id, recorded)


async def _lead(scope: Scope, body: ConversionIn) -> Lead:
    given = [name for name in IDENTIFIERS if getattr(body, name) is not None]
    if len(given) != 1:
        field = given[1] if given else "lead_id"
        raise ApiError(422, f"{field}: give exactly one of lead_id, email, external_id", field=field)
    field = given[0]
    if field == "lead_id":
        lead = await scope.find(Lead, body.lead_id)
    else:
        query = scope.select(Lead)
        if field == "email":
            query = query.where(Lead.email == normalise_email(str(body.email)))
        else:
            query = query.where(Lead.external_id == body.external_id)
        lead = (await scope.session.exec(query.order_by(Lead.id).limit(1))).first()
    if lead is None:
        raise ApiError(404, f"{field}: no lead with this {field} in the workspace", field=field)
    return lead
