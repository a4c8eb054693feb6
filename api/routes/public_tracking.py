"""Open pixel and click redirects of sent email: `/public/t/o/<delivery>.<sig>.gif` and
`/public/t/c/<delivery>.<b64url(url)>.<sig>` (core/tracking_links.py, docs/tracking.md).

These routes describe the endpoints in the OpenAPI schema. Requests are answered before the app by
`api/tracking_fast_path.py` (no middleware, routing or ORM on the path of every opened email and followed link);
a request that reaches the routes all the same gets the same answer from the same functions.

Each request records one event (open or click) with what the delivery says (workspace, lead, campaign, run, step,
variant, channel) and, for a person (domain/tracking.py: not a proxy, scanner or bot, not too soon after the send),
stamps the delivery's first `opened_at` / `clicked_at` (a click implies an open: images may be blocked). Events are
written by group commit (api/tracking_recorder.py): the answer goes out once the event is committed.

The redirect adds `hc=<delivery>.<sig>` to the destination (signature over `conversion:<delivery>`): the landing
page's conversion snippet sends it back to report a conversion of this delivery (docs/tracking.md, "Conversions").

A valid token of a delivery deleted since still gets its pixel or its redirect (the destination is in the signed
link), and nothing is recorded. Anything not signed by us is a 404: there is no open redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.context import guard
from api.deps import SettingsDep
from api.errors import ApiError
from api.tracking_fast_path import Answer, click_answer, open_answer
from domain.permissions import PUBLIC

router = APIRouter(prefix="/public/t", tags=["public"])


def _response(answer: Answer) -> Response:
    if answer.status == 404:
        raise ApiError(404, answer.message)
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


@router.get(
    "/o/{token}.gif",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1×1 transparent GIF"}},
    **guard(PUBLIC),
)
async def open_pixel(token: str, request: Request, settings: SettingsDep) -> Response:
    """The 1×1 GIF; records an open."""
    agent = request.headers.get("user-agent", "")
    return _response(await open_answer(settings, request.app.state.tracking, token, agent))


@router.get(
    "/c/{token}",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the link's destination"}},
    **guard(PUBLIC),
)
async def click(token: str, request: Request, settings: SettingsDep) -> Response:
    """302 to the link's destination, with `hc=<conversion token>` for the conversion snippet; records a click."""
    agent = request.headers.get("user-agent", "")
    return _response(await click_answer(settings, request.app.state.tracking, token, agent))
