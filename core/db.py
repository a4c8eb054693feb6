"""Database engine, sessions and migrations (PostgreSQL only, via asyncpg)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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


# A pooled connection idle for longer than this is pinged before it is handed out (see ping_idle_connections).
IDLE_PING_SECONDS = 5.0


def create_engine(database_url: str, pool_size: int = 10, idle_ping_seconds: float = IDLE_PING_SECONDS) -> AsyncEngine:
    engine = create_async_engine(async_url(database_url), pool_size=pool_size, max_overflow=pool_size)
    ping_idle_connections(engine, idle_ping_seconds)
    return engine


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for the connections that need it: a pooled connection that sat idle for
    `idle_seconds` or more is pinged when it is checked out, and replaced by a new one if the ping fails (the pool
    retries the checkout on DisconnectionError), so a database restart or an idle-connection timeout costs no
    request or activity attempt.

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
    def _ping_if_idle(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        checked_in = record.info.get("checked_in_at")
        if checked_in is None or time.monotonic() - checked_in < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            dbapi_connection.ping()  # type: ignore[attr-defined]  # the asyncpg adapter's ping
        except Exception as error:
            raise DisconnectionError(f"idle connection lost: {error}") from error


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
