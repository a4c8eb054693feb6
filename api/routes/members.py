"""Members of the current workspace and their roles (admins only)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from api.accounts import admins_of, create_user, find_user, set_membership
from api.context import guard
from api.errors import ApiError
from api.schemas_access import MemberBrief, MemberCreate, MemberCreated, MemberOut, MemberUpdate
from api.scoping import ScopeDep
from api.security import generate_password
from domain.permissions import Permission, Role
from models.workspaces import Membership, User

router = APIRouter(prefix="/api/members", tags=["members"])


def _member_out(user: User, membership: Membership) -> MemberOut:
    return MemberOut(
        user_id=user.id, email=user.email, name=user.name, role=membership.role, created_at=membership.created_at
    )


@router.get("", response_model=list[MemberOut], **guard(Permission.members_manage))
async def list_members(scope: ScopeDep) -> list[MemberOut]:
    rows = await scope.session.exec(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(scope.where(Membership))
        .order_by(col(User.email))
    )
    return [_member_out(user, membership) for user, membership in rows.all()]


@router.get("/directory", response_model=list[MemberBrief], **guard(Permission.workspace_read))
async def directory(scope: ScopeDep) -> list[MemberBrief]:
    """Names of the workspace's people, for picking a lead owner (no roles, no management)."""
    rows = await scope.session.exec(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(scope.where(Membership))
        .order_by(col(User.email))
    )
    return [MemberBrief(user_id=user.id, email=user.email, name=user.name) for user in rows.all()]


@router.post("", response_model=MemberCreated, status_code=201, **guard(Permission.members_manage))
async def add_member(body: MemberCreate, scope: ScopeDep) -> MemberCreated:
    """Adds an existing user by email, or creates the user (with a one-time password when none is given)."""
    user = await find_user(scope.session, body.email)
    temporary = None
    if user is None:
        temporary = None if body.password else generate_password()
        user = await create_user(scope.session, body.email, body.password or temporary, body.name)
    elif await scope.session.get(Membership, (user.id, scope.workspace_id)) is not None:
        raise ApiError(409, f"{user.email} is already a member", field="email")
    membership = await set_membership(scope.session, user.id, scope.workspace_id, body.role)
    scope.audit("member.added", "user", user.id, after={"email": user.email, "role": membership.role})
    await scope.session.commit()
    return MemberCreated(member=_member_out(user, membership), temporary_password=temporary)


@router.patch("/{user_id}", response_model=MemberOut, **guard(Permission.members_manage))
async def change_role(user_id: int, body: MemberUpdate, scope: ScopeDep) -> MemberOut:
    user, membership = await _membership(scope, user_id)
    before = membership.role
    if before == Role.admin.value and body.role != Role.admin:
        await _keep_an_admin(scope, user_id)
    membership = await set_membership(scope.session, user_id, scope.workspace_id, body.role)
    scope.audit("member.role_changed", "user", user_id, before={"role": before}, after={"role": membership.role})
    await scope.session.commit()
    return _member_out(user, membership)


@router.delete("/{user_id}", status_code=204, **guard(Permission.members_manage))
async def remove_member(user_id: int, scope: ScopeDep) -> None:
    user, membership = await _membership(scope, user_id)
    if membership.role == Role.admin.value:
        await _keep_an_admin(scope, user_id)
    await scope.session.delete(membership)
    scope.audit("member.removed", "user", user_id, before={"email": user.email, "role": membership.role})
    await scope.session.commit()


async def _membership(scope, user_id: int) -> tuple[User, Membership]:
    membership = await scope.session.get(Membership, (user_id, scope.workspace_id))
    user = await scope.session.get(User, user_id) if membership else None
    if membership is None or user is None:
        raise ApiError(404, f"member {user_id} not found")
    return user, membership


async def _keep_an_admin(scope, user_id: int) -> None:
    if await admins_of(scope.session, scope.workspace_id) == [user_id]:
        raise ApiError(409, "a workspace keeps at least one admin", field="role", code="last_admin")
