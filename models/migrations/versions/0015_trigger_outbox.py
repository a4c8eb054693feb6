"""trigger outbox: lead_events rows not yet dispatched to journeys; an index for the monitoring's error log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-13 09:00:00

- `lead_event_outbox(lead_event_id PK, workspace_id, created_at)`: one narrow row per `lead_events` row that may start
  or reach journeys (core/journey_intake.py `may_trigger`), written in the inserting transaction by a statement-level
  trigger on lead_events (one INSERT ... SELECT per statement over its transition table: an import's 10,000 timeline
  rows cost one statement, and every writer, the API, imports, journeys' own changes, is covered). The dispatchers
  delete their rows once dispatched; TriggerSweepWorkflow re-dispatches what is left (docs/automations.md "Trigger
  intake"). Existing rows are not pending: the table starts empty. No foreign key (its check would lock each timeline
  row): the sweep drops the rows of deleted leads.
  Why not a `dispatched_at` column on lead_events: marking a row done would rewrite a wide JSONB row and its index
  entries in the largest timeline table (an UPDATE per dispatched row, never heap-only with the partial index on the
  column), and marking every existing row dispatched would rewrite the whole table here.
- `ix_journey_steps_errors`: the monitoring's error log (api/automation_monitoring.py `ERROR_STEP`) reads an
  automation's failed steps newest first without scanning its successful ones.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The same rule as core/journey_intake.may_trigger (tests/test_trigger_sweep.py checks that they agree).
NOTE_PENDING = """
    CREATE FUNCTION lead_events_note_pending() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO lead_event_outbox (lead_event_id, workspace_id, created_at)
        SELECT id, workspace_id, clock_timestamp() FROM inserted
        WHERE type IN ('created', 'status_changed', 'tagged', 'added_to_list', 'converted')
           OR (type = 'field_changed' AND data ->> 'field' = 'custom_fields');
        RETURN NULL;
    END $$;
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE lead_event_outbox (lead_event_id bigint PRIMARY KEY, workspace_id integer NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(NOTE_PENDING)
    op.execute(
        "CREATE TRIGGER lead_events_pending_dispatch AFTER INSERT ON lead_events REFERENCING NEW TABLE AS inserted "
        "FOR EACH STATEMENT EXECUTE FUNCTION lead_events_note_pending()"
    )
    op.execute(
        "CREATE INDEX ix_journey_steps_errors ON journey_steps (automation_id, id) "
        "WHERE detail ? 'error' OR end_status = 'failed'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_journey_steps_errors")
    op.execute("DROP TRIGGER lead_events_pending_dispatch ON lead_events")
    op.execute("DROP FUNCTION lead_events_note_pending()")
    op.execute("DROP TABLE lead_event_outbox")
