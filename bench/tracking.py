"""Tracking speed: sustained open-pixel and click-redirect requests per second, every event persisted.

The API runs as production runs it: `herald api` (one uvicorn process with uvloop and httptools, no access log),
on a fresh database holding a campaign's `--deliveries` sent deliveries. A load generator in this process keeps
`--connections` keep-alive HTTP/1.1 connections busy, one request in flight on each (a request, its whole response,
the next request: no pipelining), each request for a random delivery, with a desktop browser's User-Agent. It is an
asyncio protocol that writes pre-encoded requests and counts responses by status: 20 to 30 µs of CPU a request, a
third to a fifth of what the API process spends (both are printed). For `--seconds` each, in the same run:
  1. floor: pixels with a token that is not ours: answered 404 without touching the database (what the HTTP stack,
     the tracking fast path and the token check cost);
  2. opens: valid pixels: each records an event, and a delivery's first open stamps `opened_at`;
  3. clicks: valid click links: each records an event and redirects (302); a first click stamps `clicked_at`.
A response counts once it has been read whole; the API answers a tracking request only after its event is
committed (api/tracking_recorder.py: group commit, many requests' events in one statement and one commit; the
`events/commit` column is measured from the rows' transaction ids). Afterwards it checks that the events table
holds one event per pixel and redirect served, and that every delivery with a person's event is stamped.

Everything shares the machine's 2 cores: the API, the load generator, PostgreSQL (with its usual durability:
`fsync` and `synchronous_commit` as the server has them), and whatever else runs there. So each loop also prints
the CPU time per request of the API process, of the load generator, of this database's PostgreSQL backends (not
the WAL writer and other background processes), and of the whole machine, plus how many cores each kept busy: when
the whole machine is busier than the three together, someone else's work was sharing the cores, and the req/s are
low by that much. Compare opens and clicks with the floor of the same run; repeat runs on a busy machine.
Every request has the same browser User-Agent, whose classification (domain/tracking.py) is remembered after the
first: an agent never seen before costs the API about 25 µs more, once.
Target (issue #9): >= 2,000 requests/s on 2 cores with events persisted. The issue's other speed target, the
campaign report over 10M events, has its own bench: bench/report.py.

    .venv/bin/python bench/tracking.py [--deliveries 20000] [--seconds 15] [--connections 32]
Uses DATABASE_URL's server when set (a new database on it, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import text

from api.accounts import create_workspace
from core.db import async_url, create_engine, drop_database, run_migrations, session_factory
from core.embedded import start_embedded_postgres
from core.settings import Settings
from core.tracking_links import click_url, open_pixel_url
from models.campaigns import Campaign, CampaignRun

warnings.filterwarnings("ignore", message=r"(?s).*session\.exec", category=DeprecationWarning)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


async def sent_deliveries(url: str, count: int) -> list[int]:
    """A workspace with `count` leads and a campaign run that sent each of them an email an hour ago (an open that
    soon after the send would count as a machine's); the deliveries' ids."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            workspace = await create_workspace(session, "Bench")
            await session.flush()
            workspace_id = workspace.id
            await session.execute(
                text(
                    "INSERT INTO leads (workspace_id, email, first_name, last_name, status, timezone, consent_email, "
                    "consent_sms, consent_whatsapp, created_at, updated_at) SELECT :w, 'lead' || n || '@example.com', "
                    "'First' || n, 'Last' || n, 'new', 'UTC', 'granted', 'unknown', 'unknown', now(), now() "
                    "FROM generate_series(1, :n) AS n"
                ),
                {"w": workspace_id, "n": count},
            )
            campaign = Campaign(workspace_id=workspace_id, name="Tracked", status="completed")
            session.add(campaign)
            await session.flush()
            run = CampaignRun(
                workspace_id=workspace_id, campaign_id=campaign.id, number=1, workflow_id="bench-tracking", total=count
            )
            session.add(run)
            await session.flush()
            run_id = run.id
            rows = await session.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, sent_at, "
                    "created_at, updated_at) SELECT :w, :run, 0, id, 'email', 'sent', 1, now() - interval '1 hour', "
                    "now(), now() FROM leads WHERE workspace_id = :w ORDER BY id LIMIT :n RETURNING id"
                ),
                {"w": workspace_id, "run": run_id, "n": count},
            )
            ids = [row.id for row in rows]
            await session.commit()
            return ids
    finally:
        await engine.dispose()


async def count_events(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(text("SELECT type, count(*) AS n FROM events WHERE NOT machine GROUP BY type"))
            return {row.type: row.n for row in rows}
    finally:
        await engine.dispose()


class _Connection(asyncio.Protocol):
    """One keep-alive connection of the load generator: sends a request, reads its whole response, sends the next
    (one request in flight per connection, as a mail client or browser does: no pipelining)."""

    def __init__(self, requests: list[bytes], deadline: float, statuses: dict[int, int], done: asyncio.Future):
        self.requests = requests
        self.deadline = deadline
        self.statuses = statuses
        self.done = done
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(random.choice(self.requests))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buffer
            return
        at = buffer.find(b"content-length: ", 0, end)
        length = int(buffer[at + 16 : buffer.index(b"\r", at)]) if at >= 0 else 0
        if len(buffer) < end + 4 + length:
            self.buffer = buffer
            return
        status = int(buffer[9:12])
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.buffer = buffer[end + 4 + length :]  # empty: one request in flight
        if time.perf_counter() < self.deadline:
            self.transport.write(random.choice(self.requests))
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None) if exc is None else self.done.set_exception(exc)


def requests_for(paths: list[str]) -> list[bytes]:
    return [
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER}\r\nAccept: */*\r\n\r\n".encode()
        for path in paths
    ]


async def load(port: int, requests: list[bytes], seconds: float, connections: int) -> tuple[dict[int, int], float]:
    """Keep-alive GETs of random `requests` over `connections` connections for `seconds`: (responses by status,
    elapsed seconds)."""
    loop = asyncio.get_running_loop()
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    finished = []
    for _ in range(connections):
        done = loop.create_future()
        finished.append(done)
        await loop.create_connection(
            lambda done=done: _Connection(requests, started + seconds, statuses, done), "127.0.0.1", port
        )
    await asyncio.gather(*finished)
    return statuses, time.perf_counter() - started


# --- CPU accounting (Linux /proc) -------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _postgres_backends(database: str) -> list[int]:
    """The server processes serving `database` (their title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres:") and f" {database} ".encode() in title:
                pids.append(int(entry.name))
    return pids


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (every core, every process) since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / TICK


def cpu_snapshot(api_pid: int, database: str) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "api": _process_cpu(api_pid),
        "generator": usage.ru_utime + usage.ru_stime,
        "postgres": {pid: _process_cpu(pid) for pid in _postgres_backends(database)},
        "machine": _machine_busy(),
    }


def cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """CPU seconds between two snapshots: the API process, this process (the load generator), the database's
    backends, the whole machine (these and everything else running, other users' work included)."""
    used = {name: after[name] - before[name] for name in ("api", "generator", "machine")}
    used["postgres"] = sum(cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items())
    return used


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def transactions_since(url: str, last_event: int) -> tuple[int, int, int]:
    """(newest event id, events written after `last_event`, transactions that wrote them)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT coalesce(max(id), :last) AS newest, count(*) AS events, "
                        "count(DISTINCT xmin::text) AS commits FROM events WHERE id > :last"
                    ),
                    {"last": last_event},
                )
            ).one()
            return row.newest, row.events, row.commits
    finally:
        await engine.dispose()


async def stamped_deliveries(url: str) -> tuple[int, int]:
    """(deliveries stamped opened, deliveries with a human open or click event): equal when every stamp was written."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM deliveries WHERE opened_at IS NOT NULL) AS stamped, "
                        "(SELECT count(DISTINCT delivery_id) FROM events WHERE NOT machine) AS reported"
                    )
                )
            ).one()
            return row.stamped, row.reported
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="herald-bench-tracking-")
    work = Path(tmp.name)
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        server, base = start_embedded_postgres(work, "postgres")
    database = f"herald_bench_{uuid.uuid4().hex[:8]}"
    url = async_url(base).set(database=database).render_as_string(hide_password=False)
    await run_migrations(url)
    deliveries = await sent_deliveries(url, args.deliveries)
    port = free_port()
    settings = Settings(database_url=url, public_url=f"http://127.0.0.1:{port}")
    opens = [open_pixel_url(settings, d).split(str(port), 1)[1] for d in deliveries]
    clicks = [click_url(settings, d, "https://example.com/offer?x=1").split(str(port), 1)[1] for d in deliveries]
    forged = [path.replace(".gif", "x.gif") for path in opens[:1000]]
    print(f"{len(deliveries):,} sent deliveries ready; `herald api` on :{port}; {args.connections} connections")

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PUBLIC_URL": settings.public_url,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "DATA_DIR": str(work),
        "LOG_LEVEL": "WARNING",
    }
    # As production starts it (Dockerfile, docker-compose.yml, `herald run`): `herald api`.
    api = subprocess.Popen([sys.executable, "-m", "core.cli", "api"], env=env)
    try:
        for _ in range(300):  # until it listens
            if api.poll() is not None:
                raise RuntimeError(f"the API exited with code {api.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the API did not start")
        await load(port, requests_for(opens[:50] + forged[:50]), 2, args.connections)  # warm up: connections, plans
        baseline = await count_events(url)
        last_event, _, _ = await transactions_since(url, 0)
        print(
            f"\n{'':<40}{'requests':>10}{'req/s':>8}  {'statuses':<15}"
            f"{'CPU µs a request: API':>22}{'load gen.':>10}{'postgres':>9}{'machine':>8}  events/commit"
        )
        rates = {}
        served = {}
        for name, paths, ok in (
            ("floor: 404, forged pixel (no DB)", forged, 404),
            ("opens: pixel, event + stamp", opens, 200),
            ("clicks: redirect, event + stamp", clicks, 302),
        ):
            before = cpu_snapshot(api.pid, database)
            statuses, elapsed = await load(port, requests_for(paths), args.seconds, args.connections)
            cpu = cpu_used(before, cpu_snapshot(api.pid, database))
            done = sum(statuses.values())
            rates[name], served[name] = done / elapsed, statuses.get(ok, 0)
            last_event, events, commits = await transactions_since(url, last_event)
            per_commit = f"{events / commits:,.1f}" if commits else "-"
            micros = {part: 1e6 * seconds / done for part, seconds in cpu.items()}
            print(
                f"{name:<40}{done:>10,}{done / elapsed:>8,.0f}  {dict(sorted(statuses.items()))!s:<15}"
                f"{micros['api']:>22,.0f}{micros['generator']:>10,.0f}{micros['postgres']:>9,.0f}"
                f"{micros['machine']:>8,.0f}  {per_commit}"
            )
            print(
                f"{'':<40}cores busy: API {cpu['api'] / elapsed:.2f}, load generator {cpu['generator'] / elapsed:.2f}, "
                f"postgres (this database) {cpu['postgres'] / elapsed:.2f}, whole machine {cpu['machine'] / elapsed:.2f}"
                " of 2"
            )
        events = await count_events(url)
        new_opens = events.get("open", 0) - baseline.get("open", 0)
        new_clicks = events.get("click", 0) - baseline.get("click", 0)
        stamped, reported = await stamped_deliveries(url)
        print(
            f"events persisted: {new_opens:,} opens for {served['opens: pixel, event + stamp']:,} pixels served, "
            f"{new_clicks:,} clicks for {served['clicks: redirect, event + stamp']:,} redirects; "
            f"{stamped:,} deliveries stamped opened of {reported:,} with a person's event"
        )
        floor_rate = rates["floor: 404, forged pixel (no DB)"]
        for name in ("opens: pixel, event + stamp", "clicks: redirect, event + stamp"):
            print(f"{name.split(':')[0]}: {rates[name]:,.0f} req/s, {rates[name] / floor_rate:.0%} of the floor")
        print("target: >= 2,000 req/s with events persisted (2 cores, load generator and PostgreSQL included)")
    finally:
        api.terminate()
        api.wait(timeout=30)
        await drop_database(url)
        if server is not None:
            server.cleanup()
        tmp.cleanup()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=32)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
