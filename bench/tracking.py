"""Tracking speed: sustained open-pixel and click-redirect requests per second, every event persisted.

The API (`herald api`'s app under uvicorn, `--workers` processes) serves a campaign's sent deliveries; a light
keep-alive HTTP/1.1 load generator (raw asyncio streams, `--connections` of them, in this process) requests, for
`--seconds` each, in the same run:
  1. floor: pixels with a token that is not ours: the same route answers 404 without touching the database
     (what the HTTP stack and routing cost);
  2. opens: valid pixels of random deliveries, a browser User-Agent: each records an event and stamps the delivery;
  3. clicks: valid click links: each records an event and redirects (302).
It then checks that the events table holds one row per successful request.
Target (issue #9): >= 2,000 requests/s on 2 cores with events persisted. The load generator runs on the same cores.

    .venv/bin/python bench/tracking.py [--deliveries 20000] [--seconds 15] [--connections 32] [--workers 1]
Uses DATABASE_URL's server when set (a new database on it, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

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


async def load(port: int, paths: list[str], seconds: float, connections: int) -> tuple[int, dict[int, int], float]:
    """Keep-alive GETs of random `paths` over `connections` connections for `seconds`: (responses, by status,
    elapsed seconds)."""
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                path = random.choice(paths)
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER}\r\nAccept: */*\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return sum(statuses.values()), statuses, elapsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def main(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="herald-bench-tracking-")
    work = Path(tmp.name)
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        server, base = start_embedded_postgres(work, "postgres")
    url = async_url(base).set(database=f"herald_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    await run_migrations(url)
    deliveries = await sent_deliveries(url, args.deliveries)
    port = free_port()
    settings = Settings(database_url=url, public_url=f"http://127.0.0.1:{port}")
    opens = [open_pixel_url(settings, d).split(str(port), 1)[1] for d in deliveries]
    clicks = [click_url(settings, d, "https://example.com/offer?x=1").split(str(port), 1)[1] for d in deliveries]
    forged = [path.replace(".gif", "x.gif") for path in opens[:1000]]
    print(f"{len(deliveries):,} sent deliveries ready; API on :{port} with {args.workers} worker(s)")

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PUBLIC_URL": settings.public_url,
        "DATA_DIR": str(work),
        "LOG_LEVEL": "WARNING",
    }
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    try:
        for _ in range(200):  # until it listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the API did not start")
        await load(port, opens[:50] + forged[:50], 2, args.connections)  # warm up: connections, plans, caches
        baseline = await count_events(url)
        print(f"\n{'':<44}{'requests':>10}{'seconds':>9}{'req/s':>9}  statuses")
        rates = {}
        for name, paths in (
            ("floor: 404 for a forged pixel (no DB)", forged),
            ("opens: pixel, event + stamp", opens),
            ("clicks: redirect, event + stamp", clicks),
        ):
            done, statuses, elapsed = await load(port, paths, args.seconds, args.connections)
            rates[name] = done / elapsed
            print(f"{name:<44}{done:>10,}{elapsed:>9.1f}{done / elapsed:>9,.0f}  {dict(sorted(statuses.items()))}")
            if name.startswith("opens"):
                recorded_opens = statuses.get(200, 0)
            elif name.startswith("clicks"):
                recorded_clicks = statuses.get(302, 0)
        events = await count_events(url)
        new_opens = events.get("open", 0) - baseline.get("open", 0)
        new_clicks = events.get("click", 0) - baseline.get("click", 0)
        print(
            f"events persisted: {new_opens:,} opens for {recorded_opens:,} pixels served, "
            f"{new_clicks:,} clicks for {recorded_clicks:,} redirects"
        )
        floor_rate = rates["floor: 404 for a forged pixel (no DB)"]
        for name in ("opens: pixel, event + stamp", "clicks: redirect, event + stamp"):
            print(f"{name.split(':')[0]}: {rates[name]:,.0f} req/s, {rates[name] / floor_rate:.0%} of the floor")
        print("target: >= 2,000 req/s with events persisted (2 cores, load generator included)")
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
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
