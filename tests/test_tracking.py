"""Open and click tracking: signed tokens, link rewriting, machine detection, the public pixel and redirect routes
(their fast path and the group commit of their events), the append-only events table, the campaign setting, and
tracked sends through the legacy engine."""

from __future__ import annotations

import asyncio
import base64
import email
import io
import socket
import uuid
from email import policy

import httpx
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from activities.email_tracking import track_email
from api import tracking_recorder
from api.main import create_app
from api.tracking_fast_path import TrackingFastPath
from api.tracking_recorder import TrackingRecorder
from core.db import create_engine
from core.settings import Settings
from core.signing import signature, unsubscribe_url
from core.tracking_links import click_url, conversion_token, open_pixel_url, parse_click_token, parse_open_token
from domain.rendering import CompiledTemplate, MessageContent, RenderedMessage
from domain.tracking import (
    CLICK_WINDOW_SECONDS,
    OPEN_WINDOW_SECONDS,
    add_open_pixel,
    add_utm,
    click_agent_reason,
    click_machine_reason,
    is_machine_click,
    is_machine_open,
    open_agent_reason,
    open_machine_reason,
    timing_reason_sql,
    track_links,
    track_text_links,
    untracked_urls,
)
from models.payloads.campaign_tracking import CampaignTracking, Utm
from tests.factories import make_campaign, make_leads
from tests.helpers import wait_for_status

KEY_SETTINGS = Settings(secret_key="tracking-tests", public_url="https://herald.example/")
OTHER_KEY = Settings(secret_key="someone-else", public_url="https://herald.example/")
DEST = "https://shop.example/offer?a=1&b=two#top"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
APPLE_MPP = "Mozilla/5.0"
HOUR = 3600.0


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


# --- Signed links -----------------------------------------------------------------------------------------------------


def test_links_have_the_documented_shape_and_parse_back():
    pixel = open_pixel_url(KEY_SETTINGS, 42)
    sig = signature(KEY_SETTINGS.signing_key, "open:42")
    assert pixel == f"https://herald.example/public/t/o/42.{sig}.gif"
    assert parse_open_token(KEY_SETTINGS, _token(pixel).removesuffix(".gif")) == 42

    link = click_url(KEY_SETTINGS, 42, DEST)
    sig = signature(KEY_SETTINGS.signing_key, f"click:42:{DEST}")
    assert link == f"https://herald.example/public/t/c/42.{_b64(DEST)}.{sig}"
    assert parse_click_token(KEY_SETTINGS, _token(link)) == (42, DEST)


def test_click_url_refuses_anything_but_http():
    for bad in ("javascript:alert(1)", "mailto:a@b.example", "//evil.example/x", "https://", "https://a b.example/"):
        with pytest.raises(ValueError):
            click_url(KEY_SETTINGS, 1, bad)


def tampered_click_tokens(settings: Settings, delivery_id: int, url: str) -> dict[str, str]:
    """Every way a click token can be wrong (the route must answer 404 to each)."""
    good = _token(click_url(settings, delivery_id, url))
    delivery, encoded, sig = good.split(".")
    evil = "javascript:alert(document.cookie)"
    evil_sig = signature(settings.signing_key, f"click:{delivery_id}:{evil}")
    return {
        "other delivery": f"{delivery_id + 1}.{encoded}.{sig}",
        "other url": f"{delivery}.{_b64('https://evil.example/')}.{sig}",
        "other signature": f"{delivery}.{encoded}.{sig[:-1]}{'B' if sig.endswith('A') else 'A'}",
        "no signature": f"{delivery}.{encoded}",
        "other key": _token(click_url(OTHER_KEY, delivery_id, url)),
        "javascript url signed with our key": f"{delivery_id}.{_b64(evil)}.{evil_sig}",
        "not base64": f"{delivery}.%%%.{sig}",
        "extra part": f"{good}.x",
        "garbage": "abc",
    }


def tampered_open_tokens(settings: Settings, delivery_id: int) -> dict[str, str]:
    good = _token(open_pixel_url(settings, delivery_id)).removesuffix(".gif")
    delivery, sig = good.split(".")
    return {
        "other delivery": f"{delivery_id + 1}.{sig}",
        "other signature": f"{delivery}.{sig[:-1]}{'B' if sig.endswith('A') else 'A'}",
        "no signature": delivery,
        "other key": _token(open_pixel_url(OTHER_KEY, delivery_id)).removesuffix(".gif"),
        "negative": f"-{delivery}.{sig}",
    }


def test_tampered_tokens_parse_as_nothing():
    for name, token in tampered_click_tokens(KEY_SETTINGS, 7, DEST).items():
        assert parse_click_token(KEY_SETTINGS, token) is None, name
    for name, token in tampered_open_tokens(KEY_SETTINGS, 7).items():
        assert parse_open_token(KEY_SETTINGS, token) is None, name


# --- Link rewriting, UTM, the pixel -----------------------------------------------------------------------------------

UNSUBSCRIBE = "https://herald.example/public/unsubscribe/1.2.0.sig"
HTML = (
    '<p><a href="https://shop.example/a?x=1&amp;y=2">shop</a> '
    '<a class="b" href=\'mailto:help@shop.example\'>mail</a> <a href="tel:+15550100">call</a> '
    '<a href="#top">top</a> <a href="/relative">rel</a> '
    f'<a href="{UNSUBSCRIBE}">unsubscribe</a> <a data-no-track href="https://shop.example/private">private</a> '
    '<A HREF=https://shop.example/upper>upper</A> <a title="a > b" href="http://shop.example/t">quoted</a> '
    '<a data-href="https://shop.example/data">data</a> <abbr href="https://shop.example/abbr">abbr</abbr></p>'
)


def _mark(url: str) -> str:
    return f"https://t.example/{url}"


def test_track_links_rewrites_only_http_links_that_are_not_excluded():
    tracked = track_links(HTML, _mark, skip={UNSUBSCRIBE})
    assert 'href="https://t.example/https://shop.example/a?x=1&amp;y=2"' in tracked  # unescaped, then escaped again
    assert 'HREF="https://t.example/https://shop.example/upper"' in tracked
    assert 'title="a > b" href="https://t.example/http://shop.example/t"' in tracked
    for untouched in (
        "href='mailto:help@shop.example'",
        'href="tel:+15550100"',
        'href="#top"',
        'href="/relative"',
        f'href="{UNSUBSCRIBE}"',
        'data-no-track href="https://shop.example/private"',
        'data-href="https://shop.example/data"',
        'abbr href="https://shop.example/abbr"',
    ):
        assert untouched in tracked, untouched
    assert tracked.count("https://t.example/") == 3
    assert untracked_urls(HTML) == {"https://shop.example/private"}
    assert track_links(HTML, lambda url: url) == HTML  # nothing to change: the same document


def test_track_text_links_keeps_punctuation_and_exclusions():
    source = (
        f"Shop (https://shop.example/a?x=1&y=2). Wiki: https://en.example/wiki/Foo_(bar), then https://b.example/!\n"
        f"Unsubscribe: {UNSUBSCRIBE}\nPrivate: https://shop.example/private mailto:help@shop.example"
    )
    tracked = track_text_links(source, _mark, skip={UNSUBSCRIBE, "https://shop.example/private"})
    assert "Shop (https://t.example/https://shop.example/a?x=1&y=2)." in tracked
    assert "Wiki: https://t.example/https://en.example/wiki/Foo_(bar), then https://t.example/https://b.example/!" in (
        tracked
    )
    assert f"Unsubscribe: {UNSUBSCRIBE}\n" in tracked
    assert "Private: https://shop.example/private mailto:help@shop.example" in tracked


def test_add_utm_merges_with_the_query_and_never_overrides():
    assert add_utm("https://a.example/p", "herald", "email", "nov") == (
        "https://a.example/p?utm_source=herald&utm_medium=email&utm_campaign=nov"
    )
    # The existing query is kept byte for byte, the fragment stays last, values are percent-encoded.
    assert add_utm("https://a.example/p?b=%20x&a=1#frag", "herald", "email", "Nov sale") == (
        "https://a.example/p?b=%20x&a=1&utm_source=herald&utm_medium=email&utm_campaign=Nov%20sale#frag"
    )
    # A utm_* parameter the link has is never replaced; the missing ones are added.
    assert add_utm("https://a.example/?utm_source=partner&utm_campaign=", "herald", "email", "nov") == (
        "https://a.example/?utm_source=partner&utm_campaign=&utm_medium=email"
    )
    full = "https://a.example/?utm_source=a&utm_medium=b&utm_campaign=c"
    assert add_utm(full, "herald", "email", "nov") == full


def test_the_pixel_goes_at_the_end_of_the_body():
    document = "<html><body><p>Hi</p></body></html>"
    with_pixel = add_open_pixel(document, "https://h.example/px.gif?a=1&b=2")
    assert with_pixel.endswith('src="https://h.example/px.gif?a=1&amp;b=2" width="1" height="1" alt="" border="0" '
                               'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;overflow:hidden">'
                               "</body></html>")  # fmt: skip
    assert add_open_pixel("<p>fragment</p>", "https://h.example/p.gif").startswith("<p>fragment</p>\n<img ")


def _rendered() -> RenderedMessage:
    html = (
        f"<html><body><p><a href='{DEST}'>offer</a> <a href=\"{UNSUBSCRIBE}\">unsubscribe</a> "
        "<a data-no-track href='https://shop.example/private'>private</a></p></body></html>"
    )
    text_part = f"Offer: {DEST}\nPrivate: https://shop.example/private\nUnsubscribe: {UNSUBSCRIBE}"
    return RenderedMessage(subject="S", preheader="", html=html, text=text_part)


def test_track_email_applies_the_campaign_setting():
    rendered = _rendered()
    tracked = track_email(rendered, KEY_SETTINGS, 9, CampaignTracking(), unsubscribe_url=UNSUBSCRIBE)
    link = click_url(KEY_SETTINGS, 9, DEST)
    assert f'href="{link}"' in tracked.html and f"Offer: {link}\n" in tracked.text
    assert open_pixel_url(KEY_SETTINGS, 9) in tracked.html
    assert tracked.html.count("/public/t/c/") == 1 and tracked.text.count("/public/t/c/") == 1
    assert f"Private: https://shop.example/private\nUnsubscribe: {UNSUBSCRIBE}" in tracked.text

    utm = Utm(source="herald", medium="email", campaign="nov")
    only_utm = track_email(
        rendered, KEY_SETTINGS, 9, CampaignTracking(opens=False, clicks=False, utm=utm), unsubscribe_url=UNSUBSCRIBE
    )
    with_utm = add_utm(DEST, "herald", "email", "nov")
    assert "/public/t/" not in only_utm.html + only_utm.text
    assert f'href="{with_utm.replace("&", "&amp;")}"' in only_utm.html and f"Offer: {with_utm}\n" in only_utm.text
    assert f'href="{UNSUBSCRIBE}"' in only_utm.html  # never given UTM parameters nor a redirect

    clicks_with_utm = track_email(rendered, KEY_SETTINGS, 9, CampaignTracking(utm=utm), unsubscribe_url=UNSUBSCRIBE)
    assert parse_click_token(KEY_SETTINGS, _token(click_url(KEY_SETTINGS, 9, with_utm))) == (9, with_utm)
    assert click_url(KEY_SETTINGS, 9, with_utm) in clicks_with_utm.html

    off = track_email(
        rendered, KEY_SETTINGS, 9, CampaignTracking(opens=False, clicks=False), unsubscribe_url=UNSUBSCRIBE
    )
    assert off == rendered


def test_data_no_track_survives_the_email_layout():
    """The layout's CSS inliner rewrites attributes (`data-no-track=""`); tracking runs on its output."""
    content = MessageContent(
        channel="email",
        subject="Hi",
        body_html='<p><a data-no-track href="https://a.example/x?y=1&amp;z=2">keep</a> '
        '<a href="https://a.example/t">track</a></p>',
    )
    rendered = CompiledTemplate(content).render({"unsubscribe_url": UNSUBSCRIBE})
    tracked = track_email(rendered, KEY_SETTINGS, 5, CampaignTracking(), unsubscribe_url=UNSUBSCRIBE)
    link = click_url(KEY_SETTINGS, 5, "https://a.example/t")
    assert 'href="https://a.example/x?y=1&amp;z=2"' in tracked.html and f'href="{link}"' in tracked.html
    assert tracked.text == f"keep (https://a.example/x?y=1&z=2) track ({link})"


# --- Machine detection ------------------------------------------------------------------------------------------------

SCANNERS = [
    None,
    "",
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Mimecast-URL-Protect/1.0",
    "Microsoft SafeLinks",
    "Mozilla/5.0 (compatible; Google-Safety; +http://www.google.com/bot.html)",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1",
]
PEOPLE = [
    CHROME,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (Linux; Android 10; CUBOT KINGKONG 5 Pro) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
]


@pytest.mark.parametrize("agent", SCANNERS)
def test_scanners_and_bots_are_machines(agent):
    assert is_machine_open(agent, HOUR) and is_machine_click(agent, HOUR)


@pytest.mark.parametrize("agent", PEOPLE)
def test_mail_clients_and_browsers_are_people(agent):
    assert not is_machine_open(agent, HOUR) and not is_machine_click(agent, HOUR)


def test_apple_privacy_prefetch_and_timing():
    assert open_machine_reason(APPLE_MPP, HOUR) == "apple_mpp"
    assert click_machine_reason(APPLE_MPP, HOUR) == "bare_user_agent"
    assert open_machine_reason(CHROME, OPEN_WINDOW_SECONDS - 0.5) == "too_soon"
    assert open_machine_reason(CHROME, OPEN_WINDOW_SECONDS + 0.5) is None
    assert click_machine_reason(CHROME, CLICK_WINDOW_SECONDS - 0.5) == "too_soon"
    assert click_machine_reason(CHROME, CLICK_WINDOW_SECONDS + 0.5) is None
    assert open_machine_reason(CHROME, None) == "too_soon"  # not marked sent yet: it has only just left


def test_the_agent_rules_alone_and_long_agents():
    assert (open_agent_reason(APPLE_MPP), click_agent_reason(APPLE_MPP)) == ("apple_mpp", "bare_user_agent")
    assert open_agent_reason(CHROME) is None and click_agent_reason(None) == "no_user_agent"
    # Agents are remembered up to 512 characters; a longer one is read each time, by the same rules.
    long_agent = f"{CHROME} {'x' * 600} python-requests/2.32"
    assert open_agent_reason(long_agent) == open_agent_reason(long_agent) == "bot"
    assert open_agent_reason(f"{CHROME} {'x' * 600}") is None


async def test_the_timing_rule_reads_the_same_in_postgresql(db):
    """`timing_reason_sql` (the statement that records a batch of reports) agrees with the Python rule."""
    rule = timing_reason_sql("CAST(:since AS float8)", "CAST(:window AS float8)")
    async with db() as session:
        for since in (None, 0.0, 2.99, 3.0, 3.01, 9.99, 10.0, 10.01, HOUR):
            for window, rule_in_python in (
                (OPEN_WINDOW_SECONDS, open_machine_reason),
                (CLICK_WINDOW_SECONDS, click_machine_reason),
            ):
                in_sql = (await session.execute(text(f"SELECT {rule}"), {"since": since, "window": window})).scalar()
                assert in_sql == rule_in_python(CHROME, since), (since, window)


# --- The public routes ------------------------------------------------------------------------------------------------


async def _delivery(db, *, sent_ago: float | None = HOUR, step: int = 2, variant: str | None = "b") -> dict:
    """A sent email delivery of a flow run, `sent_ago` seconds ago (None: not marked sent)."""
    lead_id = (await make_leads(db, 1, prefix=f"t{uuid.uuid4().hex[:6]}-"))[0]
    campaign_id = await make_campaign(db, [lead_id])
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped) SELECT workspace_id, id, 1, :w, 'completed', 1, 1, 0, 0 FROM campaigns "
                    "WHERE id = :c RETURNING id"
                ),
                {"c": campaign_id, "w": f"tracking-{uuid.uuid4().hex[:8]}"},
            )
        ).scalar_one()
        row = (
            await session.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, variant, attempts, "
                    "sent_at) SELECT workspace_id, :r, :step, :l, 'email', 'sent', :variant, 1, "
                    "CASE WHEN CAST(:ago AS float8) IS NULL THEN NULL "
                    "ELSE now() - make_interval(secs => CAST(:ago AS float8)) END "
                    "FROM leads WHERE id = :l RETURNING id, workspace_id"
                ),
                {"r": run_id, "step": step, "l": lead_id, "variant": variant, "ago": sent_ago},
            )
        ).one()
        await session.commit()
    return {
        "id": row.id,
        "workspace_id": row.workspace_id,
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "run_id": run_id,
        "step": step,
        "variant": variant,
    }


async def _events(db, delivery_id: int | None = None, lead_id: int | None = None) -> list:
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
                "machine, url, metadata, occurred_at FROM events "
                "WHERE (CAST(:d AS bigint) IS NULL OR delivery_id = :d) AND (CAST(:l AS integer) IS NULL "
                "OR lead_id = :l) ORDER BY id"
            ),
            {"d": delivery_id, "l": lead_id},
        )
        return list(rows)


async def _stamps(db, delivery_id: int):
    async with db() as session:
        return (
            await session.execute(
                text("SELECT opened_at, clicked_at FROM deliveries WHERE id = :id"), {"id": delivery_id}
            )
        ).one()


@pytest.fixture
async def anonymous(app):
    """A recipient's mail client or browser: no cookie, no API key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as client:
        yield client


def _path(url: str) -> str:
    return httpx.URL(url).path


def _with_hc(settings, delivery_id: int, url: str) -> str:
    """The destination as the redirect gives it: `hc=<conversion token>` added to the query, before the fragment."""
    before, hash_sign, fragment = url.partition("#")
    joiner = "&" if "?" in before else "?"
    return f"{before}{joiner}hc={conversion_token(settings, delivery_id)}{hash_sign}{fragment}"


async def test_pixel_records_every_open_and_stamps_the_first_human_one(anonymous, settings, db, tenant):
    delivery = await _delivery(db)
    pixel = _path(open_pixel_url(settings, delivery["id"]))
    first = await anonymous.get(pixel, headers={"User-Agent": CHROME})
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/gif" and "no-store" in first.headers["cache-control"]
    assert Image.open(io.BytesIO(first.content)).size == (1, 1)
    opened_at = (await _stamps(db, delivery["id"])).opened_at
    assert opened_at is not None

    assert (await anonymous.get(pixel, headers={"User-Agent": CHROME})).status_code == 200
    events = await _events(db, delivery["id"])
    assert len(events) == 2  # one event per request
    event = events[0]
    assert (event.type, event.machine, event.url, event.channel) == ("open", False, None, "email")
    assert (event.workspace_id, event.lead_id, event.campaign_id, event.run_id, event.step, event.variant) == (
        delivery["workspace_id"],
        delivery["lead_id"],
        delivery["campaign_id"],
        delivery["run_id"],
        delivery["step"],
        delivery["variant"],
    )
    assert event.metadata == {"user_agent": CHROME}
    stamps = await _stamps(db, delivery["id"])
    assert stamps.opened_at == opened_at and stamps.clicked_at is None  # the first open is kept


@pytest.mark.parametrize(
    ("agent", "sent_ago", "reason"),
    [
        (APPLE_MPP, HOUR, "apple_mpp"),
        ("Mozilla/5.0 (compatible; Proofpoint URL Defense)", HOUR, "scanner"),
        (CHROME, 0.2, "too_soon"),
        (CHROME, None, "too_soon"),
    ],
)
async def test_machine_opens_are_recorded_but_never_stamp_the_delivery(
    anonymous, settings, db, tenant, agent, sent_ago, reason
):
    delivery = await _delivery(db, sent_ago=sent_ago)
    response = await anonymous.get(_path(open_pixel_url(settings, delivery["id"])), headers={"User-Agent": agent})
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    [event] = await _events(db, delivery["id"])
    assert (event.type, event.machine, event.metadata["machine_reason"]) == ("open", True, reason)
    assert (await _stamps(db, delivery["id"])).opened_at is None


async def test_click_redirects_to_the_exact_url_and_stamps_click_and_open(anonymous, settings, db, tenant):
    delivery = await _delivery(db)
    link = _path(click_url(settings, delivery["id"], DEST))
    response = await anonymous.get(link, headers={"User-Agent": CHROME})
    assert response.status_code == 302
    assert response.headers["location"] == _with_hc(settings, delivery["id"], DEST)
    assert "no-store" in response.headers["cache-control"]
    stamps = await _stamps(db, delivery["id"])
    assert stamps.clicked_at is not None and stamps.opened_at is not None  # a click implies an open
    [event] = await _events(db, delivery["id"])
    assert (event.type, event.machine, event.url, event.run_id) == ("click", False, DEST, delivery["run_id"])

    scanned = await _delivery(db)
    response = await anonymous.get(
        _path(click_url(settings, scanned["id"], DEST)), headers={"User-Agent": "python-requests/2.32"}
    )
    assert response.status_code == 302  # scanners still get the page
    assert response.headers["location"] == _with_hc(settings, scanned["id"], DEST)
    [event] = await _events(db, scanned["id"])
    assert (event.type, event.machine, event.metadata["machine_reason"]) == ("click", True, "bot")
    assert tuple(await _stamps(db, scanned["id"])) == (None, None)


async def test_tampered_or_foreign_tokens_are_404_and_record_nothing(anonymous, settings, db, tenant):
    delivery = await _delivery(db)
    for name, token in tampered_click_tokens(settings, delivery["id"], DEST).items():
        response = await anonymous.get(f"/public/t/c/{token}", headers={"User-Agent": CHROME})
        assert response.status_code == 404, name
        assert "location" not in response.headers, name
    for name, token in tampered_open_tokens(settings, delivery["id"]).items():
        response = await anonymous.get(f"/public/t/o/{token}.gif", headers={"User-Agent": CHROME})
        assert response.status_code == 404, name
    assert await _events(db) == []
    assert tuple(await _stamps(db, delivery["id"])) == (None, None)


async def test_a_deleted_delivery_still_gets_its_pixel_and_redirect_but_records_nothing(
    anonymous, settings, db, tenant
):
    delivery = await _delivery(db)
    async with db() as session:
        await session.execute(text("DELETE FROM deliveries WHERE id = :id"), {"id": delivery["id"]})
        await session.commit()
    pixel = await anonymous.get(_path(open_pixel_url(settings, delivery["id"])), headers={"User-Agent": CHROME})
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    click = await anonymous.get(_path(click_url(settings, delivery["id"], DEST)), headers={"User-Agent": CHROME})
    assert click.status_code == 302 and click.headers["location"] == _with_hc(settings, delivery["id"], DEST)
    assert await _events(db) == []


async def test_concurrent_reports_are_written_together_each_as_it_should(app, anonymous, settings, db, tenant):
    """Group commit (api/tracking_recorder.py): requests arriving together share a statement and a commit, and each
    report still gets its own event, its own machine verdict and, for a person, the first stamps only."""
    clicker, opener, fresh, gone = [await _delivery(db) for _ in range(3)] + [await _delivery(db)]
    async with db() as session:
        await session.execute(text("UPDATE deliveries SET sent_at = now() - interval '1 second' WHERE id = :id"),
                              {"id": fresh["id"]})  # fmt: skip
        await session.execute(text("DELETE FROM deliveries WHERE id = :id"), {"id": gone["id"]})
        await session.commit()
    pixel = {name: _path(open_pixel_url(settings, d["id"])) for name, d in
             (("clicker", clicker), ("opener", opener), ("fresh", fresh), ("gone", gone))}  # fmt: skip
    link = {name: _path(click_url(settings, d["id"], DEST)) for name, d in (("clicker", clicker), ("opener", opener))}
    requests = [
        *[(pixel["clicker"], CHROME, 200)] * 3,
        (link["clicker"], CHROME, 302),
        (link["clicker"], CHROME, 302),
        (pixel["opener"], CHROME, 200),
        (pixel["opener"], APPLE_MPP, 200),
        (link["opener"], APPLE_MPP, 302),  # a bare agent: a machine's click, no stamp
        (pixel["fresh"], CHROME, 200),  # a second after the send: too soon
        (pixel["gone"], CHROME, 200),  # deleted: answered, nothing recorded
        (pixel["clicker"].replace(".gif", "x.gif"), CHROME, 404),
    ]
    written = app.state.tracking.batches
    responses = await asyncio.gather(
        *(anonymous.get(path, headers={"User-Agent": agent}) for path, agent, _ in requests)
    )
    assert [response.status_code for response in responses] == [status for _, _, status in requests]
    assert app.state.tracking.batches - written < len(requests) - 1  # shared statements

    events = await _events(db, clicker["id"])
    assert sorted((event.type, event.machine) for event in events) == [("click", False)] * 2 + [("open", False)] * 3
    stamps = await _stamps(db, clicker["id"])
    assert stamps.opened_at is not None and stamps.clicked_at is not None
    events = await _events(db, opener["id"])
    assert sorted((event.type, event.machine, event.metadata.get("machine_reason")) for event in events) == [
        ("click", True, "bare_user_agent"),
        ("open", False, None),
        ("open", True, "apple_mpp"),
    ]
    stamps = await _stamps(db, opener["id"])
    assert stamps.opened_at is not None and stamps.clicked_at is None
    [event] = await _events(db, fresh["id"])
    assert (event.machine, event.metadata) == (True, {"user_agent": CHROME, "machine_reason": "too_soon"})
    assert tuple(await _stamps(db, fresh["id"])) == (None, None)
    assert len(await _events(db)) == 9  # and none for the deleted delivery nor the forged pixel


async def test_a_report_the_database_refuses_fails_alone(engine, db, tenant, monkeypatch):
    """A batch that fails is written again report by report: the others are recorded, the bad one raises (its
    request is a 500), and a delivery that does not exist is recorded as nothing."""
    good = [await _delivery(db) for _ in range(2)]
    bad = await _delivery(db)
    write = tracking_recorder._write

    async def refusing(raw, batch):
        if any(report.delivery_id == bad["id"] for report in batch):
            raise RuntimeError("refused")
        return await write(raw, batch)

    monkeypatch.setattr(tracking_recorder, "_write", refusing)
    recorder = TrackingRecorder(engine)
    ids = [good[0]["id"], bad["id"], 10**15, good[1]["id"]]
    results = await asyncio.gather(
        *(recorder.record(delivery_id, "open", None, CHROME) for delivery_id in ids), return_exceptions=True
    )
    assert results[0] is True and results[2] is False and results[3] is True
    assert isinstance(results[1], RuntimeError)
    assert [event.delivery_id for event in await _events(db)] == sorted([good[0]["id"], good[1]["id"]])
    # Later reports get a writer again; closing lets it finish and give its connection back.
    assert await recorder.record(good[0]["id"], "click", DEST, CHROME) is True
    await recorder.close()


async def test_without_the_database_reports_raise_and_the_next_ones_try_again():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{port}/nothing")
    recorder = TrackingRecorder(engine)
    try:
        for _ in range(2):
            with pytest.raises(OSError):
                await recorder.record(1, "open", None, CHROME)
    finally:
        await recorder.close()
        await engine.dispose()


async def test_the_fast_path_answers_with_the_apps_headers_and_leaves_the_rest_to_it(anonymous, settings, db, tenant):
    delivery = await _delivery(db)
    pixel = _path(open_pixel_url(settings, delivery["id"]))
    response = await anonymous.get(pixel, headers={"User-Agent": CHROME, "X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-robots-tag"] == "noindex" and response.headers["content-length"] == "42"
    assert "set-cookie" not in response.headers
    odd = await anonymous.get(pixel, headers={"X-Request-ID": "not a sane id!"})
    assert len(odd.headers["x-request-id"]) == 32
    forged = await anonymous.get(pixel.replace(".gif", "x.gif"))
    assert forged.status_code == 404 and forged.json() == {
        "message": "no such image",
        "field": None,
        "code": "not_found",
    }
    assert forged.headers["x-content-type-options"] == "nosniff"
    # Other methods are the app's, as before: no such route.
    assert (await anonymous.head(pixel)).status_code == 405
    assert (await anonymous.post(_path(click_url(settings, delivery["id"], DEST)))).status_code == 405
    assert len(await _events(db, delivery["id"])) == 2


async def test_the_documented_routes_answer_like_the_fast_path(anonymous, settings, db, tenant):
    """The FastAPI routes (the OpenAPI description) give the same answers when a request reaches them."""
    bare = create_app(settings)
    bare.user_middleware = [entry for entry in bare.user_middleware if entry.cls is not TrackingFastPath]
    delivery = await _delivery(db)
    paths = [
        _path(open_pixel_url(settings, delivery["id"])),
        _path(click_url(settings, delivery["id"], DEST)),
        _path(open_pixel_url(settings, delivery["id"])).replace(".gif", "x.gif"),
        _path(click_url(settings, delivery["id"], DEST))[:-1],
    ]
    async with bare.router.lifespan_context(bare):
        transport = httpx.ASGITransport(app=bare)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as routes:
            for path in paths:
                fast = await anonymous.get(path, headers={"User-Agent": CHROME})
                routed = await routes.get(path, headers={"User-Agent": CHROME})
                assert (routed.status_code, routed.content) == (fast.status_code, fast.content), path
                for header in ("content-type", "cache-control", "x-robots-tag", "location", "referrer-policy"):
                    assert routed.headers.get(header) == fast.headers.get(header), (path, header)
    events = await _events(db, delivery["id"])
    assert [event.type for event in events] == ["open", "open", "click", "click"]  # each answer recorded its own


# --- The events table -------------------------------------------------------------------------------------------------


async def _refused(db, sql: str, **params) -> str:
    async with db() as session:
        with pytest.raises(DBAPIError) as refused:
            await session.execute(text(sql), params)
        await session.rollback()
    return str(refused.value)


async def test_events_are_append_only_yet_leads_and_workspaces_can_be_deleted(anonymous, settings, db, tenant):
    delivery = await _delivery(db)
    await anonymous.get(_path(click_url(settings, delivery["id"], DEST)), headers={"User-Agent": CHROME})
    assert "append-only (UPDATE refused)" in await _refused(db, "UPDATE events SET machine = true")
    assert "append-only (UPDATE refused)" in await _refused(db, "UPDATE events SET delivery_id = NULL")
    assert "append-only (DELETE refused)" in await _refused(db, "DELETE FROM events")

    # Deleting the run takes its deliveries along; the event stays for the reports, without its delivery.
    async with db() as session:
        await session.execute(text("DELETE FROM campaign_runs WHERE id = :id"), {"id": delivery["run_id"]})
        await session.commit()
    [event] = await _events(db, lead_id=delivery["lead_id"])
    assert (event.delivery_id, event.type, event.url, event.run_id) == (None, "click", DEST, delivery["run_id"])
    # Deleting the lead erases its events (they hold its user agents).
    async with db() as session:
        await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": delivery["lead_id"]})
        await session.commit()
    assert await _events(db, lead_id=delivery["lead_id"]) == []

    # Deleting a workspace deletes its events.
    async with db() as session:
        other = (
            await session.execute(
                text("INSERT INTO workspaces (name, slug, requires_approval) VALUES ('Gone', :s, false) RETURNING id"),
                {"s": f"gone-{uuid.uuid4().hex[:6]}"},
            )
        ).scalar_one()
        await session.execute(
            text("INSERT INTO events (workspace_id, type, lead_id) VALUES (:w, 'conversion', 1)"), {"w": other}
        )
        await session.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": other})
        await session.commit()
        left = (
            await session.execute(text("SELECT count(*) FROM events WHERE workspace_id = :w"), {"w": other})
        ).scalar_one()
    assert left == 0


async def test_a_dedupe_key_is_unique_per_workspace(db, tenant):
    insert = "INSERT INTO events (workspace_id, type, dedupe_key) VALUES (:w, 'bounce', :k)"
    async with db() as session:
        await session.execute(text(insert), {"w": tenant.workspace_id, "k": "provider-1"})
        await session.execute(text(insert), {"w": tenant.workspace_id, "k": None})
        await session.execute(text(insert), {"w": tenant.workspace_id, "k": None})
        await session.commit()
    assert "ux_events_dedupe" in await _refused(db, insert, w=tenant.workspace_id, k="provider-1")


# --- The campaign setting ---------------------------------------------------------------------------------------------


async def test_campaign_tracking_setting_is_validated_saved_and_shown(api, db):
    body = {"name": "Tracked"}
    created = await api.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["tracking"] == {"opens": True, "clicks": True, "utm": None}

    utm = {"source": "herald", "medium": "email", "campaign": "nov"}
    changed = await api.put(
        f"/api/campaigns/{campaign['id']}", json={**body, "tracking": {"opens": False, "clicks": True, "utm": utm}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["tracking"] == {"opens": False, "clicks": True, "utm": utm}
    # A body without `tracking` (e.g. from a client that does not know it) leaves it as it is.
    kept = await api.put(f"/api/campaigns/{campaign['id']}", json={**body, "name": "Renamed"})
    assert kept.json()["tracking"] == {"opens": False, "clicks": True, "utm": utm}
    async with db() as session:
        stored = (
            await session.execute(text("SELECT tracking FROM campaigns WHERE id = :id"), {"id": campaign["id"]})
        ).scalar_one()
    assert stored == {"opens": False, "clicks": True, "utm": utm}

    for tracking, field in (
        ({"opens": True, "clicks": True, "utm": {"source": " ", "medium": "email", "campaign": "x"}}, "source"),
        ({"utm": {"source": "a", "medium": "em\nail", "campaign": "x"}}, "medium"),
        ({"utm": {"source": "a", "medium": "email"}}, "campaign"),
        ({"utm": {"source": "a", "medium": "b", "campaign": "c" * 101}}, "campaign"),
    ):
        refused = await api.put(f"/api/campaigns/{campaign['id']}", json={**body, "tracking": tracking})
        assert refused.status_code == 422, tracking
        assert refused.json()["field"] == f"tracking.utm.{field}", refused.json()
    for tracking, field in (({"opens": "sometimes"}, "tracking.opens"), ({"pixel": True}, "tracking.pixel")):
        refused = await api.post("/api/campaigns", json={**body, "tracking": tracking})
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.json()


# --- Sends (legacy single-step engine; the flow engine: tests/test_campaign_flow_engine.py) ---------------------------

TRACKED_HTML = (
    '<p>Hi {{ lead.first_name }}, see <a href="https://shop.example/offer?a=1&amp;b=2">the offer</a> '
    'or <a href="mailto:help@shop.example">write</a>.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
TRACKED_TEXT = "Hi {{ lead.first_name }}, the offer: https://shop.example/offer?a=1&b=2\nStop: {{ unsubscribe_url }}"


async def _mails(db, run_id: int) -> dict[str, email.message.EmailMessage]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT raw FROM outbox_messages WHERE message_id LIKE :p"), {"p": f"<herald-r{run_id}-%"}
        )
        mails = [email.message_from_string(row.raw, policy=policy.default) for row in rows]
    return {mail["To"].addresses[0].addr_spec: mail for mail in mails}


def _parts(mail: email.message.EmailMessage) -> tuple[str, str]:
    return mail.get_body(("html",)).get_content(), mail.get_body(("plain",)).get_content()


async def test_a_legacy_campaign_send_is_tracked_and_its_links_work(api, anonymous, worker, settings, db):
    lead_ids = await make_leads(db, 2)
    campaign_id = await make_campaign(db, lead_ids, body_html=TRACKED_HTML, body_text=TRACKED_TEXT)
    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
    await wait_for_status(api, campaign_id, "completed")
    mails = await _mails(db, run["id"])
    async with db() as session:
        deliveries = (
            await session.execute(
                text("SELECT d.id, d.lead_id, l.email FROM deliveries d JOIN leads l ON l.id = d.lead_id "
                     "WHERE d.run_id = :r"),
                {"r": run["id"]},
            )
        ).all()  # fmt: skip
        # Sent an hour ago, so that following the links counts as a person.
        await session.execute(
            text("UPDATE deliveries SET sent_at = now() - interval '1 hour' WHERE run_id = :r"), {"r": run["id"]}
        )
        await session.commit()
    assert len(mails) == len(deliveries) == 2
    offer = "https://shop.example/offer?a=1&b=2"
    for delivery in deliveries:
        html, plain = _parts(mails[delivery.email])
        link = click_url(settings, delivery.id, offer)
        lines = plain.splitlines()  # the parsed part keeps the CRLF line ends of the wire
        assert f'href="{link}"' in html and lines[0].endswith(f"the offer: {link}")
        assert f'src="{open_pixel_url(settings, delivery.id)}"' in html
        unsubscribe = unsubscribe_url(settings, delivery.lead_id, run["id"], 0)
        assert f'href="{unsubscribe}"' in html and lines[1] == f"Stop: {unsubscribe}"
        assert 'href="mailto:help@shop.example"' in html

    first = deliveries[0]
    html, _ = _parts(mails[first.email])
    followed = await anonymous.get(_path(click_url(settings, first.id, offer)), headers={"User-Agent": CHROME})
    assert followed.status_code == 302 and followed.headers["location"] == _with_hc(settings, first.id, offer)
    stamps = await _stamps(db, first.id)
    assert stamps.clicked_at is not None and stamps.opened_at is not None
    [event] = await _events(db, first.id)
    assert (event.campaign_id, event.run_id, event.step, event.lead_id) == (campaign_id, run["id"], 0, first.lead_id)
    assert tuple(await _stamps(db, deliveries[1].id)) == (None, None)


async def test_test_sends_and_previews_are_not_tracked(api, worker, db):
    body = {"name": "Linked", "subject": "Hi", "body_html": TRACKED_HTML, "body_text": TRACKED_TEXT}
    template = (await api.post("/api/templates", json=body)).json()
    preview = await api.post(f"/api/templates/{template['id']}/preview")
    assert preview.status_code == 200, preview.text
    assert 'href="https://shop.example/offer?a=1&amp;b=2"' in preview.json()["html"]
    sent = await api.post(f"/api/templates/{template['id']}/test-send", json={"to": ["qa@example.com"]})
    assert sent.status_code == 200 and sent.json()["results"][0]["ok"], sent.text
    async with db() as session:
        [mail] = (await session.execute(text("SELECT body_html, body_text FROM outbox_messages"))).all()
    assert 'href="https://shop.example/offer?a=1&amp;b=2"' in mail.body_html
    assert "https://shop.example/offer?a=1&b=2" in mail.body_text
    assert "/public/t/" not in preview.json()["html"] + mail.body_html + mail.body_text
