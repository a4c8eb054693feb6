"""The pool's checks (core.db.guard_pooled_connections): an idle connection the server dropped is replaced before
anyone uses it, a connection in use a moment ago is not pinged, and a connection given back inside a transaction is
never handed out again; core.db.driver_connection discards a connection left by a cancellation."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.db import create_engine, driver_connection
from tests.helpers import eventually


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


@pytest.mark.parametrize("begin", ["asyncpg transaction", "BEGIN sent as such"])
async def test_a_connection_given_back_inside_a_transaction_is_not_handed_out_again(database_url: str, begin: str):
    """The pool's reset rolls back only what SQLAlchemy began: without the check, the next user of the connection
    would work inside this transaction, its commits never reaching anyone else."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            if begin == "BEGIN sent as such":
                await driver.execute("BEGIN")
            else:
                await driver.transaction().start()
            first = driver.get_server_pid()
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver.get_server_pid() != first
            assert not driver.is_in_transaction()
    finally:
        await engine.dispose()


async def test_a_task_cancelled_inside_driver_connection_leaves_no_transaction_open(database_url: str):
    """Cancelled at random points of its transactions (a cancelled import, a worker stopping): about a third of the
    cancellations used to leave the server inside a transaction asyncpg had begun, on a connection back in the pool."""
    engine = create_engine(database_url, pool_size=1)
    admin = create_engine(database_url, pool_size=1)
    pids: list[int] = []
    inside = asyncio.Event()

    async def transactions_until_cancelled() -> None:
        async with driver_connection(engine) as driver:
            pids.append(driver.get_server_pid())
            inside.set()
            while True:
                async with driver.transaction():
                    await driver.execute("SELECT 1")
                    await driver.execute("SELECT 2")

    async def ended_or_idle(pid: int) -> bool:
        async with admin.connect() as connection:
            state = (
                await connection.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :p"), {"p": pid})
            ).scalar_one_or_none()
        return state in (None, "idle")

    rng = random.Random(7)
    try:
        for _ in range(40):
            inside.clear()
            task = asyncio.create_task(transactions_until_cancelled())
            await inside.wait()
            await asyncio.sleep(rng.random() * 0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await eventually(lambda pid=pids[-1]: ended_or_idle(pid), timeout=10, interval=0.05)
    finally:
        await engine.dispose()
        await admin.dispose()
