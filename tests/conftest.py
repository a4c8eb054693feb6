"""Real services for the suite: one Temporal dev server, one fresh PostgreSQL database, one SMTP sink per session."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.smtp_pool import SmtpConfig, SmtpPool
from api.accounts import create_api_key, create_user, create_workspace, set_membership
from core.db import async_url, create_engine, drop_database, run_migrations, session_factory
from core.embedded import start_embedded_postgres
from core.settings import Settings
from core.smtp_sink import start_smtp_sink
from core.temporal import SEARCH_ATTRIBUTES, dev_server_binary, dynamic_config_args
from domain.permissions import Role
from workers.main_queue import build_worker

# Small enough that a 200-lead campaign in batches of 25 continues-as-new at least once.
CONTINUE_AS_NEW_EVENTS = 40
TABLES = [
    "audit_log",
    "login_failures",
    "login_sessions",
    "api_keys",
    "memberships",
    "users",
    "workspaces",
    "outbox_messages",
    "deliveries",
    "campaign_run_audience",
    "campaign_runs",
    "campaigns",
    "list_members",
    "lists",
    "templates",
    "leads",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for this run: on DATABASE_URL's server when set, else an embedded PostgreSQL."""
    base = os.environ.get("DATABASE_URL")
    server = None
    tmp = None
    if not base:
        tmp = tempfile.TemporaryDirectory(prefix="herald-pg-")
        server, base = start_embedded_postgres(Path(tmp.name), "postgres")
    name = f"herald_test_{uuid.uuid4().hex[:10]}"
    url = async_url(base).set(database=name).render_as_string(hide_password=False)
    await run_migrations(url)
    yield url
    await drop_database(url)
    if server is not None:
        server.cleanup()
        tmp.cleanup()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def db(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Empties every table before the test (ids keep growing, so workflow ids never repeat in a session). A lock
    held by something a previous test left behind fails this test after 30 s, instead of leaving a TRUNCATE waiting
    with half the tables locked for every later test to deadlock on."""
    async with sessions() as session:
        await session.execute(text("SET LOCAL lock_timeout = '30s'"))
        await session.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        await session.commit()
    return sessions


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=dev_server_binary(),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        # The default 5 s is too tight on a busy 2-core machine (first start migrates its SQLite schema).
        dev_server_startup_timeout=timedelta(seconds=60),
        dev_server_extra_args=[
            *dynamic_config_args(),
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={CONTINUE_AS_NEW_EVENTS}",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
async def smtp_port(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[int]:
    port = free_port()
    server = await start_smtp_sink(sessions, "127.0.0.1", port)
    yield port
    server.close()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(database_url: str, smtp_port: int, task_queue: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address="unused:7233",
        temporal_task_queue=task_queue,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        campaign_batch_size=25,
        data_dir=tmp_path,
        automation_webhooks_allow_private=True,  # the tests' webhook receivers listen on 127.0.0.1
    )


def make_smtp_pool(settings: Settings) -> SmtpPool:
    return SmtpPool(SmtpConfig(host=settings.smtp_target_host, port=settings.smtp_port, pool_size=4))


@asynccontextmanager
async def running_worker(client: Client, settings: Settings, sessions) -> AsyncIterator[Worker]:
    smtp = make_smtp_pool(settings)
    with ThreadPoolExecutor(max_workers=20) as executor:
        worker = build_worker(
            client,
            task_queue=settings.temporal_task_queue,
            sessions=sessions,
            smtp=smtp,
            mail_from=settings.mail_from,
            executor=executor,
            settings=settings,
        )
        async with worker:
            yield worker
    await smtp.close()


@pytest.fixture
async def worker(temporal_client: Client, settings: Settings, db) -> AsyncIterator[Worker]:
    async with running_worker(temporal_client, settings, db) as worker:
        yield worker


@dataclass
class Tenant:
    workspace_id: int
    admin_id: int
    admin_key: str


async def make_tenant(sessions, name: str, admin_email: str, password: str = "correct horse battery") -> Tenant:
    """A workspace with an admin user and an admin API key."""
    async with sessions() as session:
        workspace = await create_workspace(session, name)
        admin = await create_user(session, admin_email, password, "Admin")
        await set_membership(session, admin.id, workspace.id, Role.admin)
        _key, secret = await create_api_key(session, workspace.id, "tests", Role.admin, created_by=admin.id)
        await session.commit()
        return Tenant(workspace.id, admin.id, secret)


async def make_key(sessions, workspace_id: int, role: Role | str) -> str:
    async with sessions() as session:
        _key, secret = await create_api_key(session, workspace_id, f"{role}-key", role)
        await session.commit()
        return secret


@pytest.fixture
async def tenant(db) -> Tenant:
    return await make_tenant(db, "Acme", "admin@acme.test")


@pytest.fixture
async def app(settings: Settings, temporal_client: Client, db):
    from api.main import create_app

    app = create_app(settings, temporal_client=temporal_client)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client_for(app, api_key: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test", headers=headers) as client:
        yield client


@pytest.fixture
async def api(app, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client acting as the tenant's admin (through an API key)."""
    async with client_for(app, tenant.admin_key) as client:
        yield client


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An in-process S3-protocol server (moto): the S3 storage backend is tested against it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
