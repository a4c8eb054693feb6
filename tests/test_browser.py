"""The UI in Debian's chromium, driven by Playwright: build a campaign in the wizard, launch it, watch it complete,
read the outbox."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright, expect
from sqlalchemy import text

from api.accounts import create_user, set_membership
from api.main import create_app
from domain.permissions import Role
from tests.conftest import free_port
from tests.factories import make_campaign, make_leads
from tests.helpers import eventually

CHROMIUM = os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium")
UI_DIST = Path(__file__).resolve().parent.parent / "ui" / "dist"
SCREENSHOTS = Path(os.environ.get("HERALD_SCREENSHOTS", "/tmp/herald-screenshots"))
PASSWORD = "correct horse battery"


@asynccontextmanager
async def serving(app, port: int) -> AsyncIterator[None]:
    """The ASGI app served by uvicorn on 127.0.0.1:port while the block runs."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(_started(server), timeout=30, interval=0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live_app(settings, temporal_client, worker) -> AsyncIterator[str]:
    assert (UI_DIST / "index.html").exists(), "the UI is not built: run `make ui` (make test does)"
    port = free_port()
    async with serving(create_app(settings, temporal_client=temporal_client), port):
        yield f"http://127.0.0.1:{port}"


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


async def _sign_in(browser: Browser, base: str, email: str, password: str = PASSWORD):
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(base + "/campaigns")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.locator('input[name="email"]').fill(email)
    await page.locator('input[name="password"]').fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("current-role")).to_be_visible()
    return page


async def test_a_wrong_password_is_refused_on_the_login_page(live_app, browser, tenant):
    page = await browser.new_page()
    await page.goto(live_app + "/")
    await page.locator('input[name="email"]').fill("admin@acme.test")
    await page.locator('input[name="password"]').fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("invalid email or password")
    await page.close()


async def test_build_a_two_step_campaign_in_the_wizard_and_watch_it_complete(live_app, browser, db, tenant):
    """The whole wizard: basics, audience with live counts, a flow (send, wait, send), schedule, review, launch; then
    the campaign page shows the run complete with numbers per step, and the outbox holds both messages per lead."""
    lead_ids = await make_leads(db, 12)
    # A template and a list to pick in the wizard (the factory's own campaign is not used here).
    await make_campaign(db, lead_ids, name="Factory campaign")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await expect(page.get_by_test_id("current-role")).to_have_text("admin")

    await page.get_by_role("link", name="Campaigns", exact=True).click()
    await page.get_by_role("button", name="New campaign").click()
    await expect(page).to_have_url(re.compile(r"/campaigns/new"))

    # Basics
    await page.locator('input[name="name"]').fill("Browser flow")
    await page.locator('select[name="objective"]').select_option("retention")
    await page.locator('input[name="tags"]').fill("browser, e2e")
    # Tracking: opens off, UTM parameters on (campaign named after the campaign)
    await page.locator('input[name="track_opens"]').uncheck()
    await page.locator('input[name="track_utm"]').check()
    await expect(page.locator('input[name="utm_campaign"]')).to_have_value("browser-flow")
    await page.get_by_role("button", name="Next →").click()

    # Audience: one list; the reachable counts follow
    await page.locator('input[name="list_ids"]').first.check()
    await expect(page.get_by_test_id("reach-total")).to_have_text("12", timeout=15_000)
    await expect(page.get_by_test_id("reach-email")).to_have_text("12")
    await page.screenshot(path=SCREENSHOTS / "campaign-audience.png", full_page=True)
    await page.get_by_role("button", name="Next →").click()

    # Flow: send, wait (until a moment already past: it ends at once), send
    steps = page.get_by_test_id("flow-step")
    await page.get_by_role("button", name="Add send step", exact=True).click()
    await steps.nth(0).get_by_label("Template", exact=True).select_option(label="tpl-0")
    await page.get_by_role("button", name="Add wait step", exact=True).click()
    await steps.nth(1).get_by_role("radio", name="Until a date").click()
    await steps.nth(1).get_by_label("Wait until date").fill((date.today() - timedelta(days=1)).isoformat())
    await steps.nth(1).get_by_label("Wait until time").fill("00:00")
    await page.get_by_role("button", name="Add send step", exact=True).click()
    await expect(steps).to_have_count(3)
    # A send step without its template is pointed out on that step
    await expect(steps.nth(2).get_by_test_id("step-problems")).to_be_visible()
    await steps.nth(2).get_by_label("Template", exact=True).select_option(label="tpl-0")
    await expect(steps.nth(2).get_by_test_id("step-problems")).to_have_count(0, timeout=10_000)
    await expect(page.get_by_test_id("flow-problem-count")).to_have_text("0 errors", timeout=10_000)
    await page.screenshot(path=SCREENSHOTS / "campaign-flow.png", full_page=True)
    await page.get_by_role("button", name="Next →").click()

    # Schedule: now (the default); on to the review, which saves the campaign
    await expect(page.locator('input[name="schedule_mode"][value="now"]')).to_be_checked()
    await page.screenshot(path=SCREENSHOTS / "campaign-schedule.png", full_page=True)
    await page.get_by_role("button", name="Next →").click()
    await expect(page).to_have_url(re.compile(r"/campaigns/\d+/edit\?step=review"))
    await expect(page.get_by_test_id("review-ready")).to_be_visible(timeout=15_000)
    await expect(page.get_by_test_id("estimate-email")).to_have_text("12")
    await page.get_by_role("button", name="Run a dry run").click()
    await expect(page.get_by_test_id("dry-run-row")).to_have_count(2, timeout=30_000)
    await expect(page.get_by_test_id("dry-run-sendable").first).to_have_text("12")
    await page.screenshot(path=SCREENSHOTS / "campaign-review.png", full_page=True)
    await page.get_by_role("button", name="Launch", exact=True).click()

    # The campaign page: the run completes, with numbers for both send steps
    await expect(page.get_by_role("heading", name="Browser flow")).to_be_visible()
    await expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=90_000)
    await expect(page.get_by_test_id("progress-percent")).to_have_text("100%")
    rows = page.get_by_test_id("step-row")
    await expect(rows).to_have_count(2, timeout=10_000)
    await expect(rows.nth(0).get_by_test_id("step-sent")).to_have_text("12")
    await expect(rows.nth(1).get_by_test_id("step-sent")).to_have_text("12")
    link = page.get_by_role("link", name="Open in Temporal UI")
    assert (await link.get_attribute("href")).endswith("/workflows/" + (await _workflow_id(page)))
    await page.screenshot(path=SCREENSHOTS / "campaign.png", full_page=True)

    async with db() as session:
        tracking = (
            await session.execute(text("SELECT tracking FROM campaigns WHERE name = 'Browser flow'"))
        ).scalar_one()
    assert tracking == {
        "opens": False,
        "clicks": True,
        "utm": {"source": "herald", "medium": "email", "campaign": "browser-flow"},
    }

    await page.get_by_role("link", name="Outbox", exact=True).click()
    await expect(page.get_by_test_id("outbox-row")).to_have_count(24)
    await page.get_by_test_id("outbox-row").first.click()
    await expect(page.locator("iframe")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.close()


async def test_schedule_a_campaign_and_drag_it_to_another_day_on_the_calendar(live_app, browser, db, tenant):
    await make_campaign(db, await make_leads(db, 3), name="Factory campaign")
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.goto(live_app + "/campaigns/new")
    await page.locator('input[name="name"]').fill("Later")
    await page.get_by_role("button", name="Next →").click()
    await page.get_by_role("button", name="Next →").click()  # audience: every lead
    await page.get_by_role("button", name="Add send step", exact=True).click()
    await page.get_by_test_id("flow-step").first.get_by_label("Template", exact=True).select_option(label="tpl-0")
    await page.get_by_role("button", name="Next →").click()
    # Two days from now at 10:00 (the workspace's timezone is UTC; the browser's too); then one day later, or
    # earlier for a Sunday, so that the drop stays in the same row of the month grid.
    day = date.today() + timedelta(days=2)
    target = day - timedelta(days=1) if day.weekday() == 6 else day + timedelta(days=1)
    await page.locator('input[name="schedule_mode"][value="at"]').check()
    await page.locator('input[name="at"]').fill(f"{day.isoformat()}T10:00")
    await page.get_by_role("button", name="Next →").click()
    await expect(page.get_by_test_id("review-start")).to_contain_text(f"{day.isoformat()} 10:00")
    await page.locator('input[name="test_recipients"]').fill("qa@example.com")
    await page.get_by_role("button", name="Send test").click()
    await expect(page.get_by_test_id("test-send-result")).to_contain_text("qa@example.com sent", timeout=30_000)
    await page.get_by_role("button", name="Schedule", exact=True).click()
    await expect(page.get_by_test_id("campaign-status")).to_have_text("scheduled", timeout=30_000)

    await page.get_by_role("link", name="See the calendar").click()
    await expect(page.get_by_role("heading", name="Campaign calendar")).to_be_visible()
    event = page.locator(".rbc-event", has_text="Later")
    try:
        await expect(event).to_be_visible(timeout=10_000)
    except AssertionError:
        await page.get_by_role("button", name="Next", exact=True).click()  # the day is in next month's grid
        await expect(event).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "campaign-calendar.png", full_page=True)
    await event.scroll_into_view_if_needed()
    box = await event.bounding_box()
    cell = await page.locator(".rbc-month-view .rbc-day-bg").first.bounding_box()
    assert box and cell
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    step = cell["width"] * (target - day).days
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + step / 2, y, steps=5)
    await page.mouse.move(x + step, y, steps=5)
    await page.mouse.up()
    await expect(page.get_by_role("status").filter(has_text="now starts")).to_be_visible(timeout=10_000)

    async def moved() -> bool:
        async with db() as session:
            at = (await session.execute(text("SELECT scheduled_at FROM campaigns WHERE name = 'Later'"))).scalar_one()
        return at is not None and at.date() == target and (at.hour, at.minute) == (10, 0)

    await eventually(moved, timeout=10)
    await page.close()


async def test_a_marketer_test_sends_an_email_step_from_the_review_and_it_reaches_the_outbox(
    live_app, browser, db, tenant
):
    """The review step's test send of an email step: the UI confirms it, the SMTP sink holds the message with the
    "[Test]" subject (the Outbox page shows it), and nothing is recorded as a delivery."""
    await make_campaign(db, await make_leads(db, 3), name="Factory campaign")  # tpl-0: an email template
    await _member(db, tenant.workspace_id, "marketer@example.com", Role.marketer)
    page = await _sign_in(browser, live_app, "marketer@example.com")
    await page.goto(live_app + "/campaigns/new")
    await page.locator('input[name="name"]').fill("Proofread me")
    await page.get_by_role("button", name="Next →").click()
    await page.get_by_role("button", name="Next →").click()  # audience: every lead
    await page.get_by_role("button", name="Add send step", exact=True).click()
    step = page.get_by_test_id("flow-step").first
    await step.get_by_label("Channel", exact=True).select_option("email")
    await step.get_by_label("Template", exact=True).select_option(label="tpl-0")
    step_id = await step.get_attribute("data-step-id")
    await expect(page.get_by_test_id("flow-problem-count")).to_have_text("0 errors", timeout=10_000)
    await page.get_by_role("button", name="Next →").click()
    await page.get_by_role("button", name="Next →").click()  # schedule: now
    await expect(page.get_by_test_id("review-ready")).to_be_visible(timeout=15_000)

    await page.locator('input[name="test_recipients"]').fill("qa@example.com")
    await page.get_by_role("button", name="Send test").click()
    result = page.get_by_test_id("test-send-result")
    await expect(result).to_have_count(1, timeout=30_000)
    await expect(result).to_contain_text(f"{step_id} qa@example.com sent")
    await expect(result).to_have_class(re.compile(r"\bok\b"))

    async with db() as session:
        mails = (
            await session.execute(text("SELECT workspace_id, channel, rcpt_to, subject, raw FROM outbox_messages"))
        ).all()
        deliveries = (await session.execute(text("SELECT count(*) FROM deliveries"))).scalar_one()
    assert [(m.workspace_id, m.channel, m.rcpt_to) for m in mails] == [
        (tenant.workspace_id, "email", ["qa@example.com"])
    ]
    assert mails[0].subject.startswith("[Test] Hello "), mails[0].subject
    assert "X-Herald-Test: 1" in mails[0].raw
    assert deliveries == 0

    await page.get_by_role("link", name="Outbox", exact=True).click()
    row = page.get_by_test_id("outbox-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("qa@example.com")
    await expect(row).to_contain_text("[Test] Hello ")
    await row.click()
    await expect(page.get_by_test_id("outbox-message").get_by_role("heading", level=2)).to_contain_text("[Test] Hello ")
    await page.close()


async def _member(db, workspace_id: int, email: str, role: Role) -> None:
    async with db() as session:
        user = await create_user(session, email, PASSWORD)
        await set_membership(session, user.id, workspace_id, role)
        await session.commit()


async def test_a_marketer_sees_the_app_and_a_viewer_sees_no_launch_button(live_app, browser, db, tenant):
    campaign_id = await make_campaign(db, await make_leads(db, 3), name="Spring sale")
    await _member(db, tenant.workspace_id, "marketer@example.com", Role.marketer)
    await _member(db, tenant.workspace_id, "viewer@example.com", Role.viewer)

    page = await _sign_in(browser, live_app, "marketer@example.com")
    await expect(page.get_by_test_id("current-role")).to_have_text("marketer")
    await expect(page.get_by_role("button", name="New campaign")).to_be_visible()
    await page.goto(f"{live_app}/campaigns/{campaign_id}")
    await expect(page.get_by_role("button", name="Launch")).to_be_visible()
    await expect(page.get_by_role("link", name="Members")).to_have_count(0)
    await page.close()

    page = await _sign_in(browser, live_app, "viewer@example.com")
    await expect(page.get_by_test_id("current-role")).to_have_text("viewer")
    await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    await expect(page.get_by_text("Spring sale")).to_be_visible()
    await expect(page.get_by_role("button", name="New campaign")).to_have_count(0)
    await page.goto(f"{live_app}/campaigns/{campaign_id}")
    await expect(page.get_by_role("heading", name="Spring sale")).to_be_visible()
    await expect(page.get_by_role("button", name="Launch")).to_have_count(0)
    await page.screenshot(path=SCREENSHOTS / "viewer-campaign.png", full_page=True)
    await page.close()


async def test_a_manager_rejects_with_a_comment_then_approves_a_submitted_launch(live_app, browser, db, tenant):
    campaign_id = await make_campaign(db, await make_leads(db, 4), name="Needs a yes")
    async with db() as session:
        await session.execute(
            text("UPDATE workspaces SET requires_approval = true WHERE id = :id"), {"id": tenant.workspace_id}
        )
        await session.commit()
    await _member(db, tenant.workspace_id, "marketer@example.com", Role.marketer)
    await _member(db, tenant.workspace_id, "manager@example.com", Role.manager)

    marketer = await _sign_in(browser, live_app, "marketer@example.com")
    await marketer.goto(f"{live_app}/campaigns/{campaign_id}")
    await marketer.get_by_role("button", name="Submit for approval").click()
    await expect(marketer.get_by_test_id("campaign-status")).to_have_text("pending approval", timeout=30_000)
    await expect(marketer.get_by_test_id("approval-panel")).to_contain_text("requires approval")
    await expect(marketer.get_by_role("button", name="Approve")).to_have_count(0)

    manager = await _sign_in(browser, live_app, "manager@example.com")
    await manager.goto(f"{live_app}/campaigns/{campaign_id}")
    panel = manager.get_by_test_id("approval-panel")
    await expect(panel.get_by_role("button", name="Reject")).to_be_disabled()  # a rejection says why
    await panel.locator('textarea[name="approval_comment"]').fill("Wrong audience")
    await panel.get_by_role("button", name="Reject").click()
    await expect(manager.get_by_test_id("campaign-status")).to_have_text("rejected", timeout=30_000)
    await expect(manager.get_by_test_id("rejection-comment")).to_have_text("Wrong audience")

    await marketer.reload()
    await expect(marketer.get_by_test_id("rejection-comment")).to_have_text("Wrong audience")
    await marketer.get_by_role("button", name="Submit for approval").click()
    await expect(marketer.get_by_test_id("campaign-status")).to_have_text("pending approval", timeout=30_000)

    await manager.reload()
    await manager.get_by_test_id("approval-panel").get_by_role("button", name="Approve").click()
    await expect(manager.get_by_test_id("run-status")).to_have_text("completed", timeout=60_000)
    await expect(manager.get_by_test_id("step-row").get_by_test_id("step-sent")).to_have_text("4")
    await manager.screenshot(path=SCREENSHOTS / "campaign-approved.png", full_page=True)
    await manager.close()
    await marketer.close()


async def test_an_admin_manages_members_keys_and_reads_the_audit_log(live_app, browser, db, tenant):
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.goto(live_app + "/settings/members")
    await expect(page.get_by_role("heading", name="Members")).to_be_visible()
    await page.get_by_role("button", name="Add member").click()  # opens the form
    await page.locator('input[name="email"]').fill("newbie@example.com")
    await page.locator('select[name="role"]').select_option("viewer")
    await page.get_by_role("button", name="Add member").click()
    await expect(page.get_by_test_id("temporary-password")).not_to_be_empty()
    await expect(page.get_by_test_id("member-row")).to_have_count(2)

    await page.goto(live_app + "/settings/api-keys")
    await page.get_by_role("button", name="New API key").click()
    await page.locator('input[name="name"]').fill("CI")
    await page.locator('select[name="role"]').select_option("marketer")
    await page.get_by_role("button", name="Create API key").click()
    await expect(page.get_by_test_id("api-key-secret")).to_contain_text("hk_")
    await expect(page.get_by_test_id("api-key-row")).to_have_count(2)  # the tests' own key and this one

    # The workspace's timezone: a name the server does not know is refused on the field, a real one is saved.
    await page.goto(live_app + "/settings")
    zone = page.locator('input[name="timezone"]')
    await zone.fill("Mars/Olympus")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("unknown timezone")).to_be_visible()
    await expect(zone).to_have_class(re.compile(r"\binvalid\b"))
    await zone.fill("Europe/Paris")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Settings saved.")).to_be_visible()
    async with db() as session:
        saved = await session.execute(text("SELECT timezone FROM workspaces WHERE id = :w"), {"w": tenant.workspace_id})
        assert saved.scalar_one() == "Europe/Paris"

    await page.goto(live_app + "/settings/audit")
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    await expect(page.get_by_test_id("audit-row").first).to_be_visible()
    await expect(page.get_by_text("api_key.created")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "audit.png", full_page=True)
    await page.close()


async def _workflow_id(page) -> str:
    text = await page.get_by_test_id("workflow-id").text_content()
    assert text and text.startswith("campaign-") and "-run-1" in text
    return text.strip()


async def test_build_a_filter_see_the_count_change_and_save_the_list(live_app, browser, db, tenant):
    await make_leads(db, 10, prefix="hot", score=80)
    await make_leads(db, 20, prefix="cold", score=10)
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.get_by_role("link", name="Lists", exact=True).click()
    await expect(page.get_by_role("heading", name="Lists")).to_be_visible()
    await page.get_by_role("button", name="New list").click()
    await page.locator('input[name="name"]').fill("High scorers")
    await page.locator('select[name="kind"]').select_option("dynamic")
    await expect(page.get_by_test_id("preview-total")).to_have_text("30")

    await page.get_by_role("button", name="+ Rule").first.click()
    await page.locator("select.rule-fields").last.select_option("score")
    await page.locator("select.rule-operators").last.select_option(">=")
    await page.locator("input.rule-value").last.fill("50")
    await expect(page.get_by_test_id("preview-total")).to_have_text("10")
    await page.screenshot(path=SCREENSHOTS / "list-editor.png", full_page=True)

    await page.get_by_role("button", name="Save list").click()
    await expect(page).to_have_url(re.compile(r"/lists/\d+$"))
    await page.get_by_role("link", name="Lists", exact=True).click()
    row = page.get_by_test_id("list-row").filter(has_text="High scorers")
    await expect(row).to_contain_text("10")
    await page.close()


async def test_upload_map_import_and_download_the_error_report(live_app, browser, db, tenant, tmp_path):
    rows = ["Email,Prénom,Score,Ville"] + [f"person{i}@example.com,P{i},{i},Lyon" for i in range(12)]
    rows += ["not-an-email,Bad,1,Paris", "person3@example.com,Again,3,Nice"]
    source = tmp_path / "salon.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.get_by_role("link", name="Import", exact=True).click()
    await page.get_by_test_id("import-file").set_input_files(str(source))
    await expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    # Suggested from the headers: Email → email, Prénom → first_name, Score → score; Ville becomes nothing.
    await expect(page.get_by_label("Target for Email")).to_have_value("email")
    await expect(page.get_by_label("Target for Prénom")).to_have_value("first_name")
    await page.get_by_label("Target for Ville").select_option("ignore")
    await page.screenshot(path=SCREENSHOTS / "import-mapping.png", full_page=True)
    await page.get_by_role("button", name="Start import").click()
    await expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=60_000)
    await expect(page.get_by_test_id("count-imported")).to_have_text("12")
    await expect(page.get_by_test_id("count-rejected")).to_have_text("1")
    await expect(page.get_by_test_id("count-skipped")).to_have_text("1")
    await page.screenshot(path=SCREENSHOTS / "import-result.png", full_page=True)
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download error report").click()
    report = tmp_path / "errors.csv"
    await (await download_info.value).save_as(report)
    text_report = report.read_text(encoding="utf-8-sig")
    assert "not an email address" in text_report and "duplicate of row 5" in text_report
    await page.close()


async def test_drop_images_see_thumbnails_tag_find_and_choose(live_app, browser, db, tenant, tmp_path):
    from tests import media_samples

    first = tmp_path / "sunset.png"
    first.write_bytes(media_samples.png_bytes(alpha=False, color=(250, 120, 30)))
    second = tmp_path / "forest.jpg"
    second.write_bytes(media_samples.jpeg_bytes(width=800, height=600))
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.get_by_role("link", name="Media", exact=True).click()
    await page.get_by_test_id("media-file").set_input_files([str(first), str(second)])
    await expect(page.get_by_test_id("upload-row")).to_have_count(2)
    cards = page.get_by_test_id("media-card")
    await expect(cards).to_have_count(2, timeout=30_000)
    await expect(cards.locator("img")).to_have_count(2, timeout=60_000)  # thumbnails appear when processed
    await page.screenshot(path=SCREENSHOTS / "media-grid.png", full_page=True)

    await cards.filter(has_text="forest.jpg").click()
    await page.get_by_label("Add tag").fill("nature")
    await page.get_by_label("Add tag").press("Enter")
    await page.get_by_label("Alt text").fill("Pine trees at dawn")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("nature").first).to_be_visible()
    await page.keyboard.press("Escape")

    await page.get_by_label("Tag").select_option("nature")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("forest.jpg")
    await page.get_by_label("Tag").select_option("")
    await page.get_by_label("Search media").fill("pine")
    await expect(cards).to_have_count(1)
    await page.get_by_label("Search media").fill("")

    await page.get_by_role("button", name="Test the chooser").click()
    chooser = page.get_by_role("dialog", name="Choose media")
    await expect(chooser.get_by_test_id("chooser-card")).to_have_count(2)
    await chooser.get_by_test_id("chooser-card").filter(has_text="sunset.png").click()
    await chooser.get_by_role("button", name="Choose").click()
    await expect(page.get_by_test_id("chosen-media")).to_contain_text("sunset.png")
    await page.screenshot(path=SCREENSHOTS / "media-chooser.png", full_page=True)
    await page.close()


async def _setup_template_data(base: str, api_key: str) -> dict:
    """An image in the library (processed, so the chooser offers it) and two leads to preview for."""
    import httpx

    from tests import media_samples

    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as api:
        image = media_samples.png_bytes(alpha=False, color=(30, 120, 250))
        uploaded = await api.post("/api/media", files={"file": ("banner.png", image, "application/octet-stream")})
        assert uploaded.status_code == 201, uploaded.text
        asset_id = uploaded.json()["id"]

        async def ready():
            asset = (await api.get(f"/api/media/{asset_id}")).json()
            return asset if asset["status"] == "ready" else None

        await eventually(ready, timeout=90, interval=0.2)
        leads = {}
        for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper")):
            created = await api.post(
                "/api/leads", json={"first_name": first, "last_name": last, "email": f"{first.lower()}@example.com"}
            )
            assert created.status_code == 201, created.text
            leads[first] = created.json()["id"]
        return {"asset_id": asset_id, "leads": leads}


async def test_write_an_email_with_an_image_and_a_token_preview_two_leads_and_roll_back(live_app, browser, db, tenant):
    setup = await _setup_template_data(live_app, tenant.admin_key)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = await _sign_in(browser, live_app, "admin@acme.test")
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))

    await page.get_by_role("link", name="Templates", exact=True).click()
    await expect(page.get_by_role("heading", name="Templates")).to_be_visible()
    await page.get_by_role("button", name="New template").click()
    await page.get_by_test_id("new-email").click()
    await expect(page).to_have_url(re.compile(r"/templates/new\?channel=email"))

    await page.locator('input[name="name"]').fill("Welcome")
    await page.locator('input[name="subject"]').fill("Hello {{ lead.first_name }}")
    body = page.get_by_role("textbox", name="Body")
    await body.click()
    await page.keyboard.type("Hi ")
    # The token menu of the body's toolbar inserts at the caret.
    await page.get_by_role("toolbar", name="Formatting").get_by_role("button", name="Insert token").click()
    await page.get_by_test_id("token-item").filter(has_text="lead.first_name").first.click()
    # The menu hands the focus back to the editor a moment later: a key typed before that is lost.
    await expect(body).to_contain_text("Hi {{ lead.first_name }}")
    await expect(body).to_be_focused()
    await page.keyboard.type(", welcome aboard.")
    await page.keyboard.press("Enter")
    await page.get_by_role("button", name="Image", exact=True).click()
    chooser = page.get_by_role("dialog", name="Choose media")
    await chooser.get_by_test_id("chooser-card").filter(has_text="banner.png").click()
    await chooser.get_by_role("button", name="Choose").click()
    await expect(body.locator(f'img[src="/api/media/{setup["asset_id"]}/file/web"]')).to_have_count(1)
    await expect(body).to_contain_text("Hi {{ lead.first_name }}, welcome aboard.")
    await page.locator('input[name="version_note"]').fill("First draft")
    await page.get_by_role("button", name="Create template").click()
    await expect(page).to_have_url(re.compile(r"/templates/\d+$"))
    await expect(page.get_by_test_id("template-version")).to_contain_text("Version 1")

    # The preview, for one lead and then another: the token takes each one's first name.
    frame = page.frame_locator('iframe[title="Email preview"]')
    await expect(page.get_by_test_id("preview-lead")).to_have_text("Sample lead")
    for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper")):
        await page.get_by_label("Find a lead to preview").fill(first)
        await page.get_by_role("button", name=f"Preview for {first} {last}").click()
        await expect(page.get_by_test_id("preview-lead")).to_have_text(f"{first} {last}")
        await expect(page.get_by_test_id("preview-subject")).to_have_text(f"Hello {first}")
        await expect(frame.locator("body")).to_contain_text(f"Hi {first}, welcome aboard.")
    # The library image, rewritten to a signed public link (the frame is sandboxed: no session cookie there).
    await expect(frame.locator("img")).to_have_attribute(
        "src", re.compile(rf"/public/media/{setup['asset_id']}/\w+\?sig=")
    )
    await page.get_by_role("button", name="Mobile").click()
    await expect(page.locator('[data-device="mobile"]')).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "template-editor.png", full_page=True)

    # A second version, then back to the first (saved as a third).
    await body.click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("See you soon.")
    await page.locator('input[name="version_note"]').fill("Sign-off")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_test_id("template-version")).to_contain_text("Version 2")
    rows = page.get_by_test_id("version-row")
    await expect(rows).to_have_count(2)
    await page.get_by_label("Compare version 1").check()
    await page.get_by_label("Compare version 2").check()
    diff = page.get_by_test_id("version-diff")
    await expect(diff.locator('td[data-kind="added"]')).to_contain_text(["See you soon."])

    await (
        page.locator('[data-testid="version-row"][data-version="1"]')
        .get_by_role("button", name="Roll back to this version")
        .click()
    )
    await expect(page.get_by_test_id("template-version")).to_contain_text("Version 3")
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("Rolled back to version 1")
    await expect(body).not_to_contain_text("See you soon.")
    await expect(body).to_contain_text("Hi {{ lead.first_name }}, welcome aboard.")
    await expect(frame.locator("body")).not_to_contain_text("See you soon.")
    await page.screenshot(path=SCREENSHOTS / "template-history.png", full_page=True)
    await page.close()


async def test_a_finished_campaigns_report_shows_what_its_recipients_did(live_app, browser, api, db, tenant):
    """Four emails sent; two recipients open theirs, one of them clicks: the report shows 50% opens, 25% clicks,
    50% click-to-open and the link."""
    import email
    from email import policy

    import httpx

    from tests.helpers import wait_for_status

    body = '<p>Hi {{ lead.first_name }}</p><p><a href="https://example.com/offer">See the offer</a></p>'
    campaign_id = await make_campaign(db, await make_leads(db, 4, prefix="rep"), body_html=body, name="Reported")
    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
    await wait_for_status(api, campaign_id, "completed")
    async with db() as session:
        # An hour passes (an open within seconds of the send is taken for a machine's).
        await session.execute(
            text("UPDATE deliveries SET sent_at = sent_at - interval '1 hour' WHERE run_id = :r"), {"r": run["id"]}
        )
        await session.commit()
        raws = (
            await session.execute(
                text("SELECT raw FROM outbox_messages WHERE message_id LIKE :p ORDER BY id"),
                {"p": f"<herald-r{run['id']}-%"},
            )
        ).scalars()
        htmls = [
            email.message_from_string(raw, policy=policy.default).get_body(("html",)).get_content() for raw in raws
        ]
    assert len(htmls) == 4
    pixels = [re.search(r'src="[^"]*(/public/t/o/[^"]+)"', html).group(1) for html in htmls]
    clicks = [re.search(r'href="[^"]*(/public/t/c/[^"]+)"', html).group(1) for html in htmls]
    browser_agent = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"}
    async with httpx.AsyncClient(base_url=live_app, headers=browser_agent) as recipient:
        for path in pixels[:2]:
            assert (await recipient.get(path)).status_code == 200
        assert (await recipient.get(clicks[0])).headers["location"].startswith("https://example.com/offer")

    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.goto(f"{live_app}/campaigns/{campaign_id}")
    report = page.get_by_test_id("campaign-report")
    await expect(report.get_by_test_id("report-sent")).to_have_text("4")
    await expect(report.get_by_test_id("report-open-rate")).to_have_text("50%")
    await expect(report.get_by_test_id("report-click-rate")).to_have_text("25%")
    await expect(report.get_by_test_id("report-ctor")).to_have_text("50%")
    await expect(report.get_by_test_id("report-link")).to_contain_text("https://example.com/offer")
    stages = report.get_by_test_id("report-funnel-stage")
    await expect(stages).to_have_count(5)
    await expect(stages.nth(2)).to_contain_text("Opened: 2 (50% of the stage before)")
    await expect(stages.nth(3)).to_contain_text("Clicked: 1 (50% of the stage before)")
    await expect(report.locator(".recharts-funnel-trapezoid")).to_have_count(5)
    await page.screenshot(path=SCREENSHOTS / "campaign-report.png", full_page=True)

    # The workspace's analytics: the period's messages and the campaign among the top ones.
    await page.get_by_role("link", name="Analytics").click()
    overview = page.get_by_role("region", name="Overview")
    await expect(overview.get_by_test_id("overview-sent")).to_have_text("4")
    await expect(overview.get_by_test_id("overview-open-rate")).to_have_text("50%")
    await expect(overview.get_by_test_id("top-campaign")).to_contain_text("Reported")
    await page.screenshot(path=SCREENSHOTS / "analytics.png", full_page=True)


async def test_schedule_a_weekly_report_run_it_now_and_download_its_figures(
    live_app, browser, db, tenant, temporal_client
):
    """On the Reports page: a weekly report on one campaign for two recipients (a bad address is first named next to
    the recipients box), listed with its schedule in words; an edit and a pause reach its Temporal Schedule; "Run
    now" (paused reports still run by hand) becomes ready, mailed to both, and the run's CSV link answers with the
    campaign's figures; its HTML summary opens inline in a new tab."""
    import csv
    import io

    from temporalio.client import ScheduleRange
    from temporalio.service import RPCError

    from tests.test_scheduled_reports import reported_campaigns

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    data = await reported_campaigns(db, tenant.workspace_id)
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_test_id("reports")).to_contain_text("No scheduled reports yet")
    await page.get_by_role("button", name="New report").click()
    form = page.get_by_role("form", name="New report")
    await form.locator('input[name="name"]').fill("Weekly spring")
    await form.locator(f'input[name="campaign_ids"][value="{data.spring}"]').check()
    await expect(form.locator('input[name="metrics"][value="open_rate"]')).to_be_checked()  # a default
    await expect(form.locator('input[name="metrics"][value="revenue"]')).not_to_be_checked()
    await form.locator('select[name="cadence"]').select_option("weekly")
    await form.locator('select[name="weekday"]').select_option("monday")
    await form.locator('input[name="time"]').fill("07:30")
    await expect(form.get_by_test_id("report-schedule-preview")).to_contain_text("Weekly on Monday at 07:30 UTC")
    await form.locator('textarea[name="recipients"]').fill("ann@example.com\nnot-an-address")
    await form.get_by_role("button", name="Create report").click()
    await expect(form.get_by_test_id("report-error-recipients")).to_contain_text("recipients[1]: 'not-an-address'")
    await expect(form.locator(".chip-invalid")).to_have_text("not-an-address")
    await page.screenshot(path=SCREENSHOTS / "reports-form.png", full_page=True)
    await form.locator('textarea[name="recipients"]').fill("ann@example.com\nBob@Example.com")
    await form.get_by_role("button", name="Create report").click()
    await expect(form).to_have_count(0)

    row = page.get_by_test_id("report-row").filter(has_text="Weekly spring")
    await expect(row.get_by_test_id("report-schedule")).to_have_text("Weekly on Monday at 07:30 UTC")
    await expect(row.get_by_test_id("report-covers")).to_have_text("Spring <sale>")
    await expect(row).to_contain_text("2 recipients")
    await expect(row.get_by_test_id("report-next-run")).to_contain_text(re.compile(r"Next: Mon.*07:30"))
    await expect(row.get_by_test_id("report-last-run")).to_have_text("never")
    listed = await (await page.request.get(f"{live_app}/api/reports")).json()
    report_id = listed["items"][0]["id"]
    assert listed["items"][0]["recipients"] == ["ann@example.com", "Bob@example.com"]
    handle = temporal_client.get_schedule_handle(f"report-{report_id}")
    described = (await handle.describe()).schedule
    assert list(described.spec.calendars[0].day_of_week) == [ScheduleRange(1)]  # Monday, from Sunday = 0
    assert (list(described.spec.calendars[0].hour), list(described.spec.calendars[0].minute)) == (
        [ScheduleRange(7)],
        [ScheduleRange(30)],
    )
    assert not described.state.paused

    # Edit: another time; the schedule follows.
    await row.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("form", name="Edit report")
    await expect(edit.locator('input[name="name"]')).to_have_value("Weekly spring")
    await edit.locator('input[name="time"]').fill("06:15")
    await edit.get_by_role("button", name="Save changes").click()
    await expect(edit).to_have_count(0)
    await expect(row.get_by_test_id("report-schedule")).to_have_text("Weekly on Monday at 06:15 UTC")
    calendar = (await handle.describe()).schedule.spec.calendars[0]
    assert (list(calendar.hour), list(calendar.minute)) == ([ScheduleRange(6)], [ScheduleRange(15)])

    # Pause: the schedule is paused and there is no next run.
    await row.get_by_role("switch", name="Active: Weekly spring").click()
    await expect(row.get_by_role("switch", name="Active: Weekly spring")).not_to_be_checked()
    await expect(row.get_by_test_id("report-next-run")).to_have_text("Paused")
    assert (await handle.describe()).schedule.state.paused

    # Run now, while paused: the history follows the run until it is ready.
    await row.get_by_role("button", name="Run now").click()
    history = page.get_by_test_id("report-history")
    run = history.get_by_test_id("report-run").first
    await expect(run).to_contain_text("run by hand")
    await expect(run.get_by_test_id("report-run-status")).to_have_text("ready", timeout=90_000)
    await expect(run.get_by_test_id("report-run-emailed")).to_contain_text("ann@example.com")
    await expect(run.get_by_test_id("report-run-emailed")).to_contain_text("Bob@example.com")
    await expect(run).to_contain_text("Sent 5")
    await expect(row.get_by_test_id("report-last-run")).to_contain_text("ready")

    href = await run.get_by_test_id("report-run-csv").get_attribute("href")
    answer = await page.request.get(live_app + href)
    assert answer.status == 200 and "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO((await answer.body()).decode("utf-8-sig"), newline="")))
    period = [data.first_day, data.last_day]
    # The default metrics, in the catalogue's order: 5 sent, 1 hard bounce, 3 opened, 2 clicked, 1 unsubscribe.
    figures = ["5", "4", "3", "2", "75.00", "50.00", "1"]
    assert rows == [
        ["Period start", "Period end", "Campaign ID", "Campaign", "Sent", "Delivered", "Unique opens",
         "Unique clicks", "Open rate (%)", "Click rate (%)", "Unsubscribes"],
        [*period, str(data.spring), "Spring <sale>", *figures],
        [*period, "", "All campaigns", *figures],
    ]  # fmt: skip

    async with page.context.expect_page() as opened:
        await run.get_by_test_id("report-run-view").click()
    summary = await opened.value
    await expect(summary.locator("body")).to_contain_text("Spring <sale>")
    await summary.close()
    await page.screenshot(path=SCREENSHOTS / "reports.png", full_page=True)

    # Delete, after a confirmation: the schedule goes too.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="Delete").click()
    await expect(page.get_by_test_id("report-row")).to_have_count(0)
    await expect(history).to_have_count(0)
    with pytest.raises(RPCError):
        await handle.describe()
    await page.close()


async def test_build_an_automation_from_json_see_problems_on_the_nodes_lay_it_out_and_undo(
    live_app, browser, api, db, tenant
):
    """The builder (#10): a draft the old builder left in the browser is imported; a new automation is named and
    opened; the issue's example pasted in the JSON tab is drawn and valid; a zero wait and a removed edge show their
    errors on their nodes; auto-layout moves the nodes and undo puts them back; a node dragged from the palette and
    connected from an outcome handle; the draft is saved through the API and survives a reload; renamed, published,
    paused, resumed, its version viewed read-only, deleted."""
    example = json.loads((Path(__file__).parent / "fixtures" / "automations" / "qualified_case_study.json").read_text())
    templates = {}
    for name, channel, content in (
        ("Case study", "email", {"subject": "Our case study", "body_html": "<p>Hi {{ lead.first_name }}</p>"}),
        ("Nudge", "sms", {"body_text": "Did you see our case study?"}),
    ):
        created = await api.post("/api/templates", json={"name": name, "channel": channel, **content})
        assert created.status_code == 201, created.text
        templates[name] = created.json()["id"]
    sales = (await api.post("/api/members", json={"email": "sales@example.com", "role": "marketer"})).json()
    nodes = {node["id"]: node for node in example["nodes"]}
    nodes["case-study"]["config"]["template_id"] = templates["Case study"]
    nodes["sms-nudge"]["config"]["template_id"] = templates["Nudge"]
    nodes["assign-sales"]["config"]["user_ids"] = [tenant.admin_id, sales["member"]["user_id"]]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.set_viewport_size({"width": 1600, "height": 1000})
    await page.get_by_role("link", name="Automations", exact=True).click()
    await expect(page.get_by_text("No automations yet.")).to_be_visible()

    # A draft the builder kept in this browser before automations were stored: imported once, then gone from it.
    kept = f"herald.automations.draft.{tenant.workspace_id}"
    old = {"name": "Old draft", "graph": {"nodes": [], "edges": []}, "savedAt": None}
    await page.evaluate("([key, value]) => localStorage.setItem(key, value)", [kept, json.dumps(old)])
    await page.reload()
    drafts = page.get_by_test_id("local-drafts")
    await expect(drafts.get_by_test_id("local-draft")).to_contain_text("Old draft")
    await drafts.get_by_role("button", name="Import", exact=True).click()
    await expect(drafts).to_contain_text("Imported: Old draft")
    rows = page.get_by_test_id("automation-row")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_test_id("automation-status")).to_have_text("draft")
    assert await page.evaluate("key => localStorage.getItem(key)", kept) is None

    # A new automation: named (a name in use is refused), created, opened in the builder.
    await page.get_by_role("button", name="New automation").click()
    await expect(page).to_have_url(re.compile(r"/automations/new$"))
    await page.locator('input[name="name"]').fill("Old draft")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page.get_by_test_id("create-error")).to_contain_text("already exists")
    await page.locator('input[name="name"]').fill("Qualified case study")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/automations/\d+$"))
    automation_id = int(page.url.rsplit("/", 1)[1])
    status = page.get_by_test_id("automation-status")
    await expect(status).to_have_text("draft")
    await expect(page.get_by_test_id("published-version")).to_have_text("Never published")
    summary = page.get_by_test_id("validation-summary")
    await expect(page.get_by_test_id("graph-problems")).to_contain_text("add a trigger", timeout=15_000)
    publish = page.get_by_role("button", name="Publish", exact=True)
    await expect(publish).to_be_disabled()
    await expect(page.get_by_test_id("publish-reason")).to_have_attribute("title", re.compile(r"^Fix the .*first"))

    # The example, as an engineer writes it: drawn, and valid in this workspace.
    await page.get_by_role("tab", name="JSON").click()
    await page.get_by_label("Automation JSON").fill('{"nodes": [{"id": "x", "type": "teleport"}]}')
    await page.get_by_role("button", name="Apply JSON").click()
    await expect(page.get_by_test_id("json-errors")).to_contain_text('unknown type "teleport"')
    await page.get_by_label("Automation JSON").fill(json.dumps(example, indent=2))
    await page.get_by_role("button", name="Apply JSON").click()
    await expect(page.get_by_text("Applied: 9 nodes, 11 edges.")).to_be_visible()
    await page.get_by_role("tab", name="Canvas").click()
    drawn = page.get_by_test_id("automation-node")
    await expect(drawn).to_have_count(9)
    await expect(page.locator(".react-flow__edge")).to_have_count(11)
    await expect(summary).to_have_text("No problems", timeout=15_000)
    await expect(page.locator('[data-node-id="case-study"]')).to_contain_text("Email · Case study")

    # A config broken in the side panel: the error is on the node, and in the panel; undo mends it.
    wait = page.locator('[data-node-id="wait-2d"]')
    await wait.click()
    panel = page.get_by_test_id("node-panel")
    await expect(panel.get_by_label("Wait for days")).to_have_value("2")
    await panel.get_by_label("Wait for days").fill("0")
    await expect(wait).to_have_class(re.compile(r"\bhas-error\b"), timeout=15_000)
    await expect(wait.get_by_test_id("node-problems")).to_contain_text("a wait must be longer than zero")
    await expect(panel.get_by_test_id("panel-problems")).to_contain_text("config.duration")
    await expect(summary).to_have_text("1 error")
    await page.get_by_role("button", name="Undo").click()
    await expect(summary).to_have_text("No problems", timeout=15_000)
    await expect(wait).not_to_have_class(re.compile(r"\bhas-error\b"))

    # An edge deleted: the wait's timeout leads nowhere, and the exit can no longer be reached.
    await page.get_by_test_id("rf__edge-e9").click()
    await expect(page.get_by_test_id("edge-panel")).to_contain_text("when timeout")
    await page.keyboard.press("Delete")
    await expect(page.locator(".react-flow__edge")).to_have_count(10)
    wait_click = page.locator('[data-node-id="wait-click"]')
    await expect(wait_click.get_by_test_id("node-problems")).to_contain_text(
        "outcome 'timeout' leads nowhere", timeout=15_000
    )
    await expect(wait_click.locator('[data-outcome="timeout"]')).to_have_class(re.compile(r"\bis-bad\b"))
    await expect(page.locator('[data-node-id="done"]')).to_contain_text("no trigger leads to this node")
    await expect(summary).to_have_text("2 errors")

    # Auto-layout moves the nodes; undo puts every one back where it was.
    async def positions() -> dict[str, str]:
        return await drawn.evaluate_all(
            "els => Object.fromEntries(els.map(e => [e.dataset.nodeId, e.dataset.position]))"
        )

    def moved(expected: dict[str, str], *, equal: bool):
        async def check() -> bool:
            return (await positions() == expected) == equal

        return check

    before = await positions()
    await page.get_by_role("button", name="Auto-layout").click()
    await eventually(moved(before, equal=False), timeout=10)
    laid_out = await positions()
    assert len(laid_out) == 9 and len(set(laid_out.values())) == 9
    await wait_click.click()
    await expect(panel.get_by_test_id("panel-problems")).to_contain_text("outcomes.timeout")
    await page.screenshot(path=SCREENSHOTS / "automation-builder.png")
    await page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    await page.keyboard.press("Control+z")
    await eventually(moved(before, equal=True), timeout=10)
    await page.get_by_role("button", name="Undo").click()
    await expect(page.locator(".react-flow__edge")).to_have_count(11)
    await expect(summary).to_have_text("No problems", timeout=15_000)
    await page.get_by_role("button", name="Redo").click()
    await expect(page.locator(".react-flow__edge")).to_have_count(10)
    await page.get_by_role("button", name="Undo").click()
    await expect(page.locator(".react-flow__edge")).to_have_count(11)

    # A node from the palette, dropped on the canvas, connected from the notify node's `next` outcome, configured.
    await page.get_by_role("button", name="Add Add tag").drag_to(
        page.get_by_test_id("automation-canvas"), target_position={"x": 80, "y": 80}
    )
    await expect(drawn).to_have_count(10)
    tag = page.locator('[data-node-id="do-1"]')
    await expect(tag.get_by_test_id("node-problems")).to_contain_text("at least 1 character", timeout=15_000)
    await page.locator('[data-node-id="notify-owner"] [data-outcome="next"] .react-flow__handle').drag_to(
        tag.locator(".react-flow__handle.target")
    )
    await expect(page.locator(".react-flow__edge")).to_have_count(12)
    await tag.click()
    await panel.get_by_label("Tag").fill("hot")
    await expect(tag).to_contain_text("#hot")
    await expect(summary).to_have_text("No problems", timeout=15_000)

    # The draft is saved through the API a moment after the last change: a reload brings it back.
    await expect(page.get_by_test_id("draft-saved")).to_have_attribute("data-status", "saved", timeout=15_000)
    stored = (await api.get(f"/api/automations/{automation_id}")).json()
    assert (len(stored["draft"]["nodes"]), len(stored["draft"]["edges"]), stored["valid"]) == (10, 12, True)
    await page.reload()
    await expect(drawn).to_have_count(10)
    await expect(page.locator(".react-flow__edge")).to_have_count(12)
    await expect(summary).to_have_text("No problems", timeout=15_000)

    # Renamed: a name another automation has is refused, in the field.
    name = page.locator('input[name="name"]')
    await name.fill("Old draft")
    await name.press("Enter")
    await expect(page.get_by_test_id("name-error")).to_contain_text("already exists")
    await name.fill("Qualified: case study")
    await name.press("Enter")
    await expect(page.get_by_role("heading", name="Qualified: case study")).to_be_visible()

    # Published as version 1 (active), paused, resumed.
    await expect(publish).to_be_enabled()
    await publish.click()
    await expect(page.get_by_test_id("published-version")).to_have_text("Version 1 published")
    await expect(status).to_have_text("active")
    stored = (await api.get(f"/api/automations/{automation_id}")).json()
    assert (stored["name"], stored["status"], stored["published_version"]) == ("Qualified: case study", "active", 1)
    await page.get_by_role("button", name="Pause", exact=True).click()
    await expect(status).to_have_text("paused")
    assert (await api.get(f"/api/automations/{automation_id}")).json()["status"] == "paused"
    await page.get_by_role("button", name="Resume", exact=True).click()
    await expect(status).to_have_text("active")

    # The published version, read-only.
    version = page.get_by_test_id("automation-version")
    await expect(version).to_have_count(1)
    await version.get_by_role("button", name="View", exact=True).click()
    await expect(page.get_by_test_id("version-view").get_by_test_id("automation-node")).to_have_count(10)

    # Deleted (no journey runs), after a confirmation: the list has the imported one left.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Delete", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/automations$"))
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Old draft")
    assert (await api.get(f"/api/automations/{automation_id}")).status_code == 404
    await page.close()


async def test_a_viewer_opens_a_published_automation_read_only_and_monitors_its_journeys(
    live_app, browser, api, db, tenant
):
    """Read-only automations (#10): an automation an admin made and published says "Published" to the admin until
    its draft changes; a viewer (support staff) opens it from the list and sees its graph and its settings, nothing
    to change it with, and Monitor's counts, journeys and path. The viewer's page asks the API nothing it refuses."""
    graph = {
        "nodes": [
            {"id": "go", "type": "external_event", "config": {"event": "go"}, "position": {"x": 0, "y": 0}},
            {
                "id": "hold",
                "type": "wait_duration",
                "config": {"duration": {"days": 30}},
                "position": {"x": 0, "y": 160},
            },
            {"id": "done", "type": "exit", "position": {"x": 0, "y": 320}},
        ],
        "edges": [
            {"id": "e1", "source": "go", "outcome": "next", "target": "hold"},
            {"id": "e2", "source": "hold", "outcome": "next", "target": "done"},
        ],
    }
    created = await api.post("/api/automations", json={"name": "Support watch", "graph": graph})
    assert created.status_code == 201, created.text
    automation_id = created.json()["id"]
    published = await api.post(f"/api/automations/{automation_id}/publish")
    assert published.status_code == 200, published.text
    lead = await api.post("/api/leads", json={"first_name": "Ada", "email": "ada@example.com", "status": "new"})
    assert lead.status_code == 201, lead.text
    event = await api.post("/api/events", json={"name": "go", "lead": {"id": lead.json()["id"]}})
    assert event.status_code == 202, event.text
    await _member(db, tenant.workspace_id, "support@example.com", Role.viewer)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # The admin: the draft is the published version; a change makes it publishable again, undoing it does not.
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.goto(f"{live_app}/automations/{automation_id}")
    publish = page.get_by_test_id("publish")
    await expect(publish).to_have_text("Published", timeout=15_000)
    await expect(publish).to_be_disabled()
    await page.locator('[data-testid="automation-node"][data-node-id="hold"]').click()
    await page.get_by_test_id("node-panel").get_by_label("Wait for days").fill("31")
    await expect(publish).to_have_text("Publish changes", timeout=15_000)
    await expect(publish).to_be_enabled()
    await page.get_by_role("button", name="Undo").click()
    await expect(publish).to_have_text("Published", timeout=15_000)
    await expect(page.get_by_test_id("draft-saved")).to_have_attribute("data-status", "saved", timeout=15_000)
    await page.close()

    before = (await api.get(f"/api/automations/{automation_id}")).json()
    page = await _sign_in(browser, live_app, "support@example.com")
    refused: list[str] = []

    def on_response(response) -> None:
        if "/api/" in response.url and response.status >= 400:
            refused.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    await page.get_by_role("link", name="Automations", exact=True).click()
    await expect(page.get_by_role("button", name="New automation")).to_have_count(0)
    await page.get_by_test_id("automation-row").get_by_role("link", name="Support watch").click()
    await expect(page).to_have_url(re.compile(rf"/automations/{automation_id}$"))

    # The graph, drawn; nothing to change it with.
    nodes = page.get_by_test_id("automation-node")
    await expect(nodes).to_have_count(3)
    await expect(page.locator(".react-flow__edge")).to_have_count(2)
    await expect(page.get_by_test_id("read-only-notice")).to_be_visible()
    # The stored draft's problems, as the API checked them (the viewer's page does not ask for a check).
    assert [p["severity"] for p in before["problems"]] == ["warning"]
    await expect(page.get_by_test_id("validation-summary")).to_have_text("1 warning")
    await expect(page.get_by_role("navigation", name="Node palette")).to_have_count(0)
    for control in ("Publish", "Publish changes", "Published", "Pause", "Delete", "Undo", "Auto-layout", "Clear"):
        await expect(page.get_by_role("button", name=control, exact=True)).to_have_count(0)
    await expect(page.get_by_test_id("simulate-toggle")).to_have_count(0)
    await expect(page.locator('input[name="name"]')).to_have_count(0)
    hold = page.locator('[data-testid="automation-node"][data-node-id="hold"]')
    await hold.click()
    panel = page.get_by_test_id("node-panel")
    await expect(panel.get_by_label("Wait for days")).to_have_value("30")
    await expect(panel.get_by_label("Wait for days")).to_be_disabled()
    await expect(panel.get_by_role("button", name="Delete node")).to_have_count(0)
    await page.keyboard.press("Delete")
    await expect(nodes).to_have_count(3)

    # Monitor: Ada waits at the wait, in the counts, on the node and in the journeys; her path is highlighted.
    await page.get_by_test_id("monitor-toggle").click()
    monitor = page.get_by_test_id("automation-monitor")
    await expect(monitor.locator('[data-testid="monitor-total"][data-status="waiting"]')).to_contain_text(
        "1", timeout=30_000
    )
    await expect(hold.get_by_test_id("node-badge").first).to_contain_text("1")
    journey = monitor.get_by_test_id("journey-row")
    await expect(journey).to_have_count(1)
    await expect(journey.first).to_contain_text("Ada")
    await journey.first.click()
    await expect(page.locator('[data-testid="automation-node"][data-node-id="go"]')).to_have_class(
        re.compile(r"\bis-highlighted\b")
    )
    await page.screenshot(path=SCREENSHOTS / "automation-read-only.png")
    assert refused == []
    after = (await api.get(f"/api/automations/{automation_id}")).json()
    assert (after["updated_at"], after["draft"], after["published_version"]) == (
        before["updated_at"],
        before["draft"],
        1,
    )
    await page.close()


async def test_a_webhook_nodes_secret_is_picked_from_the_workspaces_secret_names(live_app, browser, api, db, tenant):
    """The webhook node's Secret field suggests the workspace's secret names (never values), and a name that is
    not a secret is flagged on the field."""
    for name in ("crm-token", "zapier"):
        assert (await api.put(f"/api/secrets/{name}", json={"value": f"Bearer {name}-value"})).status_code == 201
    graph = {
        "nodes": [
            {"id": "go", "type": "external_event", "config": {"event": "go"}, "position": {"x": 0, "y": 0}},
            {
                "id": "hook",
                "type": "call_webhook",
                "config": {"url": "https://hooks.example.com/lead", "body": "{}", "auth_secret": "crm-token"},
                "position": {"x": 0, "y": 160},
            },
        ],
        "edges": [{"id": "e1", "source": "go", "outcome": "next", "target": "hook"}],
    }
    created = await api.post("/api/automations", json={"name": "Sync to CRM", "graph": graph})
    assert created.status_code == 201, created.text
    page = await _sign_in(browser, live_app, "admin@acme.test")
    await page.goto(f"{live_app}/automations/{created.json()['id']}")
    await page.locator('[data-testid="automation-node"][data-node-id="hook"]').click()
    secret = page.get_by_test_id("node-panel").get_by_label("Secret", exact=True)
    await expect(secret).to_have_value("crm-token")
    await expect(secret).to_have_attribute("list", "webhook-secret-names")
    options = page.locator("#webhook-secret-names option")
    await expect(options).to_have_count(2)
    assert [await option.get_attribute("value") for option in await options.all()] == ["crm-token", "zapier"]
    assert "Bearer" not in await page.content()
    await secret.fill("nope")
    await expect(secret).to_have_attribute("aria-invalid", "true", timeout=15_000)
    await secret.fill("zapier")
    await expect(secret).not_to_have_attribute("aria-invalid", "true", timeout=15_000)
    await page.close()
