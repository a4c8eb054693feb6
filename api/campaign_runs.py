"""Campaign runs: launch (pinning the flow), progress per step, pause/resume/cancel, approval, rescheduling, the
calendar, the dry run and the whole flow's test send.

The workflows are reached by name (`CampaignWorkflow`, `CampaignDryRunWorkflow`, `TestSendWorkflow`): the API never
imports workflow or activity code. Every function works through a `Scope`, so a campaign of another workspace is never
found. Each state change writes its rows and audit entry, then talks to Temporal, and commits only when Temporal
accepted: a refused start, update or signal leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api import template_service
from api.campaign_service import (
    audience_of,
    audience_or_422,
    audience_size,
    campaign_snapshot,
    content_problems,
    first_fire_time,
    flow_json,
    flow_of,
    flow_problems,
    last_fire_time,
    legacy_flow,
    pin_versions,
    refuse,
    run_out,
    schedule_json,
    schedule_of,
    schedule_problems,
    template_catalogue,
    template_ids,
)
from api.errors import ApiError
from api.lead_service import workspace_of
from api.schemas_campaigns import (
    CalendarEntry,
    CampaignTestSendOut,
    DryRunOut,
    ProgressOut,
    RunOut,
    StepProgress,
    StepTestResult,
    VariantProgress,
)
from api.schemas_templates import TestSendResultOut
from api.scoping import Scope
from core.settings import Settings
from core.temporal import CAMPAIGN_ID, temporal_url
from core.workflow_ids import campaign_run_workflow_id, test_send_workflow_id
from domain.campaign_flow import iter_steps, path_label
from domain.contacts import ContactError, normalise_email, normalise_phone
from domain.permissions import Permission
from domain.progress import percent_done
from domain.send_timing import zone
from models.campaigns import ACTIVE_STATUSES, ApprovalStatus, Campaign, CampaignRun, CampaignStatus
from models.payloads.campaign import CampaignProgress, CampaignRunInput
from models.payloads.campaign_flow import CampaignSchedule, FlowDefinition, SendStep
from models.payloads.test_send import TestSendInput, TestSendResult
from models.templates import Template, TemplateVersion

QUERY_TIMEOUT = timedelta(seconds=2)
UPDATE_TIMEOUT = timedelta(seconds=15)
DRY_RUN_TIMEOUT = timedelta(seconds=90)
TEST_SEND_TIMEOUT = timedelta(seconds=60)
WORKFLOW_NAME = "CampaignWorkflow"  # by name: the API never imports workflow or activity code
DRY_RUN_WORKFLOW = "CampaignDryRunWorkflow"
TEST_SEND_WORKFLOW = "TestSendWorkflow"
AUDIT_ACTIONS = {"pause": "campaign.paused", "resume": "campaign.resumed", "cancel": "campaign.cancelled"}
# Before launch (or after a refusal) a campaign's start time can move without a workflow to tell.
UNLAUNCHED = (CampaignStatus.draft.value, CampaignStatus.rejected.value)
WAITING = (CampaignStatus.scheduled.value, CampaignStatus.pending_approval.value)
MAX_CALENDAR_SPAN = timedelta(days=400)


def _now() -> datetime:
    return datetime.now(UTC)


def _handle(client: Client, run: CampaignRun) -> WorkflowHandle:
    return client.get_workflow_handle(run.workflow_id, result_type=CampaignProgress)


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


# --- Launch ---------------------------------------------------------------------------------------------------------


async def _pinned_legacy_flow(scope: Scope, campaign: Campaign) -> None:
    """A campaign from before flows sends its template's pinned version (pinned now if it never was); launch is
    refused (422, field "template") while that version has template or brand errors."""
    template = await scope.get(Template, campaign.template_id, "template")
    if campaign.template_version_id is None:
        current = (
            await scope.session.exec(
                scope.select(TemplateVersion).where(
                    TemplateVersion.template_id == template.id, TemplateVersion.number == template.version
                )
            )
        ).one_or_none()
        if current is None:
            raise ApiError(422, f"template {template.id} has no version {template.version}", field="template")
        campaign.template_version_id = current.id
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


async def _launch_flow(scope: Scope, flow: FlowDefinition) -> FlowDefinition:
    """The flow a run sends: checked (flow, template and brand errors refuse the launch) and pinned."""
    catalogue = await template_catalogue(scope, template_ids(flow))
    refuse(await flow_problems(scope, flow, catalogue))
    refuse(await content_problems(scope, flow, catalogue), code="template_problems")
    return pin_versions(flow, catalogue)


def needs_approval(scope: Scope) -> bool:
    """Where the workspace requires approval, a launch by someone who cannot approve waits for a manager."""
    return scope.context.requires_approval and not scope.context.can(Permission.campaigns_approve)


def _start_status(schedule: CampaignSchedule, now: datetime) -> str:
    start = first_fire_time(schedule)
    return CampaignStatus.scheduled.value if start is not None and start > now else CampaignStatus.running.value


async def launch(scope: Scope, client: Client, settings: Settings, campaign_id: int) -> RunOut:
    """Record the run (flow pinned, status, audit row) and start its workflow in one go: if the start fails,
    neither stays. Where approval is required the run starts too and waits for the decision."""
    campaign = await scope.get(Campaign, campaign_id, "campaign", for_update=True)
    active = (
        await scope.session.exec(
            scope.select(CampaignRun).where(
                CampaignRun.campaign_id == campaign_id, col(CampaignRun.status).in_(ACTIVE_STATUSES)
            )
        )
    ).first()
    if active is not None:
        raise ApiError(
            409, f"campaign {campaign_id} is already {active.status} as {active.workflow_id}", code="already_running"
        )
    flow = flow_of(campaign)
    pinned: FlowDefinition | None = None
    if flow is not None:
        pinned = await _launch_flow(scope, flow)
    elif campaign.template_id is not None:
        await _pinned_legacy_flow(scope, campaign)
    else:
        raise ApiError(422, "flow: the campaign has no steps yet", field="flow", code="validation_error")
    schedule = schedule_of(campaign.schedule)
    now = _now()
    refuse(schedule_problems(schedule, now))
    size = await audience_size(scope, await audience_or_422(scope, audience_of(campaign)))
    if size == 0:
        where = "its lists have no leads" if audience_of(campaign).list_ids else "there are no leads"
        raise ApiError(409, f"cannot launch: the audience is empty ({where})", field="list_ids", code="empty_audience")
    approval = needs_approval(scope)
    status = CampaignStatus.pending_approval.value if approval else _start_status(schedule, now)
    number = (
        await scope.session.exec(
            select(func.coalesce(func.max(CampaignRun.number), 0)).where(CampaignRun.campaign_id == campaign_id)
        )
    ).one() + 1
    workflow_id = campaign_run_workflow_id(campaign_id, number)
    run = scope.add(
        CampaignRun(
            campaign_id=campaign_id,
            number=number,
            workflow_id=workflow_id,
            status=status,
            total=size,
            flow=flow_json(pinned) if pinned is not None else None,
            schedule=schedule_json(schedule),
        )
    )
    before = campaign_snapshot(campaign)
    campaign.status = status
    campaign.approval_status = ApprovalStatus.pending.value if approval else ApprovalStatus.none.value
    campaign.approved_by_id = None
    campaign.approved_at = None
    campaign.approval_comment = None
    scope.session.add(campaign)
    try:
        await scope.session.flush()
    except IntegrityError as exc:
        await scope.session.rollback()
        raise ApiError(409, f"campaign {campaign_id} was launched concurrently", code="already_running") from exc
    scope.audit(
        "campaign.launched",
        "campaign",
        campaign_id,
        before=before,
        after={"run": number, "total": size, "status": status, "requires_approval": approval},
    )
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            CampaignRunInput(
                campaign_id=campaign_id,
                run_id=run.id,
                run_number=number,
                batch_size=settings.campaign_batch_size,
                requires_approval=approval,
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


# --- Progress -------------------------------------------------------------------------------------------------------

STEP_COUNTS = text(
    """
    SELECT step, fallback, status, skip_reason, variant,
           count(*) AS n, count(opened_at) AS opened, count(clicked_at) AS clicked
    FROM deliveries WHERE run_id = :run_id
    GROUP BY step, fallback, status, skip_reason, variant
    """
)


def _run_flow(run: CampaignRun, campaign: Campaign) -> FlowDefinition:
    """What the run sends: its pinned flow, or the legacy single step."""
    if run.flow is not None:
        return FlowDefinition.model_validate(run.flow)
    return legacy_flow(campaign.template_id or 1, None)


async def step_progress(scope: Scope, run: CampaignRun, campaign: Campaign) -> list[StepProgress]:
    """Per step of the run's flow, from its recorded deliveries: sent / failed / skipped (by reason) of the primary
    channel, fallback sends, opens and clicks, and the same per A/B variant."""
    flow = _run_flow(run, campaign)
    steps: list[StepProgress] = []
    for index, (_, step) in enumerate(iter_steps(flow)):
        channel = step.channel if isinstance(step, SendStep) else None
        steps.append(StepProgress(step_id=step.id, index=index, type=step.type, channel=channel))
    variants: dict[int, dict[str, VariantProgress]] = defaultdict(dict)
    rows = (await scope.session.execute(STEP_COUNTS, {"run_id": run.id})).all()
    for row in rows:
        if not 0 <= row.step < len(steps):
            continue
        target = steps[row.step]
        if row.fallback:
            target.fallback_sent += row.n if row.status == "sent" else 0
            target.opened += row.opened
            target.clicked += row.clicked
            continue
        counts = [target]
        if row.variant:
            counts.append(variants[row.step].setdefault(row.variant, VariantProgress(variant=row.variant)))
        for item in counts:
            if row.status == "sent":
                item.sent += row.n
            elif row.status == "failed":
                item.failed += row.n
            elif row.status == "skipped":
                item.skipped += row.n
            item.opened += row.opened
            item.clicked += row.clicked
        if row.status == "skipped":
            reason = row.skip_reason or "other"
            target.by_reason[reason] = target.by_reason.get(reason, 0) + row.n
    for index, found in variants.items():
        steps[index].variants = sorted(found.values(), key=lambda v: v.variant)
    return steps


async def progress(scope: Scope, client: Client | None, settings: Settings, campaign_id: int) -> ProgressOut:
    run = await latest_run(scope, campaign_id)
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    live: CampaignProgress | None = None
    if client is not None and run.status in ACTIVE_STATUSES:
        try:
            live = await _handle(client, run).query("progress", result_type=CampaignProgress, rpc_timeout=QUERY_TIMEOUT)
        except RPCError:
            # Finished between the read and the query, or no worker answers right now (queries need one):
            # the database has the last recorded counts.
            live = None
    if live is not None and live.status not in ("completed", "cancelled", "failed", "rejected"):
        counts = live
        status, paused = live.status, live.paused
        if counts.total == 0:
            counts = counts.model_copy(update={"total": run.total})
    else:
        await scope.session.refresh(run)
        counts = run
        status, paused = run.status, run.status == CampaignStatus.paused.value
    steps = await step_progress(scope, run, campaign)
    if live is not None:
        here = {step.index: step.leads_here for step in live.steps}
        for step in steps:
            step.leads_here = here.get(step.index, 0)
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
        steps=steps,
        winners=dict(live.winners) if live is not None else {},
    )


# --- Pause, resume, cancel ------------------------------------------------------------------------------------------


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


# --- Approval -------------------------------------------------------------------------------------------------------


async def decide(scope: Scope, client: Client, campaign_id: int, approved: bool, comment: str | None) -> None:
    """A manager's decision on a launch waiting for approval: the run's `decide` update, the campaign's approval
    columns and status, and the audit entry, all or nothing."""
    campaign = await scope.get(Campaign, campaign_id, "campaign", for_update=True)
    run = await latest_run(scope, campaign_id)
    waiting = CampaignStatus.pending_approval.value
    if run.status != waiting or campaign.status != waiting:
        raise ApiError(
            409, f"campaign {campaign_id} is {campaign.status}, not waiting for approval", code="invalid_state"
        )
    now = _now()
    comment = (comment or "").strip() or None
    before = {"status": campaign.status, "approval_status": campaign.approval_status}
    campaign.approval_status = ApprovalStatus.approved.value if approved else ApprovalStatus.rejected.value
    campaign.approved_by_id = scope.context.user_id
    campaign.approved_at = now
    campaign.approval_comment = comment
    if approved:
        status = _start_status(schedule_of(run.schedule or campaign.schedule), now)
    else:
        status = CampaignStatus.rejected.value
        run.finished_at = now
    campaign.status = status
    run.status = status
    scope.session.add_all([campaign, run])
    await scope.session.flush()
    scope.audit(
        "campaign.approved" if approved else "campaign.rejected",
        "campaign",
        campaign_id,
        before=before,
        after={"run": run.number, "status": status, "comment": comment},
    )
    payload = {"approved": approved, "user_id": scope.context.user_id, "comment": comment}
    try:
        await asyncio.wait_for(
            _handle(client, run).execute_update("decide", payload, result_type=str),
            timeout=UPDATE_TIMEOUT.total_seconds(),
        )
    except WorkflowUpdateFailedError as exc:
        await scope.session.rollback()
        cause = getattr(exc.cause, "message", None) or str(exc.cause or exc)
        raise ApiError(409, f"the run refused the decision: {cause}", code="invalid_state") from exc
    except RPCError as exc:
        await scope.session.rollback()
        raise ApiError(409, f"the run cannot take a decision: {exc.message}", code="invalid_state") from exc
    except TimeoutError as exc:
        await scope.session.rollback()
        raise ApiError(504, f"run {run.workflow_id} did not answer in time; try again", code="timeout") from exc
    await scope.session.commit()


# --- Schedule -------------------------------------------------------------------------------------------------------


async def reschedule(scope: Scope, client: Client | None, campaign_id: int, at: datetime) -> None:
    """Moves the start: a draft's (or rejected campaign's) schedule only; a scheduled run's or one waiting for approval
    through its `reschedule` signal. A campaign sent at each lead's local time keeps its local time and moves to the
    date `at` falls on in the workspace's timezone (its run plans its timezone buckets again)."""
    campaign = await scope.get(Campaign, campaign_id, "campaign", for_update=True)
    now = _now()
    if at <= now:
        raise ApiError(422, "at: the new start time is in the past", field="at")
    schedule = schedule_of(campaign.schedule)
    if campaign.status not in (*UNLAUNCHED, *WAITING):
        raise ApiError(409, f"cannot reschedule: the campaign is {campaign.status}", code="invalid_state")
    new_date: str | None = None
    if schedule.mode == "local_time":
        workspace = await workspace_of(scope)
        new_date = at.astimezone(zone(workspace.timezone, "UTC")).date().isoformat()
        moved = schedule.model_copy(update={"date": new_date})
        if (last_fire_time(moved) or now) <= now:
            raise ApiError(422, "at: the new date has passed in every timezone", field="at")
    else:
        moved = schedule.model_copy(update={"mode": "at", "at": at.astimezone(UTC)})
    before = {"schedule": campaign.schedule, "scheduled_at": str(campaign.scheduled_at)}
    campaign.schedule = schedule_json(moved)
    campaign.scheduled_at = first_fire_time(moved)
    scope.session.add(campaign)
    run: CampaignRun | None = None
    if campaign.status in WAITING:
        run = await latest_run(scope, campaign_id)
        if run.status != campaign.status:
            raise ApiError(409, f"cannot reschedule: run {run.number} is {run.status}", code="invalid_state")
        run.schedule = schedule_json(moved)
        scope.session.add(run)
    await scope.session.flush()
    scope.audit(
        "campaign.rescheduled",
        "campaign",
        campaign_id,
        before=before,
        after={
            "at": (moved.at or campaign.scheduled_at).isoformat(),
            "date": new_date,
            "run": run.number if run else None,
        },
    )
    if run is not None:
        if client is None:
            raise ApiError(503, "Temporal is needed to move a launched campaign", code="unavailable")
        change = (
            {"at": campaign.scheduled_at.isoformat(), "date": new_date} if new_date else {"at": moved.at.isoformat()}
        )
        try:
            await _handle(client, run).signal("reschedule", change)
        except RPCError as exc:
            await scope.session.rollback()
            raise ApiError(409, f"cannot reschedule: {exc.message}", code="invalid_state") from exc
    await scope.session.commit()


async def calendar(scope: Scope, start: datetime, end: datetime) -> list[CalendarEntry]:
    """Campaigns with a date in [start, end): planned (draft or rejected with a start time), scheduled or waiting
    for approval (their start time), and launched ones (from their start to their end; one still in progress spans
    until now)."""
    if end <= start:
        raise ApiError(422, "to: must be after from", field="to")
    if end - start > MAX_CALENDAR_SPAN:
        raise ApiError(422, "to: the calendar shows at most 400 days at once", field="to")
    rows = (
        await scope.session.exec(
            select(Campaign, CampaignRun)
            .outerjoin(
                CampaignRun,
                text(
                    "campaign_runs.campaign_id = campaigns.id AND campaign_runs.number = "
                    "(SELECT max(r.number) FROM campaign_runs r WHERE r.campaign_id = campaigns.id)"
                ),
            )
            .where(scope.where(Campaign))
            .where(
                (col(Campaign.scheduled_at) >= start) & (col(Campaign.scheduled_at) < end)
                | (
                    col(CampaignRun.id).is_not(None)
                    & (col(CampaignRun.started_at) < end)
                    & (func.coalesce(CampaignRun.finished_at, end) >= start)
                )
            )
            .order_by(col(Campaign.id))
        )
    ).all()
    entries = []
    now = _now()
    for campaign, run in rows:
        schedule = schedule_of(campaign.schedule)
        waiting = campaign.status in (*UNLAUNCHED, *WAITING)
        if waiting or run is None:
            begin, finish = campaign.scheduled_at, None
            if begin is None or not start <= begin < end:
                continue
        else:
            planned = first_fire_time(schedule_of(run.schedule)) if run.schedule else None
            begin = max(run.started_at, planned) if planned else run.started_at
            finish = run.finished_at
            if begin >= end or (finish or now) < start:  # a run in progress spans until now
                continue
        flow = flow_of(campaign)
        channels = sorted({s.channel for _, s in iter_steps(flow) if isinstance(s, SendStep)}) if flow else ["email"]
        entries.append(
            CalendarEntry(
                campaign_id=campaign.id,
                name=campaign.name,
                status=campaign.status,
                start=begin,
                end=finish,
                schedule_mode=schedule.mode,
                channels=channels,
                can_reschedule=waiting,
            )
        )
    return entries


# --- Dry run, test send ---------------------------------------------------------------------------------------------


async def dry_run(scope: Scope, client: Client, settings: Settings, campaign_id: int) -> DryRunOut:
    """Who each send step would reach and why the others would be skipped, computed by the engine without sending."""
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    if campaign.flow is None and campaign.template_id is None:
        raise ApiError(422, "flow: the campaign has no steps yet", field="flow")
    workflow_id = f"campaign-{campaign_id}-dry-run-{uuid.uuid4().hex[:12]}"
    try:
        result = await asyncio.wait_for(
            client.execute_workflow(
                DRY_RUN_WORKFLOW,
                {"campaign_id": campaign_id},
                id=workflow_id,
                task_queue=settings.temporal_task_queue,
                result_type=dict,
            ),
            timeout=DRY_RUN_TIMEOUT.total_seconds(),
        )
    except TimeoutError as exc:
        raise ApiError(504, f"the dry run {workflow_id} did not finish in time", code="timeout") from exc
    except Exception as exc:
        raise ApiError(503, f"the dry run could not run: {exc}", code="unavailable") from exc
    return DryRunOut(workflow_id=workflow_id, **{k: v for k, v in dict(result).items() if k != "workflow_id"})


def _classify(to: list[str], region: str) -> tuple[list[str], list[str]]:
    """Emails and (E.164) phone numbers, in order, without duplicates; 422 naming `to[i]` for anything else."""
    emails: list[str] = []
    phones: list[str] = []
    for index, raw in enumerate(to):
        value = raw.strip()
        field = f"to[{index}]"
        if "@" in value:
            local, _, domain = value.rpartition("@")
            if not local or "." not in domain or any(ch.isspace() or ch in '<>,;"' for ch in value):
                raise ApiError(422, f"{field}: not an email address: {raw!r}", field=field)
            emails.append(normalise_email(value))
        else:
            try:
                phones.append(normalise_phone(value, region)[0])
            except ContactError as exc:
                raise ApiError(
                    422, f"{field}: neither an email address nor a phone number: {raw!r}", field=field
                ) from exc
    return list(dict.fromkeys(emails)), list(dict.fromkeys(phones))


async def test_send(
    scope: Scope, client: Client, settings: Settings, campaign_id: int, to: list[str], lead_id: int | None
) -> CampaignTestSendOut:
    """Every send step's message (and its fallback's) to the given addresses of its kind, through TestSendWorkflow:
    marked as tests, never recorded as deliveries."""
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    flow = flow_of(campaign)
    if flow is None:
        if campaign.template_id is None:
            raise ApiError(422, "flow: the campaign has no steps yet", field="flow")
        version = await scope.session.get(TemplateVersion, campaign.template_version_id or 0)
        flow = legacy_flow(campaign.template_id, version.number if version else None)
    workspace = await workspace_of(scope)
    emails, phones = _classify(to, workspace.default_region)
    for kind, found in (("email addresses", emails), ("phone numbers", phones)):
        if len(found) > 5:
            raise ApiError(422, f"to: at most 5 {kind}", field="to")
    catalogue = await template_catalogue(scope, template_ids(flow))
    jobs: list[tuple[StepTestResult, TestSendInput | None]] = []
    for position, step in iter_steps(flow):
        if not isinstance(step, SendStep):
            continue
        parts = [(step.channel, step.template_id, step.template_version, False, "")]
        if step.fallback is not None:
            fb = step.fallback
            parts.append((fb.channel, fb.template_id, fb.template_version, True, ".fallback"))
        for channel, template_id, number, fallback, suffix in parts:
            field = f"flow.{path_label(flow, position)}{suffix}.template_id"
            template = catalogue.templates.get(template_id)
            if template is None or template.channel != channel:
                raise ApiError(422, f"{field}: template {template_id} is not a {channel} template here", field=field)
            number = number or template.version
            result = StepTestResult(
                step_id=step.id, channel=channel, template_id=template_id, version=number, fallback=fallback
            )
            recipients = emails if channel == "email" else phones
            if not recipients:
                result.skipped = f"no {'email address' if channel == 'email' else 'phone number'} given"
                jobs.append((result, None))
                continue
            fields = await _version_fields(scope, template_id, number, field)
            await template_service.render_for(scope, settings, channel, fields, lead_id)  # 422 before any send
            result.workflow_id = test_send_workflow_id(template_id, uuid.uuid4().hex)
            jobs.append(
                (
                    result,
                    TestSendInput(
                        workspace_id=scope.workspace_id,
                        template_id=template_id,
                        version=number,
                        to=recipients,
                        lead_id=lead_id,
                        test_id=result.workflow_id,
                    ),
                )
            )
    if all(payload is None for _, payload in jobs):
        raise ApiError(422, "to: no address matches a channel the campaign sends on", field="to")

    async def run(result: StepTestResult, payload: TestSendInput | None) -> None:
        if payload is None:
            return
        outcome: TestSendResult = await client.execute_workflow(
            TEST_SEND_WORKFLOW,
            payload,
            id=payload.test_id,
            task_queue=settings.temporal_task_queue,
            result_type=TestSendResult,
        )
        result.results = [TestSendResultOut(**r.model_dump()) for r in outcome.results]

    try:
        await asyncio.wait_for(
            asyncio.gather(*(run(result, payload) for result, payload in jobs)),
            timeout=TEST_SEND_TIMEOUT.total_seconds(),
        )
    except TimeoutError as exc:
        raise ApiError(504, "the test sends did not finish in time", code="timeout") from exc
    except Exception as exc:
        raise ApiError(503, f"the test send could not run: {exc}", code="unavailable") from exc
    steps = [result for result, _ in jobs]
    scope.audit(
        "campaign.test_sent",
        "campaign",
        campaign_id,
        after={
            "to": [*emails, *phones],
            "lead_id": lead_id,
            "steps": [{"step_id": s.step_id, "fallback": s.fallback, "workflow_id": s.workflow_id} for s in steps],
        },
    )
    await scope.session.commit()
    return CampaignTestSendOut(steps=steps)


async def _version_fields(scope: Scope, template_id: int, number: int, field: str) -> dict[str, Any]:
    version = (
        await scope.session.exec(
            scope.select(TemplateVersion).where(
                TemplateVersion.template_id == template_id, TemplateVersion.number == number
            )
        )
    ).one_or_none()
    if version is None:
        raise ApiError(422, f"{field}: template {template_id} has no version {number}", field=field)
    return template_service.content_fields(version)
