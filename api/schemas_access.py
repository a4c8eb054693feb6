"""Bodies of the access-control API: login, profile, workspaces, members, API keys, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from domain.permissions import Role

PASSWORD = Field(min_length=10, max_length=200)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, description="Not validated as an address: admin@localhost works.")
    password: str = Field(min_length=1, max_length=200)


class WorkspaceOut(BaseModel):
    id: int
    name: str
    slug: str
    requires_approval: bool
    role: str
    lead_statuses: list[str] = Field(default_factory=list)
    default_region: str = "US"
    timezone: str = Field(default="UTC", description="IANA timezone of campaign schedules and waits")

    @classmethod
    def of(cls, workspace: Any, role: str) -> WorkspaceOut:
        return cls(
            id=workspace.id,
            name=workspace.name,
            slug=workspace.slug,
            requires_approval=workspace.requires_approval,
            role=role,
            lead_statuses=list(workspace.lead_statuses),
            default_region=workspace.default_region,
            timezone=workspace.timezone,
        )


class UserOut(BaseModel):
    id: int
    email: str
    name: str


class MeOut(BaseModel):
    user: UserOut | None = Field(description="Null when authenticated by an API key.")
    workspace: WorkspaceOut
    role: str
    permissions: list[str]
    can_launch: bool
    workspaces: list[WorkspaceOut]
    csrf_token: str | None = Field(description="Send it back as the X-CSRF-Token header on POST/PATCH/DELETE.")


class SwitchWorkspace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workspace_id: int = Field(gt=0)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = PASSWORD


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    requires_approval: bool | None = None
    lead_statuses: list[str] | None = Field(default=None, min_length=1, max_length=30, description="The pipeline")
    default_region: str | None = Field(default=None, pattern="^[A-Z]{2}$", description="For phones without +country")
    timezone: str | None = Field(default=None, max_length=64, description="IANA name, e.g. Europe/Paris")


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
    created_at: datetime


class MemberBrief(BaseModel):
    user_id: int
    email: str
    name: str


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(default="", max_length=200)
    role: Role
    password: str | None = Field(
        default=None, min_length=10, max_length=200, description="For a new user; generated when omitted."
    )


class MemberCreated(BaseModel):
    member: MemberOut
    temporary_password: str | None = Field(description="Shown once, when a new user was created without a password.")


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    created_by_email: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role


class ApiKeyCreated(BaseModel):
    api_key: ApiKeyOut
    secret: str = Field(description="The key itself: shown once, store it now.")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    actor: str
    user_id: int | None
    api_key_id: int | None
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
    ip: str


class PermissionMatrixOut(BaseModel):
    roles: dict[str, list[str]]
