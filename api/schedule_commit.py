"""A database change and the Temporal Schedules it implies, kept in step (scheduled reports, automations' scheduled
triggers): the Schedules change first, then the transaction commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from temporalio.client import Client

from api.errors import ApiError
from api.scoping import Scope

ScheduleChange = Callable[[Client], Awaitable[object]]


def error_message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApiError) else str(exc) or type(exc).__name__


def unavailable(action: str, exc: Exception) -> ApiError:
    """Temporal refused or could not be reached: a 503 saying what could not be done."""
    return ApiError(503, f"could not {action}: {error_message(exc)}", code="unavailable")


async def commit_with_schedule(
    scope: Scope, request: Request, action: str, change: ScheduleChange | None, undo: ScheduleChange | None
) -> None:
    """Changes the Schedules, then commits: a change Temporal refuses rolls the database back (503, nothing
    written); a commit that fails undoes the change, so the two never disagree. No change: a plain commit,
    Temporal not needed."""
    if change is None:
        await scope.session.commit()
        return
    try:
        client: Client = await request.app.state.temporal.get()
        await change(client)
    except Exception as exc:
        await scope.session.rollback()
        raise unavailable(action, exc) from exc
    try:
        await scope.session.commit()
    except Exception:
        if undo is not None:
            await undo(client)
        raise
