"""Scheduled reports: definitions with their Temporal Schedule, runs (scheduled or "run now"), file downloads.

A definition and its schedule (`report-<id>`, core/report_schedules.py) change together: the row is written, the
schedule created, updated or deleted, and only then is the transaction committed; when Temporal refuses, the
answer is 503 and nothing is kept. Each run is a ReportWorkflow started by the schedule, or here by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, text
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, ScheduleAlreadyRunningError

from api.context import guard
from api.deps import SettingsDep, StorageDep
from api.errors import ApiError
from api.lead_service import workspace_of
from api.pagination import PageParamsDep, paginate, search_filter
from api.schedule_commit import commit_with_schedule, error_message, unavailable
from api.schemas import Page
from api.schemas_scheduled_reports import (
    Choice,
    MetricOption,
    ReportDefinitionIn,
    ReportDefinitionOut,
    ReportDefinitionPatch,
    ReportOptionsOut,
    ReportRunOut,
)
from api.scoping import Scope, ScopeDep
from core.report_schedules import (
    RUN_TIMEOUT,
    WORKFLOW_NAME,
    ReportScheduleSpec,
    create_report_schedule,
    delete_report_schedule,
    update_report_schedule,
)
from core.storage import ObjectNotFound, Storage, attachment_disposition
from core.workflow_ids import report_manual_workflow_id, report_schedule_id
from domain.permissions import Permission
from domain.report_definition import (
    MAX_CAMPAIGNS,
    MAX_RECIPIENTS,
    ReportConfigError,
    run_config,
    validate_recipients,
    validate_selection,
)
from domain.report_files import CSV_CONTENT_TYPE, HTML_CONTENT_TYPE, report_filename
from domain.report_metrics import CATALOGUE, DEFAULT_METRICS, validate_metrics
from domain.report_schedule import (
    CADENCES,
    MAX_DAY_OF_MONTH,
    PERIOD_LABELS,
    WEEKDAYS,
    CadenceSpec,
    Window,
    next_run_after,
    period_window,
)
from models.campaigns import Campaign
from models.payloads.reports import ReportInput
from models.reports import ReportDefinition, ReportRun, ReportRunStatus

router = APIRouter(prefix="/api/reports", tags=["scheduled reports"])
DOWNLOAD_URL_TTL = timedelta(minutes=15)
DOWNLOAD_CHUNK = 1 << 20
# The summary is the workspace's own content, served from the API's origin: nothing in it may run or load.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
    "X-Content-Type-Options": "nosniff",
}
EDITABLE = ("name", "campaign_ids", "tag", "metrics", "period", "cadence", "hour", "minute", "weekday",
            "day_of_month", "recipients", "enabled")  # fmt: skip


# --- Options and definitions -----------------------------------------------------------------------------------


@router.get("/options", response_model=ReportOptionsOut, **guard(Permission.analytics_read))
async def report_options(scope: ScopeDep) -> ReportOptionsOut:
    """What a report definition can choose from: metrics, periods, cadences, and the workspace's campaign tags."""
    tags = await scope.session.execute(
        text("SELECT DISTINCT unnest(tags) AS tag FROM campaigns WHERE workspace_id = :w ORDER BY 1"),
        {"w": scope.workspace_id},
    )
    return ReportOptionsOut(
        metrics=[
            MetricOption(
                key=m.key, label=m.label, kind=m.kind, description=m.description, default=m.key in DEFAULT_METRICS
            )
            for m in CATALOGUE.values()
        ],
        periods=[Choice(key=key, label=label) for key, label in PERIOD_LABELS.items()],
        cadences=list(CADENCES),
        weekdays=list(WEEKDAYS),
        max_day_of_month=MAX_DAY_OF_MONTH,
        max_recipients=MAX_RECIPIENTS,
        max_campaigns=MAX_CAMPAIGNS,
        campaign_tags=[row.tag for row in tags],
        timezone=(await workspace_of(scope)).timezone,
    )


@router.get("", response_model=Page[ReportDefinitionOut], **guard(Permission.analytics_read))
async def list_reports(scope: ScopeDep, page: PageParamsDep) -> Page[ReportDefinitionOut]:
    """The workspace's scheduled reports by name, each with its latest run; `search` matches the name."""
    result = await paginate(
        scope.session,
        scope.select(ReportDefinition),
        page,
        (col(ReportDefinition.name), col(ReportDefinition.id)),
        lambda definition: definition,  # the rows themselves: mapped below, with their latest runs
        where=search_filter(page.search, col(ReportDefinition.name)),
    )
    latest = await _latest_runs(scope, [definition.id for definition in result.items])
    now = datetime.now(UTC)
    return Page(
        items=[_definition_out(d, latest.get(d.id), now) for d in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@router.post(
    "",
    response_model=ReportDefinitionOut,
    status_code=201,
    responses={503: {"description": "Temporal refused or is unreachable: nothing was saved"}},
    **guard(Permission.analytics_read),
)
async def create_report(
    body: ReportDefinitionIn, scope: ScopeDep, settings: SettingsDep, request: Request
) -> ReportDefinitionOut:
    """Saves the definition and creates its Temporal Schedule (paused when `enabled` is false)."""
    values = await _validated(scope, body.model_dump())
    timezone = (await workspace_of(scope)).timezone
    definition = scope.add(ReportDefinition(**values, timezone=timezone, created_by=scope.context.user_id))
    await scope.flush_or_conflict(f"name: a report named {values['name']!r} already exists", "name")
    scope.audit("report.created", "report", definition.id, after=_summary(definition))
    spec = _spec(definition)

    async def create(client: Client) -> None:
        try:
            await create_report_schedule(client, spec, settings.temporal_task_queue)
        except ScheduleAlreadyRunningError:  # left from a database that was reset: take it over
            await update_report_schedule(client, spec, settings.temporal_task_queue)

    await commit_with_schedule(
        scope,
        request,
        "create the report's schedule",
        create,
        undo=lambda client: delete_report_schedule(client, spec.definition_id),
    )
    await scope.session.refresh(definition)
    return _definition_out(definition, None, datetime.now(UTC))


@router.get("/{report_id}", response_model=ReportDefinitionOut, **guard(Permission.analytics_read))
async def get_report(report_id: int, scope: ScopeDep) -> ReportDefinitionOut:
    definition = await scope.get(ReportDefinition, report_id, "report")
    latest = await _latest_runs(scope, [report_id])
    return _definition_out(definition, latest.get(report_id), datetime.now(UTC))


@router.patch(
    "/{report_id}",
    response_model=ReportDefinitionOut,
    responses={503: {"description": "Temporal refused or is unreachable: nothing was changed"}},
    **guard(Permission.analytics_read),
)
async def update_report(
    report_id: int, body: ReportDefinitionPatch, scope: ScopeDep, settings: SettingsDep, request: Request
) -> ReportDefinitionOut:
    """Changes the definition and its schedule together (`enabled: false` pauses it, `true` resumes it). The
    schedule also takes the workspace's current timezone."""
    definition = await scope.get(ReportDefinition, report_id, "report", for_update=True)
    before_spec, before = _spec(definition), _summary(definition)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "metrics", "period", "cadence", "hour", "minute", "recipients", "enabled"):
        if key in changes and changes[key] is None:
            raise ApiError(422, f"{key}: may not be null", field=key)
    current = {key: getattr(definition, key) for key in EDITABLE}
    if changes.get("campaign_ids"):
        current["tag"] = None
    if changes.get("tag"):
        current["campaign_ids"] = []
    if "cadence" in changes:  # a new cadence drops the other cadences' day unless given again
        current["weekday"] = current["day_of_month"] = None
    values = await _validated(scope, {**current, **changes})
    for key, value in values.items():
        setattr(definition, key, value)
    definition.timezone = (await workspace_of(scope)).timezone
    definition.updated_at = datetime.now(UTC)
    scope.session.add(definition)
    await scope.flush_or_conflict(f"name: a report named {definition.name!r} already exists", "name")
    scope.audit("report.updated", "report", report_id, before=before, after=_summary(definition))
    spec = _spec(definition)
    await commit_with_schedule(
        scope,
        request,
        "update the report's schedule",
        lambda client: update_report_schedule(client, spec, settings.temporal_task_queue),
        undo=lambda client: update_report_schedule(client, before_spec, settings.temporal_task_queue),
    )
    await scope.session.refresh(definition)
    latest = await _latest_runs(scope, [report_id])
    return _definition_out(definition, latest.get(report_id), datetime.now(UTC))


@router.delete(
    "/{report_id}",
    status_code=204,
    responses={503: {"description": "Temporal refused or is unreachable: nothing was deleted"}},
    **guard(Permission.analytics_read),
)
async def delete_report(report_id: int, scope: ScopeDep, settings: SettingsDep, request: Request) -> None:
    """Deletes the definition, its schedule and its run history (the stored files go with the nightly cleanup).
    A run in progress then ends as failed in Temporal, its row being gone."""
    definition = await scope.get(ReportDefinition, report_id, "report", for_update=True)
    spec = _spec(definition)
    scope.audit("report.deleted", "report", report_id, before=_summary(definition))
    await scope.session.delete(definition)
    await scope.session.flush()
    await commit_with_schedule(
        scope,
        request,
        "delete the report's schedule",
        lambda client: delete_report_schedule(client, report_id),
        undo=lambda client: create_report_schedule(client, spec, settings.temporal_task_queue),
    )


# --- Runs --------------------------------------------------------------------------------------------------------


@router.post(
    "/{report_id}/run",
    status_code=202,
    response_model=ReportRunOut,
    responses={
        202: {"description": "The run, queued: follow it at GET /api/reports/{id}/runs/{run_id}"},
        503: {"description": "The workflow could not be started: the run is recorded as failed"},
    },
    **guard(Permission.analytics_read),
)
async def run_report(report_id: int, scope: ScopeDep, settings: SettingsDep, request: Request) -> JSONResponse:
    """Runs the report now (also while its schedule is paused): the period is cut from the current time."""
    definition = await scope.get(ReportDefinition, report_id, "report")
    now = datetime.now(UTC).replace(microsecond=0)
    window = period_window(definition.period, now, definition.timezone)
    workflow_id = report_manual_workflow_id(report_id, now)
    run = scope.add(
        ReportRun(
            definition_id=report_id,
            workflow_id=workflow_id,
            trigger="manual",
            status=ReportRunStatus.queued.value,
            run_at=now,
            period_start=window.start,
            period_end=window.end,
            config=run_config(
                name=definition.name,
                campaign_ids=definition.campaign_ids,
                tag=definition.tag,
                metrics=definition.metrics,
                period=definition.period,
                timezone=definition.timezone,
            ),
            recipients=list(definition.recipients),
            created_by=scope.context.user_id,
        )
    )
    await scope.flush_or_conflict(f"report {report_id} was started a moment ago: try again in a second", "report")
    scope.audit("report.run_requested", "report", report_id, after={"run_id": run.id, "workflow_id": workflow_id})
    await scope.session.commit()
    try:
        client = await _temporal(request)
        await client.start_workflow(
            WORKFLOW_NAME,
            ReportInput(definition_id=report_id, workspace_id=scope.workspace_id, run_at=now, manual=True),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            execution_timeout=RUN_TIMEOUT,
        )
    except Exception as exc:
        run.status = ReportRunStatus.failed.value
        run.error = f"could not start the report: {error_message(exc)}"
        run.finished_at = datetime.now(UTC)
        scope.session.add(run)
        await scope.session.commit()
        raise unavailable("start the report workflow", exc) from exc
    await scope.session.refresh(run)
    return JSONResponse(status_code=202, content=_run_out(run).model_dump(mode="json"))


@router.get("/{report_id}/runs", response_model=Page[ReportRunOut], **guard(Permission.analytics_read))
async def list_runs(report_id: int, scope: ScopeDep, page: PageParamsDep) -> Page[ReportRunOut]:
    """The report's runs (its history), newest first."""
    await scope.get(ReportDefinition, report_id, "report")
    query = scope.select(ReportRun).where(ReportRun.definition_id == report_id)
    return await paginate(scope.session, query, page, col(ReportRun.id).desc(), _run_out)


@router.get("/{report_id}/runs/{run_id}", response_model=ReportRunOut, **guard(Permission.analytics_read))
async def get_run(report_id: int, run_id: int, scope: ScopeDep) -> ReportRunOut:
    return _run_out(await _get_run(scope, report_id, run_id))


@router.get(
    "/{report_id}/runs/{run_id}/csv",
    response_model=None,
    responses={
        200: {"description": "The CSV (local storage)", "content": {"text/csv": {}}},
        307: {"description": "Redirect to a short-lived URL of the file (S3 storage)"},
        409: {"description": "The run has not written its files (yet)"},
    },
    **guard(Permission.analytics_read),
)
async def download_csv(report_id: int, run_id: int, scope: ScopeDep, storage: StorageDep) -> Response:
    """The run's CSV: one row per campaign and a total row, the chosen metrics as columns (rates in %)."""
    run = await _get_run(scope, report_id, run_id)
    return await _download(storage, run, run.csv_key, "csv", CSV_CONTENT_TYPE, "attachment")


@router.get(
    "/{report_id}/runs/{run_id}/html",
    response_model=None,
    responses={
        200: {"description": "The HTML summary", "content": {"text/html": {}}},
        307: {"description": "Redirect to a short-lived URL of the file (S3 storage, as an attachment)"},
        409: {"description": "The run has not written its files (yet)"},
    },
    **guard(Permission.analytics_read),
)
async def download_html(
    report_id: int,
    run_id: int,
    scope: ScopeDep,
    storage: StorageDep,
    disposition: Literal["attachment", "inline"] = Query(
        "attachment", description="inline: shown in the browser (sandboxed: no script, nothing loaded)"
    ),
) -> Response:
    """The run's self-contained HTML summary: totals, charts (inline SVG) and the table."""
    run = await _get_run(scope, report_id, run_id)
    return await _download(storage, run, run.html_key, "html", HTML_CONTENT_TYPE, disposition)


# --- Helpers -----------------------------------------------------------------------------------------------------


async def _validated(scope: Scope, values: dict[str, Any]) -> dict[str, Any]:
    """The definition's fields checked together and normalised; a 422 names the offending field."""
    try:
        campaign_ids, tag = validate_selection(values.get("campaign_ids") or [], values.get("tag"))
        metrics = validate_metrics(values["metrics"])
        recipients = validate_recipients(values["recipients"])
        cadence = CadenceSpec(
            cadence=values["cadence"],
            hour=values["hour"],
            minute=values["minute"],
            weekday=values.get("weekday"),
            day_of_month=values.get("day_of_month"),
        ).validate()
    except ReportConfigError as exc:
        raise ApiError(422, exc.message, field=exc.field) from exc
    if campaign_ids:
        query = select(Campaign.id).where(scope.where(Campaign), col(Campaign.id).in_(campaign_ids))
        found = set((await scope.session.exec(query)).all())
        for index, campaign_id in enumerate(campaign_ids):
            if campaign_id not in found:
                field = f"campaign_ids[{index}]"
                raise ApiError(422, f"{field}: campaign {campaign_id} not found", field=field)
    name = values["name"].strip()
    if not name:
        raise ApiError(422, "name: may not be blank", field="name")
    return {
        "name": name,
        "campaign_ids": campaign_ids,
        "tag": tag,
        "metrics": metrics,
        "period": values["period"],
        "cadence": cadence.cadence,
        "hour": cadence.hour,
        "minute": cadence.minute,
        "weekday": cadence.weekday,
        "day_of_month": cadence.day_of_month,
        "recipients": recipients,
        "enabled": values["enabled"],
    }


def _cadence(definition: ReportDefinition) -> CadenceSpec:
    return CadenceSpec(
        cadence=definition.cadence,
        hour=definition.hour,
        minute=definition.minute,
        weekday=definition.weekday,
        day_of_month=definition.day_of_month,
    )


def _spec(definition: ReportDefinition) -> ReportScheduleSpec:
    return ReportScheduleSpec(
        definition_id=definition.id,
        workspace_id=definition.workspace_id,
        name=definition.name,
        cadence=_cadence(definition),
        timezone=definition.timezone,
        enabled=definition.enabled,
    )


def _summary(definition: ReportDefinition) -> dict[str, Any]:
    """What the audit log keeps of a definition."""
    return {key: getattr(definition, key) for key in (*EDITABLE, "timezone")}


async def _latest_runs(scope: Scope, definition_ids: list[int]) -> dict[int, ReportRun]:
    if not definition_ids:
        return {}
    newest = (
        select(func.max(ReportRun.id))
        .where(scope.where(ReportRun), col(ReportRun.definition_id).in_(definition_ids))
        .group_by(col(ReportRun.definition_id))
    )
    rows = await scope.session.exec(select(ReportRun).where(col(ReportRun.id).in_(newest)))
    return {run.definition_id: run for run in rows.all()}


def _definition_out(definition: ReportDefinition, last_run: ReportRun | None, now: datetime) -> ReportDefinitionOut:
    next_run = next_run_after(_cadence(definition), definition.timezone, now) if definition.enabled else None
    return ReportDefinitionOut(
        id=definition.id,
        name=definition.name,
        campaign_ids=list(definition.campaign_ids),
        tag=definition.tag,
        metrics=list(definition.metrics),
        period=definition.period,
        cadence=definition.cadence,
        hour=definition.hour,
        minute=definition.minute,
        weekday=definition.weekday,
        day_of_month=definition.day_of_month,
        timezone=definition.timezone,
        recipients=list(definition.recipients),
        enabled=definition.enabled,
        created_by=definition.created_by,
        created_at=definition.created_at,
        updated_at=definition.updated_at,
        schedule_id=report_schedule_id(definition.id),
        next_run_at=next_run,
        last_run=_run_out(last_run) if last_run is not None else None,
    )


def _run_out(run: ReportRun) -> ReportRunOut:
    config = run.config or {}
    timezone = config.get("timezone")
    base = f"/api/reports/{run.definition_id}/runs/{run.id}"
    return ReportRunOut(
        id=run.id,
        definition_id=run.definition_id,
        workflow_id=run.workflow_id,
        trigger=run.trigger,
        status=run.status,
        run_at=run.run_at,
        period_start=run.period_start,
        period_end=run.period_end,
        first_day=_local_day(run.period_start, timezone),
        last_day=_local_day(run.period_end - timedelta(microseconds=1), timezone) if run.period_end else None,
        timezone=timezone,
        metrics=list(config.get("metrics") or []),
        totals=dict(run.totals or {}),
        campaign_count=run.campaign_count,
        recipients=list(run.recipients),
        emailed_to=list(run.emailed_to),
        email_failures=dict(run.email_failures or {}),
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        csv_url=f"{base}/csv" if run.csv_key else None,
        html_url=f"{base}/html" if run.html_key else None,
    )


def _local_day(at: datetime | None, timezone: str | None) -> date | None:
    if at is None:
        return None
    return at.astimezone(ZoneInfo(timezone or "UTC")).date()


async def _get_run(scope: Scope, report_id: int, run_id: int) -> ReportRun:
    run = await scope.find(ReportRun, run_id)
    if run is None or run.definition_id != report_id:
        raise ApiError(404, f"report {report_id} has no run {run_id}")
    return run


async def _download(
    storage: Storage, run: ReportRun, key: str | None, extension: str, content_type: str, disposition: str
) -> Response:
    if not key:
        raise ApiError(409, f"report run {run.id} is {run.status} and has no {extension} file yet", code="not_ready")
    config = run.config or {}
    window = Window(
        start=run.period_start,
        end=run.period_end,
        first_day=_local_day(run.period_start, config.get("timezone")),
        last_day=_local_day(run.period_end - timedelta(microseconds=1), config.get("timezone")),
    )
    filename = report_filename(config.get("name", "report"), window, extension)
    headers = HTML_HEADERS if extension == "html" else {}
    if disposition == "attachment":
        url = await run_in_threadpool(storage.presigned_get_url, key, DOWNLOAD_URL_TTL, filename)
        if url:
            return RedirectResponse(url, status_code=307)
        headers = {**headers, "Content-Disposition": attachment_disposition(filename)}
    else:
        headers = {**headers, "Content-Disposition": "inline"}
    try:
        handle = await run_in_threadpool(storage.open, key)
    except ObjectNotFound as exc:
        raise ApiError(404, f"the {extension} file of report run {run.id} is no longer stored") from exc
    return StreamingResponse(_chunks(handle), media_type=content_type, headers=headers)


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """Sync on purpose: Starlette iterates it in a thread pool, so blocking reads never stall the event loop."""
    try:
        while chunk := handle.read(DOWNLOAD_CHUNK):
            yield chunk
    finally:
        handle.close()


async def _temporal(request: Request) -> Client:
    return await request.app.state.temporal.get()
