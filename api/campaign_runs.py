"""Campaign queries and run control shared by the campaign routes: launch, progress, pause/resume/cancel.

Every function works through a `Scope`, so a campaign of another workspace is never found.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api import template_service
from api.errors import ApiError
from api.lead_service import filter_context
from api.schemas import CampaignDetail, CampaignOut, ProgressOut, RunOut
from api.scoping import Scope
from core.settings import Settings
from core.temporal import CAMPAIGN_ID
from core.workflow_ids import campaign_run_workflow_id
from domain.lists import saved_list_membership
from domain.permissions import may_launch
from domain.progress import percent_done
from models.campaigns import ACTIVE_STATUSES, Campaign, CampaignRun, CampaignStatus
from models.leads import Lead
from models.lists import LeadList
from models.payloads.campaign import CampaignProgress, CampaignRunInput
from models.templates import Template, TemplateVersion

QUERY_TIMEOUT = timedelta(seconds=2)
WORKFLOW_NAME = "CampaignWorkflow"  # by name: the API never imports workflow or activity code
AUDIT_ACTIONS = {"pause": "campaign.paused", "resume": "campaign.resumed", "cancel": "campaign.cancelled"}


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


def campaign_snapshot(campaign: Campaign) -> dict:
    """What the audit log keeps of a campaign."""
    return {
        "name": campaign.name,
        "status": campaign.status,
        "template_id": campaign.template_id,
        "template_version_id": campaign.template_version_id,
        "list_id": campaign.list_id,
    }


async def pinned_version(scope: Scope, template: Template, number: int | None) -> TemplateVersion:
    """The version a campaign pins: the numbered one (422 naming `template_version` when it does not exist), or
    the template's current one."""
    wanted = number or template.version
    version = (
        await scope.session.exec(
            scope.select(TemplateVersion).where(
                TemplateVersion.template_id == template.id, TemplateVersion.number == wanted
            )
        )
    ).one_or_none()
    if version is None:
        field = "template_version" if number else "template_id"
        raise ApiError(422, f"{field}: template {template.id} has no version {wanted}", field=field)
    return version


async def _check_template(scope: Scope, campaign: Campaign) -> None:
    """Launch is refused (422, field "template") while the pinned version has template or brand errors; a campaign
    from before versions existed gets its template's current version pinned here."""
    template = await scope.get(Template, campaign.template_id, "template")
    if campaign.template_version_id is None:
        campaign.template_version_id = (await pinned_version(scope, template, None)).id
        scope.session.add(campaign)
    version = await scope.session.get(TemplateVersion, campaign.template_version_id)
    problems = await template_service.problems_for(scope, template.channel, template_service.content_fields(version))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApiError(
            422,
            f"cannot launch: version {version.number} of {template.name!r} has problems: "
            f"{template_service.describe(errors[0])}{more}",
            field="template",
            code="template_problems",
        )


async def _latest_runs(scope: Scope, campaign_ids: list[int]) -> dict[int, CampaignRun]:
    if not campaign_ids:
        return {}
    newest = (
        select(CampaignRun.campaign_id, func.max(CampaignRun.number).label("number"))
        .where(scope.where(CampaignRun), col(CampaignRun.campaign_id).in_(campaign_ids))
        .group_by(col(CampaignRun.campaign_id))
        .subquery()
    )
    runs = (
        await scope.session.exec(
            select(CampaignRun).join(
                newest,
                (col(CampaignRun.campaign_id) == newest.c.campaign_id) & (col(CampaignRun.number) == newest.c.number),
            )
        )
    ).all()
    return {run.campaign_id: run for run in runs}


def _with_names(scope: Scope):
    return (
        select(Campaign, Template.name, TemplateVersion.number, LeadList.name)
        .join(Template, col(Template.id) == col(Campaign.template_id))
        .outerjoin(TemplateVersion, col(TemplateVersion.id) == col(Campaign.template_version_id))
        .outerjoin(LeadList, col(LeadList.id) == col(Campaign.list_id))
        .where(scope.where(Campaign))
    )


async def list_campaigns(scope: Scope, settings: Settings) -> list[CampaignOut]:
    rows = (await scope.session.exec(_with_names(scope).order_by(col(Campaign.id).desc()))).all()
    latest = await _latest_runs(scope, [row[0].id for row in rows])
    return [
        _campaign_out(settings, campaign, template_name, version, list_name, latest.get(campaign.id))
        for campaign, template_name, version, list_name in rows
    ]


async def get_campaign_detail(scope: Scope, settings: Settings, campaign_id: int) -> CampaignDetail:
    row = (await scope.session.exec(_with_names(scope).where(Campaign.id == campaign_id))).one_or_none()
    if row is None:
        raise ApiError(404, f"campaign {campaign_id} not found")
    campaign, template_name, version, list_name = row
    runs = (
        await scope.session.exec(
            scope.select(CampaignRun)
            .where(CampaignRun.campaign_id == campaign_id)
            .order_by(col(CampaignRun.number).desc())
        )
    ).all()
    base = _campaign_out(settings, campaign, template_name, version, list_name, runs[0] if runs else None)
    return CampaignDetail(**base.model_dump(), runs=[run_out(settings, r) for r in runs])


def _campaign_out(
    settings: Settings,
    campaign: Campaign,
    template_name: str,
    template_version: int | None,
    list_name: str | None,
    run: CampaignRun | None,
) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        template_id=campaign.template_id,
        template_name=template_name,
        template_version=template_version,
        list_id=campaign.list_id,
        list_name=list_name,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        latest_run=run_out(settings, run) if run else None,
    )


async def audience_size(scope: Scope, list_id: int | None) -> int:
    """How many leads the campaign would reach now: the workspace's leads, or the list as it stands."""
    condition = scope.where(Lead)
    if list_id is not None:
        lead_list = await scope.get(LeadList, list_id, "list")
        ctx = await filter_context(scope)
        condition = and_(condition, saved_list_membership(list_id, lead_list.kind, lead_list.filter, ctx))
    return (await scope.session.exec(select(func.count()).select_from(Lead).where(condition))).one()


async def launch(scope: Scope, client: Client, settings: Settings, campaign_id: int) -> RunOut:
    """Record the run (and its audit row) and start its workflow in one go: if the start fails, neither stays."""
    campaign = await scope.get(Campaign, campaign_id, "campaign", for_update=True)
    if not may_launch(scope.context.role, scope.context.requires_approval):
        raise ApiError(403, "this workspace requires approval to launch; ask a manager", code="forbidden")
    active = (
        await scope.session.exec(
            scope.select(CampaignRun).where(
                CampaignRun.campaign_id == campaign_id, col(CampaignRun.status).in_(ACTIVE_STATUSES)
            )
        )
    ).first()
    if active is not None:
        raise ApiError(
            409, f"campaign {campaign_id} is already running as {active.workflow_id}", code="already_running"
        )
    await _check_template(scope, campaign)
    size = await audience_size(scope, campaign.list_id)
    if size == 0:
        where = "the list has no leads" if campaign.list_id else "there are no leads"
        raise ApiError(409, f"cannot launch: the audience is empty ({where})", field="list_id", code="empty_audience")
    number = (
        await scope.session.exec(
            select(func.coalesce(func.max(CampaignRun.number), 0)).where(CampaignRun.campaign_id == campaign_id)
        )
    ).one() + 1
    workflow_id = campaign_run_workflow_id(campaign_id, number)
    run = scope.add(CampaignRun(campaign_id=campaign_id, number=number, workflow_id=workflow_id, total=size))
    before = campaign_snapshot(campaign)
    campaign.status = CampaignStatus.running.value
    scope.session.add(campaign)
    try:
        await scope.session.flush()
    except IntegrityError as exc:
        await scope.session.rollback()
        raise ApiError(409, f"campaign {campaign_id} was launched concurrently", code="already_running") from exc
    scope.audit("campaign.launched", "campaign", campaign_id, before=before, after={"run": number, "total": size})
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
        await scope.session.rollback()
        if isinstance(exc, WorkflowAlreadyStartedError):
            raise ApiError(409, f"workflow {workflow_id} already exists", code="already_running") from exc
        raise ApiError(503, f"could not start the campaign workflow: {exc}", code="unavailable") from exc
    # The workflow's first activity retries until this commit is visible.
    await scope.session.commit()
    await scope.session.refresh(run)
    return run_out(settings, run)


async def latest_run(scope: Scope, campaign_id: int) -> CampaignRun:
    await scope.get(Campaign, campaign_id, "campaign")
    run = (
        await scope.session.exec(
            scope.select(CampaignRun)
            .where(CampaignRun.campaign_id == campaign_id)
            .order_by(col(CampaignRun.number).desc())
        )
    ).first()
    if run is None:
        raise ApiError(409, f"campaign {campaign_id} has never been launched", code="not_launched")
    return run


def _handle(client: Client, run: CampaignRun) -> WorkflowHandle:
    return client.get_workflow_handle(run.workflow_id, result_type=CampaignProgress)


async def progress(scope: Scope, client: Client | None, settings: Settings, campaign_id: int) -> ProgressOut:
    run = await latest_run(scope, campaign_id)
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
        await scope.session.refresh(run)
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


async def control(scope: Scope, client: Client, campaign_id: int, action: str) -> None:
    """pause / resume (signals) or cancel (workflow cancellation) the active run."""
    run = await latest_run(scope, campaign_id)
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
            await scope.session.execute(
                text(statement), {"new": new_status, "old": run.status, "id": run.id, "cid": campaign_id}
            )
    scope.audit(AUDIT_ACTIONS[action], "campaign", campaign_id, after={"run": run.number})
    await scope.session.commit()
