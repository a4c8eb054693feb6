"""Workspaces: create one (you become its admin), change the current one's settings, read the role matrix."""

from __future__ import annotations

from fastapi import APIRouter

from api.accounts import create_workspace, set_membership
from api.context import ContextDep, guard
from api.deps import SessionDep
from api.errors import ApiError
from api.schemas_access import PermissionMatrixOut, WorkspaceCreate, WorkspaceOut, WorkspaceUpdate
from api.scoping import ScopeDep, record_audit
from domain.contacts import valid_timezone
from domain.permissions import AUTHENTICATED, ROLE_PERMISSIONS, Permission, Role
from models.workspaces import Workspace

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"])


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


@router.patch("/current", response_model=WorkspaceOut, **guard(Permission.settings_manage))
async def update_current(body: WorkspaceUpdate, scope: ScopeDep) -> WorkspaceOut:
    workspace = await scope.session.get(Workspace, scope.workspace_id)
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
    await scope.session.commit()
    return WorkspaceOut.of(workspace, scope.context.role)


@router.get("/permissions", response_model=PermissionMatrixOut, **guard(AUTHENTICATED))
async def permission_matrix() -> PermissionMatrixOut:
    return PermissionMatrixOut(roles={role.value: sorted(map(str, perms)) for role, perms in ROLE_PERMISSIONS.items()})
