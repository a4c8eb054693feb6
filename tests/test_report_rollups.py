"""The report's rollups (api/report_rollups.py, migration 0012) give exactly what the statements over every event and
delivery gave: checked against those statements (kept here as the reference) after every step of a run's life —
events folded or still in the tail, late events, a transaction that commits an older id after a newer one, stamps
and marks of deliveries, a lead's new country, a lead's erasure, a deleted run."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import text

from api import report_rollups as rollups
from domain.devices import DEVICES, device_of, device_sql
from domain.metrics import EventGroup, Funnel, add_events
from tests.conftest import make_tenant
from tests.factories import make_campaign, make_leads
from tests.test_campaign_report import FLOW, IPHONE, WINDOWS

IPAD = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
AGENTS = [IPHONE, WINDOWS, IPAD, ANDROID_TABLET, "GoogleImageProxy", "", None]
URLS = [f"https://example.com/{page}" for page in ("a", "b", "c")]

# --- The reference: the report's statements before the rollups ----------------------------------------------------

EVENT_COLUMNS = """
    count(*) AS n,
    count(DISTINCT coalesce(metadata->>'conversion_id', id::text)) AS distinct_n,
    count(DISTINCT lead_id) FILTER (WHERE metadata->>'permanent' = 'true') AS permanent,
    coalesce(sum(CASE WHEN metadata->>'value' ~ '^-?[0-9]+(\\.[0-9]+)?$'
                      THEN (metadata->>'value')::numeric END), 0) AS value
"""
REFERENCE = {
    "deliveries": """
        SELECT step, variant, count(*) FILTER (WHERE status = 'sent') AS sent,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'sent' AND opened_at IS NOT NULL) AS opened,
               count(*) FILTER (WHERE status = 'sent' AND clicked_at IS NOT NULL) AS clicked
        FROM deliveries WHERE run_id = :r GROUP BY step, variant""",
    "events": f"SELECT step, variant, type, machine, {EVENT_COLUMNS} FROM events WHERE run_id = :r "
    "GROUP BY step, variant, type, machine",
    "conversions": "SELECT count(DISTINCT coalesce(metadata->>'conversion_id', id::text)) AS n FROM events "
    "WHERE run_id = :r AND type = 'conversion'",
    "links": """
        SELECT url, count(*) AS clicks, count(DISTINCT delivery_id) AS unique_clicks
        FROM events WHERE run_id = :r AND type = 'click' AND NOT machine AND url IS NOT NULL
        GROUP BY url ORDER BY clicks DESC, url LIMIT 200""",
    "by_channel": """
        SELECT channel AS key, count(*) AS sent, count(opened_at) AS opened, count(clicked_at) AS clicked
        FROM deliveries WHERE run_id = :r AND status = 'sent' GROUP BY channel ORDER BY sent DESC, channel""",
    "by_country": """
        SELECT coalesce(l.country, '') AS key, count(*) AS sent, count(d.opened_at) AS opened,
               count(d.clicked_at) AS clicked
        FROM deliveries d JOIN leads l ON l.id = d.lead_id
        WHERE d.run_id = :r AND d.status = 'sent' GROUP BY 1 ORDER BY sent DESC, key LIMIT 50""",
    "by_device": f"""
        SELECT {device_sql("metadata->>'user_agent'")} AS device,
               count(DISTINCT delivery_id) FILTER (WHERE type = 'open') AS opened,
               count(DISTINCT delivery_id) FILTER (WHERE type = 'click') AS clicked
        FROM events WHERE run_id = :r AND NOT machine AND type IN ('open', 'click') GROUP BY 1""",
    "series": """
        SELECT date_trunc(:bucket, occurred_at AT TIME ZONE :tz) AS at,
               count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks
        FROM events WHERE run_id = :r AND NOT machine AND type IN ('open', 'click')
        GROUP BY 1 ORDER BY 1""",
}
OVERVIEW_REFERENCE = {
    "sent": """
        SELECT count(*) AS sent, count(opened_at) AS opened, count(clicked_at) AS clicked
        FROM deliveries WHERE workspace_id = :w AND status = 'sent' AND sent_at >= :since""",
    "events": f"SELECT type, machine, {EVENT_COLUMNS} FROM events WHERE workspace_id = :w AND occurred_at >= :since "
    "GROUP BY type, machine",
    "trend": """
        WITH days AS (
            SELECT generate_series(date_trunc('day', :since AT TIME ZONE :tz),
                                   date_trunc('day', now() AT TIME ZONE :tz), interval '1 day') AS day
        ), sent AS (
            SELECT date_trunc('day', sent_at AT TIME ZONE :tz) AS day, count(*) AS n FROM deliveries
            WHERE workspace_id = :w AND status = 'sent' AND sent_at >= :since GROUP BY 1
        ), engaged AS (
            SELECT date_trunc('day', occurred_at AT TIME ZONE :tz) AS day,
                   count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks
            FROM events WHERE workspace_id = :w AND occurred_at >= :since AND NOT machine GROUP BY 1
        )
        SELECT to_char(days.day, 'YYYY-MM-DD') AS day, coalesce(sent.n, 0) AS sent,
               coalesce(engaged.opens, 0) AS opens, coalesce(engaged.clicks, 0) AS clicks
        FROM days LEFT JOIN sent ON sent.day = days.day LEFT JOIN engaged ON engaged.day = days.day
        ORDER BY days.day""",
    "top": """
        SELECT c.id AS campaign_id, count(*) AS sent, count(d.opened_at) AS opened, count(d.clicked_at) AS clicked
        FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id JOIN campaigns c ON c.id = r.campaign_id
        WHERE d.workspace_id = :w AND d.status = 'sent' AND d.sent_at >= :since
        GROUP BY c.id, c.name ORDER BY sent DESC, c.id LIMIT 5""",
}
FUNNEL = ("sent", "failed", "hard_bounces", "unique_opens", "total_opens", "machine_opens", "unique_clicks",
          "total_clicks", "unsubscribes", "bounces", "complaints", "conversions")  # fmt: skip


def _funnel(deliveries, events) -> Funnel:
    funnel = Funnel()
    for row in deliveries:
        funnel.sent += row.sent
        funnel.failed += row.failed
        funnel.unique_opens += row.opened
        funnel.unique_clicks += row.clicked
    for row in events:
        add_events(funnel, EventGroup(row.type, row.machine, row.n, row.distinct_n, row.permanent, float(row.value)))
    return funnel


def _totals(funnel: Funnel) -> dict:
    return {name: getattr(funnel, name) for name in FUNNEL} | {"revenue": round(funnel.revenue, 2)}


async def reference_report(db, run_id: int, bucket: str, tz: str = "UTC") -> dict:
    async with db() as session:
        rows = {
            name: (await session.execute(text(sql), {"r": run_id, "bucket": bucket, "tz": tz})).all()
            for name, sql in REFERENCE.items()
        }
    per_step: dict = {}
    for row in rows["deliveries"]:
        per_step.setdefault((row.step, row.variant), [[], []])[0].append(row)
    for row in rows["events"]:
        per_step.setdefault((row.step if row.step is not None else -1, row.variant), [[], []])[1].append(row)
    funnel = _funnel(rows["deliveries"], rows["events"])
    funnel.conversions = rows["conversions"][0].n
    devices = {row.device: row for row in rows["by_device"]}
    return {
        "totals": _totals(funnel),
        "variants": {
            f"{step}/{variant}": {k: v for k, v in _totals(_funnel(*parts)).items() if k != "revenue"}
            for (step, variant), parts in per_step.items()
            if variant
        },
        "links": [dict(row._mapping) for row in rows["links"]],
        "series": [(row.at.isoformat()[:16], row.opens, row.clicks) for row in rows["series"]],
        "by_channel": [tuple(row) for row in rows["by_channel"]],
        "by_country": [tuple(row) for row in rows["by_country"]],
        "by_device": [(d, devices[d].opened, devices[d].clicked) for d in DEVICES if d in devices],
    }


def report_view(report: dict) -> dict:
    return {
        "totals": {name: report["totals"][name] for name in FUNNEL}
        | {"revenue": round(report["totals"]["revenue"], 2)},
        "variants": {
            f"{step['index']}/{variant['variant']}": {name: variant["funnel"][name] for name in FUNNEL}
            for step in report["steps"]
            for variant in step["variants"]
        },
        "links": report["links"],
        "series": [(p["at"][:16], p["opens"], p["clicks"]) for p in report["series"]],
        "by_channel": [(r["key"], r["sent"], r["unique_opens"], r["unique_clicks"]) for r in report["by_channel"]],
        "by_country": [(r["key"], r["sent"], r["unique_opens"], r["unique_clicks"]) for r in report["by_country"]],
        "by_device": [(r["device"], r["opened"], r["clicked"]) for r in report["by_device"]],
    }


async def reference_overview(db, workspace_id: int, since: datetime, tz: str = "UTC") -> dict:
    params = {"w": workspace_id, "since": since, "tz": tz}
    async with db() as session:
        sent = (await session.execute(text(OVERVIEW_REFERENCE["sent"]), params)).one()
        events = (await session.execute(text(OVERVIEW_REFERENCE["events"]), params)).all()
        trend = (await session.execute(text(OVERVIEW_REFERENCE["trend"]), params)).all()
        top = (await session.execute(text(OVERVIEW_REFERENCE["top"]), params)).all()
    sent = SimpleNamespace(sent=sent.sent, failed=0, opened=sent.opened, clicked=sent.clicked)
    return {
        "totals": _totals(_funnel([sent], events)),
        "trend": [tuple(row) for row in trend],
        "top": [tuple(row) for row in top],
    }


def overview_view(overview: dict) -> dict:
    totals = overview["totals"]
    return {
        "totals": {name: totals[name] for name in FUNNEL} | {"revenue": round(totals["revenue"], 2)},
        "trend": [(d["day"], d["sent"], d["opens"], d["clicks"]) for d in overview["trend"]],
        "top": [
            (c["campaign_id"], c["sent"], round(c["open_rate"] * c["sent"]), round(c["click_rate"] * c["sent"]))
            for c in overview["top_campaigns"]
        ],
    }


# --- A run whose life the tests play ---------------------------------------------------------------------------------


class Run:
    """A two-variant run of `size` leads (some failed, one still sending), and a way to add what tracking adds."""

    def __init__(self, db, workspace_id: int, campaign_id: int, run_id: int, deliveries: dict, rng: random.Random):
        self.db, self.workspace_id, self.campaign_id, self.run_id = db, workspace_id, campaign_id, run_id
        self.deliveries = deliveries  # delivery id -> (lead, step, variant)
        self.rng = rng

    @classmethod
    async def create(cls, db, workspace_id: int, size: int, seed: int, name: str = "Rolled up") -> Run:
        rng = random.Random(seed)
        countries = ["FR", "DE", "US", ""]
        leads = await make_leads(db, size, prefix=f"{name.replace(' ', '')}{seed}-", workspace_id=workspace_id)
        campaign_id = await make_campaign(db, None, workspace_id=workspace_id, name=name)
        deliveries = {}
        async with db() as session:
            for lead in leads:
                await session.execute(
                    text("UPDATE leads SET country = :c WHERE id = :id"), {"c": rng.choice(countries), "id": lead}
                )
            run_id = (
                await session.execute(
                    text(
                        "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, "
                        "sent, failed, skipped, flow) VALUES (:w, :c, 1, :wf, 'completed', :n, :n, 0, 0, "
                        "CAST(:f AS jsonb)) RETURNING id"
                    ),
                    {"w": workspace_id, "c": campaign_id, "wf": f"rollups-{campaign_id}", "n": size,
                     "f": json.dumps(FLOW)},
                )
            ).scalar_one()  # fmt: skip
            sent_at = datetime.now(UTC) - timedelta(days=3)
            for n, lead in enumerate(leads):
                step, variant = (1, "a") if n % 2 == 0 else (2, "b")
                status = "failed" if n % 7 == 3 else "sending" if n == size - 1 else "sent"
                delivery = (
                    await session.execute(
                        text(
                            "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, variant, "
                            "attempts, sent_at) VALUES (:w, :r, :s, :l, 'email', :status, :v, 1, :at) RETURNING id"
                        ),
                        {"w": workspace_id, "r": run_id, "s": step, "l": lead, "status": status, "v": variant,
                         "at": sent_at if status == "sent" else None},
                    )
                ).scalar_one()  # fmt: skip
                deliveries[delivery] = (lead, step, variant)
            await session.commit()
        return cls(db, workspace_id, campaign_id, run_id, deliveries, rng)

    async def add_events(self, count: int, *, session=None, at: datetime | None = None) -> None:
        """`count` random events as the writers add them (a person's open or click stamps the delivery)."""
        own = session is None
        session = session or self.db()
        try:
            for _ in range(count):
                delivery = self.rng.choice(list(self.deliveries))
                await self.event(session, delivery, at=at)
            if own:
                await session.commit()
        finally:
            if own:
                await session.close()

    async def event(self, session, delivery: int, *, at: datetime | None = None, kind: str | None = None) -> None:
        rng = self.rng
        lead, step, variant = self.deliveries[delivery]
        kind = (
            kind
            or rng.choices(["open", "click", "unsubscribe", "bounce", "complaint", "conversion"], [50, 30, 3, 6, 2, 9])[
                0
            ]
        )
        machine = kind in ("open", "click") and rng.random() < 0.2
        meta: dict = {}
        url = None
        if kind in ("open", "click"):
            agent = rng.choice(AGENTS)
            if agent is not None:
                meta["user_agent"] = agent
            url = rng.choice(URLS) if kind == "click" else None
        elif kind == "bounce":
            meta["permanent"] = rng.random() < 0.6
        elif kind == "conversion":
            meta = {"conversion_id": f"conv-{rng.randrange(6)}", "value": rng.choice(["10", "2.5", "x"])}
        occurred = at or datetime.now(UTC) - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        await session.execute(
            text(
                "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, "
                "type, machine, url, occurred_at, metadata) VALUES (:w, :d, :l, :c, :r, :s, :v, 'email', :t, :m, "
                ":u, :at, CAST(:meta AS jsonb))"
            ),
            {"w": self.workspace_id, "d": delivery, "l": lead, "c": self.campaign_id, "r": self.run_id, "s": step,
             "v": variant, "t": kind, "m": machine, "u": url, "at": occurred, "meta": json.dumps(meta)},
        )  # fmt: skip
        if kind in ("open", "click") and not machine:
            await session.execute(
                text(
                    "UPDATE deliveries SET opened_at = coalesce(opened_at, now()), clicked_at = CASE WHEN :click "
                    "THEN coalesce(clicked_at, now()) ELSE clicked_at END WHERE id = :id AND (opened_at IS NULL "
                    "OR (:click AND clicked_at IS NULL))"
                ),
                {"id": delivery, "click": kind == "click"},
            )


async def assert_report_is_exact(api, db, run: Run) -> None:
    async with db() as session:
        tz = (
            await session.execute(text("SELECT timezone FROM workspaces WHERE id = :w"), {"w": run.workspace_id})
        ).scalar_one()
    for bucket in ("hour", "day"):
        response = await api.get(f"/api/campaigns/{run.campaign_id}/report", params={"bucket": bucket})
        assert response.status_code == 200, response.text
        assert report_view(response.json()) == await reference_report(db, run.run_id, bucket, tz)
    overview = (await api.get("/api/analytics/overview", params={"days": 30})).json()
    since = datetime.fromisoformat(overview["since"])
    assert overview_view(overview) == await reference_overview(db, run.workspace_id, since, tz)


async def folded_to(db, workspace_id: int) -> int:
    async with db() as session:
        found = await session.execute(
            text("SELECT folded_to FROM rollup_state WHERE workspace_id = :w"), {"w": workspace_id}
        )
        return found.scalar_one_or_none() or 0


async def tail_size(db, workspace_id: int) -> int:
    async with db() as session:
        return (
            await session.execute(
                text(
                    "SELECT count(*) FROM events WHERE workspace_id = :w AND id > "
                    "(SELECT coalesce(max(folded_to), 0) FROM rollup_state WHERE workspace_id = :w)"
                ),
                {"w": workspace_id},
            )
        ).scalar_one()


# --- Tests -----------------------------------------------------------------------------------------------------------


async def test_device_rules_are_the_same_in_the_database(db):
    agents = [*AGENTS, "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile", "CrOS"]
    async with db() as session:
        for agent in agents:
            found = (await session.execute(text("SELECT rollup_device(:a)"), {"a": agent})).scalar_one()
            assert found == device_of(agent), agent


def test_the_overview_period_starts_at_a_quarter_hour():
    now = datetime(2026, 11, 20, 10, 7, 30, 5, tzinfo=UTC)
    assert rollups.period_start(now, 1) == datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    assert rollups.period_start(datetime(2026, 11, 20, 10, 45, tzinfo=UTC), 30) == datetime(
        2026, 10, 21, 10, 45, tzinfo=UTC
    )


async def test_folds_and_tail_give_the_numbers_of_every_event(api, db, tenant):
    async with db() as session:  # UTC+05:45: hours and days start at a quarter-hour, not at an hour, of UTC
        await session.execute(
            text("UPDATE workspaces SET timezone = 'Asia/Kathmandu' WHERE id = :w"), {"w": tenant.workspace_id}
        )
        await session.commit()
    run = await Run.create(db, tenant.workspace_id, 24, seed=1)
    other = await Run.create(db, tenant.workspace_id, 6, seed=2, name="Other")
    await assert_report_is_exact(api, db, run)  # nothing yet
    for round_ in range(5):
        await run.add_events(60)
        await other.add_events(10)
        if round_ == 2:  # a conversion and a bounce dated last week, after their quarter-hours were folded
            await run.add_events(8, at=datetime.now(UTC) - timedelta(days=7))
        await assert_report_is_exact(api, db, run)
        assert await tail_size(db, tenant.workspace_id) == 0  # nothing else was running: all of it folded
    async with db() as session:  # a conversion credited to no campaign counts in the overview only
        await session.execute(
            text(
                "INSERT INTO events (workspace_id, lead_id, type, metadata) VALUES (:w, :l, 'conversion', "
                "CAST(:m AS jsonb))"
            ),
            {"w": tenant.workspace_id, "l": run.deliveries[next(iter(run.deliveries))][0],
             "m": json.dumps({"conversion_id": "alone", "value": "7"})},
        )  # fmt: skip
        await session.commit()
    await assert_report_is_exact(api, db, run)


async def test_an_id_committed_after_a_bigger_one_is_not_folded_past(api, db, tenant):
    run = await Run.create(db, tenant.workspace_id, 12, seed=3)
    await run.add_events(30)
    await assert_report_is_exact(api, db, run)
    async with db() as slow:  # takes ids, commits late (conversions: no delivery is stamped, so nobody waits)
        for delivery in list(run.deliveries)[:5]:
            await run.event(slow, delivery, kind="conversion")
        early = (await slow.execute(text("SELECT max(id) FROM events"))).scalar_one()
        await run.add_events(20)  # bigger ids, committed now
        await assert_report_is_exact(api, db, run)  # the slow events are invisible to both
        await assert_report_is_exact(api, db, run)
        assert await folded_to(db, tenant.workspace_id) < early - 4  # waits for the slow transaction
        assert await tail_size(db, tenant.workspace_id) == 20  # read from the tail meanwhile
        await slow.commit()
    await assert_report_is_exact(api, db, run)  # the candidate noted while it ran settles now
    await assert_report_is_exact(api, db, run)
    assert await tail_size(db, tenant.workspace_id) == 0


async def test_a_long_reader_does_not_hold_the_folds_back(db, tenant, engine, monkeypatch):
    monkeypatch.setattr(rollups, "SETTLE_SECONDS", 0.2)
    run = await Run.create(db, tenant.workspace_id, 6, seed=4)
    async with db() as reader:
        await reader.execute(text("SELECT count(*) FROM leads"))  # a transaction without a transaction id
        await run.add_events(10)
        async with engine.connect() as conn:
            await rollups.refresh(conn, tenant.workspace_id)
            assert await tail_size(db, tenant.workspace_id) == 10  # the reader might have been about to write
            await asyncio.sleep(0.3)
            await rollups.refresh(conn, tenant.workspace_id)
            assert await tail_size(db, tenant.workspace_id) == 0  # it never wrote: it holds no id
        await reader.rollback()


async def test_deliveries_marked_stamped_moved_country_and_erased(api, db, tenant):
    run = await Run.create(db, tenant.workspace_id, 20, seed=5)
    await run.add_events(80)
    await assert_report_is_exact(api, db, run)
    async with db() as session:
        await session.execute(  # the one still sending is marked sent, then opened
            text("UPDATE deliveries SET status = 'sent', sent_at = now() WHERE run_id = :r AND status = 'sending'"),
            {"r": run.run_id},
        )
        await session.execute(  # a failed one turns out sent
            text(
                "UPDATE deliveries SET status = 'sent', sent_at = now() WHERE id = (SELECT min(id) FROM deliveries "
                "WHERE run_id = :r AND status = 'failed')"
            ),
            {"r": run.run_id},
        )
        await session.commit()
    await run.add_events(20)
    await assert_report_is_exact(api, db, run)
    leads = sorted({lead for lead, _, _ in run.deliveries.values()})
    async with db() as session:
        await session.execute(text("UPDATE leads SET country = 'JP' WHERE id = ANY(:ids)"), {"ids": leads[:4]})
        await session.commit()
    await assert_report_is_exact(api, db, run)
    async with db() as session:  # an erasure: the leads' deliveries and events go, with what was folded of them
        await session.execute(text("DELETE FROM leads WHERE id = ANY(:ids)"), {"ids": leads[2:7]})
        await session.commit()
    run.deliveries = {d: v for d, v in run.deliveries.items() if v[0] not in leads[2:7]}
    await assert_report_is_exact(api, db, run)
    await run.add_events(30)
    await assert_report_is_exact(api, db, run)
    async with db() as session:
        left = await session.execute(
            text("SELECT count(*) FROM rollup_delivery_deltas WHERE workspace_id = :w"), {"w": tenant.workspace_id}
        )
        assert left.scalar_one() == 0  # every delta moved into rollup_deliveries


async def test_an_erasure_while_events_wait_in_the_tail(api, db, tenant):
    run = await Run.create(db, tenant.workspace_id, 10, seed=6)
    await run.add_events(40)
    await assert_report_is_exact(api, db, run)
    leads = sorted({lead for lead, _, _ in run.deliveries.values()})
    async with db() as slow:  # keeps what follows in the tail (a conversion of a lead that stays)
        kept = next(d for d, (lead, _, _) in run.deliveries.items() if lead == leads[-1])
        await run.event(slow, kept, kind="conversion")
        await run.add_events(30)
        await assert_report_is_exact(api, db, run)
        async with db() as session:
            await session.execute(text("DELETE FROM leads WHERE id = ANY(:ids)"), {"ids": leads[:3]})
            await session.commit()
        run.deliveries = {d: v for d, v in run.deliveries.items() if v[0] not in leads[:3]}
        await assert_report_is_exact(api, db, run)
        await slow.rollback()
    await assert_report_is_exact(api, db, run)
    await assert_report_is_exact(api, db, run)


async def test_a_deleted_run_leaves_its_events_in_the_overview(api, db, tenant):
    run = await Run.create(db, tenant.workspace_id, 10, seed=7)
    gone = await Run.create(db, tenant.workspace_id, 10, seed=8, name="Gone")
    await run.add_events(30)
    await gone.add_events(30)
    await assert_report_is_exact(api, db, run)
    async with db() as session:
        await session.execute(text("DELETE FROM campaign_runs WHERE id = :r"), {"r": gone.run_id})
        # A delivery deleted by itself: its events stay, without it, and make no distinct message any more.
        clicked = (
            await session.execute(
                text("SELECT min(delivery_id) FROM events WHERE run_id = :r AND type = 'click' AND NOT machine"),
                {"r": run.run_id},
            )
        ).scalar_one()
        await session.execute(text("DELETE FROM deliveries WHERE id = :d"), {"d": clicked})
        await session.commit()
    await assert_report_is_exact(api, db, run)
    async with db() as session:
        for table in ("rollup_links", "rollup_devices"):
            found = await session.execute(text(f"SELECT count(*) FROM {table} WHERE run_id = :r"), {"r": gone.run_id})
            assert found.scalar_one() == 0, table


async def test_the_report_of_one_run_ignores_other_workspaces(api, db, tenant, engine):
    run = await Run.create(db, tenant.workspace_id, 8, seed=9)
    stranger = await make_tenant(db, "Strangers", "boss@strangers.example")
    elsewhere = await Run.create(db, stranger.workspace_id, 8, seed=10, name="Elsewhere")
    await run.add_events(20)
    await elsewhere.add_events(40)
    await assert_report_is_exact(api, db, run)
    async with db() as session:
        states = (await session.execute(text("SELECT workspace_id FROM rollup_state"))).scalars().all()
    assert stranger.workspace_id not in states  # folded only when its own reports are read
    async with engine.connect() as conn:  # its reader folds it; then it is deleted, with all of it
        await rollups.refresh(conn, stranger.workspace_id)
    await elsewhere.add_events(10)
    async with db() as session:
        await session.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": stranger.workspace_id})
        await session.commit()
        for table in ("rollup_state", "rollup_event_counts", "rollup_deliveries", "rollup_delivery_deltas"):
            found = await session.execute(
                text(f"SELECT count(*) FROM {table} WHERE workspace_id = :w"), {"w": stranger.workspace_id}
            )
            assert found.scalar_one() == 0, table
    await assert_report_is_exact(api, db, run)
