"""Workspace secrets (#10): credentials a `call_webhook` node names in `auth_secret`. Admins set and delete them;
values go in sealed (core/secrets.py) and never come out: not in answers, not in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import func, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from api.context import guard
from api.deps import SettingsDep
from api.errors import ApiError
from api.schemas_secrets import SecretOut, SecretValue
from api.scoping import Scope, ScopeDep
from core.secrets import SecretBox
from domain.permissions import Permission
from models.automations import Automation, AutomationStatus, AutomationVersion
from models.secrets import SECRET_NAME_PATTERN, WorkspaceSecret
from models.workspaces import User

router = APIRouter(prefix="/api/secrets", tags=["secrets"])

SecretName = Annotated[
    str, Path(pattern=SECRET_NAME_PATTERN, description="Letters, digits, `_`, `.` and `-`, at most 100")
]
# Automations whose published version may still start journeys (an archived or never published one cannot).
LIVE_STATUSES = (AutomationStatus.active.value, AutomationStatus.paused.value)


def _listed(scope: Scope) -> Select[tuple[WorkspaceSecret, str]]:
    """The workspace's secrets with their creator's email (null: the creator is gone, or it was an API key)."""
    return (
        select(WorkspaceSecret, User.email)
        .outerjoin(User, col(User.id) == WorkspaceSecret.created_by)
        .where(scope.where(WorkspaceSecret))
    )


def _out(secret: WorkspaceSecret, creator_email: str | None) -> SecretOut:
    return SecretOut(
        name=secret.name,
        created_at=secret.created_at,
        updated_at=secret.updated_at,
        last_used_at=secret.last_used_at,
        created_by_email=creator_email,
    )


def _not_found(name: str) -> ApiError:
    return ApiError(404, f"secret '{name}' not found", field="name")


@router.get("", response_model=list[SecretOut], **guard(Permission.settings_manage))
async def list_secrets(scope: ScopeDep) -> list[SecretOut]:
    """The workspace's secrets by name, with their dates: never a value."""
    rows = await scope.session.exec(_listed(scope).order_by(col(WorkspaceSecret.name)))
    return [_out(secret, email) for secret, email in rows.all()]


@router.get("/names", response_model=list[str], **guard(Permission.campaigns_write))
async def secret_names(scope: ScopeDep) -> list[str]:
    """Only the names, for whoever builds automations: the webhook node's `auth_secret` picks one of them."""
    rows = await scope.session.exec(scope.select(WorkspaceSecret).order_by(col(WorkspaceSecret.name)))
    return [secret.name for secret in rows.all()]


@router.put(
    "/{name}",
    response_model=SecretOut,
    responses={201: {"model": SecretOut, "description": "Created (200: an existing secret's value replaced)"}},
    **guard(Permission.settings_manage),
)
async def put_secret(
    name: SecretName, body: SecretValue, scope: ScopeDep, settings: SettingsDep, response: Response
) -> SecretOut:
    """Creates the secret (201) or replaces its value (200). Journeys read it each time their webhook is called,
    so a replaced value is used from the next call on."""
    sealed = SecretBox.from_settings(settings).seal(scope.workspace_id, name, body.value)
    table = WorkspaceSecret.__table__
    statement = (
        insert(table)
        .values(workspace_id=scope.workspace_id, name=name, sealed_value=sealed, created_by=scope.context.user_id)
        .on_conflict_do_update(
            constraint="uq_workspace_secrets_name", set_={"sealed_value": sealed, "updated_at": func.now()}
        )
        # PostgreSQL's xmax is 0 on a row this statement inserted, and set on one it updated.
        .returning(table.c.id, literal_column("xmax = 0").label("created"))
    )
    row = (await scope.session.execute(statement)).one()
    scope.audit(
        "secret.created" if row.created else "secret.replaced", "workspace_secret", row.id, after={"name": name}
    )
    await scope.session.commit()
    secret, email = (await scope.session.exec(_listed(scope).where(WorkspaceSecret.id == row.id))).one()
    if row.created:
        response.status_code = 201
    return _out(secret, email)


@router.delete(
    "/{name}",
    status_code=204,
    responses={409: {"description": "A published automation (active or paused) uses it: they are named"}},
    **guard(Permission.settings_manage),
)
async def delete_secret(name: SecretName, scope: ScopeDep) -> None:
    """Deletes the secret, unless the published version of an active or paused automation names it in a webhook's
    `auth_secret` (409 naming them: publish versions without it, or delete them, first)."""
    found = await scope.session.exec(
        scope.select(WorkspaceSecret).where(WorkspaceSecret.name == name).with_for_update()
    )
    secret = found.one_or_none()
    if secret is None:
        raise _not_found(name)
    users = await automations_using(scope, name)
    if users:
        named = ", ".join(f"'{automation_name}' (id {automation_id})" for automation_id, automation_name in users)
        raise ApiError(
            409,
            f"secret '{name}' is used by the published automation{'s' if len(users) > 1 else ''} {named}: "
            "publish versions without it (or delete them) first",
            field="name",
            code="in_use",
        )
    await scope.session.delete(secret)
    scope.audit("secret.deleted", "workspace_secret", secret.id, before={"name": name})
    await scope.session.commit()


async def automations_using(scope: Scope, name: str) -> list[tuple[int, str]]:
    """(id, name) of the active or paused automations whose published version has a webhook naming the secret.

    The row lock taken by the caller (FOR UPDATE) waits for a publication in progress that read the secret
    (api/automation_context.py reads the names it checks FOR KEY SHARE), so that one is seen here once committed."""
    uses = [{"type": "call_webhook", "config": {"auth_secret": name}}]
    query = (
        select(Automation.id, Automation.name)
        .join(
            AutomationVersion,
            (col(AutomationVersion.automation_id) == Automation.id)
            & (col(AutomationVersion.version) == Automation.published_version),
        )
        .where(
            scope.where(Automation),
            col(Automation.status).in_(LIVE_STATUSES),
            col(AutomationVersion.graph)["nodes"].contains(uses),
        )
        .order_by(col(Automation.id))
    )
    return [
        (automation_id, automation_name) for automation_id, automation_name in (await scope.session.exec(query)).all()
    ]
