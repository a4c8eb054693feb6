"""The UI in Debian's chromium, driven by Playwright: create a campaign, launch it, see 100%, read the outbox."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright, expect

from api.main import create_app
from tests.conftest import free_port
from tests.factories import make_campaign, make_leads
from tests.helpers import eventually

CHROMIUM = os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium")
UI_DIST = Path(__file__).resolve().parent.parent / "ui" / "dist"
SCREENSHOTS = Path(os.environ.get("HERALD_SCREENSHOTS", "/tmp/herald-screenshots"))


@pytest.fixture
async def live_app(settings, temporal_client, worker) -> AsyncIterator[str]:
    assert (UI_DIST / "index.html").exists(), "the UI is not built: run `make ui` (make test does)"
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, temporal_client=temporal_client), port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    await eventually(_started(server), timeout=30, interval=0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def _started(server: uvicorn.Server):
    async def check() -> bool:
        return server.started

    return check


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (make test does)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        await browser.close()


async def test_create_launch_and_watch_a_campaign_reach_100_percent(live_app, browser, db):
    lead_ids = await make_leads(db, 40)
    # A template and a list to pick in the form (the factory's own campaign is not used here).
    await make_campaign(db, lead_ids, name="Factory campaign")
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    await page.goto(live_app + "/")
    await page.get_by_role("link", name="Campaigns", exact=True).click()
    await page.get_by_role("button", name="New campaign").click()
    await page.locator('input[name="name"]').fill("Browser launch")
    await page.locator('select[name="template_id"]').select_option(index=1)
    await page.locator('select[name="list_id"]').select_option(label="list-0 (40)")
    await page.get_by_role("button", name="Create campaign").click()

    await expect(page.get_by_role("heading", name="Browser launch")).to_be_visible()
    await page.get_by_role("button", name="Launch").click()
    await expect(page.get_by_test_id("progress-percent")).to_have_text("100%", timeout=60_000)
    await expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=10_000)
    link = page.get_by_role("link", name="Open in Temporal UI")
    assert (await link.get_attribute("href")).endswith("/workflows/" + (await _workflow_id(page)))
    await page.screenshot(path=SCREENSHOTS / "campaign.png", full_page=True)

    await page.get_by_role("link", name="Outbox", exact=True).click()
    await expect(page.get_by_test_id("outbox-row")).to_have_count(40)
    await page.get_by_test_id("outbox-row").first.click()
    await expect(page.locator("iframe")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "outbox.png", full_page=True)

    await page.get_by_role("link", name="Leads", exact=True).click()
    await expect(page.get_by_test_id("lead-row")).to_have_count(40)
    await page.close()


async def _workflow_id(page) -> str:
    text = await page.get_by_test_id("workflow-id").text_content()
    assert text and text.startswith("campaign-") and "-run-1" in text
    return text.strip()
