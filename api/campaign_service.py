"""Campaign definitions: checking and saving a campaign body (basics, audience, flow, schedule), the wizard's
review (flow, template and brand problems, reachability estimates) and the campaign listing.

Everything reads through a `Scope`: lists, templates and members of another workspace do not exist here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, literal, text
from sqlmodel import col, select

from api import template_service
from api.errors import ApiError
from api.lead_service import filter_context, workspace_of
from api.schemas_campaigns import (
    MAX_ID,
    CampaignCreate,
    CampaignDetail,
    CampaignOut,
    ChannelReach,
    Problem,
    ReachabilityOut,
    RunOut,
    StepEstimate,
    ValidateIn,
    ValidateOut,
)
from api.scoping import Scope
from core.settings import Settings
from core.temporal import temporal_url
from domain.campaign_audience import (
    REASONS,
    ListRef,
    audience_condition,
    capped,
    effective_list_ids,
    skip_reason,
)
from domain.campaign_flow import iter_steps, path_label, send_steps, validate_flow
from domain.filters import FilterContext, FilterError, compile_filter, parse_filter
from domain.progress import percent_done
from models.campaigns import ACTIVE_STATUSES, Campaign, CampaignRun
from models.leads import CHANNELS, Lead
from models.lists import LeadList
from models.payloads.campaign_flow import CampaignSchedule, FlowDefinition, FrequencyCap, SendStep
from models.payloads.campaign_tracking import CampaignTracking
from models.templates import Template, TemplateVersion
from models.workspaces import Membership, User

LEGACY_STEP_ID = "send"
# A wall-clock time happens somewhere between UTC-12 and UTC+14.
EARLIEST_ZONE, LATEST_ZONE = timedelta(hours=14), timedelta(hours=12)
# Counts planned for their values (see api/routes/lists.py: a generic plan is blind to how many leads match).
CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")


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


def campaign_snapshot(campaign: Campaign) -> dict[str, Any]:
    """What the audit log keeps of a campaign."""
    return {
        "name": campaign.name,
        "status": campaign.status,
        "objective": campaign.objective,
        "goal_metric": campaign.goal_metric,
        "goal_target": campaign.goal_target,
        "owner_id": campaign.owner_id,
        "tags": list(campaign.tags or []),
        "cost": str(campaign.cost),
        "template_id": campaign.template_id,
        "template_version_id": campaign.template_version_id,
        "list_id": campaign.list_id,
        "list_ids": list(campaign.list_ids or []),
        "exclude_list_ids": list(campaign.exclude_list_ids or []),
        "exclude_filter": campaign.exclude_filter,
        "flow": campaign.flow,
        "schedule": campaign.schedule,
        "tracking": campaign.tracking,
    }


def flow_of(campaign: Campaign) -> FlowDefinition | None:
    return None if campaign.flow is None else FlowDefinition.model_validate(campaign.flow)


def schedule_of(data: Mapping[str, Any] | None) -> CampaignSchedule:
    return CampaignSchedule.model_validate(data or {"mode": "now"})


def flow_json(flow: FlowDefinition) -> dict[str, Any]:
    return flow.model_dump(mode="json", exclude_none=True)


def schedule_json(schedule: CampaignSchedule) -> dict[str, Any]:
    return schedule.model_dump(mode="json", exclude_none=True)


def legacy_flow(template_id: int, version: int | None) -> FlowDefinition:
    """The one-step flow of a campaign from before flows (or of the legacy body)."""
    return FlowDefinition(
        steps=[SendStep(id=LEGACY_STEP_ID, channel="email", template_id=template_id, template_version=version)]
    )


def first_fire_time(schedule: CampaignSchedule) -> datetime | None:
    """When a schedule first sends: `at`, or the local time on the date where it comes first (UTC+14)."""
    if schedule.mode == "at":
        return schedule.at.astimezone(UTC) if schedule.at else None
    if schedule.mode == "local_time" and schedule.date and schedule.local_time:
        wall = datetime.fromisoformat(f"{schedule.date}T{schedule.local_time}").replace(tzinfo=UTC)
        return wall - EARLIEST_ZONE
    return None


def last_fire_time(schedule: CampaignSchedule) -> datetime | None:
    """When the last lead's start time comes: `at`, or the local time where it comes last (UTC-12)."""
    first = first_fire_time(schedule)
    if first is None or schedule.mode != "local_time":
        return first
    return first + EARLIEST_ZONE + LATEST_ZONE


def schedule_problems(schedule: CampaignSchedule, now: datetime) -> list[Problem]:
    """A start time already past cannot be launched."""
    if schedule.mode == "at" and schedule.at is not None and schedule.at <= now:
        return [
            Problem(severity="error", field="schedule.at", message="the start time is in the past", rule="schedule")
        ]
    last = last_fire_time(schedule)
    if schedule.mode == "local_time" and last is not None and last <= now:
        return [
            Problem(
                severity="error",
                field="schedule.date",
                message=f"{schedule.date} {schedule.local_time} is past in every timezone",
                rule="schedule",
            )
        ]
    return []


# --- Templates ------------------------------------------------------------------------------------------------------


@dataclass
class TemplateCatalogue:
    """The workspace's templates a flow names: channel, existing versions, current version, name."""

    templates: dict[int, Template] = field(default_factory=dict)
    versions: dict[int, set[int]] = field(default_factory=dict)

    @property
    def channels(self) -> dict[int, str]:
        return {tid: t.channel for tid, t in self.templates.items()}

    def current(self, template_id: int) -> int | None:
        template = self.templates.get(template_id)
        return template.version if template else None


def template_ids(flow: FlowDefinition) -> set[int]:
    ids: set[int] = set()
    for step in send_steps(flow):
        ids.add(step.template_id)
        if step.fallback is not None:
            ids.add(step.fallback.template_id)
    return ids


async def template_catalogue(scope: Scope, ids: Iterable[int]) -> TemplateCatalogue:
    ids = sorted(i for i in set(ids) if i <= MAX_ID)  # a bigger id exists nowhere (and would not fit the column)
    catalogue = TemplateCatalogue()
    if not ids:
        return catalogue
    templates = (await scope.session.exec(scope.select(Template).where(col(Template.id).in_(ids)))).all()
    catalogue.templates = {t.id: t for t in templates}
    rows = (
        await scope.session.exec(
            select(TemplateVersion.template_id, TemplateVersion.number).where(
                scope.where(TemplateVersion), col(TemplateVersion.template_id).in_(ids)
            )
        )
    ).all()
    for template_id, number in rows:
        catalogue.versions.setdefault(template_id, set()).add(number)
    return catalogue


async def lead_statuses(scope: Scope) -> list[str]:
    workspace = await workspace_of(scope)
    return [*workspace.lead_statuses, "unsubscribed"]


async def flow_problems(
    scope: Scope, flow: FlowDefinition, catalogue: TemplateCatalogue | None = None
) -> list[Problem]:
    catalogue = catalogue or await template_catalogue(scope, template_ids(flow))
    found = validate_flow(
        flow,
        template_channels=catalogue.channels,
        template_versions=catalogue.versions,
        known_statuses=await lead_statuses(scope),
    )
    return [
        Problem(severity=p.severity, step_id=p.step_id, field=f"flow.{p.path}", message=p.message, rule="flow")
        for p in found
    ]


def refuse(problems: Sequence[Problem], code: str = "validation_error") -> None:
    """422 naming the field of the first error (warnings never refuse)."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApiError(422, f"{errors[0].field}: {errors[0].message}{more}", field=errors[0].field, code=code)


def _send_refs(flow: FlowDefinition) -> list[tuple[SendStep, str, str, int, int | None]]:
    """(step, path of the template fields, channel, template id, version) for every send step and fallback."""
    refs = []
    for position, step in iter_steps(flow):
        if not isinstance(step, SendStep):
            continue
        path = f"flow.{path_label(flow, position)}"
        refs.append((step, path, step.channel, step.template_id, step.template_version))
        if step.fallback is not None:
            fb = step.fallback
            refs.append((step, f"{path}.fallback", fb.channel, fb.template_id, fb.template_version))
    return refs


async def content_problems(scope: Scope, flow: FlowDefinition, catalogue: TemplateCatalogue) -> list[Problem]:
    """Template and brand problems of the version each send step (and fallback) would send: the pinned one, else
    the current one. Steps whose template is missing or of another channel are left to the flow problems."""
    problems: list[Problem] = []
    cache: dict[tuple[int, int], list] = {}
    for step, path, channel, template_id, version in _send_refs(flow):
        template = catalogue.templates.get(template_id)
        if template is None or template.channel != channel:
            continue
        number = version or template.version
        if number not in catalogue.versions.get(template_id, set()):
            continue
        key = (template_id, number)
        if key not in cache:
            row = (
                await scope.session.exec(
                    scope.select(TemplateVersion).where(
                        TemplateVersion.template_id == template_id, TemplateVersion.number == number
                    )
                )
            ).one()
            cache[key] = await template_service.problems_for(
                scope, channel, template_service.content_fields(row), brand=True
            )
        for problem in cache[key]:
            problems.append(
                Problem(
                    severity="error" if problem.severity == "error" else "warning",
                    step_id=step.id,
                    field=f"{path}.template_id",
                    message=f"{template.name!r} version {number}: {template_service.describe(problem)}",
                    rule=problem.rule,
                    line=problem.line,
                    column=problem.column,
                )
            )
    return problems


def pin_versions(flow: FlowDefinition, catalogue: TemplateCatalogue) -> FlowDefinition:
    """The flow with every send step's and fallback's template_version resolved to a number (the current one where
    none is pinned): what a run sends, whatever later happens to the templates."""
    data = flow.model_dump(mode="json")

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if step["type"] == "send":
                for part in (step, step.get("fallback")):
                    if part is not None and part.get("template_version") is None:
                        part["template_version"] = catalogue.current(part["template_id"])
            for arm in ("yes", "no"):
                walk(step.get(arm) or [])
            for variant in step.get("variants") or []:
                walk(variant["steps"])

    walk(data["steps"])
    return FlowDefinition.model_validate(data)


# --- Audience -------------------------------------------------------------------------------------------------------


@dataclass
class Audience:
    list_ids: list[int]
    exclude_list_ids: list[int] = field(default_factory=list)
    exclude_filter: dict[str, Any] | None = None


def audience_of(campaign: Campaign) -> Audience:
    return Audience(
        effective_list_ids(campaign.list_ids, campaign.list_id),
        list(campaign.exclude_list_ids or []),
        campaign.exclude_filter,
    )


async def _list_refs(scope: Scope, ids: list[int], field_name: str) -> tuple[list[ListRef], list[Problem]]:
    if not ids:
        return [], []
    wanted = [i for i in ids if 1 <= i <= MAX_ID]
    query = scope.select(LeadList).where(col(LeadList.id).in_(wanted))
    rows = (await scope.session.exec(query)).all() if wanted else []
    found = {row.id: row for row in rows}
    problems = [
        Problem(severity="error", field=f"{field_name}[{i}]", message=f"list {list_id} does not exist", rule="audience")
        for i, list_id in enumerate(ids)
        if list_id not in found
    ]
    refs = [ListRef(row.id, row.kind, row.filter) for list_id in ids if (row := found.get(list_id))]
    return refs, problems


async def audience_sql(
    scope: Scope, audience: Audience, ctx: FilterContext | None = None
) -> tuple[ColumnElement[bool] | None, list[Problem]]:
    """The audience's condition on `leads`, or None with the problems (unknown lists, a bad exclusion filter)."""
    ctx = ctx or await filter_context(scope)
    lists, problems = await _list_refs(scope, audience.list_ids, "list_ids")
    excluded, more = await _list_refs(scope, audience.exclude_list_ids, "exclude_list_ids")
    problems += more
    if problems:
        return None, problems
    if audience.exclude_filter:
        try:
            compile_filter(parse_filter(audience.exclude_filter), ctx)
        except FilterError as exc:
            where = "exclude_filter" + (f".{exc.path}" if exc.path else "")
            return None, [Problem(severity="error", field=where, message=exc.message, rule="audience")]
    try:
        condition = audience_condition(scope.workspace_id, lists, excluded, audience.exclude_filter, ctx)
    except FilterError as exc:  # a saved list's own filter no longer compiles (e.g. a custom field was deleted)
        return None, [Problem(severity="error", field="list_ids", message=f"a list's filter: {exc}", rule="audience")]
    return condition, []


async def audience_or_422(scope: Scope, audience: Audience) -> ColumnElement[bool]:
    condition, problems = await audience_sql(scope, audience)
    refuse(problems)
    assert condition is not None
    return condition


async def audience_size(scope: Scope, condition: ColumnElement[bool]) -> int:
    await scope.session.execute(CUSTOM_PLANS)
    return (await scope.session.exec(select(func.count()).select_from(Lead).where(condition))).one()


async def reachability(
    scope: Scope,
    condition: ColumnElement[bool],
    cap: FrequencyCap | None,
    pairs: Sequence[tuple[str, str]] = (),
) -> tuple[ReachabilityOut, dict[tuple[str, str], int]]:
    """One scan over the audience: per channel, who is reachable (capped or not) and why the others are not; for
    each (primary, fallback) channel pair, who is unreachable on the primary but reachable on the fallback."""
    now = datetime.now(UTC)
    at_cap = capped(scope.workspace_id, cap.max_messages if cap else None, cap.days if cap else 7, now)
    reasons = {channel: skip_reason(channel) for channel in CHANNELS}
    columns: list[Any] = [func.count(), func.count().filter(at_cap)]
    for channel in CHANNELS:
        ok = reasons[channel].is_(None)
        columns += [func.count().filter(ok & ~at_cap), func.count().filter(ok & at_cap)]
        columns += [func.count().filter(reasons[channel] == literal(reason)) for reason in REASONS]
    for primary, fallback in pairs:
        columns.append(func.count().filter(reasons[primary].is_not(None) & reasons[fallback].is_(None) & ~at_cap))
    await scope.session.execute(CUSTOM_PLANS)
    row = list((await scope.session.exec(select(*columns).select_from(Lead).where(condition))).one())
    total, capped_count = row[0], row[1]
    channels: dict[str, ChannelReach] = {}
    offset = 2
    for channel in CHANNELS:
        values = row[offset : offset + 2 + len(REASONS)]
        offset += 2 + len(REASONS)
        channels[channel] = ChannelReach(
            reachable=values[0], capped=values[1], **{reason: values[2 + i] for i, reason in enumerate(REASONS)}
        )
    fallbacks = {pair: row[offset + i] for i, pair in enumerate(pairs)}
    return ReachabilityOut(total=total, capped=capped_count, channels=channels), fallbacks


async def review(scope: Scope, body: ValidateIn) -> ValidateOut:
    """Everything the wizard's review shows: flow problems, each send step's template and brand problems, schedule
    and audience problems, and how many leads each channel (and each step) would reach."""
    catalogue = await template_catalogue(scope, template_ids(body.flow))
    problems = await flow_problems(scope, body.flow, catalogue)
    problems += await content_problems(scope, body.flow, catalogue)
    problems += schedule_problems(body.schedule, datetime.now(UTC))
    audience = Audience(body.list_ids, body.exclude_list_ids, body.exclude_filter)
    condition, audience_problems = await audience_sql(scope, audience)
    problems += audience_problems
    estimate: dict[str, int] = {}
    reach: ReachabilityOut | None = None
    steps: list[StepEstimate] = []
    if condition is not None:
        sends = send_steps(body.flow)
        pairs = sorted({(s.channel, s.fallback.channel) for s in sends if s.fallback is not None})
        reach, fallbacks = await reachability(scope, condition, body.schedule.frequency_cap, pairs)
        used = sorted({s.channel for s in sends} | {s.fallback.channel for s in sends if s.fallback is not None})
        estimate = {channel: reach.channels[channel].reachable for channel in used}
        steps = [
            StepEstimate(
                step_id=s.id,
                channel=s.channel,
                reachable=reach.channels[s.channel].reachable,
                fallback_channel=s.fallback.channel if s.fallback else None,
                fallback_reachable=fallbacks.get((s.channel, s.fallback.channel), 0) if s.fallback else 0,
            )
            for s in sends
        ]
        if reach.total == 0:
            problems.append(
                Problem(severity="error", field="list_ids", message="the audience is empty", rule="audience")
            )
    ok = not any(p.severity == "error" for p in problems)
    return ValidateOut(ok=ok, problems=problems, estimate=estimate, audience=reach, steps=steps)


# --- Saving ---------------------------------------------------------------------------------------------------------


async def _check_owner(scope: Scope, owner_id: int | None) -> None:
    if owner_id is None:
        return
    member = await scope.session.get(Membership, (owner_id, scope.workspace_id))
    if member is None:
        raise ApiError(422, f"owner_id: user {owner_id} is not a member of this workspace", field="owner_id")


async def _legacy_flow(scope: Scope, body: CampaignCreate) -> FlowDefinition:
    """The legacy body: one email step pinning the given (or current) version."""
    if body.flow is not None:
        raise ApiError(422, "template_id: give either a flow or a template_id, not both", field="template_id")
    template = await scope.find(Template, body.template_id)
    if template is None:
        raise ApiError(422, f"template {body.template_id} does not exist", field="template_id")
    if template.channel != "email":
        raise ApiError(
            422,
            f"template_id: a campaign without a flow sends email; {template.name!r} is a {template.channel} "
            "template (use a flow with an SMS or WhatsApp send step)",
            field="template_id",
        )
    number = body.template_version or template.version
    catalogue = await template_catalogue(scope, [template.id])
    if number not in catalogue.versions.get(template.id, set()):
        where = "template_version" if body.template_version else "template_id"
        raise ApiError(422, f"{where}: template {template.id} has no version {number}", field=where)
    return legacy_flow(template.id, number)


async def checked_definition(scope: Scope, body: CampaignCreate) -> tuple[FlowDefinition | None, Audience]:
    """The flow and audience of a body, or 422 naming the first bad field (nothing is written before this)."""
    if body.template_version is not None and body.template_id is None:
        raise ApiError(422, "template_version: only with template_id", field="template_version")
    if body.list_id is not None:
        if body.list_ids and body.list_ids != [body.list_id]:
            raise ApiError(422, "list_id: give either list_id or list_ids, not both", field="list_id")
        if await scope.find(LeadList, body.list_id) is None:
            raise ApiError(422, f"list {body.list_id} does not exist", field="list_id")
    flow = await _legacy_flow(scope, body) if body.template_id is not None else body.flow
    if body.goal_metric != "none" and body.goal_target is None:
        raise ApiError(422, "goal_target: a goal needs a target", field="goal_target")
    await _check_owner(scope, body.owner_id)
    if flow is not None:
        refuse(await flow_problems(scope, flow))
    audience = Audience(body.list_ids or ([body.list_id] if body.list_id else []), body.exclude_list_ids)
    audience.exclude_filter = body.exclude_filter or None
    await audience_or_422(scope, audience)
    return flow, audience


def apply(campaign: Campaign, body: CampaignCreate, flow: FlowDefinition | None, audience: Audience) -> None:
    """Writes a checked body onto the campaign row."""
    campaign.name = body.name
    campaign.objective = body.objective
    campaign.goal_metric = body.goal_metric
    campaign.goal_target = None if body.goal_metric == "none" else body.goal_target
    campaign.owner_id = body.owner_id
    campaign.tags = list(body.tags)
    campaign.cost = Decimal(body.cost).quantize(Decimal("0.01"))
    campaign.list_ids = list(audience.list_ids)
    campaign.list_id = audience.list_ids[0] if len(audience.list_ids) == 1 else None
    campaign.exclude_list_ids = list(audience.exclude_list_ids)
    campaign.exclude_filter = audience.exclude_filter
    campaign.flow = flow_json(flow) if flow is not None else None
    # A campaign with a flow is no legacy campaign any more: its flow says what it sends.
    campaign.template_id = None
    campaign.template_version_id = None
    campaign.schedule = schedule_json(body.schedule)
    campaign.scheduled_at = first_fire_time(body.schedule)
    if body.tracking is not None:  # read at send time, so a scheduled campaign may still change it
        campaign.tracking = body.tracking.model_dump(mode="json")


async def campaigns_using_template(scope: Scope, template_id: int) -> list[Campaign]:
    """Campaigns that send the template: a legacy campaign's template, a step or fallback of a flow, or the pinned
    flow of a run still in progress."""
    uses = "jsonb_path_exists({}, '$.** ? (@.template_id == $t)', jsonb_build_object('t', CAST(:t AS integer)))"
    in_flow = text(uses.format("campaigns.flow"))
    in_run = text(
        "EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = campaigns.id "
        f"AND r.status = ANY(CAST(:active AS text[])) AND {uses.format('r.flow')})"
    )
    query = (
        scope.select(Campaign)
        .where((col(Campaign.template_id) == template_id) | in_flow | in_run)
        .params(t=template_id, active=list(ACTIVE_STATUSES))
        .order_by(col(Campaign.id))
    )
    return list((await scope.session.exec(query)).all())


# --- Listing --------------------------------------------------------------------------------------------------------


async def latest_runs(scope: Scope, campaign_ids: list[int]) -> dict[int, CampaignRun]:
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


@dataclass
class _Names:
    templates: dict[int, str]
    versions: dict[int, int]  # template_version id -> number
    lists: dict[int, str]
    users: dict[int, str]


async def _names(scope: Scope, campaigns: Sequence[Campaign]) -> _Names:
    template_ids_: set[int] = set()
    version_ids: set[int] = set()
    list_ids: set[int] = set()
    user_ids: set[int] = set()
    for campaign in campaigns:
        if campaign.template_id:
            template_ids_.add(campaign.template_id)
        if campaign.template_version_id:
            version_ids.add(campaign.template_version_id)
        flow = flow_of(campaign)
        if flow is not None:
            template_ids_ |= template_ids(flow)
        list_ids |= set(audience_of(campaign).list_ids)
        if campaign.approved_by_id:
            user_ids.add(campaign.approved_by_id)

    async def pairs(query) -> dict:
        return dict((await scope.session.exec(query)).all()) if query is not None else {}

    return _Names(
        templates=await pairs(
            select(Template.id, Template.name).where(scope.where(Template), col(Template.id).in_(template_ids_))
            if template_ids_
            else None
        ),
        versions=await pairs(
            select(TemplateVersion.id, TemplateVersion.number).where(col(TemplateVersion.id).in_(version_ids))
            if version_ids
            else None
        ),
        lists=await pairs(
            select(LeadList.id, LeadList.name).where(scope.where(LeadList), col(LeadList.id).in_(list_ids))
            if list_ids
            else None
        ),
        users=await pairs(select(User.id, User.email).where(col(User.id).in_(user_ids)) if user_ids else None),
    )


def _campaign_out(settings: Settings, campaign: Campaign, names: _Names, run: CampaignRun | None) -> CampaignOut:
    flow = flow_of(campaign)
    template_id = campaign.template_id
    version = names.versions.get(campaign.template_version_id) if campaign.template_version_id else None
    channels: list[str] = ["email"] if flow is None and template_id else []
    if flow is not None:
        sends = send_steps(flow)
        if sends:
            template_id, version = sends[0].template_id, sends[0].template_version
        for step in sends:
            for channel in (step.channel, step.fallback.channel if step.fallback else None):
                if channel and channel not in channels:
                    channels.append(channel)
    list_ids = audience_of(campaign).list_ids
    list_names = [names.lists[i] for i in list_ids if i in names.lists]
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        objective=campaign.objective,
        goal_metric=campaign.goal_metric,
        goal_target=campaign.goal_target,
        owner_id=campaign.owner_id,
        tags=list(campaign.tags or []),
        cost=float(campaign.cost or 0),
        template_id=template_id,
        template_name=names.templates.get(template_id) if template_id else None,
        template_version=version,
        channels=channels,
        list_id=list_ids[0] if len(list_ids) == 1 else None,
        list_name=", ".join(list_names) if list_names else None,
        list_ids=list_ids,
        scheduled_at=campaign.scheduled_at,
        approval_status=campaign.approval_status,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        latest_run=run_out(settings, run) if run else None,
    )


async def list_campaigns(scope: Scope, settings: Settings) -> list[CampaignOut]:
    campaigns = (await scope.session.exec(scope.select(Campaign).order_by(col(Campaign.id).desc()))).all()
    names = await _names(scope, campaigns)
    latest = await latest_runs(scope, [c.id for c in campaigns])
    return [_campaign_out(settings, c, names, latest.get(c.id)) for c in campaigns]


async def campaign_detail(scope: Scope, settings: Settings, campaign_id: int) -> CampaignDetail:
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    await scope.session.refresh(campaign)
    runs = (
        await scope.session.exec(
            scope.select(CampaignRun)
            .where(CampaignRun.campaign_id == campaign_id)
            .order_by(col(CampaignRun.number).desc())
        )
    ).all()
    names = await _names(scope, [campaign])
    base = _campaign_out(settings, campaign, names, runs[0] if runs else None)
    return CampaignDetail(
        **base.model_dump(),
        exclude_list_ids=list(campaign.exclude_list_ids or []),
        exclude_filter=campaign.exclude_filter,
        flow=flow_of(campaign),
        schedule=schedule_of(campaign.schedule),
        tracking=CampaignTracking.model_validate(campaign.tracking or {}),
        approved_by_id=campaign.approved_by_id,
        approved_by=names.users.get(campaign.approved_by_id) if campaign.approved_by_id else None,
        approved_at=campaign.approved_at,
        approval_comment=campaign.approval_comment,
        runs=[run_out(settings, r) for r in runs],
    )


# --- Editing --------------------------------------------------------------------------------------------------------

BASICS = ("name", "objective", "goal_metric", "goal_target", "owner_id", "tags", "cost")


def _without_at(schedule: Mapping[str, Any] | None) -> dict[str, Any]:
    data = schedule_json(schedule_of(schedule))
    data.pop("at", None)
    return data


def scheduled_change(campaign: Campaign, body: CampaignCreate, flow: FlowDefinition | None, audience: Audience) -> str:
    """What a scheduled campaign may still change: its basics and its start time. Returns the field of the first
    other change ('' when there is none)."""
    if (flow_json(flow) if flow is not None else None) != campaign.flow:
        return "flow"
    before = audience_of(campaign)
    if audience.list_ids != before.list_ids:
        return "list_ids"
    if audience.exclude_list_ids != before.exclude_list_ids:
        return "exclude_list_ids"
    if (audience.exclude_filter or None) != (before.exclude_filter or None):
        return "exclude_filter"
    if body.schedule.mode != schedule_of(campaign.schedule).mode or _without_at(
        schedule_json(body.schedule)
    ) != _without_at(campaign.schedule):
        return "schedule"
    return ""
