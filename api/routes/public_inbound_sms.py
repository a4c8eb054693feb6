"""Inbound SMS replies from the Twilio-style provider: `POST /public/inbound/twilio/sms`.

Twilio posts each reply form-encoded (`From`, `To`, `Body`, `MessageSid`, ...) and signs it: `X-Twilio-Signature` is
base64(HMAC-SHA1(auth token, the URL it posted to + every parameter name and value, sorted by name)). A request that
is not signed with `TWILIO_AUTH_TOKEN` is a 403; without a token configured the endpoint does not exist (404).

An opt-out reply (STOP, UNSUBSCRIBE, ... see domain/sms_keywords.py) suppresses SMS to that number for every lead
holding it, in every workspace (they all send through this sender), notes it on each lead's timeline and remembers the
hashed number. Other replies are acknowledged and ignored. The answer is an empty TwiML document: the provider sends
its own opt-out confirmation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text

from api.context import guard
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.lead_service import note_on_timeline
from domain.permissions import PUBLIC
from domain.sms_keywords import is_opt_out
from domain.suppression import REMEMBER_ADDRESSES_SQL

router = APIRouter(prefix="/public/inbound", tags=["public"])
PATH = "/public/inbound/twilio/sms"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@router.post("/twilio/sms", **guard(PUBLIC))
async def inbound_sms(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """A reply to an SMS: an opt-out keyword suppresses SMS to the sender's number."""
    if not settings.twilio_auth_token:
        raise ApiError(404, "inbound SMS is not configured (TWILIO_AUTH_TOKEN)")
    params = {name: str(value) for name, value in (await request.form()).items()}
    url = settings.public_url.rstrip("/") + PATH
    expected = twilio_signature(settings.twilio_auth_token, url, params)
    if not hmac.compare_digest(expected, request.headers.get("x-twilio-signature", "")):
        raise ApiError(403, "the request is not signed by the SMS provider", field="X-Twilio-Signature")
    number = params.get("From", "").strip()
    if number and is_opt_out(params.get("Body")):
        await _opt_out(session, number, params.get("MessageSid", ""))
        await session.commit()
    return Response(EMPTY_TWIML, media_type="text/xml")


async def _opt_out(session: SessionDep, number: str, message_sid: str) -> None:
    leads = (
        await session.execute(
            text(
                "UPDATE leads SET suppressed_sms = coalesce(suppressed_sms, 'unsubscribed'), consent_sms = 'denied', "
                "updated_at = now() WHERE phone = :number AND workspace_id IN (SELECT id FROM workspaces) "
                "AND (suppressed_sms IS NULL OR consent_sms <> 'denied') RETURNING id, workspace_id"
            ),
            {"number": number},
        )
    ).all()
    data = {"channel": "sms", "via": "sms_reply", "message_sid": message_sid}
    for lead in leads:
        await note_on_timeline(session, lead.workspace_id, lead.id, "unsubscribed", data, "recipient")
    workspaces = (
        await session.execute(text("SELECT DISTINCT workspace_id FROM leads WHERE phone = :number"), {"number": number})
    ).scalars()
    for workspace_id in workspaces:
        await session.execute(
            text(REMEMBER_ADDRESSES_SQL),
            {"w": workspace_id, "channel": "sms", "reason": "unsubscribed", "addresses": [number]},
        )
