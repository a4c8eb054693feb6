"""The unsubscribe link of every sent email: `/public/unsubscribe/<lead>.<run>.<step>.<sig>`.

RFC 8058: mail clients POST `List-Unsubscribe=One-Click` to the link with no cookie or login, and the address is
suppressed within that request. Link scanners follow GET links, so a GET only shows a page with a button (a form
POST to the same link) and never changes anything. A token that is not ours, or was altered, is a 404.
"""

from __future__ import annotations

import html
import json

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from api.context import guard
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from core.signing import parse_unsubscribe_token
from domain.permissions import PUBLIC
from domain.suppression import REMEMBER_ADDRESSES_SQL

router = APIRouter(prefix="/public/unsubscribe", tags=["public"])
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
PREVIEW = "preview"


@router.get("/{token}", response_class=HTMLResponse, **guard(PUBLIC))
async def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Asks for confirmation; never unsubscribes by itself."""
    if token == PREVIEW:
        return _page("Unsubscribe", "<p>This is the unsubscribe link of a preview or a test message.</p>")
    lead = await _lead_of(session, settings, token)
    if lead["suppressed_email"] == "unsubscribed":
        return _page("Unsubscribed", f"<p>{_address(lead)} no longer receives emails from {_name(lead)}.</p>")
    body = (
        f"<p>Stop emails from {_name(lead)} to {_address(lead)}?</p>"
        f'<form method="post"><button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", body)


@router.post("/{token}", response_class=HTMLResponse, **guard(PUBLIC))
async def unsubscribe(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058) and the confirmation form's submit: idempotent."""
    if token == PREVIEW:
        return _page("Unsubscribe", "<p>This was a preview: nobody was unsubscribed.</p>")
    lead = await _lead_of(session, settings, token)
    _lead_id, run_id, step = parse_unsubscribe_token(settings, token) or (0, 0, 0)
    if lead["suppressed_email"] != "unsubscribed" or lead["consent_email"] != "denied":
        await session.execute(
            text(
                "UPDATE leads SET suppressed_email = 'unsubscribed', consent_email = 'denied', updated_at = now() "
                "WHERE id = :id"
            ),
            {"id": lead["id"]},
        )
        await session.execute(
            text(
                "INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at) "
                "VALUES (:w, :id, 'unsubscribed', CAST(:data AS jsonb), 'recipient', now())"
            ),
            {
                "w": lead["workspace_id"],
                "id": lead["id"],
                "data": json.dumps({"channel": "email", "run_id": run_id, "step": step, "via": "link"}),
            },
        )
    if lead["email"]:
        # The hashed suppression entry outlives the lead, so a later import cannot subscribe the address again.
        await session.execute(
            text(REMEMBER_ADDRESSES_SQL),
            {"w": lead["workspace_id"], "channel": "email", "reason": "unsubscribed", "addresses": [lead["email"]]},
        )
    await session.commit()
    return _page("Unsubscribed", f"<p>{_address(lead)} will no longer receive emails from {_name(lead)}.</p>")


async def _lead_of(session: SessionDep, settings: SettingsDep, token: str) -> dict:
    parsed = parse_unsubscribe_token(settings, token)
    missing = ApiError(404, "no such link")
    if parsed is None:
        raise missing
    lead_id, run_id, _step = parsed
    row = (
        await session.execute(
            text(
                "SELECT l.id, l.workspace_id, l.email, l.suppressed_email, l.consent_email, w.name AS workspace "
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
