"""Creating workspaces, users, memberships and API keys: shared by the routes, the CLI and `herald run`."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import generate_password, hash_password, new_api_key
from domain.permissions import Role
from models.workspaces import ApiKey, LoginSession, Membership, User, Workspace


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48]
    return slug or "workspace"


async def create_workspace(session: AsyncSession, name: str, *, requires_approval: bool = False) -> Workspace:
    base = slugify(name)
    slug = base
    while (await session.exec(select(Workspace).where(Workspace.slug == slug))).first() is not None:
        slug = f"{base}-{secrets.token_hex(2)}"
    workspace = Workspace(name=name.strip(), slug=slug, requires_approval=requires_approval)
    session.add(workspace)
    await session.flush()
    return workspace


async def find_workspace(session: AsyncSession, ref: str) -> Workspace | None:
    """By id or slug (the CLI accepts either)."""
    if ref.isdigit():
        return await session.get(Workspace, int(ref))
    return (await session.exec(select(Workspace).where(Workspace.slug == ref))).first()


async def find_user(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(func.lower(User.email) == email.strip().lower()))).first()


async def create_user(session: AsyncSession, email: str, password: str, name: str = "") -> User:
    user = User(email=email.strip().lower(), name=name.strip(), password_hash=hash_password(password))
    session.add(user)
    await session.flush()
    return user


async def set_membership(session: AsyncSession, user_id: int, workspace_id: int, role: Role | str) -> Membership:
    membership = await session.get(Membership, (user_id, workspace_id))
    if membership is None:
        membership = Membership(user_id=user_id, workspace_id=workspace_id, role=Role(role).value)
    else:
        membership.role = Role(role).value
    session.add(membership)
    await session.flush()
    return membership


async def create_api_key(
    session: AsyncSession, workspace_id: int, name: str, role: Role | str, created_by: int | None = None
) -> tuple[ApiKey, str]:
    """Returns the stored key and the secret, which is never retrievable again."""
    generated = new_api_key()
    key = ApiKey(
        workspace_id=workspace_id,
        name=name.strip(),
        prefix=generated.prefix,
        key_hash=generated.key_hash,
        role=Role(role).value,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    return key, generated.secret


async def count_users(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(User))).one()


async def admins_of(session: AsyncSession, workspace_id: int) -> list[int]:
    rows = await session.exec(
        select(Membership.user_id).where(
            Membership.workspace_id == workspace_id, col(Membership.role) == Role.admin.value
        )
    )
    return list(rows.all())


async def ensure_first_admin(
    session: AsyncSession, email: str, password: str | None, workspace_name: str = "Default"
) -> tuple[User, Workspace, str | None] | None:
    """On a database without users, create a workspace and its admin. Returns the generated password, if any."""
    if await count_users(session) > 0:
        return None

    generated = None if password else generate_password()
    workspace = await create_workspace(session, workspace_name)
    user = await create_user(session, email, password or generated, name="Administrator")
    await set_membership(session, user.id, workspace.id, Role.admin)
    await session.commit()
    return user, workspace, generated


async def first_workspace_of(session: AsyncSession, user_id: int) -> int | None:
    return (
        await session.exec(
            select(Membership.workspace_id).where(Membership.user_id == user_id).order_by(col(Membership.workspace_id))
        )
    ).first()


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """Sets a new password and ends every session of the user."""
    user.password_hash = hash_password(password)
    user.password_changed_at = datetime.now(UTC)
    session.add(user)
    await session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
