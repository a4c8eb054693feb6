"""Who is calling (a browser session with its CSRF header, or a Bearer API key), in which workspace, with which role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import select

from api.deps import SessionDep
from api.errors import ApiError
from api.security import api_key_prefix, sha256_hex, tokens_equal
from domain.permissions import AUTHENTICATED, PUBLIC, Permission, has_permission
from models.workspaces import ApiKey, LoginSession, Membership, User, Workspace

SESSION_COOKIE = "herald_session"
CSRF_COOKIE = "herald_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass
class RequestContext:
    workspace_id: int
    role: str
    requires_approval: bool
    user_id: int | None = None
    user_email: str | None = None
    api_key_id: int | None = None
    api_key_name: str | None = None
    session_id: int | None = None
    csrf_token: str | None = None
    request_id: str = ""
    ip: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return self.user_email or f"api key {self.api_key_name}"

    def can(self, permission: Permission) -> bool:
        return has_permission(self.role, permission)


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or uuid.uuid4().hex


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def get_context(request: Request, session: SessionDep) -> RequestContext:
    """Authenticates the request; 401 when neither a valid API key nor a live session comes with it."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        context = await _from_api_key(session, authorization[7:].strip())
    else:
        context = await _from_session(session, request)
    context.request_id = request_id(request)
    context.ip = client_ip(request)
    request.state.context = context
    return context


async def _from_api_key(session, secret: str) -> RequestContext:
    prefix = api_key_prefix(secret)
    key = (await session.exec(select(ApiKey).where(ApiKey.prefix == prefix))).first() if prefix else None
    if key is None or key.revoked_at is not None or not tokens_equal(key.key_hash, sha256_hex(secret)):
        raise ApiError(401, "invalid or revoked API key", code="unauthenticated")
    workspace = await session.get(Workspace, key.workspace_id)
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_INTERVAL:
        key.last_used_at = now
        session.add(key)
        await session.commit()
    return RequestContext(
        workspace_id=key.workspace_id,
        role=key.role,
        requires_approval=workspace.requires_approval,
        api_key_id=key.id,
        api_key_name=key.name,
    )


async def _from_session(session, request: Request) -> RequestContext:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise ApiError(401, "sign in first", code="unauthenticated")
    row = (
        await session.exec(
            select(LoginSession, User, Membership, Workspace)
            .join(User, User.id == LoginSession.user_id)
            .join(
                Membership,
                (Membership.user_id == LoginSession.user_id) & (Membership.workspace_id == LoginSession.workspace_id),
            )
            .join(Workspace, Workspace.id == LoginSession.workspace_id)
            .where(LoginSession.token_hash == sha256_hex(token))
        )
    ).first()
    now = datetime.now(UTC)
    if row is None:
        raise ApiError(401, "your session has ended: sign in again", code="unauthenticated")
    login, user, membership, workspace = row
    if login.revoked_at is not None or login.expires_at <= now or not user.is_active:
        raise ApiError(401, "your session has ended: sign in again", code="unauthenticated")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not tokens_equal(sent, login.csrf_token):
            raise ApiError(403, f"missing or invalid {CSRF_HEADER} header", code="csrf")
    return RequestContext(
        workspace_id=workspace.id,
        role=membership.role,
        requires_approval=workspace.requires_approval,
        user_id=user.id,
        user_email=user.email,
        session_id=login.id,
        csrf_token=login.csrf_token,
    )


ContextDep = Annotated[RequestContext, Depends(get_context)]


def guard(permission: Permission | str) -> dict[str, Any]:
    """Route decorator arguments declaring (and enforcing) the permission a route needs.

    `@router.get(..., **guard(Permission.workspace_read))`; the permission also lands in the OpenAPI schema as
    `x-permission`, which the route-walking test checks for every operation.
    """
    value = str(permission)
    extra = {"openapi_extra": {"x-permission": value}}
    if value == PUBLIC:
        return extra
    if value == AUTHENTICATED:
        return {**extra, "dependencies": [Depends(get_context)]}

    async def check(context: ContextDep) -> None:
        if not context.can(Permission(value)):
            raise ApiError(403, f"your role ({context.role}) does not allow {value}", code="forbidden")

    return {**extra, "dependencies": [Depends(check)]}
