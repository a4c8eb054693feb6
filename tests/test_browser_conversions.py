"""The conversion snippet in Debian's chromium (docs/tracking.md "The landing-page snippet"): a person clicks a
tracked link, lands on a page of another origin that includes `snippet.js`, and the page's `herald.convert(...)`
records a conversion credited to that click; a later page of the site converts through the snippet's cookie, a
reload counts once, and a visitor who never clicked converts nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.main import create_app
from core.settings import Settings
from core.tracking_links import click_url
from tests.conftest import free_port
from tests.test_browser import browser, serving  # noqa: F401  (fixture)
from tests.test_tracking import _delivery

LANDING_PAGE = """<!doctype html>
<html><head><title>landing</title><script src="%(snippet)s"></script></head>
<body><p>Thank you for your order.</p>
<script>
  window.addEventListener("load", function () {
    var order = new URLSearchParams(window.location.search).get("order");
    herald.convert({value: 49.9, currency: "EUR", name: "order", id: order}).then(function (recorded) {
      document.title = "converted:" + recorded;
    });
  });
</script></body></html>
"""


@dataclass
class Sites:
    settings: Settings  # Herald's, with its public URL
    landing: str  # the landing site: another origin (localhost, not 127.0.0.1)


@pytest.fixture
async def sites(settings, temporal_client) -> AsyncIterator[Sites]:
    herald_port, landing_port = free_port(), free_port()
    herald_settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{herald_port}"})
    snippet = f"http://127.0.0.1:{herald_port}/public/conversions/snippet.js"

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse(LANDING_PAGE % {"snippet": snippet})

    async with (
        serving(create_app(herald_settings, temporal_client=temporal_client), herald_port),
        serving(Starlette(routes=[Route("/order/{step}", page)]), landing_port),
    ):
        yield Sites(herald_settings, f"http://localhost:{landing_port}")


async def converted(page: Page, expected: bool) -> None:
    await expect(page).to_have_title(f"converted:{'true' if expected else 'false'}", timeout=15_000)


async def snippet_conversions(db, lead_id: int) -> list[dict]:
    async with db() as session:
        found = await session.execute(
            text(
                "SELECT delivery_id, dedupe_key, metadata FROM events WHERE type = 'conversion' AND lead_id = :l "
                "AND metadata->>'source' = 'snippet' ORDER BY id"
            ),
            {"l": lead_id},
        )
        return [{**row.metadata, "delivery_id": row.delivery_id, "dedupe_key": row.dedupe_key} for row in found]


async def test_a_click_then_the_landing_pages_snippet_records_conversions_credited_to_it(
    sites,
    browser,  # noqa: F811
    db,
    tenant,
):
    delivery = await _delivery(db)
    context = await browser.new_context()
    page = await context.new_page()
    link = click_url(sites.settings, delivery["id"], f"{sites.landing}/order/thanks?order=A-1001")
    await page.goto(link)  # the redirect adds hc=<delivery>.<signature> to the landing page's address
    assert f"{sites.landing}/order/thanks?order=A-1001&hc={delivery['id']}." in page.url
    await converted(page, True)
    (first,) = await snippet_conversions(db, delivery["lead_id"])
    assert first["delivery_id"] == delivery["id"]
    assert (first["value"], first["currency"], first["name"]) == ("49.90", "EUR", "order")

    # A later page of the same site, without hc in its address: the snippet's first-party cookie remembers it.
    await page.goto(f"{sites.landing}/order/later?order=A-1002")
    await converted(page, True)
    await page.reload()  # the same order again counts once
    await converted(page, True)
    conversions = await snippet_conversions(db, delivery["lead_id"])
    assert [(c["delivery_id"], c["dedupe_key"]) for c in conversions] == [
        (delivery["id"], f"conversion:A-1001:{delivery['id']}"),
        (delivery["id"], f"conversion:A-1002:{delivery['id']}"),
    ]
    await context.close()

    # Someone who never clicked a tracked link: no token, nothing sent, nothing recorded.
    stranger = await browser.new_context()
    page = await stranger.new_page()
    await page.goto(f"{sites.landing}/order/thanks?order=A-2000")
    await converted(page, False)
    await stranger.close()
    assert len(await snippet_conversions(db, delivery["lead_id"])) == 2
