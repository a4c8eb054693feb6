"""Workspace secrets (#10): credentials an automation's `call_webhook` node names in `auth_secret` instead of holding
them inline (migration 0016).

`value` is sealed by core/secrets.py (AES-GCM under a key derived from `Settings.signing_key`, bound to the workspace
and the name): the table never holds a plaintext, and the API never returns one. The name follows the graph's own
rule for `auth_secret` (models/payloads/automation.py `SECRET_NAME_PATTERN`), so any name a node may hold can exist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models import workspaces as _workspaces  # noqa: F401  (registers the tables our foreign keys name)
from models.base import created_at_field, optional_timestamp_field, updated_at_field
from models.payloads.automation import SECRET_NAME_PATTERN

__all__ = ["MAX_SECRET_VALUE", "SECRET_NAME_PATTERN", "WorkspaceSecret"]

MAX_SECRET_VALUE = 4096  # characters


class WorkspaceSecret(SQLModel, table=True):
    __tablename__ = "workspace_secrets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_workspace_secrets_name"),)

    id: int | None = Field(default=None, primary_key=True)
    # Scoped like every business table (api/scoping.py); the unique key's index serves the workspace's lookups.
    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=100)
    # Version byte, nonce and AES-GCM ciphertext (core/secrets.py); never the plaintext.
    sealed_value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    last_used_at: datetime | None = optional_timestamp_field()  # a journey's webhook last sent it
