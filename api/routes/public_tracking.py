"""Open pixel and click redirects of sent email: `/public/t/o/<delivery>.<sig>.gif` and
`/public/t/c/<delivery>.<b64url(url)>.<sig>` (core/tracking_links.py, docs/tracking.md).

Each request records one event (open or click) with what the delivery says (workspace, lead, campaign, run, step,
variant, channel) and, for a person (domain/tracking.py: not a proxy, scanner or bot, not too soon after the send),
stamps the delivery's first `opened_at` / `clicked_at` (a click implies an open: images may be blocked). Two
statements a request: read the delivery, then write the event (and the stamp).

The redirect adds `hc=<delivery>.<sig>` to the destination (signature over `conversion:<delivery>`): the landing
page's conversion snippet sends it back to report a conversion of this delivery (docs/tracking.md, "Conversions").

A valid token of a delivery deleted since still gets its pixel or its redirect (the destination is in the signed
link), and nothing is recorded. Anything not signed by us is a 404: there is no open redirect.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import text

from api.context import guard
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from core.tracking_links import conversion_token, parse_click_token, parse_open_token
from domain.permissions import PUBLIC
from domain.tracking import add_query_parameter, click_machine_reason, open_machine_reason

router = APIRouter(prefix="/public/t", tags=["public"])
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1×1 transparent GIF
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
MAX_AGENT_CHARS = 300
CONVERSION_PARAMETER = "hc"  # read by the conversion snippet (api/routes/public_conversions.py)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

DELIVERY_SQL = text(
    "SELECT d.workspace_id, d.lead_id, d.run_id, d.step, d.variant, d.channel, r.campaign_id, "
    "extract(epoch FROM now() - d.sent_at) AS since_sent "
    "FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id WHERE d.id = :id"
)
_INSERT = (
    "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
    "machine, url, metadata) VALUES (:workspace_id, :id, :lead_id, :campaign_id, :run_id, :step, :variant, :channel, "
    ":type, :machine, :url, CAST(:metadata AS jsonb))"
)
INSERT_EVENT_SQL = text(_INSERT)
# A person's event also stamps the delivery, once: the first open, the first click (which is an open too).
OPENED_SQL = text(
    f"WITH event AS ({_INSERT}) UPDATE deliveries SET opened_at = now() WHERE id = :id AND opened_at IS NULL"
)
CLICKED_SQL = text(
    f"WITH event AS ({_INSERT}) "
    "UPDATE deliveries SET clicked_at = coalesce(clicked_at, now()), opened_at = coalesce(opened_at, now()) "
    "WHERE id = :id AND (clicked_at IS NULL OR opened_at IS NULL)"
)


@router.get(
    "/o/{token}.gif",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1×1 transparent GIF"}},
    **guard(PUBLIC),
)
async def open_pixel(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The 1×1 GIF; records an open."""
    delivery_id = parse_open_token(settings, token)
    if delivery_id is None:
        raise ApiError(404, "no such image")
    await _record(session, request, delivery_id, "open", None)
    return Response(PIXEL, media_type="image/gif", headers=HEADERS)


@router.get(
    "/c/{token}",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the link's destination"}},
    **guard(PUBLIC),
)
async def click(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> RedirectResponse:
    """302 to the link's destination, with `hc=<conversion token>` for the conversion snippet; records a click."""
    parsed = parse_click_token(settings, token)
    if parsed is None:
        raise ApiError(404, "no such link")
    delivery_id, url = parsed
    await _record(session, request, delivery_id, "click", url)
    destination = add_query_parameter(url, CONVERSION_PARAMETER, conversion_token(settings, delivery_id))
    return RedirectResponse(destination, status_code=302, headers=HEADERS)


async def _record(session: SessionDep, request: Request, delivery_id: int, kind: str, url: str | None) -> None:
    delivery = (await session.execute(DELIVERY_SQL, {"id": delivery_id})).one_or_none()
    if delivery is None:
        return
    # Control characters out: PostgreSQL's jsonb refuses \u0000, and nothing legitimate sends them.
    agent = _CONTROL.sub("", request.headers.get("user-agent", ""))
    since_sent = None if delivery.since_sent is None else float(delivery.since_sent)
    reason = (open_machine_reason if kind == "open" else click_machine_reason)(agent, since_sent)
    metadata: dict[str, Any] = {"user_agent": agent[:MAX_AGENT_CHARS]}
    if reason is not None:
        metadata["machine_reason"] = reason
    params = {
        **delivery._mapping,
        "id": delivery_id,
        "type": kind,
        "machine": reason is not None,
        "url": url,
        "metadata": json.dumps(metadata),
    }
    params.pop("since_sent")
    if reason is not None:
        statement = INSERT_EVENT_SQL
    else:
        statement = OPENED_SQL if kind == "open" else CLICKED_SQL
    await session.execute(statement, params)
    await session.commit()
