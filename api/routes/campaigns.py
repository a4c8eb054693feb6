from __future__ import annotations

from fastapi import APIRouter, Request

from api import campaign_runs
from api.context import guard
from api.deps import SettingsDep, TemporalDep
from api.errors import ApiError
from api.schemas import CampaignCreate, CampaignDetail, CampaignOut, ProgressOut, RunOut
from api.scoping import Scope, ScopeDep
from domain.permissions import Permission
from models.campaigns import Campaign
from models.lists import LeadList
from models.templates import Template

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@router.get("", response_model=list[CampaignOut], **guard(Permission.workspace_read))
async def list_campaigns(scope: ScopeDep, settings: SettingsDep) -> list[CampaignOut]:
    return await campaign_runs.list_campaigns(scope, settings)


@router.post("", response_model=CampaignDetail, status_code=201, **guard(Permission.campaigns_write))
async def create_campaign(body: CampaignCreate, scope: ScopeDep, settings: SettingsDep) -> CampaignDetail:
    """Pins the template version the campaign sends (`template_version`, default: the current one): editing the
    template afterwards never changes what this campaign sends."""
    template = await scope.find(Template, body.template_id)
    if template is None:
        raise ApiError(422, f"template {body.template_id} does not exist", field="template_id")
    if template.channel != "email":
        raise ApiError(
            422,
            f"template_id: campaigns send email; {template.name!r} is a {template.channel} template",
            field="template_id",
        )
    version = await campaign_runs.pinned_version(scope, template, body.template_version)
    if body.list_id is not None and await scope.find(LeadList, body.list_id) is None:
        raise ApiError(422, f"list {body.list_id} does not exist", field="list_id")
    campaign = scope.add(
        Campaign(name=body.name, template_id=template.id, template_version_id=version.id, list_id=body.list_id)
    )
    await scope.session.flush()
    scope.audit("campaign.created", "campaign", campaign.id, after=campaign_runs.campaign_snapshot(campaign))
    await scope.session.commit()
    return await campaign_runs.get_campaign_detail(scope, settings, campaign.id)


@router.get("/{campaign_id}", response_model=CampaignDetail, **guard(Permission.workspace_read))
async def get_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep) -> CampaignDetail:
    return await campaign_runs.get_campaign_detail(scope, settings, campaign_id)


@router.post("/{campaign_id}/launch", response_model=RunOut, status_code=202, **guard(Permission.campaigns_launch))
async def launch_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep) -> RunOut:
    return await campaign_runs.launch(scope, client, settings, campaign_id)


@router.get("/{campaign_id}/progress", response_model=ProgressOut, **guard(Permission.workspace_read))
async def campaign_progress(campaign_id: int, request: Request, scope: ScopeDep, settings: SettingsDep) -> ProgressOut:
    try:
        client = await request.app.state.temporal.get()
    except ApiError:
        client = None  # progress still answers from the database while Temporal is unreachable
    return await campaign_runs.progress(scope, client, settings, campaign_id)


async def _control(campaign_id: int, action: str, scope: Scope, settings, client) -> ProgressOut:
    await campaign_runs.control(scope, client, campaign_id, action)
    return await campaign_runs.progress(scope, client, settings, campaign_id)


@router.post("/{campaign_id}/pause", response_model=ProgressOut, **guard(Permission.campaigns_launch))
async def pause_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "pause", scope, settings, client)


@router.post("/{campaign_id}/resume", response_model=ProgressOut, **guard(Permission.campaigns_launch))
async def resume_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "resume", scope, settings, client)


@router.post("/{campaign_id}/cancel", response_model=ProgressOut, **guard(Permission.campaigns_launch))
async def cancel_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "cancel", scope, settings, client)
