"""`herald run` (what `make run` starts): embedded PostgreSQL, Temporal, sink, worker and API from one command."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "run"], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _wait_for_line(log: Path, needle: str, proc: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if needle in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"herald run exited with {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"{needle!r} not printed within {timeout}s:\n{log.read_text()[-3000:]}")


def _sign_in(client: httpx.Client) -> None:
    """Signs in as the first admin; later unsafe requests carry the CSRF token."""
    me = client.post("/api/auth/login", json={"email": "admin@localhost", "password": "stack-test-password"})
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "admin"
    client.headers["X-CSRF-Token"] = me.json()["csrf_token"]


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=60)


def fixed_port(taken: set[int]) -> int:
    """A free port below the kernel's ephemeral range (32768+ here). A port from `free_port()` is free only until
    something binds port 0 again: the Temporal dev server, which `herald run` starts before the API, picks its
    internal ports that way and once took the API's. Nothing is given a port below that range unasked."""
    low, high = 20000, 32767
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
            high = min(high, int(ranges.read().split()[0]) - 1)
    except (OSError, ValueError, IndexError):
        pass
    for port in random.sample(range(low, high), 200):
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    return free_port()


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_HOST")}
    taken: set[int] = set()
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        API_PORT=str(fixed_port(taken)),
        TEMPORAL_PORT=str(fixed_port(taken)),
        TEMPORAL_UI_PORT=str(fixed_port(taken)),
        SMTP_PORT=str(fixed_port(taken)),
        TEMPORAL_TASK_QUEUE="stack-test",
        ADMIN_PASSWORD="stack-test-password",
    )
    return env


def test_herald_run_starts_everything_runs_the_demo_campaign_and_stops_cleanly(stack_env, tmp_path):
    log = tmp_path / "run.log"
    proc = _start(stack_env, log)
    try:
        output = _wait_for_line(log, "Press Ctrl-C to stop.", proc)
        base = f"http://127.0.0.1:{stack_env['API_PORT']}"
        assert f"App:          {base}" in output
        assert f"Temporal UI:  http://127.0.0.1:{stack_env['TEMPORAL_UI_PORT']}" in output
        assert "Loaded the demo data" in output
        assert "Login:        admin@localhost / the password in ADMIN_PASSWORD" in output
        with httpx.Client(base_url=base, timeout=10) as client:
            health = client.get("/api/health").json()
            assert health["status"] == "ok", health
            assert client.get("/api/leads").status_code == 401
            _sign_in(client)
            assert client.get("/api/leads").json()["total"] == 1000
            [campaign] = client.get("/api/campaigns").json()
            assert campaign["status"] == "draft"
            run = client.post(f"/api/campaigns/{campaign['id']}/launch").json()
            assert run["workflow_id"] == f"campaign-{campaign['id']}-run-1"
            deadline = time.monotonic() + 120
            while (progress := client.get(f"/api/campaigns/{campaign['id']}/progress").json())["status"] != "completed":
                assert time.monotonic() < deadline, progress
                time.sleep(0.5)
            assert progress["percent"] == 100.0 and progress["sent"] + progress["skipped"] == 1000
            assert client.get("/api/outbox").json()["total"] == progress["sent"]
            assert client.get("/").status_code == 200
    finally:
        code = _stop(proc)
    assert code == 0
    assert "Herald stopped." in log.read_text()

    # A second start reuses the data: no second demo load, the finished run is still there.
    proc = _start(stack_env, log)
    try:
        output = _wait_for_line(log, "Press Ctrl-C to stop.", proc)
        assert "Loaded the demo data" not in output
        with httpx.Client(base_url=f"http://127.0.0.1:{stack_env['API_PORT']}", timeout=10) as client:
            _sign_in(client)
            [campaign] = client.get("/api/campaigns").json()
            assert campaign["status"] == "completed" and campaign["latest_run"]["sent"] == progress["sent"]
    finally:
        assert _stop(proc) == 0


def test_herald_demo_loads_once(database_url, db):
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "core.cli", "demo", "--leads", "120"]
    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "demo data loaded" in first.stdout
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "already there" in second.stdout


async def test_demo_data_is_realistic(db, tenant):
    from sqlalchemy import text

    from core.demo import load_demo

    async with db() as session:
        assert await load_demo(session, tenant.workspace_id) is True
        assert await load_demo(session, tenant.workspace_id) is False
        row = (
            await session.execute(
                text(
                    "SELECT count(*) AS leads, count(DISTINCT timezone) AS zones, count(DISTINCT status) AS statuses,"
                    " count(*) FILTER (WHERE phone LIKE '+%') AS phones,"
                    " count(DISTINCT split_part(timezone, '/', 1)) AS continents FROM leads"
                )
            )
        ).one()
        lists = (await session.execute(text("SELECT count(*) FROM list_members"))).scalar_one()
        campaign = (await session.execute(text("SELECT status FROM campaigns"))).scalar_one()
        kinds = dict((await session.execute(text("SELECT name, kind FROM lists"))).all())
        created = (await session.execute(text("SELECT count(*) FROM lead_events WHERE type = 'created'"))).scalar()
    assert row.leads == 1000 and row.phones == 1000
    assert row.zones >= 10 and row.continents >= 5 and row.statuses >= 5
    assert lists == 1000 and campaign == "draft"
    assert kinds == {"Newsletter subscribers": "static", "Hot leads": "dynamic"}
    assert created == 1000


def _herald(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_cli_creates_users_and_api_keys_that_work(app, tenant, database_url):
    from tests.conftest import client_for

    async with client_for(app, tenant.admin_key) as admin:
        slug = (await admin.get("/api/auth/me")).json()["workspace"]["slug"]
    key = _herald(database_url, "apikey", "create", "--workspace", slug, "--role", "viewer", "--name", "ci").strip()
    async with client_for(app, key) as ci:
        assert (await ci.get("/api/leads")).status_code == 200
        assert (await ci.post("/api/leads", json={"email": "x@example.com"})).status_code == 403

    out = _herald(
        database_url, "user", "create", "--email", "new@example.com", "--role", "marketer", "--workspace", slug
    )
    password = out.split("password: ")[1].split()[0]
    async with client_for(app) as browser:
        me = await browser.post("/api/auth/login", json={"email": "new@example.com", "password": password})
        assert me.status_code == 200 and me.json()["role"] == "marketer"
        out = _herald(
            database_url, "user", "password", "--email", "new@example.com", "--password", "reset-password-123"
        )
        assert "every session" in out
        assert (await browser.get("/api/leads")).status_code == 401
