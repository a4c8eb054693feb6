"""What a send needs besides the lead to render a template: the workspace's name and postal address, its custom
fields, and the media attached to a version (shared by campaign sends and test sends)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

# What a send reads of a lead: the template context's fields, and what decides whether it may be sent at all.
LEAD_COLUMNS = (
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "status",
    "timezone",
    "custom_fields",
    "consent_email",
    "suppressed_email",
    "company",
    "job_title",
    "country",
    "locale",
    "source",
    "score",
    "tags",
)


@dataclass(frozen=True)
class WorkspaceRenderInfo:
    workspace: dict[str, str]  # {"name", "postal_address"}
    custom_fields: tuple[tuple[str, str, list[str]], ...]  # (key, type, choices)

    @property
    def custom_keys(self) -> list[str]:
        return [key for key, _, _ in self.custom_fields]


async def workspace_render_info(session: AsyncSession, workspace_id: int) -> WorkspaceRenderInfo:
    row = (
        await session.execute(
            text(
                "SELECT w.name, coalesce(b.postal_address, '') AS postal_address FROM workspaces w "
                "LEFT JOIN brand_guidelines b ON b.workspace_id = w.id WHERE w.id = :w"
            ),
            {"w": workspace_id},
        )
    ).one()
    fields = await session.execute(
        text("SELECT key, type, choices FROM custom_field_definitions WHERE workspace_id = :w ORDER BY key"),
        {"w": workspace_id},
    )
    return WorkspaceRenderInfo(
        workspace={"name": row.name, "postal_address": row.postal_address},
        custom_fields=tuple((f.key, f.type, list(f.choices or [])) for f in fields),
    )


async def load_lead(session: AsyncSession, workspace_id: int, lead_id: int) -> dict[str, Any] | None:
    row = (
        await session.execute(
            text(f"SELECT {', '.join(LEAD_COLUMNS)} FROM leads WHERE id = :id AND workspace_id = :w"),
            {"id": lead_id, "w": workspace_id},
        )
    ).one_or_none()
    return dict(row._mapping) if row is not None else None


async def attached_media(session: AsyncSession, workspace_id: int, media_ids: list[int]) -> list[tuple[int, str]]:
    """(asset id, rendition sent) of a version's attachments that still exist, in their order."""
    if not media_ids:
        return []
    rows = await session.execute(
        text("SELECT id, kind, variants FROM media_assets WHERE workspace_id = :w AND id = ANY(:ids)"),
        {"w": workspace_id, "ids": list(media_ids)},
    )
    found = {row.id: ("web" if row.kind == "image" and "web" in (row.variants or {}) else "original") for row in rows}
    return [(asset_id, found[asset_id]) for asset_id in media_ids if asset_id in found]
