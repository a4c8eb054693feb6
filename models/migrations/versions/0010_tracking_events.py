"""tracking: the append-only events table; campaigns choose what their email tracks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00

`events` gets one row per open, click (and later unsubscribe, bounce, complaint, conversion). It is append-only like
`audit_log`, with one difference: `audit_log` refuses every UPDATE and DELETE (its workspace key has no ON DELETE
action, so a workspace with audit rows cannot be deleted), while events must go with their workspace and survive
their delivery. So the trigger lets through what a foreign key does by itself, i.e. a statement run from another
trigger (`pg_trigger_depth() > 1`; the cascades run inside the referenced table's triggers):
- DELETE, from the workspace's ON DELETE CASCADE;
- an UPDATE that only sets `delivery_id` NULL, from the delivery's ON DELETE SET NULL (a deleted run takes its
  deliveries along; their events stay, for the reports);
- DELETE from the trigger that erases a deleted lead's events.
Everything else, a direct UPDATE or DELETE included, is refused. TRUNCATE fires no row trigger (the tests empty
tables that way).

`campaigns.tracking` is `{"opens": bool, "clicks": bool, "utm": null | {"source", "medium", "campaign"}}`; existing
campaigns track opens and clicks, without UTM parameters.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DEFAULT_TRACKING = '{"opens": true, "clicks": true, "utm": null}'

APPEND_ONLY = """
    CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF pg_trigger_depth() > 1 THEN
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            IF NEW.delivery_id IS NULL AND (to_jsonb(NEW) - 'delivery_id') = (to_jsonb(OLD) - 'delivery_id') THEN
                RETURN NEW;
            END IF;
        END IF;
        RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
    END $$;
"""


# Erasure: a deleted lead's events go too (they hold its user agents); run from a trigger, the append-only check
# lets the DELETE through.
FORGET_EVENTS = """
    CREATE FUNCTION leads_forget_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM events WHERE lead_id IN (SELECT id FROM gone);
        RETURN NULL;
    END $$;
"""


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("variant", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("machine", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_run_type_at", "events", ["run_id", "type", "occurred_at"], unique=False)
    op.create_index("ix_events_lead_at", "events", ["lead_id", "occurred_at"], unique=False)
    op.create_index("ix_events_workspace_at", "events", ["workspace_id", "occurred_at"], unique=False)
    op.create_index(
        "ix_events_delivery",
        "events",
        ["delivery_id"],
        unique=False,
        postgresql_where=sa.text("delivery_id IS NOT NULL"),
    )
    op.create_index(
        "ux_events_dedupe",
        "events",
        ["workspace_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("dedupe_key IS NOT NULL"),
    )
    op.execute(APPEND_ONLY)
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_are_append_only()"
    )
    op.execute(FORGET_EVENTS)
    op.execute(
        "CREATE TRIGGER leads_forget_events AFTER DELETE ON leads "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION leads_forget_events()"
    )
    op.add_column(
        "campaigns",
        sa.Column("tracking", postgresql.JSONB(astext_type=sa.Text()), server_default=DEFAULT_TRACKING, nullable=False),
    )


def downgrade() -> None:
    op.drop_column("campaigns", "tracking")
    op.execute("DROP TRIGGER leads_forget_events ON leads")
    op.execute("DROP FUNCTION leads_forget_events()")
    op.execute("DROP TRIGGER events_append_only ON events")
    op.execute("DROP FUNCTION events_are_append_only()")
    op.drop_table("events")
