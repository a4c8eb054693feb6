"""#10 end to end in chromium: an automation drawn in the builder (status → qualified → wait → send → branch on a
click), simulated, published; a lead's status changed on its page starts its journey, seen in the monitoring; a test
run on another lead goes through the send and, on a click of the message's link, takes the click branch."""

from __future__ import annotations

import asyncio
import re

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import text

from core.tracking_links import click_url
from tests.helpers import eventually
from tests.test_browser import SCREENSHOTS, _sign_in, browser, live_app  # noqa: F401  (fixtures)
from tests.test_tracking import CHROME

STUDY = "https://example.com/study"


async def _drop(page: Page, palette_label: str, x: int, y: int) -> None:
    await page.get_by_role("button", name=f"Add {palette_label}", exact=True).drag_to(
        page.get_by_test_id("automation-canvas"), target_position={"x": x, "y": y}
    )


async def _connect(page: Page, source: str, outcome: str, target: str) -> None:
    await (
        _node(page, source)
        .locator(f'[data-outcome="{outcome}"] .react-flow__handle')
        .drag_to(_node(page, target).locator(".react-flow__handle.target"))
    )


def _node(page: Page, node_id: str):
    """A node drawn on the canvas (a journey's steps listed beside it carry the same data-node-id)."""
    return page.locator(f'[data-testid="automation-node"][data-node-id="{node_id}"]')


async def _lead(api: httpx.AsyncClient, first_name: str, email: str) -> int:
    created = await api.post(
        "/api/leads",
        json={"first_name": first_name, "email": email, "status": "new", "consent_email": "granted"},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_build_simulate_publish_an_automation_and_see_a_lead_run_through_it(
    live_app,  # noqa: F811
    browser,  # noqa: F811
    api,
    db,
    tenant,
    settings,
):
    template = await api.post(
        "/api/templates",
        json={
            "name": "Case study",
            "channel": "email",
            "subject": "Our case study, {{ lead.first_name }}",
            "body_html": f'<p>Hi {{{{ lead.first_name }}}}, read <a href="{STUDY}">the study</a>.</p>',
        },
    )
    assert template.status_code == 201, template.text
    ada = await _lead(api, "Ada", "ada@example.com")
    bob = await _lead(api, "Bob", "bob@example.com")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.set_viewport_size({"width": 1700, "height": 1700})
    await page.goto(live_app + "/automations/new")
    await page.locator('input[name="name"]').fill("Qualified: case study")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/automations/\d+$"))
    automation_id = int(page.url.rsplit("/", 1)[1])

    await expect(page.get_by_test_id("graph-problems")).to_contain_text("add a trigger", timeout=15_000)

    # Drawn from the palette: six nodes dropped on the canvas, then connected from their outcome handles.
    nodes = page.get_by_test_id("automation-node")
    for label, x, y in (
        ("Status changed", 200, 60),
        ("Wait", 200, 230),
        ("Send message", 200, 400),
        ("Wait for event", 200, 570),
        ("Add tag", 120, 760),
        ("Exit", 480, 760),
    ):
        await _drop(page, label, x, y)
    await expect(nodes).to_have_count(6)
    for source, outcome, target in (
        ("trigger-1", "next", "wait-1"),
        ("wait-1", "next", "do-1"),
        ("do-1", "next", "wait-2"),
        ("wait-2", "event", "do-2"),
        ("wait-2", "timeout", "do-3"),
    ):
        await _connect(page, source, outcome, target)
    await expect(page.locator(".react-flow__edge")).to_have_count(5)

    # Each node configured in its side panel.
    panel = page.get_by_test_id("node-panel")
    await _node(page, "trigger-1").click()
    await panel.get_by_label("To status").select_option("qualified")
    await _node(page, "wait-1").click()
    await panel.get_by_label("Wait for days").fill("2")
    await _node(page, "do-1").click()
    await panel.get_by_label("Template", exact=True).select_option(label="Case study")
    await _node(page, "wait-2").click()
    await panel.get_by_label("Event kind").select_option("clicked")
    await panel.get_by_label("Message of").select_option("do-1")
    await panel.get_by_label("Up to days").fill("3")
    await _node(page, "do-2").click()
    await panel.get_by_label("Tag").fill("read-the-study")
    await expect(page.get_by_test_id("validation-summary")).to_have_text("No problems", timeout=15_000)
    await expect(page.get_by_test_id("draft-saved")).to_have_attribute("data-status", "saved", timeout=15_000)

    # Simulated for Ada before publishing: no click arrives in a simulation, so the wait times out; the dates are
    # the simulated ones, and the email is what would have been sent. Nothing is sent.
    await page.get_by_test_id("simulate-toggle").click()
    simulator = page.get_by_test_id("automation-simulator")
    await simulator.locator('input[name="lead_ids"]').fill(str(ada))
    await simulator.get_by_test_id("simulate").click()
    results = simulator.get_by_test_id("simulation-results")
    await expect(results).to_have_attribute("data-status", "done", timeout=90_000)
    await expect(simulator.get_by_test_id("simulation-assumed")).to_contain_text("times out")
    simulated = simulator.get_by_test_id("simulated-lead")
    await expect(simulated).to_have_count(1)
    await expect(simulated.first).to_contain_text("Ada")
    await expect(simulator.get_by_test_id("would-send-row")).to_have_count(1)
    await expect(simulator.get_by_test_id("would-send-row").first).to_contain_text("Our case study, Ada")
    await simulated.first.click()
    path = simulator.get_by_test_id("simulated-path")
    await expect(path.get_by_test_id("simulated-step")).to_have_count(5)
    steps = await path.get_by_test_id("simulated-step").evaluate_all("els => els.map(e => e.dataset.nodeId)")
    assert steps == ["trigger-1", "wait-1", "do-1", "wait-2", "do-3"]
    # The simulation's counts are drawn on the nodes; the click branch was never taken.
    await expect(_node(page, "do-1").get_by_test_id("node-badge").first).to_be_visible()
    await expect(_node(page, "do-2").get_by_test_id("node-badge")).to_have_count(0)
    await page.screenshot(path=SCREENSHOTS / "automation-simulation.png")
    # Again, assuming Ada clicks each message the moment it is sent: the click branch is taken. Still nothing sent.
    await simulator.locator('select[name="engagement"]').select_option("clicks")
    await simulator.get_by_test_id("simulate").click()
    await expect(simulator.get_by_test_id("simulation-assumed")).to_contain_text("clicks each message", timeout=90_000)
    await expect(results).to_have_attribute("data-status", "done", timeout=90_000)
    await simulated.first.click()
    await expect(path.get_by_test_id("simulated-step")).to_have_count(5)
    steps = await path.get_by_test_id("simulated-step").evaluate_all("els => els.map(e => e.dataset.nodeId)")
    assert steps == ["trigger-1", "wait-1", "do-1", "wait-2", "do-2"]
    await expect(_node(page, "do-2").get_by_test_id("node-badge").first).to_be_visible()
    (sent,) = await _rows(db, "SELECT count(*) AS n FROM outbox_messages WHERE rcpt_to @> '[\"ada@example.com\"]'")
    assert sent.n == 0
    await page.get_by_test_id("simulate-toggle").click()

    # Published: version 1.
    await page.get_by_role("button", name="Publish", exact=True).click()
    await expect(page.get_by_test_id("published-version")).to_have_text("Version 1 published")

    # Ada becomes qualified on her page: her journey starts and waits two days at the first wait.
    await page.goto(f"{live_app}/leads/{ada}")
    details = page.get_by_role("form", name="Lead details")
    await details.locator('select[name="status"]').select_option("qualified")
    await details.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("main").get_by_text("updated", exact=False).first).to_be_visible()

    async def qualified() -> bool:
        return (await api.get(f"/api/leads/{ada}")).json()["status"] == "qualified"

    await eventually(qualified, timeout=15)

    await page.goto(f"{live_app}/automations/{automation_id}")
    await page.get_by_test_id("monitor-toggle").click()
    monitor = page.get_by_test_id("automation-monitor")
    waiting = monitor.locator('[data-testid="monitor-total"][data-status="waiting"]')
    await expect(waiting).to_contain_text("1", timeout=30_000)
    await expect(_node(page, "wait-1").get_by_test_id("node-badge").first).to_contain_text("1")
    journey = monitor.get_by_test_id("journey-row")
    await expect(journey).to_have_count(1)
    await expect(journey.first).to_contain_text("Ada")
    await journey.first.click()
    walked = monitor.get_by_test_id("journey-step")
    await expect(walked.first).to_have_attribute("data-node-id", "trigger-1")
    await expect(monitor.get_by_test_id("temporal-link").first).to_have_attribute(
        "href", re.compile(rf"/workflows/journey-{automation_id}-{ada}")
    )
    await expect(_node(page, "wait-1")).to_have_class(re.compile(r"\bis-highlighted\b"))
    await page.screenshot(path=SCREENSHOTS / "automation-monitoring.png")
    await page.get_by_test_id("monitor-toggle").click()

    # A test run on Bob, for real with every delay cut to a few seconds: the email is sent; Bob clicks its link (an
    # hour after it was sent, as a person would: a click within seconds is a scanner's) and takes the click branch.
    await page.get_by_test_id("simulate-toggle").click()
    test_run = page.get_by_test_id("test-run-form")
    await test_run.locator('input[name="test_lead_id"]').fill(str(bob))
    await test_run.locator('input[name="max_delay_seconds"]').fill("12")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # "Run it for real on lead …?"
    async with page.expect_response(re.compile(r"/test-runs$")) as started:
        await test_run.get_by_test_id("test-run").click()
    answer = await started.value
    assert answer.status == 202, await answer.text()
    progress = test_run.get_by_test_id("test-run-progress")

    async def sent_delivery() -> int | None:
        found = await _rows(
            db,
            "SELECT d.id FROM deliveries d JOIN journeys j ON j.id = d.journey_id "
            "WHERE j.automation_id = :a AND j.lead_id = :l AND d.status = 'sent'",
            a=automation_id,
            l=bob,
        )
        return found[0].id if found else None

    delivery_id = await eventually(sent_delivery, timeout=60)
    async with db() as session:
        await session.execute(
            text("UPDATE deliveries SET sent_at = now() - interval '1 hour' WHERE id = :d"), {"d": delivery_id}
        )
        await session.commit()
    click = await page.request.get(
        live_app + httpx.URL(click_url(settings, delivery_id, STUDY)).raw_path.decode(),
        headers={"User-Agent": CHROME},
        max_redirects=0,
    )
    assert click.status in (302, 303, 307), click.status
    await expect(progress).to_have_attribute("data-status", "completed", timeout=60_000)
    lead = (await api.get(f"/api/leads/{bob}")).json()
    assert "read-the-study" in lead["tags"]
    await page.screenshot(path=SCREENSHOTS / "automation-test-run.png")
    await page.close()


async def _rows(db, sql: str, **params):
    async with db() as session:
        return (await session.execute(text(sql), params)).all()
