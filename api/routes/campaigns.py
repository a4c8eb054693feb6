from __future__ import annotations

from fastapi import APIRouter, Request

from api import campaign_runs
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.schemas import CampaignCreate, CampaignDetail, CampaignOut, ProgressOut, RunOut
from models.campaigns import Campaign
from models.lists import LeadList
from models.templates import Template

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@router.get("", response_model=list[CampaignOut])
async def list_campaigns(session: SessionDep, settings: SettingsDep) -> list[CampaignOut]:
    return await campaign_runs.list_campaigns(session, settings)


@router.post("", response_model=CampaignDetail, status_code=201)
async def create_campaign(body: CampaignCreate, session: SessionDep, settings: SettingsDep) -> CampaignDetail:
    if await session.get(Template, body.template_id) is None:
        raise ApiError(422, f"template {body.template_id} does not exist", field="template_id")
    if body.list_id is not None and await session.get(LeadList, body.list_id) is None:
        raise ApiError(422, f"list {body.list_id} does not exist", field="list_id")
    campaign = Campaign(name=body.name, template_id=body.template_id, list_id=body.list_id)
    session.add(campaign)
    await session.commit()
    await session.refresh(campaign)
    return await campaign_runs.get_campaign_detail(session, settings, campaign.id)


@router.get("/{campaign_id}", response_model=CampaignDetail)
async def get_campaign(campaign_id: int, session: SessionDep, settings: SettingsDep) -> CampaignDetail:
    return await campaign_runs.get_campaign_detail(session, settings, campaign_id)


@router.post("/{campaign_id}/launch", response_model=RunOut, status_code=202)
async def launch_campaign(campaign_id: int, session: SessionDep, settings: SettingsDep, client: TemporalDep) -> RunOut:
    return await campaign_runs.launch(session, client, settings, campaign_id)


@router.get("/{campaign_id}/progress", response_model=ProgressOut)
async def campaign_progress(
    campaign_id: int, request: Request, session: SessionDep, settings: SettingsDep
) -> ProgressOut:
    try:
        client = await request.app.state.temporal.get()
    except ApiError:
        client = None  # progress still answers from the database while Temporal is unreachable
    return await campaign_runs.progress(session, client, settings, campaign_id)


async def _control(campaign_id: int, action: str, session, settings, client) -> ProgressOut:
    await campaign_runs.control(session, client, campaign_id, action)
    return await campaign_runs.progress(session, client, settings, campaign_id)


@router.post("/{campaign_id}/pause", response_model=ProgressOut)
async def pause_campaign(campaign_id: int, session: SessionDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "pause", session, settings, client)


@router.post("/{campaign_id}/resume", response_model=ProgressOut)
async def resume_campaign(campaign_id: int, session: SessionDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "resume", session, settings, client)


@router.post("/{campaign_id}/cancel", response_model=ProgressOut)
async def cancel_campaign(campaign_id: int, session: SessionDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "cancel", session, settings, client)
