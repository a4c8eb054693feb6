"""tracking outbox: opens and clicks that journeys wait for, not yet delivered to them

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 08:00:00

`tracking_outbox(id, delivery_id, type, machine, workspace_id, created_at)`, unique per delivery, kind of event and
machine flag: written by the tracking batch statement (api/tracking_recorder.py `WRITE_SQL`) in the transaction that
records the events, for the opens and clicks of journey messages (their journey may wait for them) and people's
opens and clicks of campaign messages in workspaces with an active `campaign_interaction` trigger. The API's
background task deletes the rows it delivered; TriggerSweepWorkflow delivers what is left (a process that died
between the commit and the signal, Temporal unreachable) — docs/automations.md "Trigger intake". No foreign key
(its check would lock each delivery row): the sweep drops the rows of deleted deliveries.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE tracking_outbox (id bigserial PRIMARY KEY, delivery_id bigint NOT NULL, type text NOT NULL, "
        "machine boolean NOT NULL, workspace_id integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), "
        "CONSTRAINT uq_tracking_outbox_event UNIQUE (delivery_id, type, machine))"
    )


def downgrade() -> None:
    op.execute("DROP TABLE tracking_outbox")
