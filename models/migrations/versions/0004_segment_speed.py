"""segment speed: composite lead indexes for segment filters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 11:10:00.000000

Filter rules become index conditions only on the columns of one index: with a (workspace_id, status) index,
"status = won AND score >= 90" fetches every won lead to check its score. PostgreSQL 18 skips over leading columns
that a query does not constrain (skip scan), so one index serves any mix of these few-valued columns and a score range:
- (workspace_id, status, country, score): status, status + country, status + score, country + score...
- (workspace_id, consent_email, consent_sms, consent_whatsapp, score): consent on any channel, with a score range.
A bitmap OR of conditions that each match few rows reads only those rows (the "OR of three groups" of
bench/segments.py: from 132,000 candidate rows on every page of the table to 33,000).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_leads_status_country_score", "leads", ["workspace_id", "status", "country", "score"], unique=False
    )
    op.create_index(
        "ix_leads_consent_score",
        "leads",
        ["workspace_id", "consent_email", "consent_sms", "consent_whatsapp", "score"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_leads_consent_score", table_name="leads")
    op.drop_index("ix_leads_status_country_score", table_name="leads")
