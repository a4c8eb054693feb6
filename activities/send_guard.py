"""Sends that a cancellation (worker shutdown) must not cut between the provider's acceptance and its record."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def finish_even_if_cancelled(send: Coroutine[Any, Any, None]) -> None:
    """Let a message in flight be sent *and recorded* before a cancellation takes effect.

    Cancelling between the provider's acceptance and the delivery update would leave the row in doubt, and the
    retry would send that lead a second time; so the cancellation waits for this one message, then propagates.
    """
    task = asyncio.ensure_future(send)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
