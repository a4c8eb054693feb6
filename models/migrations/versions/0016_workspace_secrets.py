"""workspace secrets: credentials a call_webhook node names in `auth_secret`, stored sealed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-14 09:00:00

`workspace_secrets(id, workspace_id, name, sealed_value, created_by, created_at, updated_at, last_used_at)`, one
name per workspace. `sealed_value` is AES-GCM ciphertext under a key derived from SECRET_KEY (core/secrets.py), bound
to the workspace and the name: the table never holds a plaintext. The table starts empty.
"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sealed_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_workspace_secrets_name"),
    )


def downgrade() -> None:
    op.drop_table("workspace_secrets")
