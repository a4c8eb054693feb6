"""campaign flows: basics, audience, flow and schedule, approval; runs pin their flow; deliveries per fallback

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 14:08:21.634268

Workspaces get a timezone (UTC). Existing campaigns keep `flow` NULL (the legacy single send step of template_id / template_version_id) and get
`list_ids` = [list_id]; existing deliveries are primary (fallback false) marketing sends.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "workspaces",
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), server_default="UTC", nullable=False),
    )
    op.add_column("campaign_run_audience", sa.Column("track", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "campaign_run_audience", sa.Column("variant", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
    )
    op.add_column("campaign_run_audience", sa.Column("exited", sa.Text(), nullable=True))
    op.create_index(
        "ix_campaign_run_audience_track", "campaign_run_audience", ["run_id", "track", "lead_id"], unique=False
    )
    op.add_column("campaign_runs", sa.Column("flow", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("campaign_runs", sa.Column("schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column(
        "campaigns",
        sa.Column("objective", sqlmodel.sql.sqltypes.AutoString(length=20), server_default="awareness", nullable=False),
    )
    op.add_column(
        "campaigns",
        sa.Column("goal_metric", sqlmodel.sql.sqltypes.AutoString(length=16), server_default="none", nullable=False),
    )
    op.add_column("campaigns", sa.Column("goal_target", sa.Float(), nullable=True))
    op.add_column("campaigns", sa.Column("owner_id", sa.Integer(), nullable=True))
    op.add_column("campaigns", sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False))
    op.add_column("campaigns", sa.Column("cost", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False))
    op.add_column(
        "campaigns",
        sa.Column("list_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.add_column(
        "campaigns",
        sa.Column("exclude_list_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.add_column("campaigns", sa.Column("exclude_filter", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("campaigns", sa.Column("flow", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column(
        "campaigns",
        sa.Column(
            "schedule", postgresql.JSONB(astext_type=sa.Text()), server_default='{"mode": "now"}', nullable=False
        ),
    )
    op.add_column("campaigns", sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "campaigns",
        sa.Column(
            "approval_status", sqlmodel.sql.sqltypes.AutoString(length=16), server_default="none", nullable=False
        ),
    )
    op.add_column("campaigns", sa.Column("approved_by_id", sa.Integer(), nullable=True))
    op.add_column("campaigns", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("campaigns", sa.Column("approval_comment", sa.Text(), nullable=True))
    op.alter_column("campaigns", "template_id", existing_type=sa.INTEGER(), nullable=True)
    op.create_index("ix_campaigns_workspace_scheduled_at", "campaigns", ["workspace_id", "scheduled_at"], unique=False)
    op.create_foreign_key("fk_campaigns_owner_id", "campaigns", "users", ["owner_id"], ["id"], ondelete="SET NULL")
    op.create_foreign_key(
        "fk_campaigns_approved_by_id", "campaigns", "users", ["approved_by_id"], ["id"], ondelete="SET NULL"
    )
    op.add_column("deliveries", sa.Column("fallback", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("deliveries", sa.Column("variant", sa.Text(), nullable=True))
    op.add_column("deliveries", sa.Column("skip_reason", sa.Text(), nullable=True))
    op.add_column("deliveries", sa.Column("marketing", sa.Boolean(), server_default=sa.text("true"), nullable=False))
    op.drop_constraint("uq_deliveries_idempotency", "deliveries", type_="unique")
    op.create_unique_constraint("uq_deliveries_idempotency", "deliveries", ["run_id", "step", "lead_id", "fallback"])

    # Data: old campaigns stay on the legacy path (flow NULL) with their list as the audience; old deliveries are
    # primary marketing sends (the column defaults already say so, stated here for the record).
    op.execute("UPDATE campaigns SET list_ids = jsonb_build_array(list_id) WHERE list_id IS NOT NULL")
    op.execute("UPDATE deliveries SET fallback = false, marketing = true WHERE fallback IS DISTINCT FROM false")


def downgrade() -> None:
    # Fallback deliveries cannot live under the old (run_id, step, lead_id) key: they go first.
    op.execute("DELETE FROM deliveries WHERE fallback")
    op.drop_constraint("uq_deliveries_idempotency", "deliveries", type_="unique")
    op.create_unique_constraint("uq_deliveries_idempotency", "deliveries", ["run_id", "step", "lead_id"])
    op.drop_column("deliveries", "marketing")
    op.drop_column("deliveries", "skip_reason")
    op.drop_column("deliveries", "variant")
    op.drop_column("deliveries", "fallback")
    op.drop_constraint("fk_campaigns_approved_by_id", "campaigns", type_="foreignkey")
    op.drop_constraint("fk_campaigns_owner_id", "campaigns", type_="foreignkey")
    op.drop_index("ix_campaigns_workspace_scheduled_at", table_name="campaigns")
    # Flow campaigns have no template of their own: they cannot exist under the old schema.
    op.execute("DELETE FROM campaigns WHERE template_id IS NULL")
    # Statuses the old schema does not know.
    op.execute("UPDATE campaigns SET status = 'draft' WHERE status IN ('scheduled', 'pending_approval', 'rejected')")
    op.execute(
        "UPDATE campaign_runs SET status = 'cancelled', finished_at = coalesce(finished_at, now()) "
        "WHERE status IN ('scheduled', 'pending_approval', 'rejected')"
    )
    op.alter_column("campaigns", "template_id", existing_type=sa.INTEGER(), nullable=False)
    op.drop_column("campaigns", "approval_comment")
    op.drop_column("campaigns", "approved_at")
    op.drop_column("campaigns", "approved_by_id")
    op.drop_column("campaigns", "approval_status")
    op.drop_column("campaigns", "scheduled_at")
    op.drop_column("campaigns", "schedule")
    op.drop_column("campaigns", "flow")
    op.drop_column("campaigns", "exclude_filter")
    op.drop_column("campaigns", "exclude_list_ids")
    op.drop_column("campaigns", "list_ids")
    op.drop_column("campaigns", "cost")
    op.drop_column("campaigns", "tags")
    op.drop_column("campaigns", "owner_id")
    op.drop_column("campaigns", "goal_target")
    op.drop_column("campaigns", "goal_metric")
    op.drop_column("campaigns", "objective")
    op.drop_column("campaign_runs", "schedule")
    op.drop_column("campaign_runs", "flow")
    op.drop_index("ix_campaign_run_audience_track", table_name="campaign_run_audience")
    op.drop_column("campaign_run_audience", "exited")
    op.drop_column("campaign_run_audience", "variant")
    op.drop_column("campaign_run_audience", "track")
    op.drop_column("workspaces", "timezone")
