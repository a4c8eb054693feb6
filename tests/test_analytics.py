"""The workspace overview and the campaign comparison, over rows the tests write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.factories import make_campaign, make_leads
from tests.test_campaign_report import report_run  # noqa: F401  (a fixture: a run of 10 leads, 2 variants)


async def _run(db, ws: int, campaign_id: int, leads: list[int], opened: set[int], clicked: set[int], sent_at) -> None:
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped) VALUES (:w, :c, 1, :wf, 'completed', :n, :n, 0, 0) RETURNING id"
                ),
                {"w": ws, "c": campaign_id, "wf": f"campaign-{campaign_id}-run-1", "n": len(leads)},
            )
        ).scalar_one()
        for n, lead in enumerate(leads):
            await session.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, sent_at, "
                    "opened_at, clicked_at) VALUES (:w, :r, 0, :l, 'email', 'sent', 1, :at, :o, :c)"
                ),
                {"w": ws, "r": run_id, "l": lead, "at": sent_at, "o": sent_at if n in opened else None,
                 "c": sent_at if n in clicked else None},
            )  # fmt: skip
        await session.commit()


async def test_overview_counts_the_period_only(api, db, tenant):
    ws = tenant.workspace_id
    now = datetime.now(UTC)
    leads = await make_leads(db, 6, prefix="ov", workspace_id=ws)
    recent = await make_campaign(db, None, workspace_id=ws, name="Recent")
    small = await make_campaign(db, None, workspace_id=ws, name="Small")
    old = await make_campaign(db, None, workspace_id=ws, name="Old")
    await _run(db, ws, recent, leads[:4], {0, 1}, {0}, now - timedelta(days=2))
    await _run(db, ws, small, leads[4:], {0}, set(), now - timedelta(days=1))
    await _run(db, ws, old, leads, {0, 1, 2}, {0, 1}, now - timedelta(days=60))  # outside 30 days
    async with db() as session:
        list_id = (
            await session.execute(
                text("INSERT INTO lists (workspace_id, name, description) VALUES (:w, 'Growing', '') RETURNING id"),
                {"w": ws},
            )
        ).scalar_one()
        for days_ago, size in ((20, 100), (10, 130), (1, 160), (45, 10)):
            await session.execute(
                text("INSERT INTO list_snapshots (workspace_id, list_id, day, size) VALUES (:w, :l, :d, :s)"),
                {"w": ws, "l": list_id, "d": date.today() - timedelta(days=days_ago), "s": size},
            )
        await session.execute(
            text("INSERT INTO events (workspace_id, lead_id, type, occurred_at) VALUES (:w, :l, 'unsubscribe', :at)"),
            {"w": ws, "l": leads[3], "at": now - timedelta(days=2)},
        )
        await session.commit()

    answer = await api.get("/api/analytics/overview")
    assert answer.status_code == 200, answer.text
    overview = answer.json()
    totals = overview["totals"]
    assert (totals["sent"], totals["unique_opens"], totals["unique_clicks"], totals["unsubscribes"]) == (6, 3, 1, 1)
    assert totals["open_rate"] == pytest.approx(0.5)
    assert len(overview["trend"]) in (31, 32)  # every day of the period, today included
    assert sum(day["sent"] for day in overview["trend"]) == 6
    assert [(c["name"], c["sent"]) for c in overview["top_campaigns"]] == [("Recent", 4), ("Small", 2)]
    assert overview["top_campaigns"][0]["click_rate"] == pytest.approx(0.25)
    assert [(g["name"], g["first_size"], g["last_size"], g["change"]) for g in overview["list_growth"]] == [
        ("Growing", 100, 160, 60)
    ]
    week = (await api.get("/api/analytics/overview", params={"days": 7})).json()
    assert [g["first_size"] for g in week["list_growth"]] == [160]
    assert (await api.get("/api/analytics/overview", params={"days": 0})).status_code == 422


async def test_compare_puts_campaigns_side_by_side_with_deltas(api, db, tenant, report_run):  # noqa: F811
    ws = tenant.workspace_id
    other = await make_campaign(db, None, workspace_id=ws, name="Other")
    await _run(db, ws, other, await make_leads(db, 4, prefix="cmp", workspace_id=ws), {0}, {0}, datetime.now(UTC))
    answer = await api.get("/api/analytics/compare", params={"campaign_ids": [report_run, other]})
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["campaigns"]
    assert (first["name"], second["name"]) == ("Reported", "Other")
    assert first["deltas"]["open_rate"] == 0
    assert second["totals"]["open_rate"] == pytest.approx(0.25)
    assert second["deltas"]["open_rate"] == pytest.approx(0.25 - 5 / 8)
    assert second["deltas"]["click_rate"] == pytest.approx(0.25 - 3 / 8)
    for bad in ([report_run], [report_run] * 2, list(range(1, 7))):
        refused = await api.get("/api/analytics/compare", params={"campaign_ids": bad})
        assert refused.status_code == 422 and refused.json()["field"] == "campaign_ids"
