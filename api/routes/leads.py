from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.deps import SessionDep
from api.errors import ApiError, not_found
from api.schemas import LeadCreate, LeadOut, Page
from models.leads import Lead

router = APIRouter(prefix="/api/leads", tags=["leads"])


@router.get("", response_model=Page[LeadOut])
async def list_leads(
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    search: str | None = Query(None, max_length=200, description="Matches name or email, case-insensitive."),
) -> Page[LeadOut]:
    query = select(Lead)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(
            or_(
                col(Lead.email).ilike(pattern),
                col(Lead.first_name).ilike(pattern),
                col(Lead.last_name).ilike(pattern),
            )
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    leads = (await session.exec(query.order_by(col(Lead.id)).limit(limit).offset(offset))).all()
    return Page(items=[LeadOut.model_validate(lead) for lead in leads], total=total, limit=limit, offset=offset)


@router.post("", response_model=LeadOut, status_code=201)
async def create_lead(body: LeadCreate, session: SessionDep) -> LeadOut:
    if body.email is None and body.phone is None:
        raise ApiError(422, "a lead needs an email or a phone", field="email")
    lead = Lead(**body.model_dump())
    session.add(lead)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(409, f"a lead with email {body.email} already exists", field="email") from exc
    await session.refresh(lead)
    return LeadOut.model_validate(lead)


@router.get("/{lead_id}", response_model=LeadOut)
async def get_lead(lead_id: int, session: SessionDep) -> LeadOut:
    lead = await session.get(Lead, lead_id)
    if lead is None:
        raise not_found("lead", lead_id)
    return LeadOut.model_validate(lead)
