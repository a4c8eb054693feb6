"""Campaign queries and run control shared by the campaign routes: launch, progress, pause/resume/cancel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.errors import ApiError, not_found
from api.schemas import CampaignDetail, CampaignOut, ProgressOut, RunOut
from core.settings import Settings
from core.temporal import CAMPAIGN_ID
from core.workflow_ids import campaign_run_workflow_id
from domain.progress import percent_done
from models.campaigns import ACTIVE_STATUSES, Campaign, CampaignRun, CampaignStatus
from models.lists import LeadList, ListMember
from models.payloads.campaign import CampaignProgress, CampaignRunInput
from models.templates import Template

QUERY_TIMEOUT = timedelta(seconds=2)
WORKFLOW_NAME = "CampaignWorkflow"  # by name: the API never imports workflow or activity code


def temporal_url(settings: Settings, workflow_id: str) -> str:
    return f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{workflow_id}"


def run_out(settings: Settings, run: CampaignRun) -> RunOut:
    return RunOut(
        id=run.id,
        number=run.number,
        workflow_id=run.workflow_id,
        status=run.status,
        total=run.total,
        sent=run.sent,
        failed=run.failed,
        skipped=run.skipped,
        percent=percent_done(run.total, run.sent, run.failed, run.skipped),
        started_at=run.started_at,
        finished_at=run.finished_at,
        temporal_url=temporal_url(settings, run.workflow_id),
    )


async def _latest_runs(session: AsyncSession, campaign_ids: list[int]) -> dict[int, CampaignRun]:
    if not campaign_ids:
        return {}
    newest = (
        select(CampaignRun.campaign_id, func.max(CampaignRun.number).label("number"))
        .where(col(CampaignRun.campaign_id).in_(campaign_ids))
        .group_by(col(CampaignRun.campaign_id))
        .subquery()
    )
    runs = (
        await session.exec(
            select(CampaignRun).join(
                newest,
                (col(CampaignRun.campaign_id) == newest.c.campaign_id) & (col(CampaignRun.number) == newest.c.number),
            )
        )
    ).all()
    return {run.campaign_id: run for run in runs}


async def list_campaigns(session: AsyncSession, settings: Settings) -> list[CampaignOut]:
    rows = (
        await session.exec(
            select(Campaign, Template.name, LeadList.name)
            .join(Template, col(Template.id) == col(Campaign.template_id))
            .outerjoin(LeadList, col(LeadList.id) == col(Campaign.list_id))
            .order_by(col(Campaign.id).desc())
        )
    ).all()
    latest = await _latest_runs(session, [c.id for c, _, _ in rows])
    return [
        _campaign_out(settings, campaign, template_name, list_name, latest.get(campaign.id))
        for campaign, template_name, list_name in rows
    ]


async def get_campaign_detail(session: AsyncSession, settings: Settings, campaign_id: int) -> CampaignDetail:
    row = (
        await session.exec(
            select(Campaign, Template.name, LeadList.name)
            .join(Template, col(Template.id) == col(Campaign.template_id))
            .outerjoin(LeadList, col(LeadList.id) == col(Campaign.list_id))
            .where(Campaign.id == campaign_id)
        )
    ).one_or_none()
    if row is None:
        raise not_found("campaign", campaign_id)
    campaign, template_name, list_name = row
    runs = (
        await session.exec(
            select(CampaignRun).where(CampaignRun.campaign_id == campaign_id).order_by(col(CampaignRun.number).desc())
        )
    ).all()
    base = _campaign_out(settings, campaign, template_name, list_name, runs[0] if runs else None)
    return CampaignDetail(**base.model_dump(), runs=[run_out(settings, r) for r in runs])


def _campaign_out(
    settings: Settings, campaign: Campaign, template_name: str, list_name: str | None, run: CampaignRun | None
) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        template_id=campaign.template_id,
        template_name=template_name,
        list_id=campaign.list_id,
        list_name=list_name,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        latest_run=run_out(settings, run) if run else None,
    )


async def audience_size(session: AsyncSession, list_id: int | None) -> int:
    if list_id is None:
        return (await session.execute(text("SELECT count(*) FROM leads"))).scalar_one()
    return (await session.exec(select(func.count()).select_from(ListMember).where(ListMember.list_id == list_id))).one()


async def launch(session: AsyncSession, client: Client, settings: Settings, campaign_id: int) -> RunOut:
    """Record a new run and start its workflow; if the start fails, the run row is removed again."""
    campaign = await session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise not_found("campaign", campaign_id)
    active = (
        await session.exec(
            select(CampaignRun).where(
                CampaignRun.campaign_id == campaign_id, col(CampaignRun.status).in_(ACTIVE_STATUSES)
            )
        )
    ).first()
    if active is not None:
        raise ApiError(
            409, f"campaign {campaign_id} is already running as {active.workflow_id}", code="already_running"
        )
    size = await audience_size(session, campaign.list_id)
    if size == 0:
        where = "the list has no leads" if campaign.list_id else "there are no leads"
        raise ApiError(409, f"cannot launch: the audience is empty ({where})", field="list_id", code="empty_audience")
    number = (
        await session.exec(
            select(func.coalesce(func.max(CampaignRun.number), 0)).where(CampaignRun.campaign_id == campaign_id)
        )
    ).one() + 1
    workflow_id = campaign_run_workflow_id(campaign_id, number)
    run = CampaignRun(campaign_id=campaign_id, number=number, workflow_id=workflow_id, total=size)
    session.add(run)
    previous_status = campaign.status
    campaign.status = CampaignStatus.running.value
    session.add(campaign)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(409, f"campaign {campaign_id} was launched concurrently", code="already_running") from exc
    await session.refresh(run)
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            CampaignRunInput(
                campaign_id=campaign_id, run_id=run.id, run_number=number, batch_size=settings.campaign_batch_size
            ),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(CAMPAIGN_ID, campaign_id)]),
        )
    except Exception as exc:
        await session.delete(run)
        campaign.status = previous_status
        session.add(campaign)
        await session.commit()
        if isinstance(exc, WorkflowAlreadyStartedError):
            raise ApiError(409, f"workflow {workflow_id} already exists", code="already_running") from exc
        raise ApiError(503, f"could not start the campaign workflow: {exc}", code="unavailable") from exc
    return run_out(settings, run)


async def latest_run(session: AsyncSession, campaign_id: int) -> CampaignRun:
    if await session.get(Campaign, campaign_id) is None:
        raise not_found("campaign", campaign_id)
    run = (
        await session.exec(
            select(CampaignRun).where(CampaignRun.campaign_id == campaign_id).order_by(col(CampaignRun.number).desc())
        )
    ).first()
    if run is None:
        raise ApiError(409, f"campaign {campaign_id} has never been launched", code="not_launched")
    return run


def _handle(client: Client, run: CampaignRun) -> WorkflowHandle:
    return client.get_workflow_handle(run.workflow_id, result_type=CampaignProgress)


async def progress(session: AsyncSession, client: Client | None, settings: Settings, campaign_id: int) -> ProgressOut:
    run = await latest_run(session, campaign_id)
    live: CampaignProgress | None = None
    if client is not None and run.status in ACTIVE_STATUSES:
        try:
            live = await _handle(client, run).query("progress", result_type=CampaignProgress, rpc_timeout=QUERY_TIMEOUT)
        except RPCError:
            # Finished between the read and the query, or no worker answers right now (queries need one):
            # the database has the last recorded counts.
            live = None
    if live is not None and live.status not in ("completed", "cancelled", "failed"):
        counts = live
        status, paused = live.status, live.paused
        if counts.total == 0:
            counts = counts.model_copy(update={"total": run.total})
    else:
        await session.refresh(run)
        counts = run
        status, paused = run.status, run.status == CampaignStatus.paused.value
    return ProgressOut(
        campaign_id=campaign_id,
        run_id=run.id,
        run_number=run.number,
        workflow_id=run.workflow_id,
        status=status,
        paused=paused,
        total=counts.total,
        sent=counts.sent,
        failed=counts.failed,
        skipped=counts.skipped,
        percent=percent_done(counts.total, counts.sent, counts.failed, counts.skipped),
        temporal_url=temporal_url(settings, run.workflow_id),
        live=live is not None,
    )


async def control(session: AsyncSession, client: Client, campaign_id: int, action: str) -> None:
    """pause / resume (signals) or cancel (workflow cancellation) the active run."""
    run = await latest_run(session, campaign_id)
    allowed = {"pause": ("running",), "resume": ("paused",), "cancel": ACTIVE_STATUSES}[action]
    if run.status not in allowed:
        raise ApiError(409, f"cannot {action}: run {run.number} is {run.status}", code="invalid_state")
    handle = _handle(client, run)
    try:
        if action == "cancel":
            await handle.cancel()
        else:
            await handle.signal(action)
    except RPCError as exc:
        raise ApiError(409, f"cannot {action}: {exc.message}", code="invalid_state") from exc
    if action in ("pause", "resume"):
        new_status = "paused" if action == "pause" else "running"
        for statement in (
            "UPDATE campaign_runs SET status = :new WHERE id = :id AND status = :old",
            "UPDATE campaigns SET status = :new, updated_at = now() WHERE id = :cid AND status = :old",
        ):
            await session.execute(
                text(statement), {"new": new_status, "old": run.status, "id": run.id, "cid": campaign_id}
            )
        await session.commit()
