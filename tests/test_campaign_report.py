"""The campaign report over a hand-built run: every number below is worked out from the rows the test writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.factories import make_campaign, make_leads

DAY1 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
X, Y = "https://example.com/x", "https://example.com/y"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
FLOW = {
    "steps": [
        {
            "id": "ab",
            "type": "ab_split",
            "variants": [
                {"id": "a", "name": "A", "percent": 50, "steps": [{"id": "sa", "type": "send", "channel": "email",
                                                                    "template_id": 1}]},
                {"id": "b", "name": "B", "percent": 50, "steps": [{"id": "sb", "type": "send", "channel": "email",
                                                                    "template_id": 1}]},
            ],
        }
    ]
}  # fmt: skip


@pytest.fixture
async def report_run(db, tenant):
    """Ten leads: 0-4 got variant a (step 1), 5-9 variant b (step 2)."""
    ws = tenant.workspace_id
    leads = await make_leads(db, 10, prefix="rep", workspace_id=ws)
    campaign_id = await make_campaign(db, None, workspace_id=ws, name="Reported")
    async with db() as session:
        await session.execute(
            text("UPDATE campaigns SET flow = CAST(:f AS jsonb), cost = 50 WHERE id = :id"),
            {"f": json.dumps(FLOW), "id": campaign_id},
        )
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped, flow) VALUES (:w, :c, 1, 'campaign-r-run-1', 'completed', 10, 9, 1, 0, "
                    "CAST(:f AS jsonb)) RETURNING id"
                ),
                {"w": ws, "c": campaign_id, "f": json.dumps(FLOW)},
            )
        ).scalar_one()
        delivery = {}
        opened, clicked = {0, 1, 2, 5, 6}, {0, 5, 6}
        for n, lead in enumerate(leads):
            step, variant = (1, "a") if n < 5 else (2, "b")
            delivery[n] = (
                await session.execute(
                    text(
                        "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, variant, "
                        "attempts, sent_at, opened_at, clicked_at) VALUES (:w, :r, :s, :l, 'email', :status, :v, 1, "
                        ":at, :opened, :clicked) RETURNING id"
                    ),
                    {
                        "w": ws,
                        "r": run_id,
                        "s": step,
                        "l": lead,
                        "status": "failed" if n == 9 else "sent",
                        "v": variant,
                        "at": DAY1,
                        "opened": DAY1 if n in opened else None,
                        "clicked": DAY1 if n in clicked else None,
                    },
                )
            ).scalar_one()

        async def event(n: int, kind: str, at=DAY2, machine=False, url=None, **meta) -> None:
            step, variant = (1, "a") if n < 5 else (2, "b")
            await session.execute(
                text(
                    "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, "
                    "channel, type, machine, url, occurred_at, metadata) VALUES (:w, :d, :l, :c, :r, :s, :v, "
                    "'email', :t, :m, :u, :at, CAST(:meta AS jsonb))"
                ),
                {"w": ws, "d": delivery[n], "l": leads[n], "c": campaign_id, "r": run_id, "s": step, "v": variant,
                 "t": kind, "m": machine, "u": url, "at": at, "meta": json.dumps(meta)},
            )  # fmt: skip

        agents = {0: IPHONE, 1: WINDOWS}  # the others' opens carry no User-Agent: "other"
        for n, times in ((0, 2), (1, 1), (2, 1), (5, 1), (6, 3)):
            for _ in range(times):
                meta = {"user_agent": agents[n]} if n in agents else {}
                await event(n, "open", at=DAY1 if n in (0, 1) else DAY2, **meta)
        await event(3, "open", machine=True)  # Apple's proxy: counted apart, stamps nothing
        await event(0, "click", url=X, user_agent=IPHONE)
        await event(0, "click", url=X, user_agent=IPHONE)
        await event(5, "click", url=X, user_agent=WINDOWS)
        await event(6, "click", url=Y)
        await event(6, "click", url=Y, machine=True)  # a scanner: in no count
        await event(4, "unsubscribe")
        await event(8, "bounce", permanent=True)
        await event(8, "bounce", permanent=True)  # a second notice for the same message
        await event(7, "bounce", permanent=False)
        await event(5, "conversion", value="100")
        await session.execute(
            text("UPDATE leads SET country = CASE WHEN id = ANY(:fr) THEN 'FR' ELSE 'DE' END WHERE id = ANY(:all)"),
            {"fr": leads[:5], "all": leads},
        )
        await session.commit()
    return campaign_id


async def test_report_numbers_per_run_step_variant_link_and_day(api, report_run):
    response = await api.get(f"/api/campaigns/{report_run}/report")
    assert response.status_code == 200, response.text
    report = response.json()
    totals = report["totals"]
    assert {k: totals[k] for k in ("sent", "failed", "hard_bounces", "delivered", "bounces")} == {
        "sent": 9, "failed": 1, "hard_bounces": 1, "delivered": 8, "bounces": 3
    }  # fmt: skip
    assert (totals["unique_opens"], totals["total_opens"], totals["machine_opens"]) == (5, 8, 1)
    assert (totals["unique_clicks"], totals["total_clicks"]) == (3, 4)
    assert (totals["unsubscribes"], totals["complaints"], totals["conversions"], totals["revenue"]) == (1, 0, 1, 100)
    assert totals["open_rate"] == pytest.approx(5 / 8)
    assert totals["click_rate"] == pytest.approx(3 / 8)
    assert totals["click_to_open"] == pytest.approx(3 / 5)
    assert totals["unsubscribe_rate"] == pytest.approx(1 / 8)
    assert totals["bounce_rate"] == pytest.approx(1 / 9)
    assert totals["roi"] == pytest.approx(1.0)  # (100 - 50) / 50
    assert report["cost"] == 50

    steps = {step["step_id"]: step for step in report["steps"]}
    assert [step["step_id"] for step in report["steps"]] == ["ab", "sa", "sb"]
    sa, sb = steps["sa"]["funnel"], steps["sb"]["funnel"]
    assert (sa["sent"], sa["unique_opens"], sa["total_opens"], sa["machine_opens"], sa["unique_clicks"]) == (
        5,
        3,
        4,
        1,
        1,
    )
    assert (sa["total_clicks"], sa["unsubscribes"], sa["open_rate"]) == (2, 1, pytest.approx(0.6))
    assert (sb["sent"], sb["failed"], sb["delivered"], sb["unique_clicks"], sb["conversions"]) == (4, 1, 3, 2, 1)
    assert sb["click_rate"] == pytest.approx(2 / 3)
    assert [v["variant"] for v in steps["sb"]["variants"]] == ["b"]
    assert steps["ab"]["funnel"]["sent"] == 0 and steps["ab"]["funnel"]["open_rate"] is None

    [ab] = report["ab_tests"]
    assert (ab["step_id"], ab["metric"], ab["winner"], ab["runner_up"], ab["significant"]) == (
        "ab", "click_rate", "b", "a", False
    )  # fmt: skip
    assert ab["rates"] == {"a": pytest.approx(0.2), "b": pytest.approx(0.5)}
    assert 0 < ab["p_value"] < 1

    assert report["links"] == [
        {"url": X, "clicks": 3, "unique_clicks": 2},
        {"url": Y, "clicks": 1, "unique_clicks": 1},
    ]
    assert report["bucket"] == "day"
    assert [(p["at"][:10], p["opens"], p["clicks"]) for p in report["series"]] == [
        ("2026-11-20", 3, 0),
        ("2026-11-21", 5, 4),
    ]
    assert [(r["key"], r["sent"], r["unique_opens"], r["unique_clicks"]) for r in report["by_channel"]] == [
        ("email", 9, 5, 3)
    ]
    assert [(r["key"], r["sent"], r["unique_opens"], r["unique_clicks"]) for r in report["by_country"]] == [
        ("FR", 5, 3, 1),
        ("DE", 4, 2, 2),
    ]
    assert report["by_country"][1]["open_rate"] == pytest.approx(0.5)
    # Human opens and clicks only, per message: the machine open (lead 3) and click (lead 6) count nowhere.
    assert [(r["device"], r["opened"], r["clicked"]) for r in report["by_device"]] == [
        ("mobile", 1, 1),
        ("desktop", 1, 1),
        ("other", 3, 1),
    ]
    hourly = (await api.get(f"/api/campaigns/{report_run}/report", params={"bucket": "hour"})).json()
    assert [(p["at"][:13], p["opens"]) for p in hourly["series"]] == [("2026-11-20T10", 3), ("2026-11-21T15", 5)]


async def test_report_errors_name_the_field(api, report_run):
    assert (await api.get(f"/api/campaigns/{report_run}/report", params={"run": 7})).json()["field"] == "run"
    bad = await api.get(f"/api/campaigns/{report_run}/report", params={"bucket": "week"})
    assert bad.status_code == 422 and "bucket" in bad.text
    assert (await api.get("/api/campaigns/999999/report")).status_code == 404
