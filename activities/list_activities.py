"""Activities over lists: the daily size and reachability snapshot behind the list statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import structlog
from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from domain.filters import FilterError, reachable
from domain.lists import filter_context_from, saved_list_membership
from models.leads import CustomFieldDefinition, Lead
from models.lists import LeadList, ListSnapshot
from models.payloads.lists import ListStatsInput, ListStatsResult
from models.workspaces import Workspace

log = structlog.get_logger("herald.activities.lists")
CHANNELS = ("email", "sms", "whatsapp")


class ListActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn
    async def snapshot_list_sizes(self, input: ListStatsInput) -> ListStatsResult:
        """Upserts one row per list for the day, so a retry or a second run the same day just refreshes it."""
        day = date.fromisoformat(input.day) if input.day else datetime.now(UTC).date()
        done = activity.info().heartbeat_details[0] if activity.info().heartbeat_details else 0
        failed: list[int] = []
        async with self.sessions() as session:
            lists = (await session.execute(select(LeadList).where(LeadList.id > done).order_by(LeadList.id))).scalars()
            contexts: dict[int, object] = {}
            count = 0
            for lead_list in list(lists):
                ctx = contexts.get(lead_list.workspace_id) or await _context(session, lead_list.workspace_id)
                contexts[lead_list.workspace_id] = ctx
                try:
                    condition = and_(
                        Lead.workspace_id == lead_list.workspace_id,
                        saved_list_membership(lead_list.id, lead_list.kind, lead_list.filter, ctx),
                    )
                except FilterError:
                    failed.append(lead_list.id)
                    continue
                row = (
                    await session.execute(
                        select(func.count(), *(func.count().filter(reachable(ch)) for ch in CHANNELS)).where(condition)
                    )
                ).one()
                values = {
                    "workspace_id": lead_list.workspace_id,
                    "list_id": lead_list.id,
                    "day": day,
                    "size": row[0],
                    "reachable": dict(zip(CHANNELS, row[1:], strict=True)),
                }
                await session.execute(
                    insert(ListSnapshot)
                    .values(**values)
                    .on_conflict_do_update(
                        constraint="uq_list_snapshots_day",
                        set_={"size": values["size"], "reachable": values["reachable"]},
                    )
                )
                await session.commit()
                count += 1
                activity.heartbeat(lead_list.id)
        log.info("list sizes recorded", day=day.isoformat(), lists=count, failed=failed)
        return ListStatsResult(day=day.isoformat(), lists=count, failed=failed)


async def _context(session: AsyncSession, workspace_id: int):
    workspace = await session.get(Workspace, workspace_id)
    definitions = (
        await session.execute(select(CustomFieldDefinition).where(CustomFieldDefinition.workspace_id == workspace_id))
    ).scalars()
    return filter_context_from(workspace_id, datetime.now(UTC), workspace.lead_statuses, definitions)
