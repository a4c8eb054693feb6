"""Conversions: the attribution models (pure), POST /api/conversions, lead status `won`, the snippet and its public
endpoint, the `hc` parameter of click redirects, and what the campaign report makes of them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import httpx
import pytest
from sqlalchemy import text

from core.tracking_links import click_url, conversion_token, parse_conversion_token
from domain.attribution import Touch, attribute, split_value
from domain.tracking import add_query_parameter
from tests.factories import make_campaign, make_leads
from tests.test_campaign_report import FLOW  # the same two-variant flow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEST = "https://shop.example/offer?a=1&b=two#top"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def touch(delivery: int, days_before: float, campaign: int = 1, step: int = 0) -> Touch:
    return Touch(delivery, campaign, 10 + campaign, step, None, T0 - timedelta(days=days_before))


# --- domain/attribution.py --------------------------------------------------------------------------------------------


def test_last_and_first_touch_credit_one_click_with_the_whole_share():
    clicks = [touch(1, 20), touch(2, 5), touch(3, 1)]
    [last] = attribute(T0, clicks, "last_touch", 30)
    [first] = attribute(T0, clicks, "first_touch", 30)
    assert (last.touch.delivery_id, last.share) == (3, 1)
    assert (first.touch.delivery_id, first.share) == (1, 1)
    [first_in_window] = attribute(T0, clicks, "first_touch", 10)  # delivery 1 is 20 days before: outside
    assert first_in_window.touch.delivery_id == 2


def test_ties_at_the_same_instant_go_to_the_later_message_for_last_and_the_earlier_for_first():
    clicks = [touch(7, 2), touch(4, 2)]
    assert attribute(T0, clicks, "last_touch", 30)[0].touch.delivery_id == 7
    assert attribute(T0, clicks, "first_touch", 30)[0].touch.delivery_id == 4


def test_window_edges_are_included_and_clicks_after_the_conversion_never_count():
    on_edge = touch(1, 30)  # exactly 30 days before
    too_old = Touch(2, 1, 11, 0, None, T0 - timedelta(days=30, seconds=1))
    at_conversion = touch(3, 0)
    after = Touch(4, 1, 11, 0, None, T0 + timedelta(seconds=1))
    credits = attribute(T0, [on_edge, too_old, at_conversion, after], "linear", 30)
    assert [c.touch.delivery_id for c in credits] == [1, 3]
    assert attribute(T0, [too_old, after], "last_touch", 30) == []
    assert attribute(T0, [], "linear", 30) == []
    assert attribute(T0, [touch(1, 0.5)], "last_touch", 1)[0].touch.delivery_id == 1


def test_linear_gives_each_distinct_clicked_message_an_equal_share():
    clicks = [touch(1, 9), touch(2, 6), touch(1, 3), touch(3, 2), touch(2, 1)]
    credits = attribute(T0, clicks, "linear", 30)
    assert [(c.touch.delivery_id, c.share) for c in credits] == [(1, Fraction(1, 3)), (2, Fraction(1, 3)),
                                                                 (3, Fraction(1, 3))]  # fmt: skip
    assert sum(c.share for c in credits) == 1
    assert credits[0].touch.clicked_at == T0 - timedelta(days=9)  # the message's first click in the window


def test_value_splits_in_cents_that_add_up():
    third = [Fraction(1, 3)] * 3
    assert split_value(Decimal("100"), third) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert split_value(Decimal("0.02"), third) == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]
    assert split_value(Decimal("10.005"), [Fraction(1)]) == [Decimal("10.01")]  # kept to the cent, half up
    sevenths = split_value(Decimal("99.99"), [Fraction(1, 7)] * 7)
    assert sum(sevenths) == Decimal("99.99") and max(sevenths) - min(sevenths) == Decimal("0.01")
    with pytest.raises(ValueError):
        attribute(T0, [], "nearest", 30)


def test_conversion_tokens_and_the_hc_parameter():
    from tests.test_tracking import KEY_SETTINGS

    token = conversion_token(KEY_SETTINGS, 42)
    assert parse_conversion_token(KEY_SETTINGS, token) == 42
    delivery, sig = token.split(".")
    assert parse_conversion_token(KEY_SETTINGS, f"43.{sig}") is None
    assert parse_conversion_token(KEY_SETTINGS, f"{delivery}.{sig[:-1]}A") is None
    assert parse_conversion_token(KEY_SETTINGS, "garbage") is None
    assert add_query_parameter(DEST, "hc", token) == f"https://shop.example/offer?a=1&b=two&hc={token}#top"
    assert add_query_parameter("https://x.example/", "hc", "1.a") == "https://x.example/?hc=1.a"
    assert add_query_parameter("https://x.example/?hc=mine", "hc", "1.a") == "https://x.example/?hc=mine"


# --- Data -------------------------------------------------------------------------------------------------------------


async def _run(db, workspace_id: int, lead_id: int) -> dict:
    """A completed run of an A/B campaign that sent the lead both variants (step 1 = a, step 2 = b)."""
    campaign_id = await make_campaign(db, [lead_id], workspace_id=workspace_id, name=f"C-{uuid.uuid4().hex[:6]}")
    async with db() as session:
        await session.execute(
            text("UPDATE campaigns SET flow = CAST(:f AS jsonb) WHERE id = :id"),
            {"f": json.dumps(FLOW), "id": campaign_id},
        )
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped, flow) VALUES (:w, :c, 1, :wf, 'completed', 1, 2, 0, 0, CAST(:f AS jsonb)) "
                    "RETURNING id"
                ),
                {"w": workspace_id, "c": campaign_id, "wf": f"conv-{uuid.uuid4().hex[:8]}", "f": json.dumps(FLOW)},
            )
        ).scalar_one()
        deliveries = {}
        for step, variant in ((1, "a"), (2, "b")):
            deliveries[step] = (
                await session.execute(
                    text(
                        "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, variant, "
                        "attempts, sent_at) VALUES (:w, :r, :s, :l, 'email', 'sent', :v, 1, "
                        "now() - interval '40 days') RETURNING id"
                    ),
                    {"w": workspace_id, "r": run_id, "s": step, "l": lead_id, "v": variant},
                )
            ).scalar_one()
        await session.commit()
    return {"campaign_id": campaign_id, "run_id": run_id, "deliveries": deliveries, "lead_id": lead_id}


async def _click(db, run: dict, step: int, ago: timedelta, machine: bool = False) -> None:
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, "
                "type, machine, url, occurred_at) SELECT workspace_id, id, lead_id, :c, run_id, step, variant, "
                "channel, 'click', :m, 'https://shop.example/', :at FROM deliveries "
                "WHERE id = :d"
            ),
            {"c": run["campaign_id"], "m": machine, "at": datetime.now(UTC) - ago,
             "d": run["deliveries"][step]},
        )  # fmt: skip
        await session.commit()


async def _conversions(db, lead_id: int | None = None) -> list:
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT delivery_id, campaign_id, run_id, step, variant, channel, metadata, dedupe_key, occurred_at "
                "FROM events WHERE type = 'conversion' AND (CAST(:l AS integer) IS NULL OR lead_id = :l) ORDER BY id"
            ),
            {"l": lead_id},
        )
        return list(rows)


async def _timeline(db, lead_id: int) -> list:
    async with db() as session:
        rows = await session.execute(
            text("SELECT type, data, actor FROM lead_events WHERE lead_id = :l AND type = 'converted' ORDER BY id"),
            {"l": lead_id},
        )
        return list(rows)


@pytest.fixture
async def clicked(db, tenant) -> dict:
    """A lead who clicked step 1 (variant a) 10 days ago and step 2 (variant b) 2 days ago."""
    [lead_id] = await make_leads(db, 1, prefix=f"conv{uuid.uuid4().hex[:4]}-", workspace_id=tenant.workspace_id,
                                 external_id="crm-1")  # fmt: skip
    run = await _run(db, tenant.workspace_id, lead_id)
    await _click(db, run, 1, timedelta(days=10))
    await _click(db, run, 2, timedelta(days=2))
    return run


# --- POST /api/conversions --------------------------------------------------------------------------------------------


async def test_last_touch_credits_the_last_click_and_writes_one_event_and_a_timeline_row(api, db, clicked):
    response = await api.post(
        "/api/conversions",
        json={"lead_id": clicked["lead_id"], "value": 80, "currency": "eur", "name": "order"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duplicate"] is False and body["lead_id"] == clicked["lead_id"] and body["value"] == "80.00"
    [credit] = body["credits"]
    assert credit == {
        "delivery_id": clicked["deliveries"][2],
        "campaign_id": clicked["campaign_id"],
        "run_id": clicked["run_id"],
        "step": 2,
        "variant": "b",
        "share": 1.0,
        "value": "80.00",
    }
    [event] = await _conversions(db)
    assert (event.delivery_id, event.campaign_id, event.run_id, event.step, event.variant, event.channel) == (
        clicked["deliveries"][2], clicked["campaign_id"], clicked["run_id"], 2, "b", "email"
    )  # fmt: skip
    assert event.metadata == {"conversion_id": body["conversion_id"], "value": "80.00", "share": 1.0,
                              "model": "last_touch", "currency": "EUR", "name": "order", "source": "api"}  # fmt: skip
    assert event.dedupe_key is None
    [row] = await _timeline(db, clicked["lead_id"])
    assert row.data["conversion_id"] == body["conversion_id"] and row.data["campaign_ids"] == [clicked["campaign_id"]]
    assert row.actor == "api key tests"


async def test_first_touch_credits_the_first_click_and_the_lead_can_be_named_by_email_or_external_id(api, db, clicked):
    async with db() as session:
        email = (
            await session.execute(text("SELECT email FROM leads WHERE id = :l"), {"l": clicked["lead_id"]})
        ).scalar_one()
    by_email = await api.post("/api/conversions", json={"email": email.upper(), "model": "first_touch"})
    assert by_email.status_code == 404  # the local part is kept as written
    by_email = await api.post("/api/conversions", json={"email": email, "model": "first_touch"})
    assert by_email.status_code == 201, by_email.text
    [credit] = by_email.json()["credits"]
    assert (credit["step"], credit["variant"], credit["value"]) == (1, "a", None)
    by_external = await api.post("/api/conversions", json={"external_id": "crm-1", "model": "first_touch"})
    assert by_external.status_code == 201 and by_external.json()["lead_id"] == clicked["lead_id"]
    assert len(await _conversions(db)) == 2


async def test_linear_splits_the_value_in_cents_that_add_up(api, db, tenant, clicked):
    second = await _run(db, tenant.workspace_id, clicked["lead_id"])
    await _click(db, second, 2, timedelta(days=1))
    await _click(db, second, 2, timedelta(hours=1))  # the same message again: still one share
    response = await api.post("/api/conversions", json={"lead_id": clicked["lead_id"], "value": 100, "model": "linear"})
    assert response.status_code == 201, response.text
    credits = response.json()["credits"]
    assert [(c["run_id"], c["step"]) for c in credits] == [
        (clicked["run_id"], 1), (clicked["run_id"], 2), (second["run_id"], 2)
    ]  # fmt: skip
    assert [c["share"] for c in credits] == [pytest.approx(1 / 3)] * 3
    assert [c["value"] for c in credits] == ["33.34", "33.33", "33.33"]
    events = await _conversions(db)
    assert sum(Decimal(e.metadata["value"]) for e in events) == Decimal("100.00")
    assert len({e.metadata["conversion_id"] for e in events}) == 1
    assert len(await _timeline(db, clicked["lead_id"])) == 1  # one conversion, one timeline row


async def test_clicks_outside_the_window_and_machine_clicks_give_no_credit(api, db, tenant):
    [lead_id] = await make_leads(db, 1, prefix="nocredit", workspace_id=tenant.workspace_id)
    run = await _run(db, tenant.workspace_id, lead_id)
    await _click(db, run, 1, timedelta(days=8))
    await _click(db, run, 2, timedelta(hours=1), machine=True)
    response = await api.post("/api/conversions", json={"lead_id": lead_id, "value": 5, "window_days": 7})
    assert response.status_code == 201, response.text
    assert response.json()["credits"] == [] and response.json()["value"] == "5.00"
    [event] = await _conversions(db)
    assert (event.delivery_id, event.campaign_id, event.run_id, event.step) == (None, None, None, None)
    assert event.metadata["value"] == "5.00" and event.metadata["share"] == 1.0
    # With a wider window the older human click counts; a click after occurred_at never does.
    earlier = (datetime.now(UTC) - timedelta(days=9)).isoformat()
    response = await api.post("/api/conversions", json={"lead_id": lead_id, "occurred_at": earlier})
    assert response.json()["credits"] == []
    response = await api.post("/api/conversions", json={"lead_id": lead_id, "window_days": 9})
    assert [c["step"] for c in response.json()["credits"]] == [1]


async def test_a_repeated_id_counts_once(api, db, clicked):
    body = {"lead_id": clicked["lead_id"], "value": 100, "model": "linear", "id": "order:1001"}
    first = await api.post("/api/conversions", json=body)
    assert first.status_code == 201, first.text
    again = await api.post("/api/conversions", json={**body, "value": 999, "model": "last_touch"})
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["conversion_id"] == first.json()["conversion_id"]
    assert again.json()["credits"] == first.json()["credits"]
    events = await _conversions(db)
    assert sorted(e.dedupe_key for e in events) == sorted(
        f"conversion:order:1001:{clicked['deliveries'][step]}" for step in (1, 2)
    )
    # An id that starts like another is another conversion.
    other = await api.post("/api/conversions", json={**body, "id": "order"})
    assert other.status_code == 201 and other.json()["duplicate"] is False
    assert len(await _conversions(db)) == 4
    assert len(await _timeline(db, clicked["lead_id"])) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lead_id": 1, "value": -1}, "value"),
        ({"lead_id": 1, "email": "a@example.com"}, "email"),
        ({}, "lead_id"),
        ({"lead_id": 1, "currency": "EURO"}, "currency"),
        ({"lead_id": 1, "currency": "E1R"}, "currency"),
        ({"lead_id": 1, "window_days": 0}, "window_days"),
        ({"lead_id": 1, "window_days": 366}, "window_days"),
        ({"lead_id": 1, "model": "u_shaped"}, "model"),
        ({"lead_id": 1, "name": "x" * 121}, "name"),
        ({"lead_id": 1, "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(api, db, tenant, body, field):
    [lead_id] = await make_leads(db, 1, prefix="bad", workspace_id=tenant.workspace_id)
    if "lead_id" in body:
        body = {**body, "lead_id": lead_id}
    response = await api.post("/api/conversions", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert field in response.json()["message"]
    assert await _conversions(db) == []


async def test_an_unknown_lead_is_a_404_naming_the_field_and_other_workspaces_are_not_found(api, db, tenant):
    from tests.conftest import make_tenant

    other = await make_tenant(db, "Other", "admin@other.test")
    [foreign] = await make_leads(db, 1, prefix="foreign", workspace_id=other.workspace_id, external_id="x-1")
    for body, field in (
        ({"lead_id": foreign}, "lead_id"),
        ({"email": "foreign0@example.com"}, "email"),
        ({"external_id": "x-1"}, "external_id"),
    ):
        response = await api.post("/api/conversions", json=body)
        assert response.status_code == 404, response.text
        assert response.json()["field"] == field and field in response.json()["message"]
    assert await _conversions(db) == []


async def test_a_viewer_may_not_record_conversions(app, db, tenant, clicked):
    from tests.conftest import client_for, make_key

    key = await make_key(db, tenant.workspace_id, "viewer")
    async with client_for(app, key) as viewer:
        response = await viewer.post("/api/conversions", json={"lead_id": clicked["lead_id"]})
    assert response.status_code == 403


# --- The campaign report ----------------------------------------------------------------------------------------------


async def test_the_report_shows_the_credited_conversion_and_revenue_on_its_step_and_variant(api, db, clicked):
    response = await api.post("/api/conversions", json={"lead_id": clicked["lead_id"], "value": 80.5})
    assert response.status_code == 201, response.text
    report = (await api.get(f"/api/campaigns/{clicked['campaign_id']}/report")).json()
    steps = {step["step_id"]: step for step in report["steps"]}
    assert (steps["sb"]["funnel"]["conversions"], steps["sb"]["funnel"]["revenue"]) == (1, 80.5)
    assert (steps["sa"]["funnel"]["conversions"], steps["sa"]["funnel"]["revenue"]) == (0, 0)
    [variant_b] = steps["sb"]["variants"]
    assert (variant_b["variant"], variant_b["funnel"]["conversions"], variant_b["funnel"]["revenue"]) == ("b", 1, 80.5)
    assert (report["totals"]["conversions"], report["totals"]["revenue"]) == (1, 80.5)

    linear = await api.post("/api/conversions", json={"lead_id": clicked["lead_id"], "value": 10, "model": "linear"})
    assert linear.status_code == 201
    report = (await api.get(f"/api/campaigns/{clicked['campaign_id']}/report")).json()
    steps = {step["step_id"]: step for step in report["steps"]}
    assert steps["sa"]["funnel"]["revenue"] == 5 and steps["sb"]["funnel"]["revenue"] == 85.5
    # The linear one is credited to both steps and counted once in the run: two conversions in all.
    assert (steps["sa"]["funnel"]["conversions"], steps["sb"]["funnel"]["conversions"]) == (1, 2)
    assert (report["totals"]["conversions"], report["totals"]["revenue"]) == (2, 90.5)


# --- Lead status `won` ------------------------------------------------------------------------------------------------


async def test_status_won_with_a_deal_value_records_a_conversion_once_a_day(api, db, clicked):
    lead_id = clicked["lead_id"]
    async with db() as session:
        await session.execute(
            text("INSERT INTO custom_field_definitions (workspace_id, key, label, type, created_at) "
                 "SELECT workspace_id, 'deal_value', 'Deal value', 'number', now() FROM leads WHERE id = :l"),
            {"l": lead_id},
        )  # fmt: skip
        await session.commit()
    response = await api.patch(f"/api/leads/{lead_id}", json={"status": "won", "custom_fields": {"deal_value": 1200}})
    assert response.status_code == 200, response.text
    [event] = await _conversions(db)
    assert (event.delivery_id, event.step, event.variant) == (clicked["deliveries"][2], 2, "b")
    assert (event.metadata["value"], event.metadata["source"], event.metadata["name"]) == (
        "1200.00",
        "lead_status",
        "won",
    )
    today = datetime.now(UTC).date().isoformat()
    assert event.dedupe_key == f"won:{lead_id}:{today}"
    # Flapping the same day: counted once.
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "lost"})).status_code == 200
    assert (await api.patch(f"/api/leads/{lead_id}", json={"status": "won"})).status_code == 200
    bulk = await api.post("/api/leads/bulk", json={"action": "set_status", "value": "proposal",
                                                   "selection": {"lead_ids": [lead_id]}})  # fmt: skip
    assert bulk.status_code == 200
    bulk = await api.post("/api/leads/bulk", json={"action": "set_status", "value": "won",
                                                   "selection": {"lead_ids": [lead_id]}})  # fmt: skip
    assert bulk.status_code == 200 and bulk.json()["affected"] == 1
    assert len(await _conversions(db)) == 1
    assert len(await _timeline(db, lead_id)) == 1
    # Another field changing on a won lead records nothing.
    assert (await api.patch(f"/api/leads/{lead_id}", json={"company": "Acme"})).status_code == 200
    assert len(await _conversions(db)) == 1


async def test_bulk_won_without_a_deal_value_records_a_valueless_conversion_per_lead(api, db, tenant):
    leads = await make_leads(db, 2, prefix="bulkwon", workspace_id=tenant.workspace_id)
    response = await api.post(
        "/api/leads/bulk", json={"action": "set_status", "value": "won", "selection": {"lead_ids": leads}}
    )
    assert response.status_code == 200 and response.json()["affected"] == 2
    events = await _conversions(db)
    assert len(events) == 2 and all("value" not in e.metadata and e.campaign_id is None for e in events)


async def test_upsert_setting_won_records_a_conversion_and_an_unchanged_status_does_not(api, db, tenant):
    [lead_id] = await make_leads(db, 1, prefix="upsertwon", workspace_id=tenant.workspace_id)
    body = {"key": "email", "lead": {"email": "upsertwon0@example.com", "status": "won"}}
    response = await api.put("/api/leads/upsert", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["created"] is False and response.json()["lead"]["status"] == "won"
    [event] = await _conversions(db, lead_id)
    assert (event.metadata["source"], event.metadata["name"]) == ("lead_status", "won")
    # The integration sending the same record again changes nothing: no second conversion.
    assert (await api.put("/api/leads/upsert", json=body)).status_code == 200
    assert len(await _conversions(db, lead_id)) == 1


async def test_an_import_moving_a_lead_to_won_records_the_won_conversion_once(api, worker, db, clicked):
    from tests.test_imports import run_import, simple_csv, upload

    lead_id = clicked["lead_id"]
    async with db() as session:
        email = (await session.execute(text("SELECT email FROM leads WHERE id = :l"), {"l": lead_id})).scalar_one()
        await session.execute(
            text("""UPDATE leads SET custom_fields = '{"deal_value": 1200}' WHERE id = :l"""), {"l": lead_id}
        )
        await session.commit()
    for _ in range(2):  # the second import finds the lead already won: nothing more
        preview = (await upload(api, "won.csv", simple_csv(["email,status", f"{email},won"]))).json()
        await run_import(api, preview["id"], {"mapping": ["email", "status"], "options": {"on_duplicate": "overwrite"}})
    [event] = await _conversions(db, lead_id)
    assert (event.delivery_id, event.campaign_id, event.step, event.variant, event.channel) == (
        clicked["deliveries"][2], clicked["campaign_id"], 2, "b", "email"
    )  # fmt: skip
    assert {k: event.metadata[k] for k in ("value", "source", "name", "model")} == {
        "value": "1200.00", "source": "lead_status", "name": "won", "model": "last_touch"
    }  # fmt: skip
    assert event.dedupe_key == f"won:{lead_id}:{datetime.now(UTC).date().isoformat()}"
    [row] = await _timeline(db, lead_id)
    assert row.data["conversion_id"] == event.metadata["conversion_id"]
    assert row.data["campaign_ids"] == [clicked["campaign_id"]] and row.data["value"] == "1200.00"
    # The campaign's report counts it, with its revenue.
    report = (await api.get(f"/api/campaigns/{clicked['campaign_id']}/report")).json()
    assert (report["totals"]["conversions"], report["totals"]["revenue"]) == (1, 1200)


# --- The snippet and POST /public/conversions -------------------------------------------------------------------------


@pytest.fixture
async def anonymous(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test") as client:
        yield client


async def test_the_snippet_is_cacheable_javascript(anonymous, settings):
    response = await anonymous.get("/public/conversions/snippet.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "max-age=3600" in response.headers["cache-control"]
    assert "herald.convert" in response.text and "hc=" in response.text
    assert json.dumps(f"{settings.public_url.rstrip('/')}/public/conversions") in response.text


async def test_a_public_conversion_with_a_valid_token_credits_that_delivery(anonymous, db, settings, clicked):
    token = conversion_token(settings, clicked["deliveries"][1])
    body = json.dumps({"token": token, "value": 19.99, "currency": "usd", "name": "signup", "id": "web-1"})
    response = await anonymous.post("/public/conversions", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    [credit] = response.json()["credits"]
    assert (credit["delivery_id"], credit["step"], credit["variant"], credit["value"]) == (
        clicked["deliveries"][1], 1, "a", "19.99"
    )  # fmt: skip
    again = await anonymous.post("/public/conversions", json=json.loads(body))  # application/json works too
    assert again.status_code == 200 and again.json()["duplicate"] is True
    [event] = await _conversions(db)
    assert event.metadata["source"] == "snippet" and event.dedupe_key == f"conversion:web-1:{clicked['deliveries'][1]}"
    [row] = await _timeline(db, clicked["lead_id"])
    assert row.actor == "conversion snippet"


async def test_a_tampered_or_foreign_token_is_a_404_and_bad_bodies_422(anonymous, db, settings, clicked):
    token = conversion_token(settings, clicked["deliveries"][1])
    delivery, sig = token.split(".")
    for bad in (f"{clicked['deliveries'][2]}.{sig}", f"{delivery}.{sig[:-2]}xx", "1.abc", "nothing"):
        response = await anonymous.post("/public/conversions", json={"token": bad})
        assert response.status_code == 404, bad
        assert response.json()["field"] == "token"
    for content, field in (("not json", "body"), ("[1]", "body"), (json.dumps({"token": token, "value": -1}), "value"),
                           (json.dumps({"value": 1}), "token")):  # fmt: skip
        response = await anonymous.post("/public/conversions", content=content, headers={"Content-Type": "text/plain"})
        assert response.status_code == 422, content
        assert response.json()["field"] == field
    padded = json.dumps({"token": token, "name": "x" * 5000})  # above the 4 KiB a snippet may send
    response = await anonymous.post("/public/conversions", content=padded, headers={"Content-Type": "text/plain"})
    assert (response.status_code, response.json()["field"]) == (413, "body")
    assert await _conversions(db) == []


async def test_the_click_redirect_carries_hc_and_it_is_accepted_back(anonymous, db, settings, clicked):
    delivery_id = clicked["deliveries"][2]
    response = await anonymous.get(
        httpx.URL(click_url(settings, delivery_id, DEST)).path, headers={"User-Agent": CHROME}
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location == f"https://shop.example/offer?a=1&b=two&hc={conversion_token(settings, delivery_id)}#top"
    token = httpx.URL(location).params["hc"]
    response = await anonymous.post("/public/conversions", json={"token": token})
    assert response.status_code == 201
    assert response.json()["credits"][0]["delivery_id"] == delivery_id
