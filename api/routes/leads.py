from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.deps import SessionDep
from api.errors import ApiError, not_found
from api.pagination import PageParamsDep, paginate, search_filter
from api.schemas import LeadCreate, LeadOut, Page
from models.leads import Lead

router = APIRouter(prefix="/api/leads", tags=["leads"])


@router.get("", response_model=Page[LeadOut])
async def list_leads(session: SessionDep, params: PageParamsDep) -> Page[LeadOut]:
    """Oldest first; `search` matches the email or the first or last name."""
    where = search_filter(params.search, Lead.email, Lead.first_name, Lead.last_name)
    return await paginate(session, select(Lead), params, col(Lead.id), LeadOut, where)


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
