"""templates: channels, versions, folders, content blocks, brand guidelines; campaigns pin a version

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 13:34:55.726807

Existing templates get their version 1 (campaigns pin it), and their tokens move to the new context:
`{{ first_name }}` becomes `{{ lead.first_name }}`, `{{ custom.plan }}` becomes `{{ lead.custom.plan }}`.
"""

import re

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEGACY_NAMES = ("first_name", "last_name", "full_name", "email", "phone", "status", "timezone", "company", "custom")
_TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.S)
_LEGACY = re.compile(r"(?<![\w.'\"])(" + "|".join(LEGACY_NAMES) + r")\b(?!\s*=[^=])")
_NEW = re.compile(r"(?<![\w.])lead\.(" + "|".join(LEGACY_NAMES) + r")\b")


def _rewrite(source: str, pattern: re.Pattern[str], replacement: str) -> str:
    """Rewrites names inside `{{ }}` and `{% %}` only; text around the tags is left alone."""
    return _TAG.sub(lambda tag: pattern.sub(replacement, tag.group(0)), source or "")


def _move_tokens(pattern: re.Pattern[str], replacement: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, subject, body_html, body_text FROM templates")).all()
    for row in rows:
        conn.execute(
            sa.text("UPDATE templates SET subject = :s, body_html = :h, body_text = :t WHERE id = :id"),
            {
                "id": row.id,
                "s": _rewrite(row.subject, pattern, replacement),
                "h": _rewrite(row.body_html, pattern, replacement),
                "t": _rewrite(row.body_text, pattern, replacement),
            },
        )


def upgrade() -> None:
    op.create_table(
        "content_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("body_html", sa.Text(), server_default="", nullable=False),
        sa.Column("body_text", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_content_blocks_workspace_name"),
    )
    op.create_index(op.f("ix_content_blocks_workspace_id"), "content_blocks", ["workspace_id"], unique=False)
    op.create_table(
        "template_folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_template_folders_workspace_name"),
    )
    op.create_index(op.f("ix_template_folders_workspace_id"), "template_folders", ["workspace_id"], unique=False)
    op.create_table(
        "brand_guidelines",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("colors", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("fonts", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("logo_media_id", sa.Integer(), nullable=True),
        sa.Column("require_footer", sa.Boolean(), nullable=False),
        sa.Column("postal_address", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("banned_phrases", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("link_domains", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("max_image_bytes", sa.BigInteger(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["logo_media_id"], ["media_assets.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id"),
    )
    op.create_table(
        "template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
        sa.Column("preheader", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
        sa.Column("body_html", sa.Text(), server_default="", nullable=False),
        sa.Column("body_text", sa.Text(), server_default="", nullable=False),
        sa.Column("media_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("whatsapp_template", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("social_networks", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["template_id"], ["templates.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "number", name="uq_template_versions_number"),
    )
    op.create_index(op.f("ix_template_versions_template_id"), "template_versions", ["template_id"], unique=False)
    op.create_index(op.f("ix_template_versions_workspace_id"), "template_versions", ["workspace_id"], unique=False)
    op.add_column("campaigns", sa.Column("template_version_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_campaigns_template_version_id", "campaigns", "template_versions", ["template_version_id"], ["id"]
    )
    op.add_column("outbox_messages", sa.Column("channel", sa.String(length=16), server_default="email", nullable=False))
    op.add_column("templates", sa.Column("folder_id", sa.Integer(), nullable=True))
    op.add_column(
        "templates",
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), server_default="", nullable=False),
    )
    op.add_column(
        "templates",
        sa.Column("preheader", sqlmodel.sql.sqltypes.AutoString(length=250), server_default="", nullable=False),
    )
    op.add_column(
        "templates",
        sa.Column("media_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.add_column(
        "templates",
        sa.Column("whatsapp_template", sqlmodel.sql.sqltypes.AutoString(length=512), server_default="", nullable=False),
    )
    op.add_column(
        "templates",
        sa.Column("social_networks", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.add_column("templates", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("templates", sa.Column("updated_by_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_templates_folder_id"), "templates", ["folder_id"], unique=False)
    op.create_foreign_key(
        "fk_templates_updated_by_id", "templates", "users", ["updated_by_id"], ["id"], ondelete="SET NULL"
    )
    op.create_foreign_key(
        "fk_templates_folder_id", "templates", "template_folders", ["folder_id"], ["id"], ondelete="SET NULL"
    )

    # Data: the new token context, then version 1 of every existing template, pinned by its campaigns.
    _move_tokens(_LEGACY, r"lead.\1")
    op.execute(
        """
        INSERT INTO template_versions (workspace_id, template_id, number, subject, preheader, body_html, body_text,
                                       media_ids, whatsapp_template, social_networks, note, created_at)
        SELECT workspace_id, id, 1, subject, preheader, body_html, body_text, media_ids, whatsapp_template,
               social_networks, 'Initial version', updated_at
        FROM templates
        """
    )
    op.execute(
        """
        UPDATE campaigns c SET template_version_id = v.id
        FROM template_versions v WHERE v.template_id = c.template_id AND v.number = 1
        """
    )


def downgrade() -> None:
    # Templates keep their current content; older versions and the other new tables go.
    _move_tokens(_NEW, r"\1")
    op.drop_constraint("fk_templates_folder_id", "templates", type_="foreignkey")
    op.drop_constraint("fk_templates_updated_by_id", "templates", type_="foreignkey")
    op.drop_index(op.f("ix_templates_folder_id"), table_name="templates")
    op.drop_column("templates", "updated_by_id")
    op.drop_column("templates", "version")
    op.drop_column("templates", "social_networks")
    op.drop_column("templates", "whatsapp_template")
    op.drop_column("templates", "media_ids")
    op.drop_column("templates", "preheader")
    op.drop_column("templates", "description")
    op.drop_column("templates", "folder_id")
    op.drop_column("outbox_messages", "channel")
    op.drop_constraint("fk_campaigns_template_version_id", "campaigns", type_="foreignkey")
    op.drop_column("campaigns", "template_version_id")
    op.drop_index(op.f("ix_template_versions_workspace_id"), table_name="template_versions")
    op.drop_index(op.f("ix_template_versions_template_id"), table_name="template_versions")
    op.drop_table("template_versions")
    op.drop_table("brand_guidelines")
    op.drop_index(op.f("ix_template_folders_workspace_id"), table_name="template_folders")
    op.drop_table("template_folders")
    op.drop_index(op.f("ix_content_blocks_workspace_id"), table_name="content_blocks")
    op.drop_table("content_blocks")
