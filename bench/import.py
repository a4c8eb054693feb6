"""Import speed: rows/s of a 1M-row CSV through the API and ImportWorkflow, beside a raw COPY of the same file.

Generates a CSV (10 columns, 3% invalid rows, 5% duplicates of earlier rows), then in the same run:
  1. baseline: `COPY` of the file into a bare table of 10 text columns (no validation, no index);
  2. floor: PostgreSQL alone putting the same rows (cast in SQL, nothing validated) into `leads` with one
     `INSERT ... SELECT` from that bare table, then one `created` timeline event per lead -- what any import into this
     schema pays before a line of Python runs (in a scratch database, so the import below starts from empty);
  3. end to end: upload through the API, start the import, and time ImportWorkflow on a real worker process
     (`herald worker`) until it completes; the worker's peak RSS is read from /proc.
Targets (issue #5): >= 70,000 rows/s and >= 50% of the raw COPY; worker memory stays flat.

    .venv/bin/python bench/import.py [--rows 1000000] [--phones 0.3]
Uses DATABASE_URL's server when set (a new database on it, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from api.accounts import create_api_key, create_workspace
from core.db import async_url, create_engine, drop_database, run_migrations, session_factory
from core.embedded import start_embedded_postgres
from core.settings import Settings
from core.temporal import dev_server_binary, pydantic_data_converter
from domain.permissions import Role

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas", "Kwame", "Léa"]
LAST = ["Silva", "Okafor", "Müller", "Dubois", "Tanaka", "Smith", "García", "Rossi", "Kowalski", "Nguyen"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Soylent", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell"]
TITLES = ["CEO", "CTO", "Head of Marketing", "Buyer", "Engineer", "Sales Manager", "Analyst"]
COUNTRIES = ["US", "GB", "FR", "DE", "BR", "IN", "JP", "ES", "IT", "CA"]
TAGS = ["vip", "trial", "newsletter", "webinar", "partner"]
HEADER = [
    "Email",
    "First name",
    "Last name",
    "Company",
    "Job title",
    "Phone",
    "Country",
    "Score",
    "Tags",
    "Signup date",
]
MAPPING = ["email", "first_name", "last_name", "company", "job_title", "phone", "country", "score", "tags", "ignore"]


def generate(path: Path, rows: int, phone_share: float, seed: int = 7) -> dict[str, int]:
    """Writes the file; returns how many rows are invalid and duplicated (what the import should report)."""
    rnd = random.Random(seed)
    invalid = duplicates = 0
    start = date(2020, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            roll = rnd.random()
            email = f"person{i}@example{i % 97}.com"
            score = str(rnd.randint(0, 100))
            if roll < 0.03:
                invalid += 1
                if i % 2:
                    email = f"person{i}-at-example.com"
                else:
                    score = "high"
            elif roll < 0.08 and i > 1000:
                duplicates += 1
                j = i - rnd.randint(1, 1000)
                email = f"person{j}@example{j % 97}.com"
            country = rnd.choice(COUNTRIES)
            phone = f"+33 6 12 {rnd.randint(10, 99)} {rnd.randint(10, 99)} {rnd.randint(10, 99)}"  # valid mobiles
            writer.writerow(
                [
                    email,
                    rnd.choice(FIRST),
                    rnd.choice(LAST),
                    rnd.choice(COMPANIES),
                    rnd.choice(TITLES),
                    phone if rnd.random() < phone_share else "",
                    country,
                    score,
                    ",".join(rnd.sample(TAGS, rnd.randint(0, 2))),
                    (start + timedelta(days=rnd.randint(0, 1800))).isoformat(),
                ]
            )
    return {"invalid": invalid, "duplicates": duplicates}


async def raw_copy_and_floor(url: str, path: Path) -> tuple[float, float, float]:
    """Seconds of (raw COPY into a bare table, INSERT ... SELECT of those rows into leads, their created events)."""
    dsn = async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE bare ({', '.join(f'c{i} text' for i in range(10))})")
        started = time.perf_counter()
        await conn.copy_to_table("bare", source=str(path), format="csv", header=True)
        copy_seconds = time.perf_counter() - started
        workspace = await conn.fetchval(
            "INSERT INTO workspaces (name, slug, requires_approval, lead_statuses, default_region, created_at) "
            "VALUES ('floor', 'floor', false, '[\"new\"]', 'FR', now()) RETURNING id"
        )
        await conn.execute("SET synchronous_commit = off")
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO leads (workspace_id, email, first_name, last_name, company, job_title, phone, country, "
            "score, tags, status, timezone, source, locale, custom_fields, consent_email, consent_sms, consent_whatsapp, "
            "consent_details, created_at, updated_at) "
            "SELECT $1, c0, c1, c2, c3, c4, nullif(c5, ''), c6, CASE WHEN c7 ~ '^[0-9]+$' THEN c7::int ELSE 0 END, "
            "coalesce(string_to_array(nullif(c8, ''), ','), '{}'), 'new', 'Europe/Paris', 'import', '', '{}', "
            "'unknown', 'unknown', 'unknown', '{}', now(), now() "
            "FROM bare ON CONFLICT DO NOTHING",
            workspace,
        )
        insert_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at) "
            "SELECT $1, id, 'created', '{}', 'floor', now() FROM leads WHERE workspace_id = $1",
            workspace,
        )
        events_seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return copy_seconds, insert_seconds, events_seconds


def descendants(pid: int) -> list[int]:
    """The process's children, grandchildren... (the import's parser runs in a child process of the worker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def tree_rss_mb(pid: int) -> float:
    """Current resident memory of the process and its descendants, in MB."""
    total = 0.0
    for member in [pid, *descendants(pid)]:
        try:
            total += peak_rss_mb(member)[0]
        except FileNotFoundError:
            pass
    return total


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phones", type=float, default=0.3, help="share of rows with a phone number (parsed)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="herald-bench-import-")
    work = Path(tmp.name)
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        server, base = start_embedded_postgres(work, "postgres")
    url = async_url(base).set(database=f"herald_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    await run_migrations(url)
    csv_path = work / "leads.csv"
    started = time.perf_counter()
    expected = generate(csv_path, args.rows, args.phones)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f}s: {expected}")

    floor_url = (
        async_url(base).set(database=f"herald_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    )
    await run_migrations(floor_url)
    try:
        copy_seconds, insert_seconds, events_seconds = await raw_copy_and_floor(floor_url, csv_path)
    finally:
        await drop_database(floor_url)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=dev_server_binary(), data_converter=pydantic_data_converter
    )
    engine = create_engine(url)
    worker = None
    try:
        async with session_factory(engine)() as session:
            workspace = await create_workspace(session, "Bench")
            workspace.default_region = "FR"
            session.add(workspace)
            _key, secret = await create_api_key(session, workspace.id, "bench", Role.admin)
            await session.commit()
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        settings = Settings(
            database_url=url,
            temporal_address=env.client.service_client.config.target_host,
            temporal_task_queue=queue,
            data_dir=work,
            import_max_rows=5_000_000,
        )
        worker_env = {
            **os.environ,
            "DATABASE_URL": url,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "TEMPORAL_TASK_QUEUE": queue,
            "DATA_DIR": str(work),
            "IMPORT_MAX_ROWS": "5000000",
            "LOG_LEVEL": "WARNING",
        }
        herald = Path(sys.executable).parent / "herald"
        worker = subprocess.Popen([str(herald), "worker"], env=worker_env, stdout=subprocess.DEVNULL)
        await asyncio.sleep(3)
        idle_rss, _ = peak_rss_mb(worker.pid)

        from api.main import create_app

        app = create_app(settings, temporal_client=env.client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {secret}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers, timeout=600
            ) as client:
                started = time.perf_counter()
                with csv_path.open("rb") as handle:
                    upload = await client.post("/api/imports", files={"file": ("leads.csv", handle, "text/csv")})
                upload.raise_for_status()
                upload_seconds = time.perf_counter() - started
                import_id = upload.json()["id"]
                started = time.perf_counter()
                response = await client.post(f"/api/imports/{import_id}/start", json={"mapping": MAPPING})
                response.raise_for_status()
                peak = tree_peak = 0.0
                while True:
                    progress = (await client.get(f"/api/imports/{import_id}/progress")).json()
                    peak = max(peak, peak_rss_mb(worker.pid)[1])
                    tree_peak = max(tree_peak, tree_rss_mb(worker.pid))
                    if progress["status"] in ("completed", "failed", "cancelled"):
                        break
                    await asyncio.sleep(0.5)
                import_seconds = time.perf_counter() - started
        final_rss, peak = peak_rss_mb(worker.pid)
        dsn = async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        reasons = await conn.fetch(
            "SELECT regexp_replace(reasons->0->>1, '[:(].*', '') AS reason, count(*) FROM import_rejections "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
        )
        await conn.close()
        print("report reasons:", {r["reason"]: r["count"] for r in reasons})
        counts = progress["counts"]
        copy_rate = args.rows / copy_seconds
        import_rate = args.rows / import_seconds
        print(f"\nstatus {progress['status']}, counts {counts}")
        print(f"{'':<34}{'seconds':>9}{'rows/s':>12}")
        print(f"{'raw COPY into a bare table':<34}{copy_seconds:>9.1f}{copy_rate:>12,.0f}")
        floor_seconds = insert_seconds + events_seconds
        print(f"{'floor: INSERT..SELECT into leads':<34}{insert_seconds:>9.1f}{args.rows / insert_seconds:>12,.0f}")
        print(f"{'floor: + created events':<34}{floor_seconds:>9.1f}{args.rows / floor_seconds:>12,.0f}")
        print(f"{'upload + preview (API)':<34}{upload_seconds:>9.1f}")
        print(f"{'ImportWorkflow, start to end':<34}{import_seconds:>9.1f}{import_rate:>12,.0f}")
        print(f"import / raw COPY: {import_rate / copy_rate:.0%}   (targets: >= 70,000 rows/s and >= 50%)")
        print(
            f"floor / raw COPY: {copy_seconds / floor_seconds:.0%}; import / floor: {floor_seconds / import_seconds:.0%}"
        )
        print(
            f"worker RSS: idle {idle_rss:.0f} MB, peak {peak:.0f} MB, after {final_rss:.0f} MB; with the parser "
            f"process (sampled every 0.5 s): peak {tree_peak:.0f} MB"
        )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        await engine.dispose()
        await env.shutdown()
        await drop_database(url)
        if server is not None:
            server.cleanup()
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
