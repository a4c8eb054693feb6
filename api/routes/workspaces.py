"""Workspaces: create one (you become its admin), change the current one's settings, read the role matrix."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request

from api import automation_service
from api.accounts import create_workspace, set_membership
from api.context import ContextDep, guard
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.schedule_commit import commit_with_schedule
from api.schemas_access import PermissionMatrixOut, WorkspaceCreate, WorkspaceOut, WorkspaceUpdate
from api.scoping import ScopeDep, record_audit
from core.automation_schedules import move_trigger_schedules
from domain.contacts import valid_timezone
from domain.permissions import AUTHENTICATED, ROLE_PERMISSIONS, Permission, Role
from models.workspaces import Workspace

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"])
UNAVAILABLE = {503: {"description": "Temporal refused or is unreachable: nothing was changed"}}


@router.post("", response_model=WorkspaceOut, status_code=201, **guard(AUTHENTICATED))
async def create(body: WorkspaceCreate, context: ContextDep, session: SessionDep) -> WorkspaceOut:
    if context.user_id is None:
        raise ApiError(409, "API keys cannot create workspaces", code="invalid_state")
    workspace = await create_workspace(session, body.name)
    await set_membership(session, context.user_id, workspace.id, Role.admin)
    context.workspace_id = workspace.id  # the audit row belongs to the new workspace
    record_audit(session, context, "workspace.created", "workspace", workspace.id, after={"name": workspace.name})
    await session.commit()
    return WorkspaceOut.of(workspace, Role.admin.value)


@router.patch("/current", response_model=WorkspaceOut, responses=UNAVAILABLE, **guard(Permission.settings_manage))
async def update_current(
    body: WorkspaceUpdate, scope: ScopeDep, settings: SettingsDep, request: Request
) -> WorkspaceOut:
    """A new timezone also moves the Schedules of the automations' recurring triggers (first; 503 and nothing
    changed when Temporal refuses)."""
    workspace = await scope.session.get(Workspace, scope.workspace_id)
    old_timezone = workspace.timezone or "UTC"
    before = {"name": workspace.name, "requires_approval": workspace.requires_approval}
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "lead_statuses" in changes:
        statuses = [status.strip().lower() for status in changes["lead_statuses"] if status.strip()]
        if len(set(statuses)) != len(statuses) or any(len(s) > 32 for s in statuses) or "unsubscribed" in statuses:
            raise ApiError(
                422,
                "lead_statuses: distinct names of at most 32 characters ('unsubscribed' is built in)",
                field="lead_statuses",
            )
        changes["lead_statuses"] = statuses
    if "timezone" in changes and not valid_timezone(changes["timezone"].strip()):
        raise ApiError(422, f"timezone: unknown timezone {changes['timezone']!r}", field="timezone")
    for key, value in changes.items():
        setattr(workspace, key, value.strip() if isinstance(value, str) else value)
    scope.session.add(workspace)
    scope.audit("workspace.updated", "workspace", workspace.id, before=before, after=changes)
    timezone = workspace.timezone or "UTC"
    moved = await automation_service.recurring_schedules(scope, timezone) if timezone != old_timezone else []
    back = [(replace(spec, timezone=old_timezone), paused) for spec, paused in moved]
    queue = settings.temporal_task_queue
    await commit_with_schedule(
        scope,
        request,
        "move the automations' recurring schedules to the new timezone",
        (lambda client: move_trigger_schedules(client, moved, task_queue=queue)) if moved else None,
        undo=lambda client: move_trigger_schedules(client, back, task_queue=queue),
    )
    return WorkspaceOut.of(workspace, scope.context.role)


@router.get("/permissions", response_model=PermissionMatrixOut, **guard(AUTHENTICATED))
async def permission_matrix() -> PermissionMatrixOut:
    return PermissionMatrixOut(roles={role.value: sorted(map(str, perms)) for role, perms in ROLE_PERMISSIONS.items()})
