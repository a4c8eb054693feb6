"""Database engine, sessions and migrations (PostgreSQL only, via asyncpg)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"


def async_url(database_url: str) -> URL:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.get_backend_name()!r}")
    return url.set(drivername="postgresql+asyncpg")


# A pooled connection idle for longer than this is pinged before it is handed out (see guard_pooled_connections).
IDLE_PING_SECONDS = 5.0


def create_engine(database_url: str, pool_size: int = 10, idle_ping_seconds: float = IDLE_PING_SECONDS) -> AsyncEngine:
    engine = create_async_engine(async_url(database_url), pool_size=pool_size, max_overflow=pool_size)
    guard_pooled_connections(engine, idle_ping_seconds)
    return engine


def guard_pooled_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Checks a pooled connection as it is handed out, and replaces it by a new one (the pool retries the checkout
    on DisconnectionError) when it is unfit:

    - it is inside a transaction. The pool's reset on return rolls back only the transactions SQLAlchemy began; one
      begun on the asyncpg connection underneath (see `driver_connection`) and cut short by a cancellation stays
      open, and everything later done on the connection would run inside it, never committed, holding its locks
      (a cancelled import once made every later TRUNCATE of the suite deadlock). No round trip: asyncpg knows.
    - it sat idle for `idle_seconds` or more and does not answer a ping, so a database restart or an
      idle-connection timeout costs no request or activity attempt.

    Why not `pool_pre_ping`: asyncpg's ping is three round trips (BEGIN, `;`, ROLLBACK) on every checkout, about a
    third of a journey's database round trips (bench/journeys.py). A connection used in the last few seconds is
    not pinged: if the server went away meanwhile, its statement fails with a disconnect error, SQLAlchemy then
    invalidates every older connection of the pool, and the request fails once (activities retry)."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _remember_checkin(dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        if dbapi_connection is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _check_out(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        if _inside_transaction(dbapi_connection):
            raise DisconnectionError("pooled connection given back inside a transaction")
        checked_in = record.info.get("checked_in_at")
        if checked_in is None or time.monotonic() - checked_in < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            dbapi_connection.ping()  # type: ignore[attr-defined]  # the asyncpg adapter's ping
        except Exception as error:
            raise DisconnectionError(f"idle connection lost: {error}") from error


def _inside_transaction(dbapi_connection: DBAPIConnection) -> bool:
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is None:
        return False
    # _top_xact: the transaction asyncpg believes open, also one whose BEGIN was cancelled before its answer came.
    return bool(driver.is_in_transaction() or getattr(driver, "_top_xact", None) is not None)


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The asyncpg connection under a pooled one, for what SQLAlchemy cannot express (COPY, statements sent as
    they are). Left by an exception, a cancellation included, the connection is discarded rather than pooled:
    asyncpg may be mid-statement, or inside a transaction begun on it that SQLAlchemy would not roll back."""
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        try:
            yield driver
        except BaseException:
            await connection.invalidate()
            raise


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def autocommit(session: AsyncSession) -> AsyncConnection:
    """The session's connection in autocommit mode, each statement its own transaction: a write that is one
    statement costs one round trip, not three (BEGIN and COMMIT). Call it before anything else runs in the
    session; the pool gives the connection back in its normal mode."""
    return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


async def ensure_database(database_url: str) -> None:
    """Create the database named in the URL if it does not exist yet."""
    url = async_url(database_url)
    name = url.database or "postgres"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = $1", (name,))
            if exists.scalar() is None:
                await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()


async def drop_database(database_url: str) -> None:
    url = async_url(database_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await admin.dispose()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", async_url(database_url).render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def run_migrations_sync(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def run_migrations(database_url: str) -> None:
    """Bring the schema to the latest revision (run at start by `herald run`, `herald migrate` and tests)."""
    await ensure_database(database_url)
    await asyncio.to_thread(run_migrations_sync, database_url)
