"""The unsubscribe link of every sent email: `/public/unsubscribe/<lead>.<run>.<step>.<sig>`.

RFC 8058: mail clients POST `List-Unsubscribe=One-Click` to the link with no cookie or login, and the address is
suppressed within that request. Link scanners follow GET links, so a GET only shows a page with a button (a form
POST to the same link) and never changes anything; it also shows the recipient's per-channel preferences, saved by a
POST to `<link>/preferences`. A token that is not ours, or was altered, is a 404.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from api.context import guard
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.journey_dispatch import after_commit
from api.lead_service import note_on_timeline
from core.journey_intake import lead_event_id
from core.signing import parse_unsubscribe_token
from domain.permissions import PUBLIC
from domain.suppression import CHANNEL_ADDRESS, REMEMBER_ADDRESSES_SQL, address_hash_sql
from models.payloads.automation import JourneyEvent

router = APIRouter(prefix="/public/unsubscribe", tags=["public"])
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
PREVIEW = "preview"


# The campaign's report counts unsubscribes from the events, attributed to the delivery the link came with.
UNSUBSCRIBE_EVENT = text(
    "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
    "metadata) SELECT :w, d.id, :lead, r.campaign_id, r.id, :step, d.variant, :channel, 'unsubscribe', "
    "CAST(:meta AS jsonb) FROM campaign_runs r LEFT JOIN deliveries d "
    "ON d.run_id = r.id AND d.step = :step AND d.lead_id = :lead AND NOT d.fallback "
    "WHERE r.id = :run AND r.workspace_id = :w RETURNING campaign_id"
)
CHANNEL_NAMES = {"email": "Emails", "sms": "Text messages (SMS)", "whatsapp": "WhatsApp messages"}


@router.get("/{token}", response_class=HTMLResponse, **guard(PUBLIC))
async def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Asks for confirmation and shows the per-channel preferences; never changes anything by itself."""
    if token == PREVIEW:
        return _page("Unsubscribe", "<p>This is the unsubscribe link of a preview or a test message.</p>")
    lead = await _lead_of(session, settings, token)
    if not _subscribed(lead, "email"):
        body = f"<p>{_address(lead)} no longer receives emails from {_name(lead)}.</p>"
    else:
        body = (
            f"<p>Stop emails from {_name(lead)} to {_address(lead)}?</p>"
            f'<form method="post"><button type="submit">Unsubscribe</button></form>'
        )
    return _page("Unsubscribe", body + _preferences_form(lead, token))


@router.post("/{token}", response_class=HTMLResponse, **guard(PUBLIC))
async def unsubscribe(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058) and the confirmation form's submit: idempotent."""
    if token == PREVIEW:
        return _page("Unsubscribe", "<p>This was a preview: nobody was unsubscribed.</p>")
    lead = await _lead_of(session, settings, token)
    _lead_id, run_id, step = parse_unsubscribe_token(settings, token) or (0, 0, 0)
    await _unsubscribe(session, lead, "email", {"run_id": run_id, "step": step, "via": "link"})
    await session.commit()
    return _page("Unsubscribed", f"<p>{_address(lead)} will no longer receive emails from {_name(lead)}.</p>")


@router.post("/{token}/preferences", response_class=HTMLResponse, **guard(PUBLIC))
async def save_preferences(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The preferences form: a channel left unticked is unsubscribed, a ticked one that the recipient had
    unsubscribed from is subscribed again (with the page as the consent's proof). A suppression for a bounce or a
    complaint is never lifted here."""
    if token == PREVIEW:
        return _page("Preferences", "<p>This was a preview: nothing was changed.</p>")
    lead = await _lead_of(session, settings, token)
    _lead_id, run_id, step = parse_unsubscribe_token(settings, token) or (0, 0, 0)
    wanted = set((await request.form()).keys())
    lines = []
    for channel in _channels_of(lead):
        name = CHANNEL_NAMES[channel]
        origin = {"run_id": run_id, "step": step, "via": "preferences"}
        if channel not in wanted:
            await _unsubscribe(session, lead, channel, origin)
            lines.append(f"{name}: unsubscribed.")
        elif _subscribed(lead, channel):
            lines.append(f"{name}: subscribed.")
        elif lead[f"suppressed_{channel}"] not in (None, "unsubscribed"):
            lines.append(f"{name}: cannot be turned back on from this page (the address failed or complained).")
        else:
            await _resubscribe(session, lead, channel, origin)
            lines.append(f"{name}: subscribed again.")
    await session.commit()
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return _page("Preferences saved", f"<p>Messages from {_name(lead)}:</p><ul>{items}</ul>")


def _channels_of(lead: dict) -> list[str]:
    """The channels the lead has an address for."""
    return [channel for channel in CHANNEL_NAMES if lead[CHANNEL_ADDRESS[channel]]]


def _subscribed(lead: dict, channel: str) -> bool:
    return lead[f"suppressed_{channel}"] is None and lead[f"consent_{channel}"] != "denied"


def _preferences_form(lead: dict, token: str) -> str:
    boxes = "".join(
        f'<label style="display:block"><input type="checkbox" name="{channel}"'
        f"{' checked' if _subscribed(lead, channel) else ''}> {CHANNEL_NAMES[channel]}</label>"
        for channel in _channels_of(lead)
    )
    action = f"/public/unsubscribe/{html.escape(token)}/preferences"
    return (
        f'<h2>Your preferences</h2><form method="post" action="{action}">'
        f'<input type="hidden" name="_form" value="1">{boxes}'
        '<p><button type="submit">Save preferences</button></p></form>'
    )


async def _unsubscribe(session: SessionDep, lead: dict, channel: str, origin: dict) -> None:
    """Suppress the channel ('unsubscribed'), deny its consent, note it on the timeline once, and remember the
    hashed address so that a later import cannot subscribe it again."""
    changed = (
        await session.execute(
            text(
                f"UPDATE leads SET suppressed_{channel} = coalesce(suppressed_{channel}, 'unsubscribed'), "
                f"consent_{channel} = 'denied', updated_at = now() WHERE id = :id "
                f"AND (suppressed_{channel} IS NULL OR consent_{channel} <> 'denied') RETURNING id"
            ),
            {"id": lead["id"]},
        )
    ).scalar_one_or_none()
    if changed is not None:
        note_id = await _note(session, lead, "unsubscribed", {"channel": channel, **origin})
        campaign_id = await session.scalar(
            UNSUBSCRIBE_EVENT,
            {
                "w": lead["workspace_id"],
                "lead": lead["id"],
                "run": origin["run_id"],
                "step": origin["step"],
                "channel": channel,
                "meta": json.dumps({"via": origin["via"]}),
            },
        )
        if campaign_id is not None:  # campaign-interaction triggers, once the unsubscribe is committed
            unsubscribed = JourneyEvent(
                kind="campaign_interaction",
                event_id=lead_event_id(note_id),
                lead_id=lead["id"],
                occurred_at=datetime.now(UTC),
                interaction="unsubscribed",
                campaign_id=campaign_id,
            )
            after_commit(session, lead["workspace_id"], [unsubscribed])
    address = lead[CHANNEL_ADDRESS[channel]]
    if address:
        await session.execute(
            text(REMEMBER_ADDRESSES_SQL),
            {"w": lead["workspace_id"], "channel": channel, "reason": "unsubscribed", "addresses": [address]},
        )


async def _resubscribe(session: SessionDep, lead: dict, channel: str, origin: dict) -> None:
    proof = {"source": "preference page", "method": "preference_page", "at": datetime.now(UTC).isoformat()}
    await session.execute(
        text(
            f"UPDATE leads SET suppressed_{channel} = NULL, consent_{channel} = 'granted', "
            f"consent_details = consent_details || jsonb_build_object('{channel}', CAST(:proof AS jsonb)), "
            f"updated_at = now() WHERE id = :id AND (suppressed_{channel} IS NULL OR suppressed_{channel} = "
            "'unsubscribed')"
        ),
        {"id": lead["id"], "proof": json.dumps(proof)},
    )
    await session.execute(
        text(
            "DELETE FROM suppressions WHERE workspace_id = :w AND channel = :channel AND reason = 'unsubscribed' "
            f"AND address_hash = {address_hash_sql(':address')}"
        ),
        {"w": lead["workspace_id"], "channel": channel, "address": lead[CHANNEL_ADDRESS[channel]]},
    )
    await _note(session, lead, "resubscribed", {"channel": channel, **origin})


async def _note(session: SessionDep, lead: dict, kind: str, data: dict) -> int:
    return await note_on_timeline(session, lead["workspace_id"], lead["id"], kind, data, "recipient")


async def _lead_of(session: SessionDep, settings: SettingsDep, token: str) -> dict:
    parsed = parse_unsubscribe_token(settings, token)
    missing = ApiError(404, "no such link")
    if parsed is None:
        raise missing
    lead_id, run_id, _step = parsed
    row = (
        await session.execute(
            text(
                "SELECT l.id, l.workspace_id, l.email, l.phone, w.name AS workspace, "
                "l.suppressed_email, l.suppressed_sms, l.suppressed_whatsapp, "
                "l.consent_email, l.consent_sms, l.consent_whatsapp "
                "FROM leads l JOIN workspaces w ON w.id = l.workspace_id "
                "JOIN campaign_runs r ON r.id = :run AND r.workspace_id = l.workspace_id WHERE l.id = :id"
            ),
            {"id": lead_id, "run": run_id},
        )
    ).one_or_none()
    if row is None:
        raise missing
    return dict(row._mapping)


def _address(lead: dict) -> str:
    """The address half-masked: the page is public, whoever holds the link sees it."""
    local, _, domain = (lead["email"] or "").partition("@")
    shown = (local[:2] + "…") if len(local) > 2 else local
    return html.escape(f"{shown}@{domain}" if domain else "this address")


def _name(lead: dict) -> str:
    return html.escape(lead["workspace"])


def _page(title: str, body: str) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
        "padding:0 1rem;color:#1f2933}button{font:inherit;padding:.5rem 1.25rem;border-radius:6px;border:0;"
        f"background:#1f2933;color:#fff;cursor:pointer}}</style></head><body><h1>{title}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, headers=HEADERS)
