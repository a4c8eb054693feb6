"""automations: definitions, versions, journeys and their steps; journey messages as deliveries

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 09:00:00

`automations` (a draft graph, the published version, shared round-robin counters), `automation_versions` (each
published graph), `journeys` (one row per JourneyWorkflow execution chain: workflow id + first run id, the lead's
entry number, mode, status, current node, waiting_until), `journey_steps` (each decision, numbered per journey) and
`journey_actions` (the side effects a journey did per step, so a retried action does not repeat them).

A journey's message is a `deliveries` row like a campaign's, so sending, idempotency, tracking, unsubscribe links,
bounces, frequency caps, the last-sent triggers and the report rollups work on it unchanged. `deliveries.run_id`
stays NOT NULL: each automation gets pseudo runs in `campaign_runs` (campaign_id NULL, automation_id set, status
`automation`, `number` = the lead's entry number), created when a journey of that entry first sends. Under the
unchanged key (run_id, step, lead_id, fallback) the step is the journey's step number: a lead's second entry uses
the second pseudo run, and a retried send finds its row. `journey_id` and `node_id` say which journey and node sent
it (engagement conditions read them). Campaign screens and reports join `campaigns` and never see pseudo runs.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _json(name: str, default: str = "{}") -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), server_default=default, nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "automations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        _json("draft"),
        _json("counters"),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_automations_workspace_name"),
    )
    op.create_index("ix_automations_workspace_id", "automations", ["workspace_id"], unique=False)
    op.create_table(
        "automation_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _json("graph"),
        _now("published_at"),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["automation_id"], ["automations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("automation_id", "version", name="uq_automation_versions_version"),
    )
    op.create_index("ix_automation_versions_workspace_id", "automation_versions", ["workspace_id"], unique=False)
    op.create_table(
        "journeys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=300), nullable=False),
        sa.Column("first_run_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger_node", sa.Text(), nullable=False),
        sa.Column("trigger_event_id", sa.Text(), nullable=False),
        sa.Column("current_node", sa.Text(), nullable=True),
        sa.Column("waiting_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        _now("entered_at"),
        _now("updated_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["automation_id"], ["automations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "first_run_id", name="uq_journeys_execution"),
    )
    op.create_index("ix_journeys_workspace_id", "journeys", ["workspace_id"], unique=False)
    op.create_index(
        "ux_journeys_entry",
        "journeys",
        ["automation_id", "lead_id", "entry"],
        unique=True,
        postgresql_where=sa.text("mode <> 'simulation'"),
    )
    op.create_index(
        "ux_journeys_trigger_event",
        "journeys",
        ["automation_id", "lead_id", "trigger_event_id"],
        unique=True,
        postgresql_where=sa.text("mode = 'live'"),
    )
    op.create_index(
        "ix_journeys_lead_running",
        "journeys",
        ["lead_id", "automation_id"],
        unique=False,
        postgresql_where=sa.text("status IN ('active', 'waiting')"),
    )
    op.create_index(
        "ix_journeys_automation_node", "journeys", ["automation_id", "status", "current_node"], unique=False
    )
    op.create_table(
        "journey_steps",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("journey_id", sa.BigInteger(), nullable=False),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("node_type", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("next_node", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("end_status", sa.String(length=16), nullable=True),
        _json("detail"),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("journey_id", "seq", name="uq_journey_steps_seq"),
    )
    op.create_index("ix_journey_steps_node", "journey_steps", ["automation_id", "node_id", "id"], unique=False)
    op.create_table(
        "journey_actions",
        sa.Column("journey_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _json("result"),
        _now("created_at"),
        _now("updated_at"),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("journey_id", "seq"),
    )

    # Pseudo runs: a run belongs to a campaign or to an automation (one per entry number).
    op.alter_column("campaign_runs", "campaign_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("campaign_runs", sa.Column("automation_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "campaign_runs_automation_id_fkey",
        "campaign_runs",
        "automations",
        ["automation_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint("uq_campaign_runs_automation_entry", "campaign_runs", ["automation_id", "number"])
    op.create_check_constraint(
        "ck_campaign_runs_owner", "campaign_runs", "(campaign_id IS NULL) <> (automation_id IS NULL)"
    )

    # Journey messages: which journey and node sent them.
    op.add_column("deliveries", sa.Column("journey_id", sa.BigInteger(), nullable=True))
    op.add_column("deliveries", sa.Column("node_id", sa.Text(), nullable=True))
    op.create_foreign_key(
        "deliveries_journey_id_fkey", "deliveries", "journeys", ["journey_id"], ["id"], ondelete="CASCADE"
    )
    op.create_index(
        "ix_deliveries_journey",
        "deliveries",
        ["journey_id", "node_id"],
        unique=False,
        postgresql_where=sa.text("journey_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_journey", table_name="deliveries")
    op.drop_constraint("deliveries_journey_id_fkey", "deliveries", type_="foreignkey")
    op.drop_column("deliveries", "node_id")
    op.drop_column("deliveries", "journey_id")
    # The pseudo runs go, with their deliveries (ON DELETE CASCADE); campaign runs all have their campaign.
    op.execute("DELETE FROM campaign_runs WHERE automation_id IS NOT NULL")
    op.drop_constraint("ck_campaign_runs_owner", "campaign_runs", type_="check")
    op.drop_constraint("uq_campaign_runs_automation_entry", "campaign_runs", type_="unique")
    op.drop_constraint("campaign_runs_automation_id_fkey", "campaign_runs", type_="foreignkey")
    op.drop_column("campaign_runs", "automation_id")
    op.alter_column("campaign_runs", "campaign_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("journey_actions")
    op.drop_table("journey_steps")
    op.drop_table("journeys")
    op.drop_table("automation_versions")
    op.drop_table("automations")
