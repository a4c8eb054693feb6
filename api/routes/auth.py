"""Sign in and out, the caller's profile, switching workspace, changing one's password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, func, or_, update
from sqlmodel import col, select

from api.accounts import find_user, set_password
from api.context import CSRF_COOKIE, SESSION_COOKIE, ContextDep, RequestContext, client_ip, guard, request_id
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.schemas_access import LoginRequest, MeOut, PasswordChange, SwitchWorkspace, UserOut, WorkspaceOut
from api.scoping import record_audit
from api.security import new_token, sha256_hex, verify_password
from core.settings import Settings
from domain.permissions import AUTHENTICATED, PUBLIC, ROLE_PERMISSIONS, Role, may_launch
from models.workspaces import LoginFailure, LoginSession, Membership, User, Workspace

router = APIRouter(prefix="/api/auth", tags=["auth"])
INVALID_LOGIN = "invalid email or password"


@router.post("/login", response_model=MeOut, **guard(PUBLIC))
async def login(body: LoginRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep):
    email = body.email.strip().lower()
    ip = client_ip(request)
    await _throttle(session, settings, email, ip)
    user = await find_user(session, email)
    ok = verify_password(body.password, user.password_hash if user else None)
    membership = await _first_membership(session, user.id) if ok and user and user.is_active else None
    if membership is None:
        window = timedelta(minutes=settings.login_failure_window_minutes)
        await session.execute(delete(LoginFailure).where(col(LoginFailure.at) < datetime.now(UTC) - window))
        session.add(LoginFailure(email=email, ip=ip))
        await session.commit()
        raise ApiError(401, INVALID_LOGIN, code="unauthenticated")
    await session.execute(delete(LoginFailure).where(col(LoginFailure.email) == email))
    login_session = _start_session(request, response, settings, user.id, membership.workspace_id)
    session.add(login_session)
    await session.flush()
    context = RequestContext(
        workspace_id=membership.workspace_id,
        role=membership.role,
        requires_approval=False,
        user_id=user.id,
        user_email=user.email,
        request_id=request_id(request),
        ip=ip,
    )
    record_audit(session, context, "auth.login", "user", user.id)
    await session.commit()
    return await _me(session, user, login_session.workspace_id, login_session.csrf_token)


@router.post("/logout", status_code=204, **guard(AUTHENTICATED))
async def logout(context: ContextDep, session: SessionDep, response: Response) -> None:
    if context.session_id is not None:
        await session.execute(
            update(LoginSession).where(LoginSession.id == context.session_id).values(revoked_at=func.now())
        )
        record_audit(session, context, "auth.logout", "user", context.user_id)
        await session.commit()
    _clear_cookies(response)


@router.get("/me", response_model=MeOut, **guard(AUTHENTICATED))
async def me(context: ContextDep, session: SessionDep) -> MeOut:
    user = await session.get(User, context.user_id) if context.user_id else None
    return await _me(session, user, context.workspace_id, context.csrf_token, api_key_role=context.role)


@router.post("/workspace", response_model=MeOut, **guard(AUTHENTICATED))
async def switch_workspace(body: SwitchWorkspace, context: ContextDep, session: SessionDep) -> MeOut:
    if context.session_id is None:
        raise ApiError(409, "an API key is bound to its workspace", field="workspace_id", code="invalid_state")
    if await session.get(Membership, (context.user_id, body.workspace_id)) is None:
        raise ApiError(404, f"workspace {body.workspace_id} not found", field="workspace_id")
    await session.execute(
        update(LoginSession).where(LoginSession.id == context.session_id).values(workspace_id=body.workspace_id)
    )
    await session.commit()
    return await _me(session, await session.get(User, context.user_id), body.workspace_id, context.csrf_token)


@router.post("/password", response_model=MeOut, **guard(AUTHENTICATED))
async def change_password(
    body: PasswordChange,
    context: ContextDep,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> MeOut:
    """Every session of the user ends, this one included; a fresh session cookie comes back."""
    if context.user_id is None:
        raise ApiError(409, "API keys have no password", code="invalid_state")
    user = await session.get(User, context.user_id)
    if not verify_password(body.current_password, user.password_hash):
        raise ApiError(422, "the current password is wrong", field="current_password")
    await set_password(session, user, body.new_password)
    fresh = _start_session(request, response, settings, user.id, context.workspace_id)
    session.add(fresh)
    record_audit(session, context, "auth.password_changed", "user", user.id)
    await session.commit()
    return await _me(session, user, context.workspace_id, fresh.csrf_token)


async def _throttle(session, settings: Settings, email: str, ip: str) -> None:
    since = datetime.now(UTC) - timedelta(minutes=settings.login_failure_window_minutes)
    counts = (
        await session.exec(
            select(
                func.count().filter(LoginFailure.email == email),
                func.count().filter(LoginFailure.ip == ip),
            ).where(LoginFailure.at > since, or_(LoginFailure.email == email, LoginFailure.ip == ip))
        )
    ).one()
    if counts[0] >= settings.login_max_failures_per_email or counts[1] >= settings.login_max_failures_per_ip:
        raise ApiError(
            429,
            f"too many failed sign-ins: try again in {settings.login_failure_window_minutes} minutes",
            code="throttled",
        )


async def _first_membership(session, user_id: int) -> Membership | None:
    return (
        await session.exec(
            select(Membership).where(Membership.user_id == user_id).order_by(col(Membership.workspace_id))
        )
    ).first()


def _start_session(request: Request, response: Response, settings: Settings, user_id: int, workspace_id: int):
    token = new_token()
    csrf = new_token()
    ttl = timedelta(hours=settings.session_ttl_hours)
    secure = settings.cookie_secure if settings.cookie_secure is not None else request.url.scheme == "https"
    max_age = int(ttl.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, secure=secure, samesite="lax", path="/")
    return LoginSession(
        token_hash=sha256_hex(token),
        csrf_token=csrf,
        user_id=user_id,
        workspace_id=workspace_id,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:500],
        expires_at=datetime.now(UTC) + ttl,
    )


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


async def _me(session, user: User | None, workspace_id: int, csrf: str | None, api_key_role: str | None = None):
    workspace = await session.get(Workspace, workspace_id)
    if user is not None:
        rows = (
            await session.exec(
                select(Workspace, Membership.role)
                .join(Membership, Membership.workspace_id == Workspace.id)
                .where(Membership.user_id == user.id)
                .order_by(col(Workspace.name))
            )
        ).all()
        workspaces = [WorkspaceOut.of(w, role) for w, role in rows]
        role = next(r for w, r in rows if w.id == workspace_id)
    else:
        role = api_key_role or Role.viewer.value
        workspaces = [WorkspaceOut.of(workspace, role)]
    return MeOut(
        user=UserOut(id=user.id, email=user.email, name=user.name) if user else None,
        workspace=WorkspaceOut.of(workspace, role),
        role=role,
        permissions=sorted(str(p) for p in ROLE_PERMISSIONS[Role(role)]),
        can_launch=may_launch(role, workspace.requires_approval),
        workspaces=workspaces,
        csrf_token=csrf,
    )
