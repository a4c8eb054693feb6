"""API keys of the current workspace: created by admins, shown once, stored hashed, revocable."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from sqlmodel import col, select

from api.accounts import create_api_key
from api.context import guard
from api.errors import ApiError
from api.schemas_access import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.workspaces import ApiKey, User

router = APIRouter(prefix="/api/api-keys", tags=["api keys"])


def _key_out(key: ApiKey, creator_email: str | None) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        created_at=key.created_at,
        created_by_email=creator_email,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.get("", response_model=list[ApiKeyOut], **guard(Permission.api_keys_manage))
async def list_api_keys(scope: ScopeDep) -> list[ApiKeyOut]:
    rows = await scope.session.exec(
        select(ApiKey, User.email)
        .outerjoin(User, User.id == ApiKey.created_by)
        .where(scope.where(ApiKey))
        .order_by(col(ApiKey.id).desc())
    )
    return [_key_out(key, email) for key, email in rows.all()]


@router.post("", response_model=ApiKeyCreated, status_code=201, **guard(Permission.api_keys_manage))
async def create_key(body: ApiKeyCreate, scope: ScopeDep) -> ApiKeyCreated:
    key, secret = await create_api_key(
        scope.session, scope.workspace_id, body.name, body.role, created_by=scope.context.user_id
    )
    scope.audit("api_key.created", "api_key", key.id, after={"name": key.name, "role": key.role})
    await scope.session.commit()
    return ApiKeyCreated(api_key=_key_out(key, scope.context.user_email), secret=secret)


@router.delete("/{key_id}", status_code=204, **guard(Permission.api_keys_manage))
async def revoke_key(key_id: int, scope: ScopeDep) -> None:
    key = await scope.get(ApiKey, key_id, "API key")
    if key.revoked_at is not None:
        raise ApiError(409, f"API key {key_id} is already revoked", code="invalid_state")
    key.revoked_at = datetime.now(UTC)
    scope.session.add(key)
    scope.audit("api_key.revoked", "api_key", key.id, before={"name": key.name, "role": key.role})
    await scope.session.commit()
