"""SMS STOP replies through the provider's inbound webhook (Twilio-style, signed)."""

from __future__ import annotations

import urllib.parse

import httpx
import pytest
from sqlalchemy import text

from api.routes.public_inbound_sms import PATH, twilio_signature
from tests.conftest import make_tenant
from tests.factories import make_leads

TOKEN = "inbound-test-token"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"twilio_auth_token": TOKEN})


def _signed(settings, params: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    url = settings.public_url.rstrip("/") + PATH
    return {
        "X-Twilio-Signature": twilio_signature(token, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def _sms_state(db, lead_id: int) -> tuple[str | None, str]:
    async with db() as session:
        row = (
            await session.execute(text("SELECT suppressed_sms, consent_sms FROM leads WHERE id = :id"), {"id": lead_id})
        ).one()
        return row.suppressed_sms, row.consent_sms


def test_signature_matches_twilio_documented_example():
    # Twilio's documentation example (webhook security): auth token 12345, this URL and these parameters.
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234", "From": "+14158675309",
              "To": "+18005551212"}  # fmt: skip
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_signature("12345", url, {**params, "Digits": "9999"}) != "RSOYDt4T1cUTdK1PDd93/VVr8B8="


async def test_stop_reply_suppresses_sms_for_that_number_everywhere(app, db, settings, tenant):
    other = await make_tenant(db, "Umbrella", "admin@umbrella.test")
    number = "+33611112222"
    (ours,) = await make_leads(db, 1, prefix="a", workspace_id=tenant.workspace_id, phone=number, consent_sms="granted")
    (theirs,) = await make_leads(db, 1, prefix="b", workspace_id=other.workspace_id, phone=number)
    (bystander,) = await make_leads(
        db, 1, prefix="c", workspace_id=tenant.workspace_id, phone="+33699998888", consent_sms="granted"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as provider:

        async def reply(body: str, headers: dict[str, str] | None = None) -> httpx.Response:
            params = {"From": number, "To": "+15550001111", "Body": body, "MessageSid": "SM123"}
            return await provider.post(
                PATH, content=urllib.parse.urlencode(params), headers=headers or _signed(settings, params)
            )

        # Unsigned or signed with another token: refused, nothing changes.
        assert (await reply("STOP", {"Content-Type": "application/x-www-form-urlencoded"})).status_code == 403
        params = {"From": number, "To": "+15550001111", "Body": "STOP", "MessageSid": "SM123"}
        assert (await reply("STOP", _signed(settings, params, token="not-ours"))).status_code == 403
        assert await _sms_state(db, ours) == (None, "granted")

        answer = await reply("Thanks!")  # not an opt-out
        assert answer.status_code == 200 and "<Response>" in answer.text
        assert await _sms_state(db, ours) == (None, "granted")

        assert (await reply(" stop ")).status_code == 200
        assert await _sms_state(db, ours) == ("unsubscribed", "denied")
        assert await _sms_state(db, theirs) == ("unsubscribed", "denied")
        assert await _sms_state(db, bystander) == (None, "granted")
        assert (await reply("STOP")).status_code == 200  # a repeat notes nothing more
    async with db() as session:
        noted = (
            await session.execute(
                text("SELECT count(*) FROM lead_events WHERE type = 'unsubscribed' AND lead_id = ANY(:ids)"),
                {"ids": [ours, theirs]},
            )
        ).scalar_one()
        hashed = (
            await session.execute(
                text("SELECT count(*) FROM suppressions WHERE channel = 'sms' AND workspace_id = ANY(:w)"),
                {"w": [tenant.workspace_id, other.workspace_id]},
            )
        ).scalar_one()
    assert noted == 2 and hashed == 2


async def test_without_a_token_the_webhook_does_not_exist(db, settings, temporal_client):
    from api.main import create_app

    app = create_app(settings.model_copy(update={"twilio_auth_token": None}), temporal_client=temporal_client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as provider:
            assert (await provider.post(PATH, data={"From": "+33611112222", "Body": "STOP"})).status_code == 404
