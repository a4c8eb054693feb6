"""Polling helpers shared by tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from activities.smtp_pool import SmtpPool

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 60, interval: float = 0.2) -> T:
    """Await check() until it returns a truthy value; fail with the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def wait_for_status(api: httpx.AsyncClient, campaign_id: int, *statuses: str, timeout: float = 90) -> dict:
    seen: list = []

    async def check():
        response = await api.get(f"/api/campaigns/{campaign_id}/progress")
        seen[:] = [response.status_code, response.json()]
        return seen[1] if response.status_code == 200 and seen[1]["status"] in statuses else None

    try:
        return await eventually(check, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"campaign {campaign_id} never reached {statuses}; last answer: {seen}") from exc


async def outbox_rows(sessions, run_id: int) -> list:
    """Sink messages of one run, found by the Message-ID the sender derives from the idempotency key."""
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT rcpt_to, subject, body_text, message_id FROM outbox_messages WHERE message_id LIKE :p"),
            {"p": f"<herald-r{run_id}-%"},
        )
        return list(rows)


async def delivery_counts(sessions, run_id: int) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT status, count(*) FROM deliveries WHERE run_id = :r GROUP BY status"), {"r": run_id}
        )
        return {status: n for status, n in rows}


class CancelAfterAccepted(SmtpPool):
    """The real pool; has the activity cancelled right after the server accepted the n-th message."""

    def __init__(self, real: SmtpPool, env: ActivityEnvironment, after: int):
        super().__init__(real.config)
        self.real, self.env, self.after, self.accepted = real, env, after, 0

    async def send(self, message, **kwargs) -> None:
        await self.real.send(message, **kwargs)
        self.accepted += 1
        if self.accepted == self.after:
            self.env.cancel()
            await asyncio.sleep(0)  # the cancellation lands here, before the delivery is marked
