"""The pool's disconnect handling (core.db.ping_idle_connections): an idle connection the server dropped is replaced
before anyone uses it; a connection in use a moment ago is not pinged."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.db import create_engine


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def _terminate(engine, pid: int) -> None:
    async with engine.connect() as conn:
        killed = (await conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})).scalar_one()
        assert killed


async def test_an_idle_connection_the_server_dropped_is_replaced_at_checkout(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, idle_ping_seconds=0)
    admin = create_engine(database_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        await _terminate(admin, first)
        # The pooled connection is dead: the checkout's ping finds out and the pool connects again.
        second = await _backend_pid(engine)
        assert second != first
        assert await _backend_pid(engine) == second  # and keeps the new one
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(database_url: str) -> None:
    """The other side of the trade: no ping within idle_ping_seconds, so a statement on a connection dropped in that
    window fails once, and the pool then replaces its connections."""
    engine = create_engine(database_url, pool_size=1, idle_ping_seconds=3600)
    admin = create_engine(database_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        await _terminate(admin, first)
        with pytest.raises(DBAPIError) as failed:
            await _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()
        await admin.dispose()
