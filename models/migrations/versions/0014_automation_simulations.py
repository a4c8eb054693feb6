"""automation_simulations: the simulator's runs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12 09:00:00

A simulation runs a graph (an automation's draft, normalised, or its published version) for chosen leads on
Temporal's time-skipping test server with dry-run actions (AutomationSimulationWorkflow, `simulation-<id>`).
The row keeps what was simulated (`graph`, `version`: 0 for an unpublished draft, `selection`: lead ids, or a lead
filter and a limit, `trigger_node`), its `status` (queued, running, done, failed), and the `results` (per-node counts,
each lead's path with the simulated dates, what would have been sent) or the `error`. Its journeys are ordinary
`journeys` rows of mode `simulation`, which the monitoring and the dispatcher ignore.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_simulations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("graph", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("selection", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("trigger_node", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("results", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["automation_id"], ["automations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_automation_simulations_workspace_id", "automation_simulations", ["workspace_id"], unique=False)
    op.create_index(
        "ix_automation_simulations_automation", "automation_simulations", ["automation_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_automation_simulations_automation", table_name="automation_simulations")
    op.drop_index("ix_automation_simulations_workspace_id", table_name="automation_simulations")
    op.drop_table("automation_simulations")
