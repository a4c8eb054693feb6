"""scheduled reports: report definitions and their runs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00

`report_definitions` says what a scheduled report covers (campaign ids, or a campaign tag), which metrics, which
period, when it runs (cadence, hour, weekday or day of month, in the workspace's timezone) and who gets it; its
Temporal Schedule is `report-<id>`. `report_runs` has one row per ReportWorkflow execution (unique workflow id) with
the storage keys of its CSV and HTML summary and the recipients already mailed (the email activity's guard).
Deleting a definition deletes its runs; the nightly storage cleanup then removes their files.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _json(name: str, default: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), server_default=default, nullable=False)


def upgrade() -> None:
    op.create_table(
        "report_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _json("campaign_ids", "[]"),
        sa.Column("tag", sa.String(length=50), nullable=True),
        _json("metrics", "[]"),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("cadence", sa.String(length=10), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.String(length=10), nullable=True),
        sa.Column("day_of_month", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        _json("recipients", "[]"),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_report_definitions_workspace_name"),
    )
    op.create_index("ix_report_definitions_workspace_id", "report_definitions", ["workspace_id"], unique=False)
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        _json("config", "{}"),
        _json("recipients", "[]"),
        sa.Column("csv_key", sa.String(length=512), nullable=True),
        sa.Column("html_key", sa.String(length=512), nullable=True),
        _json("totals", "{}"),
        sa.Column("campaign_count", sa.Integer(), nullable=True),
        _json("emailed_to", "[]"),
        _json("email_failures", "{}"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["definition_id"], ["report_definitions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index("ix_report_runs_workspace_id", "report_runs", ["workspace_id"], unique=False)
    op.create_index("ix_report_runs_definition", "report_runs", ["definition_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("report_runs")
    op.drop_table("report_definitions")
