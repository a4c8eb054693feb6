"""The role → permission matrix: the one place that says who may do what (documented in docs/permissions.md)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    marketer = "marketer"
    viewer = "viewer"


class Permission(StrEnum):
    workspace_read = "workspace:read"  # see the workspace's leads, lists, templates, campaigns, outbox
    leads_write = "leads:write"
    lists_write = "lists:write"
    templates_write = "templates:write"
    media_write = "media:write"
    campaigns_write = "campaigns:write"
    campaigns_launch = "campaigns:launch"  # launch, pause, resume, cancel (without approval when required)
    campaigns_approve = "campaigns:approve"  # approve others' launches; may launch where approval is required
    analytics_read = "analytics:read"
    audit_read = "audit:read"
    members_manage = "members:manage"
    api_keys_manage = "api_keys:manage"
    settings_manage = "settings:manage"


_VIEWER = {Permission.workspace_read}
_MARKETER = _VIEWER | {
    Permission.leads_write,
    Permission.lists_write,
    Permission.templates_write,
    Permission.media_write,
    Permission.campaigns_write,
    Permission.campaigns_launch,
}
_MANAGER = _MARKETER | {Permission.campaigns_approve, Permission.analytics_read, Permission.audit_read}
_ADMIN = set(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset(_VIEWER),
    Role.marketer: frozenset(_MARKETER),
    Role.manager: frozenset(_MANAGER),
    Role.admin: frozenset(_ADMIN),
}

# Routes reachable without a workspace role (login, health...) declare this instead of a permission.
PUBLIC = "public"
# Routes any signed-in person may call whatever the role (their own profile, logout, switching workspace).
AUTHENTICATED = "authenticated"


def has_permission(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


def may_launch(role: str, requires_approval: bool) -> bool:
    """Marketers launch only where the workspace requires no approval; approvers launch anywhere."""
    if requires_approval:
        return has_permission(role, Permission.campaigns_approve)
    return has_permission(role, Permission.campaigns_launch)
