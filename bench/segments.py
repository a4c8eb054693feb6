"""Filter-engine speed on a large lead store: p50/p95 of POST /api/lists/preview (count + sample + reachability).

Creates N leads (default 1,000,000) with COPY in a fresh database, then times five representative filters through
the API (in-process ASGI, real PostgreSQL) and, as the baseline in the same run, the bare count query of each filter
sent straight to PostgreSQL. Target: p95 <= 150 ms for the preview on 1M leads.

    .venv/bin/python bench/segments.py [--leads 1000000] [--repeat 20]
Uses DATABASE_URL's server when set (a new database on it, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from api.accounts import create_api_key, create_workspace
from core.db import async_url, create_engine, drop_database, run_migrations, session_factory
from core.embedded import start_embedded_postgres
from core.settings import Settings
from domain.filters import FilterContext, compile_filter, custom_field_index_sql, parse_filter
from domain.permissions import Role
from models.leads import CustomFieldDefinition, Lead

STATUSES = ["new"] * 40 + ["contacted"] * 25 + ["qualified"] * 15 + ["proposal"] * 8 + ["won"] * 7 + ["lost"] * 5
COUNTRIES = (
    ["US"] * 30
    + ["GB"] * 10
    + ["FR"] * 8
    + ["DE"] * 8
    + ["BR"] * 6
    + ["IN"] * 10
    + ["JP"] * 5
    + ["NG"] * 4
    + ["AU"] * 4
    + ["CA"] * 5
    + ["ES"] * 5
    + ["IT"] * 5
)
TAGS = ["newsletter", "webinar", "trial", "vip", "partner", "event", "churn-risk", "upsell"]

FILTERS = {
    "status + country": {
        "combinator": "and",
        "rules": [
            {"field": "status", "operator": "=", "value": "qualified"},
            {"field": "country", "operator": "=", "value": "FR"},
        ],
    },
    "tag + relative date": {
        "combinator": "and",
        "rules": [
            {"field": "tags", "operator": "containsAny", "value": ["vip"]},
            {"field": "created_at", "operator": "inLast", "value": {"amount": 30, "unit": "days"}},
        ],
    },
    "custom field range": {
        "combinator": "and",
        "rules": [{"field": "custom.revenue", "operator": "between", "value": [1000, 2000]}],
    },
    "OR of three groups": {
        "combinator": "or",
        "rules": [
            {
                "combinator": "and",
                "rules": [
                    {"field": "status", "operator": "=", "value": "won"},
                    {"field": "score", "operator": ">=", "value": 90},
                ],
            },
            {
                "combinator": "and",
                "rules": [
                    {"field": "country", "operator": "in", "value": ["JP", "AU"]},
                    {"field": "tags", "operator": "containsAny", "value": ["trial"]},
                ],
            },
            {
                "combinator": "and",
                "rules": [
                    {"field": "consent.sms", "operator": "=", "value": "granted"},
                    {"field": "score", "operator": "<", "value": 5},
                ],
            },
        ],
    },
    "engagement": {
        "combinator": "and",
        "rules": [
            {"field": "engagement.received", "operator": "inLast", "value": {"days": 14, "campaign_id": None}},
            {"field": "status", "operator": "in", "value": ["new", "contacted"]},
        ],
    },
}


def _lead_rows(workspace_id: int, count: int, now: datetime):
    rng = random.Random(7)
    for n in range(count):
        created = now - timedelta(days=rng.random() * 730)
        yield (
            workspace_id,
            f"lead{n}@example.com",
            f"+1415{n:07d}"[:12] if rng.random() < 0.6 else None,
            f"First{n % 5000}",
            f"Last{n % 7919}",
            rng.choice(STATUSES),
            "UTC",
            f'{{"revenue": {rng.randrange(0, 10_000)}}}',
            "granted" if rng.random() < 0.8 else "unknown",
            "granted" if rng.random() < 0.3 else "unknown",
            "unknown",
            f"Company {n % 20_000}",
            rng.randrange(0, 100),
            [t for t in TAGS if rng.random() < 0.12],
            rng.choice(COUNTRIES),
            created,
            created,
        )


async def seed(url: str, count: int) -> tuple[int, str]:
    engine = create_engine(url, pool_size=2)
    async with session_factory(engine)() as session:
        workspace = await create_workspace(session, f"Bench {uuid.uuid4().hex[:6]}")
        _key, secret = await create_api_key(session, workspace.id, "bench", Role.admin)
        session.add(CustomFieldDefinition(workspace_id=workspace.id, key="revenue", label="Revenue", type="number"))
        await session.commit()
        workspace_id = workspace.id
    await engine.dispose()
    dsn = async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "leads",
        records=_lead_rows(workspace_id, count, now),
        columns=[
            "workspace_id",
            "email",
            "phone",
            "first_name",
            "last_name",
            "status",
            "timezone",
            "custom_fields",
            "consent_email",
            "consent_sms",
            "consent_whatsapp",
            "company",
            "score",
            "tags",
            "country",
            "created_at",
            "updated_at",
        ],
    )
    copy_seconds = time.perf_counter() - started
    # A campaign with deliveries to ~20% of the leads over the last 60 days, for the engagement filter.
    await conn.execute(
        """
        WITH t AS (INSERT INTO templates (workspace_id, name, channel, subject, body_html, body_text, created_at, updated_at)
                   VALUES ($1, 'bench', 'email', 's', '', 'b', now(), now()) RETURNING id),
             c AS (INSERT INTO campaigns (workspace_id, name, status, template_id, created_at, updated_at)
                   SELECT $1, 'bench', 'completed', id, now(), now() FROM t RETURNING id),
             r AS (INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, failed, skipped, started_at)
                   SELECT $1, id, 1, 'bench-' || id, 'completed', 0, 0, 0, 0, now() FROM c RETURNING id)
        INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, created_at, updated_at, sent_at)
        SELECT $1, r.id, 0, l.id, 'email', 'sent', 1, now(), now(), now() - (random() * interval '60 days')
        FROM r, leads l WHERE l.workspace_id = $1 AND l.id % 5 = 0
        """,
        workspace_id,
    )
    await conn.execute(custom_field_index_sql(workspace_id, "revenue", "number"))  # what defining the field does
    await conn.execute("VACUUM ANALYZE leads")  # what autovacuum would have done on a table that size
    await conn.execute("VACUUM ANALYZE deliveries")
    await conn.close()
    print(f"seeded {count:,} leads with COPY in {copy_seconds:.1f} s ({count / copy_seconds:,.0f} rows/s)")
    return workspace_id, secret


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def measure(url: str, workspace_id: int, key: str, repeat: int) -> None:
    from api.main import create_app

    app = create_app(Settings(database_url=url, temporal_address="127.0.0.1:1"))
    dsn = async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    raw = await asyncpg.connect(dsn)
    ctx = FilterContext(workspace_id=workspace_id, now=datetime.now(UTC), custom_fields={"revenue": "number"})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            print(f"\n{'filter':<22} {'matches':>9} {'preview p50':>12} {'p95':>8}   {'bare count p50':>14} {'p95':>8}")
            for name, tree in FILTERS.items():
                api_times, raw_times, total = [], [], 0
                condition = compile_filter(parse_filter(tree), ctx)
                query = select(func.count()).select_from(Lead).where(Lead.workspace_id == workspace_id, condition)
                sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
                for attempt in range(repeat + 2):
                    started = time.perf_counter()
                    response = await client.post("/api/lists/preview", json={"filter": tree})
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    total = response.json()["total"]
                    started = time.perf_counter()
                    await raw.fetchval(sql)
                    raw_elapsed = time.perf_counter() - started
                    if attempt >= 2:  # two warm-up rounds
                        api_times.append(elapsed * 1000)
                        raw_times.append(raw_elapsed * 1000)
                p50, p95 = _percentiles(api_times)
                r50, r95 = _percentiles(raw_times)
                print(f"{name:<22} {total:>9,} {p50:>10.1f}ms {p95:>6.1f}ms   {r50:>12.1f}ms {r95:>6.1f}ms")
    await raw.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (its name is printed) to explain queries"
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    server = data_dir = None
    if not base:
        data_dir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
        server, base = start_embedded_postgres(data_dir, "postgres")
    url = async_url(base).set(database=f"herald_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    await run_migrations(url)
    try:
        workspace_id, key = await seed(url, args.leads)
        await measure(url, workspace_id, key, args.repeat)
    finally:
        if args.keep:
            print(f"kept database {url}")
            if data_dir is not None:  # the cluster stops with this process; its files stay
                print(f"embedded cluster kept in {data_dir}: start it with core.embedded.start_embedded_postgres")
        else:
            await drop_database(url)
        if server is not None:
            server.cleanup()
            if not args.keep:
                shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
