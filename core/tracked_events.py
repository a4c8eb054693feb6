"""Opens and clicks delivered to journeys (#10, docs/automations.md "Trigger intake"), by the API's background task
(api/journey_dispatch.py, right after the tracking batch commits) and by the trigger sweep
(activities/trigger_sweep_activities.py, for what the first never delivered) alike.

A tracked row names a delivery and its event: `delivery_id`, `type` (`open` | `click`), `machine`, `workspace_id`,
`lead_id`, `campaign_id`, `journey_id`, `node_id`.

- A journey message's open or click is signalled to its journey while it runs (`message_opened` /
  `message_clicked`, the node, the delivery id as message id; a machine's flagged `machine`, which waits and goals
  ignore).
- A person's open or click of a campaign message is a `campaign_interaction` event for the dispatcher (the caller
  dispatches it in the workspaces with such a trigger).

Both paths build the same event ids, so an event delivered twice changes nothing: a journey keeps the event ids it
had (a repeated signal is dropped) and a journey start is idempotent per event id. Rows stay in `tracking_outbox`
(migration 0017) until delivered: `settle_tracked` takes the delivered ones out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.journey_intake import ClientSource
from core.journeys import signal_journey
from models.automations import RUNNING_JOURNEY_STATUSES
from models.payloads.automation import JourneyEvent

log = structlog.get_logger("herald.tracked_events")

SIGNAL_CONCURRENCY = 16
TrackedKey = tuple[int, str, bool]  # delivery, type, machine: a tracking_outbox row
K = TypeVar("K")


def tracked_key(row: Mapping[str, Any]) -> TrackedKey:
    return (int(row["delivery_id"]), str(row["type"]), bool(row["machine"]))


@dataclass
class TrackedGroup(Generic[K]):
    """The rows of one event (a message opened twice, by a person and by a machine...): the first row, the event
    it is, and every row's key (what leaves the outbox once the event is delivered)."""

    row: Any
    event: JourneyEvent
    keys: list[K] = field(default_factory=list)


def group_by_event(
    rows: Iterable[Any], build: Callable[[Any], JourneyEvent], key: Callable[[Any], K]
) -> dict[str, TrackedGroup[K]]:
    """The rows grouped by the event id `build` gives them, in the order of their first rows."""
    groups: dict[str, TrackedGroup[K]] = {}
    for row in rows:
        event = build(row)
        group = groups.get(event.event_id)
        if group is None:
            group = groups[event.event_id] = TrackedGroup(row, event)
        group.keys.append(key(row))
    return groups


def delivered_keys(groups: Mapping[str, TrackedGroup[K]], failed: Collection[str]) -> list[K]:
    """The keys of the rows whose event was delivered (its id is not among the failed ones)."""
    return [key for event_id, group in groups.items() if event_id not in failed for key in group.keys]


def journey_signal(row: Mapping[str, Any], occurred_at: datetime) -> JourneyEvent:
    """The signal a journey message's open or click is to its journey."""
    kind = "message_clicked" if row["type"] == "click" else "message_opened"
    return JourneyEvent(
        kind=kind,
        event_id=f"{kind}:{row['delivery_id']}{':machine' if row['machine'] else ''}",
        lead_id=row["lead_id"],
        occurred_at=occurred_at,
        node_id=row["node_id"],
        message_id=str(row["delivery_id"]),
        machine=bool(row["machine"]),
    )


def campaign_interaction_event(row: Mapping[str, Any], occurred_at: datetime) -> JourneyEvent:
    """The `campaign_interaction` event a person's open or click of a campaign message is (a second open of the same
    message is no new interaction: the event id is the delivery's)."""
    interaction = "clicked" if row["type"] == "click" else "opened"
    return JourneyEvent(
        kind="campaign_interaction",
        event_id=f"campaign-{interaction}:{row['delivery_id']}",
        lead_id=row["lead_id"],
        occurred_at=occurred_at,
        interaction=interaction,
        campaign_id=row["campaign_id"],
    )


async def signal_tracked(
    client: ClientSource,
    sessions: async_sessionmaker[AsyncSession],
    signals: Sequence[tuple[int, JourneyEvent]],
) -> set[str]:
    """Each (journey id, event) signalled to its journey if it still runs (its wait may be for it; an ended or
    simulated journey needs nothing); the event ids whose signal failed (Temporal unreachable...), logged."""
    if not signals:
        return set()
    async with sessions() as session:
        found = await session.execute(
            text(
                "SELECT id, workflow_id FROM journeys WHERE id = ANY(:ids) AND status = ANY(:running) "
                "AND mode <> 'simulation'"
            ),
            {"ids": sorted({journey_id for journey_id, _ in signals}), "running": list(RUNNING_JOURNEY_STATUSES)},
        )
        workflows = {row.id: row.workflow_id for row in found}
    targets = [(workflows[journey_id], event) for journey_id, event in signals if journey_id in workflows]
    if not targets:
        return set()
    temporal = client if isinstance(client, Client) else await client()
    gate = asyncio.Semaphore(SIGNAL_CONCURRENCY)
    failed: set[str] = set()

    async def signal(workflow_id: str, event: JourneyEvent) -> None:
        async with gate:
            try:
                await signal_journey(temporal, workflow_id, event)
            except Exception as error:
                failed.add(event.event_id)
                reason = f"{type(error).__name__}: {error}"
                log.error("journey not signalled", workflow_id=workflow_id, event_id=event.event_id, error=reason)

    await asyncio.gather(*(signal(workflow_id, event) for workflow_id, event in targets))
    return failed


async def settle_tracked(sessions: async_sessionmaker[AsyncSession], keys: Sequence[TrackedKey]) -> int:
    """The delivered events leave the tracking outbox (one statement); how many rows were still there."""
    if not keys:
        return 0
    unique = sorted(set(keys))
    async with sessions() as session:
        deleted = await session.execute(
            text(
                "DELETE FROM tracking_outbox o USING unnest(CAST(:d AS bigint[]), CAST(:t AS text[]), "
                "CAST(:m AS boolean[])) AS k(delivery_id, type, machine) "
                "WHERE o.delivery_id = k.delivery_id AND o.type = k.type AND o.machine = k.machine"
            ),
            {"d": [k[0] for k in unique], "t": [k[1] for k in unique], "m": [k[2] for k in unique]},
        )
        await session.commit()
    return deleted.rowcount or 0


async def delete_tracked_rows(sessions: async_sessionmaker[AsyncSession], ids: Sequence[int]) -> None:
    """Outbox rows taken out by id (the sweep's settled, expired and orphaned rows)."""
    if not ids:
        return
    async with sessions() as session:
        await session.execute(text("DELETE FROM tracking_outbox WHERE id = ANY(:ids)"), {"ids": list(ids)})
        await session.commit()
