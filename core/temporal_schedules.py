"""What every Temporal Schedule Herald keeps needs: its spec replaced with the paused state set, and deleted."""

from __future__ import annotations

from temporalio.client import Client, Schedule, ScheduleHandle, ScheduleUpdate, ScheduleUpdateInput
from temporalio.service import RPCError, RPCStatusCode


async def replace_schedule(handle: ScheduleHandle, schedule: Schedule, *, paused: bool, note: str) -> None:
    """Replaces the spec and the action, then pauses or unpauses (raises RPCError NOT_FOUND for a missing one)."""

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await handle.update(replace)
    # An update leaves the paused state as it was on some servers: set it explicitly.
    await (handle.pause(note=note) if paused else handle.unpause(note=note))


async def delete_schedule(client: Client, schedule_id: str) -> None:
    """Deletes the Schedule; one that is already gone is fine."""
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
