"""Automations (#10): drafts saved as the builder leaves them, publication of a checked version, pause and resume,
deletion. See docs/automations.md#managing-automations.

A draft may be invalid; publishing checks it against the workspace (as `POST /api/automations/validate` does) and
freezes it as the next version, which new journeys enter (running ones keep theirs). The Temporal Schedules of the
published version's `date_field` and `recurring_schedule` triggers (core/automation_schedules.py) change with the
row: the database is committed only once Temporal took the change (503 and nothing kept when it refuses).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api import automation_service as service
from api.context import guard
from api.deps import SettingsDep
from api.errors import ApiError
from api.schedule_commit import commit_with_schedule
from api.schemas_automations import (
    AutomationIn,
    AutomationOut,
    AutomationPatch,
    AutomationSummary,
    AutomationVersionOut,
    PublishRefusedOut,
    problem_out,
)
from api.scoping import Scope, ScopeDep
from core.automation_schedules import delete_trigger_schedules, pause_trigger_schedules, sync_trigger_schedules
from domain.permissions import Permission
from models.automations import Automation, AutomationStatus, AutomationVersion

router = APIRouter(prefix="/api/automations", tags=["automations"])
UNAVAILABLE = {503: {"description": "Temporal refused or is unreachable: nothing was changed"}}


@router.get("", response_model=list[AutomationSummary], **guard(Permission.workspace_read))
async def list_automations(scope: ScopeDep) -> list[AutomationSummary]:
    """The workspace's automations, last changed first, with their live journeys running now and ever entered."""
    return await service.summaries(scope)


@router.post("", response_model=AutomationOut, status_code=201, **guard(Permission.campaigns_write))
async def create_automation(body: AutomationIn, scope: ScopeDep) -> AutomationOut:
    """A draft (never published: nothing runs). The graph may be invalid; its problems come back in `problems`."""
    name = service.checked_name(body.name)
    draft = service.checked_draft(service.EMPTY_GRAPH if body.graph is None else body.graph)
    automation = scope.add(
        Automation(name=name, draft=draft, status=AutomationStatus.draft.value, created_by=scope.context.user_id)
    )
    await scope.flush_or_conflict(service.name_taken(name), "name")
    scope.audit("automation.created", "automation", automation.id, after=service.snapshot(automation))
    await scope.session.commit()
    await scope.session.refresh(automation)
    return await service.automation_out(scope, automation)


@router.get("/{automation_id}", response_model=AutomationOut, **guard(Permission.workspace_read))
async def get_automation(automation_id: int, scope: ScopeDep) -> AutomationOut:
    """The automation with its draft, the draft's problems against the workspace, and its published versions."""
    return await service.automation_out(scope, await scope.get(Automation, automation_id, "automation"))


@router.patch("/{automation_id}", response_model=AutomationOut, **guard(Permission.campaigns_write))
async def update_automation(automation_id: int, body: AutomationPatch, scope: ScopeDep) -> AutomationOut:
    """Renames it or saves its draft (even an invalid one). What runs changes only with the next publication."""
    automation = await scope.get(Automation, automation_id, "automation", for_update=True)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "graph"):
        if key in changes and changes[key] is None:
            raise ApiError(422, f"{key}: may not be null", field=key)
    before = service.snapshot(automation)
    if "name" in changes:
        automation.name = service.checked_name(changes["name"])
    if "graph" in changes:
        automation.draft = service.checked_draft(changes["graph"])
    automation.updated_at = datetime.now(UTC)
    scope.session.add(automation)
    await scope.flush_or_conflict(service.name_taken(automation.name), "name")
    after = {**service.snapshot(automation), "draft_saved": "graph" in changes}
    scope.audit("automation.updated", "automation", automation_id, before=before, after=after)
    await scope.session.commit()
    await scope.session.refresh(automation)
    return await service.automation_out(scope, automation)


@router.delete(
    "/{automation_id}",
    status_code=204,
    responses={409: {"description": "Live journeys are still running"}, **UNAVAILABLE},
    **guard(Permission.campaigns_write),
)
async def delete_automation(automation_id: int, scope: ScopeDep, settings: SettingsDep, request: Request) -> None:
    """Deletes the automation, its versions, its journeys' records and its Schedules. Refused while live journeys
    run: pause it and wait for them to end."""
    automation = await scope.get(Automation, automation_id, "automation", for_update=True)
    running = await service.running_journeys(scope, automation_id)
    if running:
        raise ApiError(
            409,
            f"automation {automation_id} has {running} running journey{'s' if running != 1 else ''}: pause it and "
            "wait for them to end before deleting it",
            code="journeys_running",
        )
    specs = await service.trigger_schedules(scope, automation_id, await service.published_graph(scope, automation))
    paused = automation.status != AutomationStatus.active.value
    scope.audit("automation.deleted", "automation", automation_id, before=service.snapshot(automation))
    await scope.session.delete(automation)
    await scope.session.flush()
    queue = settings.temporal_task_queue
    await commit_with_schedule(
        scope,
        request,
        "delete the automation's schedules",
        (lambda client: delete_trigger_schedules(client, specs)) if specs else None,
        undo=lambda client: sync_trigger_schedules(client, specs, paused=paused, task_queue=queue),
    )


@router.post(
    "/{automation_id}/publish",
    response_model=AutomationOut,
    responses={
        422: {"model": PublishRefusedOut, "description": "The draft has errors (in `problems`): nothing was written"},
        **UNAVAILABLE,
    },
    **guard(Permission.campaigns_write),
)
async def publish_automation(
    automation_id: int, scope: ScopeDep, settings: SettingsDep, request: Request
) -> AutomationOut | JSONResponse:
    """Checks the draft against the workspace and, without an error, stores it (normalised) as the next version:
    new journeys enter it, running ones keep theirs. The automation becomes active and its scheduled triggers'
    Schedules are replaced by the new version's."""
    automation = await scope.get(Automation, automation_id, "automation", for_update=True)
    graph, problems = await service.check_draft(scope, automation_id, automation.draft)
    errors = [problem for problem in problems if problem.severity == "error"]
    if graph is None or errors:
        await scope.session.rollback()
        first = errors[0]
        where = " ".join(part for part in (f"node '{first.node_id}'" if first.node_id else "", first.field) if part)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = f"the draft cannot be published: {where or 'graph'}: {first.message}{more}"
        refused = PublishRefusedOut(
            message=message, detail=message, field="graph", problems=[problem_out(p) for p in problems]
        )
        return JSONResponse(status_code=422, content=refused.model_dump(mode="json"))
    previous = await service.trigger_schedules(scope, automation_id, await service.published_graph(scope, automation))
    was_paused = automation.status != AutomationStatus.active.value
    version = await service.next_version(scope, automation_id)
    scope.add(
        AutomationVersion(
            automation_id=automation_id,
            version=version,
            graph=graph.model_dump(mode="json"),
            published_by=scope.context.user_id,
        )
    )
    before = service.snapshot(automation)
    automation.published_version = version
    automation.status = AutomationStatus.active.value
    automation.updated_at = datetime.now(UTC)
    scope.session.add(automation)
    await scope.session.flush()
    scope.audit("automation.published", "automation", automation_id, before=before, after=service.snapshot(automation))
    wanted = await service.trigger_schedules(scope, automation_id, graph)
    queue = settings.temporal_task_queue
    await commit_with_schedule(
        scope,
        request,
        "update the automation's schedules",
        (
            (lambda client: sync_trigger_schedules(client, wanted, previous=previous, paused=False, task_queue=queue))
            if wanted or previous
            else None
        ),
        undo=lambda client: sync_trigger_schedules(
            client, previous, previous=wanted, paused=was_paused, task_queue=queue
        ),
    )
    await scope.session.refresh(automation)
    return await service.automation_out(scope, automation)


@router.post(
    "/{automation_id}/pause", response_model=AutomationOut, responses=UNAVAILABLE, **guard(Permission.campaigns_write)
)
async def pause_automation(
    automation_id: int, scope: ScopeDep, settings: SettingsDep, request: Request
) -> AutomationOut:
    """Active → paused: its triggers start nothing (its Schedules are paused); running journeys go on."""
    return await _set_paused(automation_id, scope, settings.temporal_task_queue, request, paused=True)


@router.post(
    "/{automation_id}/resume", response_model=AutomationOut, responses=UNAVAILABLE, **guard(Permission.campaigns_write)
)
async def resume_automation(
    automation_id: int, scope: ScopeDep, settings: SettingsDep, request: Request
) -> AutomationOut:
    """Paused → active: its triggers start journeys of the published version again."""
    return await _set_paused(automation_id, scope, settings.temporal_task_queue, request, paused=False)


@router.get(
    "/{automation_id}/versions/{version}", response_model=AutomationVersionOut, **guard(Permission.workspace_read)
)
async def get_version(automation_id: int, version: int, scope: ScopeDep) -> AutomationVersionOut:
    """One published version's graph, as it was frozen."""
    await scope.get(Automation, automation_id, "automation")
    found = (
        await scope.session.exec(
            scope.select(AutomationVersion).where(
                AutomationVersion.automation_id == automation_id, AutomationVersion.version == version
            )
        )
    ).first()
    if found is None:
        raise ApiError(404, f"automation {automation_id} has no version {version}", field="version")
    return AutomationVersionOut(
        version=found.version, graph=found.graph, published_at=found.published_at, published_by=found.published_by
    )


async def _set_paused(
    automation_id: int, scope: Scope, task_queue: str, request: Request, *, paused: bool
) -> AutomationOut:
    automation = await scope.get(Automation, automation_id, "automation", for_update=True)
    expected, target = (
        (AutomationStatus.active, AutomationStatus.paused)
        if paused
        else (AutomationStatus.paused, AutomationStatus.active)
    )
    if automation.status != expected.value:
        verb = "paused" if paused else "resumed"
        hint = " (publish it to start it)" if automation.status == AutomationStatus.draft.value else ""
        raise ApiError(
            409,
            f"automation {automation_id} is {automation.status}: only an {expected.value} automation can be "
            f"{verb}{hint}",
            code="invalid_state",
        )
    specs = await service.trigger_schedules(scope, automation_id, await service.published_graph(scope, automation))
    before = service.snapshot(automation)
    automation.status = target.value
    automation.updated_at = datetime.now(UTC)
    scope.session.add(automation)
    await scope.session.flush()
    action = "automation.paused" if paused else "automation.resumed"
    scope.audit(action, "automation", automation_id, before=before, after=service.snapshot(automation))
    await commit_with_schedule(
        scope,
        request,
        f"{'pause' if paused else 'resume'} the automation's schedules",
        (lambda client: pause_trigger_schedules(client, specs, paused=paused, task_queue=task_queue))
        if specs
        else None,
        undo=lambda client: pause_trigger_schedules(client, specs, paused=not paused, task_queue=task_queue),
    )
    await scope.session.refresh(automation)
    return await service.automation_out(scope, automation)
