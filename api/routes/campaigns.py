"""Campaigns: the wizard's definition (basics, audience, flow, schedule), its review and reachability, launch with
approval, the calendar and rescheduling, progress per step, pause/resume/cancel, dry run and test send.
See docs/campaigns.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Query, Request

from api import campaign_report as report_service
from api import campaign_runs, campaign_service
from api.context import guard
from api.deps import SettingsDep, TemporalDep
from api.errors import ApiError
from api.schemas_campaigns import (
    ApprovalIn,
    AudienceIn,
    CalendarEntry,
    CampaignCreate,
    CampaignDetail,
    CampaignOut,
    CampaignTestSendIn,
    CampaignTestSendOut,
    CampaignUpdate,
    DryRunOut,
    ProgressOut,
    ReachabilityOut,
    RejectIn,
    RescheduleIn,
    RunOut,
    ValidateIn,
    ValidateOut,
)
from api.schemas_reports import ReportOut
from api.scoping import Scope, ScopeDep
from domain.permissions import Permission
from models.campaigns import EDITABLE_STATUSES, Campaign, CampaignStatus

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


@router.get("", response_model=list[CampaignOut], **guard(Permission.workspace_read))
async def list_campaigns(scope: ScopeDep, settings: SettingsDep) -> list[CampaignOut]:
    return await campaign_service.list_campaigns(scope, settings)


@router.post("", response_model=CampaignDetail, status_code=201, **guard(Permission.campaigns_write))
async def create_campaign(body: CampaignCreate, scope: ScopeDep, settings: SettingsDep) -> CampaignDetail:
    """A draft. A flow with errors is refused (422 naming the path, e.g. `flow.steps[2].template_id`); warnings are
    for the review. The legacy body {name, template_id, template_version, list_id} becomes a one-step email flow that
    pins the version (default: the current one)."""
    flow, audience = await campaign_service.checked_definition(scope, body)
    campaign = Campaign(name=body.name, workspace_id=scope.workspace_id)
    campaign_service.apply(campaign, body, flow, audience)
    scope.add(campaign)
    await scope.session.flush()
    scope.audit("campaign.created", "campaign", campaign.id, after=campaign_service.campaign_snapshot(campaign))
    await scope.session.commit()
    return await campaign_service.campaign_detail(scope, settings, campaign.id)


@router.post("/validate", response_model=ValidateOut, **guard(Permission.workspace_read))
async def validate_campaign(body: ValidateIn, scope: ScopeDep) -> ValidateOut:
    """The review step: flow problems, each send step's template and brand problems (field
    `flow.steps[i].template_id`, with the step id), schedule and audience problems, and the estimated reach per
    channel and per send step. Nothing is written."""
    return await campaign_service.review(scope, body)


async def _reach(scope: Scope, body: AudienceIn) -> ReachabilityOut:
    audience = campaign_service.Audience(body.list_ids, body.exclude_list_ids, body.exclude_filter)
    condition = await campaign_service.audience_or_422(scope, audience)
    reach, _ = await campaign_service.reachability(scope, condition, body.frequency_cap)
    return reach


@router.get("/reachability", response_model=ReachabilityOut, **guard(Permission.workspace_read))
async def reachability(
    scope: ScopeDep,
    list_ids: list[int] = Query(default_factory=list, description="Union of these lists; none: every lead"),
    exclude_list_ids: list[int] = Query(default_factory=list),
    cap_max: int | None = Query(default=None, ge=1, le=1000, description="Frequency cap: messages per lead"),
    cap_days: int = Query(default=7, ge=1, le=365, description="Frequency cap: rolling window in days"),
) -> ReachabilityOut:
    """Per channel, how many leads of the audience can be reached (address, consent, not suppressed) and how many
    of those are already at the frequency cap."""
    cap = {"max_messages": cap_max, "days": cap_days} if cap_max is not None else None
    return await _reach(scope, AudienceIn(list_ids=list_ids, exclude_list_ids=exclude_list_ids, frequency_cap=cap))


@router.post("/reachability", response_model=ReachabilityOut, **guard(Permission.workspace_read))
async def reachability_with_filter(body: AudienceIn, scope: ScopeDep) -> ReachabilityOut:
    """The same with an exclusion filter (too big for a query string)."""
    return await _reach(scope, body)


@router.get("/calendar", response_model=list[CalendarEntry], **guard(Permission.workspace_read))
async def calendar(
    scope: ScopeDep,
    start: datetime = Query(alias="from", description="Window start (ISO date or date-time; naive = UTC)"),
    end: datetime = Query(alias="to", description="Window end, exclusive"),
) -> list[CalendarEntry]:
    """Campaigns with a date in the window: planned and scheduled ones at their start time, launched ones from start
    to finish."""
    return await campaign_runs.calendar(scope, _aware(start), _aware(end))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@router.get("/{campaign_id}", response_model=CampaignDetail, **guard(Permission.workspace_read))
async def get_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep) -> CampaignDetail:
    return await campaign_service.campaign_detail(scope, settings, campaign_id)


@router.put("/{campaign_id}", response_model=CampaignDetail, **guard(Permission.campaigns_write))
async def update_campaign(
    campaign_id: int, body: CampaignUpdate, scope: ScopeDep, settings: SettingsDep, request: Request
) -> CampaignDetail:
    """The whole definition again. Drafts and rejected campaigns change freely (a rejected one becomes a draft
    again); a scheduled one only its basics and its start time (`schedule.at`, passed on to the waiting run)."""
    campaign = await scope.get(Campaign, campaign_id, "campaign", for_update=True)
    if campaign.status not in EDITABLE_STATUSES:
        raise ApiError(
            409,
            f"campaign {campaign_id} is {campaign.status}: only draft, scheduled or rejected campaigns can be edited",
            code="invalid_state",
        )
    flow, audience = await campaign_service.checked_definition(scope, body)
    before = campaign_service.campaign_snapshot(campaign)
    moved_to: datetime | None = None
    if campaign.status == CampaignStatus.scheduled.value:
        changed = campaign_service.scheduled_change(campaign, body, flow, audience)
        if changed:
            raise ApiError(
                409,
                f"{changed}: the campaign is scheduled; only its basics and start time can change (cancel it to "
                "change its flow, audience or sending rules)",
                field=changed,
                code="invalid_state",
            )
        old_at = campaign_service.schedule_of(campaign.schedule).at
        if body.schedule.mode == "at" and body.schedule.at != old_at:
            moved_to = body.schedule.at
            if moved_to <= datetime.now(UTC):
                raise ApiError(422, "schedule.at: the new start time is in the past", field="schedule.at")
    campaign_service.apply(campaign, body, flow, audience)
    if campaign.status == CampaignStatus.rejected.value:
        campaign.status = CampaignStatus.draft.value
    scope.session.add(campaign)
    await scope.session.flush()
    scope.audit(
        "campaign.updated", "campaign", campaign_id, before=before, after=campaign_service.campaign_snapshot(campaign)
    )
    if moved_to is not None:
        client = await request.app.state.temporal.get()
        # reschedule() checks the time, updates the run's schedule and signals it, and commits with this change.
        await campaign_runs.reschedule(scope, client, campaign_id, moved_to)
    await scope.session.commit()
    return await campaign_service.campaign_detail(scope, settings, campaign_id)


@router.post("/{campaign_id}/launch", response_model=RunOut, status_code=202, **guard(Permission.campaigns_launch))
async def launch_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep) -> RunOut:
    """Pins every send step's template version into the run and starts its workflow. Status: `pending_approval`
    when the workspace requires approval and the caller cannot approve (the run waits for a manager), `scheduled`
    when the schedule's start is ahead, else `running`."""
    return await campaign_runs.launch(scope, client, settings, campaign_id)


@router.post("/{campaign_id}/approve", response_model=CampaignDetail, **guard(Permission.campaigns_approve))
async def approve_campaign(
    campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep, body: ApprovalIn | None = None
) -> CampaignDetail:
    """Lets a launch waiting for approval go on (the run's `decide` update); audited with the optional comment."""
    await campaign_runs.decide(scope, client, campaign_id, True, body.comment if body else None)
    return await campaign_service.campaign_detail(scope, settings, campaign_id)


@router.post("/{campaign_id}/reject", response_model=CampaignDetail, **guard(Permission.campaigns_approve))
async def reject_campaign(
    campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep, body: RejectIn | None = None
) -> CampaignDetail:
    """Ends a launch waiting for approval with the (required) comment; the campaign can then be edited and launched
    again."""
    comment = (body.comment or "").strip() if body else ""
    if not comment:
        raise ApiError(422, "comment: a rejection needs a comment", field="comment")
    await campaign_runs.decide(scope, client, campaign_id, False, comment)
    return await campaign_service.campaign_detail(scope, settings, campaign_id)


@router.post("/{campaign_id}/reschedule", response_model=CampaignDetail, **guard(Permission.campaigns_launch))
async def reschedule_campaign(
    campaign_id: int, body: RescheduleIn, scope: ScopeDep, settings: SettingsDep, request: Request
) -> CampaignDetail:
    """Moves the start time of a scheduled campaign (or one waiting for approval: the `reschedule` signal), or of a
    draft (no run yet). A campaign sent at each lead's local time keeps its local time and moves to the date `at`
    falls on in the workspace's timezone."""
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    client = None
    if campaign.status in campaign_runs.WAITING:
        client = await request.app.state.temporal.get()
    await campaign_runs.reschedule(scope, client, campaign_id, body.at)
    return await campaign_service.campaign_detail(scope, settings, campaign_id)


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


@router.get("/{campaign_id}/report", response_model=ReportOut, **guard(Permission.workspace_read))
async def campaign_report(
    campaign_id: int,
    scope: ScopeDep,
    run: int | None = Query(default=None, ge=1, description="The run's number (default: the latest)"),
    bucket: Literal["hour", "day"] = Query(default="day", description="The series' bucket"),
) -> ReportOut:
    """Sent, delivered, opens, clicks, unsubscribes, bounces, complaints, conversions and their rates, per step and
    A/B variant; the A/B tests' winners and significance; clicks per link; opens and clicks over time."""
    return await report_service.campaign_report(scope, campaign_id, run, bucket)


@router.post("/{campaign_id}/pause", response_model=ProgressOut, **guard(Permission.campaigns_launch))
async def pause_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "pause", scope, settings, client)


@router.post("/{campaign_id}/resume", response_model=ProgressOut, **guard(Permission.campaigns_launch))
async def resume_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "resume", scope, settings, client)


@router.post("/{campaign_id}/cancel", response_model=ProgressOut, **guard(Permission.campaigns_launch))
async def cancel_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep):
    return await _control(campaign_id, "cancel", scope, settings, client)


@router.post("/{campaign_id}/dry-run", response_model=DryRunOut, **guard(Permission.campaigns_write))
async def dry_run_campaign(campaign_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep) -> DryRunOut:
    """Without sending anything: per send step, how many leads it would reach (exact for the first step, an upper
    bound after branches and splits) and how many would be skipped, by reason."""
    return await campaign_runs.dry_run(scope, client, settings, campaign_id)


@router.post("/{campaign_id}/test-send", response_model=CampaignTestSendOut, **guard(Permission.campaigns_write))
async def test_send_campaign(
    campaign_id: int, body: CampaignTestSendIn, scope: ScopeDep, settings: SettingsDep, client: TemporalDep
) -> CampaignTestSendOut:
    """Every send step's message (and fallback's) to the given addresses of its channel's kind (emails for email,
    phone numbers for SMS and WhatsApp), marked as tests and never counted as deliveries."""
    return await campaign_runs.test_send(scope, client, settings, campaign_id, body.to, body.lead_id)
