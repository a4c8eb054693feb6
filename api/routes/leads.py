from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from api.context import guard
from api.errors import ApiError
from api.pagination import PageParamsDep, paginate, search_filter
from api.schemas import LeadCreate, LeadOut, Page
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.leads import Lead

router = APIRouter(prefix="/api/leads", tags=["leads"])


@router.get("", response_model=Page[LeadOut], **guard(Permission.workspace_read))
async def list_leads(scope: ScopeDep, params: PageParamsDep) -> Page[LeadOut]:
    """Oldest first; `search` matches the email or the first or last name."""
    where = search_filter(params.search, Lead.email, Lead.first_name, Lead.last_name)
    return await paginate(scope.session, scope.select(Lead), params, col(Lead.id), LeadOut, where)


@router.post("", response_model=LeadOut, status_code=201, **guard(Permission.leads_write))
async def create_lead(body: LeadCreate, scope: ScopeDep) -> LeadOut:
    if body.email is None and body.phone is None:
        raise ApiError(422, "a lead needs an email or a phone", field="email")
    lead = scope.add(Lead(**body.model_dump()))
    try:
        await scope.session.flush()
    except IntegrityError as exc:
        await scope.session.rollback()
        raise ApiError(409, f"a lead with email {body.email} already exists", field="email") from exc
    scope.audit("lead.created", "lead", lead.id, after=body.model_dump(include={"email", "phone", "status"}))
    await scope.session.commit()
    await scope.session.refresh(lead)
    return LeadOut.model_validate(lead)


@router.get("/{lead_id}", response_model=LeadOut, **guard(Permission.workspace_read))
async def get_lead(lead_id: int, scope: ScopeDep) -> LeadOut:
    return LeadOut.model_validate(await scope.get(Lead, lead_id, "lead"))
