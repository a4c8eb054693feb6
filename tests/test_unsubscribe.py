"""The unsubscribe link of sent emails: RFC 8058 one-click POST without login, GET never unsubscribes."""

from __future__ import annotations

import email
from email import policy

import httpx
from sqlalchemy import text

from tests.factories import make_campaign, make_leads
from tests.helpers import wait_for_status


async def _sent_mail(db, run_id: int) -> list[email.message.EmailMessage]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT raw FROM outbox_messages WHERE message_id LIKE :p ORDER BY id"), {"p": f"<herald-r{run_id}-%"}
        )
        return [email.message_from_string(row.raw, policy=policy.default) for row in rows]


async def _lead(db, lead_id: int):
    async with db() as session:
        return (
            await session.execute(
                text("SELECT email, suppressed_email, consent_email FROM leads WHERE id = :id"), {"id": lead_id}
            )
        ).one()


async def _count(db, sql: str, **params) -> int:
    async with db() as session:
        return (await session.execute(text(sql), params)).scalar_one()


def _path(url: str) -> str:
    return httpx.URL(url).path


async def test_one_click_post_without_login_suppresses_and_get_never_does(api, app, worker, db):
    lead_ids = await make_leads(db, 2)
    campaign_id = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
    await wait_for_status(api, campaign_id, "completed")
    mails = await _sent_mail(db, run["id"])
    assert len(mails) == 2
    links = {}
    for mail in mails:
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header = str(mail["List-Unsubscribe"]).strip()  # long headers may be folded
        assert header.startswith("<") and header.endswith(">")
        links[mail["To"].addresses[0].addr_spec] = header[1:-1]
    assert len(set(links.values())) == 2  # one link per delivery

    first = await _lead(db, lead_ids[0])
    link = _path(links[first.email])
    transport = httpx.ASGITransport(app=app)
    # A recipient's mail client: no cookie, no API key.
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as anonymous:
        page = await anonymous.get(link)
        assert page.status_code == 200 and "<form" in page.text
        assert "no-store" in page.headers["cache-control"]
        page_again = await anonymous.get(link)  # a link scanner following it twice
        assert page_again.status_code == 200
        assert (await _lead(db, lead_ids[0])).suppressed_email is None

        done = await anonymous.post(link, content=b"List-Unsubscribe=One-Click", headers={
            "Content-Type": "application/x-www-form-urlencoded"
        })  # fmt: skip
        assert done.status_code == 200, done.text
        lead = await _lead(db, lead_ids[0])
        assert (lead.suppressed_email, lead.consent_email) == ("unsubscribed", "denied")
        # The other lead is untouched.
        assert (await _lead(db, lead_ids[1])).suppressed_email is None

        # Idempotent: a second POST records nothing more.
        assert (await anonymous.post(link)).status_code == 200
        events = await _count(
            db, "SELECT count(*) FROM lead_events WHERE lead_id = :id AND type = 'unsubscribed'", id=lead_ids[0]
        )
        assert events == 1
        unsubscribes = await _count(
            db, "SELECT count(*) FROM events WHERE type = 'unsubscribe' AND lead_id = :id AND run_id = :run "
            "AND delivery_id IS NOT NULL AND channel = 'email'", id=lead_ids[0], run=run["id"]
        )  # fmt: skip
        assert unsubscribes == 1  # what the campaign's report counts
        hashed = await _count(
            db, "SELECT count(*) FROM suppressions WHERE channel = 'email' AND reason = 'unsubscribed'"
        )
        assert hashed >= 1
        assert "no longer receives" in (await anonymous.get(link)).text

        # Tampered or foreign tokens are 404, and change nothing.
        token = link.rsplit("/", 1)[1]
        _, run_part, step_part, sig = token.split(".")
        other = await _lead(db, lead_ids[1])
        forged = f"/public/unsubscribe/{lead_ids[1]}.{run_part}.{step_part}.{sig}"
        for bad in (forged, link + "x", "/public/unsubscribe/1.2.3", "/public/unsubscribe/abc"):
            assert (await anonymous.post(bad)).status_code == 404, bad
            assert (await anonymous.get(bad)).status_code == 404, bad
        assert (await _lead(db, lead_ids[1])).suppressed_email == other.suppressed_email is None


async def test_preview_link_unsubscribes_nobody(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as anonymous:
        assert "preview" in (await anonymous.get("/public/unsubscribe/preview")).text
        assert "nobody" in (await anonymous.post("/public/unsubscribe/preview")).text


async def _run_of(db, workspace_id: int) -> int:
    campaign_id = await make_campaign(db, None, workspace_id=workspace_id, name="Prefs")
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped) VALUES (:w, :c, 1, :wf, 'completed', 1, 1, 0, 0) RETURNING id"
                ),
                {"w": workspace_id, "c": campaign_id, "wf": f"campaign-{campaign_id}-run-1"},
            )
        ).scalar_one()
        await session.commit()
        return run_id


async def _channels(db, lead_id: int):
    async with db() as session:
        return (
            await session.execute(
                text(
                    "SELECT suppressed_email, consent_email, suppressed_sms, consent_sms, consent_details "
                    "FROM leads WHERE id = :id"
                ),
                {"id": lead_id},
            )
        ).one()


async def test_preferences_page_changes_channels_only_on_submit(app, db, settings, tenant):
    from core.signing import unsubscribe_url

    (lead_id,) = await make_leads(
        db, 1, prefix="prefs", workspace_id=tenant.workspace_id, phone="+33612345678", consent_sms="granted"
    )
    run_id = await _run_of(db, tenant.workspace_id)
    link = _path(unsubscribe_url(settings, lead_id, run_id, 0))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as anonymous:
        page = await anonymous.get(link)
        assert page.status_code == 200, page.text
        assert 'name="email" checked' in page.text and 'name="sms" checked' in page.text
        assert 'name="whatsapp"' in page.text  # the phone is also a WhatsApp address
        assert tuple((await _channels(db, lead_id))[:4]) == (None, "granted", None, "granted")

        # Untick email: email is unsubscribed (and remembered hashed), SMS untouched.
        saved = await anonymous.post(f"{link}/preferences", content=b"_form=1&sms=on&whatsapp=on", headers=form)
        assert saved.status_code == 200 and "Emails: unsubscribed." in saved.text
        lead = await _channels(db, lead_id)
        assert tuple(lead[:4]) == ("unsubscribed", "denied", None, "granted")
        assert (
            await _count(
                db,
                "SELECT count(*) FROM suppressions WHERE workspace_id = :w AND channel = 'email'",
                w=tenant.workspace_id,
            )
            == 1
        )
        assert 'name="email">' in (await anonymous.get(link)).text  # shown unticked now

        # Tick it again: subscribed again with the page as proof; the hashed entry goes. An SMS bounce stays.
        async with db() as session:
            await session.execute(text("UPDATE leads SET suppressed_sms = 'bounced' WHERE id = :id"), {"id": lead_id})
            await session.commit()
        saved = await anonymous.post(
            f"{link}/preferences", content=b"_form=1&email=on&sms=on&whatsapp=on", headers=form
        )
        assert "Emails: subscribed again." in saved.text and "cannot be turned back on" in saved.text
        lead = await _channels(db, lead_id)
        assert tuple(lead[:4]) == (None, "granted", "bounced", "granted")
        assert lead.consent_details["email"]["method"] == "preference_page"
        assert (
            await _count(
                db,
                "SELECT count(*) FROM suppressions WHERE workspace_id = :w AND channel = 'email'",
                w=tenant.workspace_id,
            )
            == 0
        )
        kinds = await _count(
            db,
            "SELECT count(*) FROM lead_events WHERE lead_id = :id AND type IN ('unsubscribed', 'resubscribed') "
            "AND data->>'via' = 'preferences'",
            id=lead_id,
        )
        assert kinds == 2

        # A tampered link changes nothing.
        assert (await anonymous.post(f"{link}x/preferences", content=b"_form=1", headers=form)).status_code == 404
        assert tuple((await _channels(db, lead_id))[:2]) == (None, "granted")
