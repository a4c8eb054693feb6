"""The open pixel and click redirects served before the rest of the app: every opened email and followed link comes
here.

`TrackingFastPath` is the outermost of the app's own middleware (api/main.py; only Starlette's and FastAPI's thin
wrappers, the 500 page among them, run before it). A `GET` whose path has the shape of
`/public/t/o/<token>.gif` or `/public/t/c/<token>` (the routes of api/routes/public_tracking.py, which stay as their
OpenAPI description and answer the same way when reached) is answered here, without the request-id middleware's
task and streams, FastAPI's routing and dependency injection, or an ORM session: the token is checked
(core/tracking_links.py), the event is written by group commit (api/tracking_recorder.py: the answer waits for the
commit), and the pixel or the redirect goes out with the headers the app's middleware would have given it
(X-Request-ID, nosniff, frame and referrer policies, the CSP). Anything else (another method, another path, a
token with a slash) goes on to the app, which answers as it always has (405, the SPA...). A token that is not ours
is the app's 404 JSON body, and records nothing.

What it does not do: CORS (pixels and redirects are loaded by mail clients and browsers, never read by scripts);
cookies, sessions and CSRF (none of these routes reads or sets any).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from api.middleware import SECURITY_HEADERS, content_security_policy, request_id
from api.tracking_recorder import TrackingRecorder
from core.settings import Settings
from core.tracking_links import conversion_token, parse_click_token, parse_open_token
from domain.tracking import add_query_parameter

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1×1 transparent GIF
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
CONVERSION_PARAMETER = "hc"  # read by the conversion snippet (api/routes/public_conversions.py)
OPEN_PREFIX = "/public/t/o/"
CLICK_PREFIX = "/public/t/c/"
NO_SUCH_IMAGE = "no such image"
NO_SUCH_LINK = "no such link"
# What Starlette's RedirectResponse leaves unescaped in a Location.
_LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"


@dataclass(frozen=True, slots=True)
class Answer:
    """What a tracking request gets, before the app-wide headers: 200 + GIF, 302 + Location, or 404."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    message: str = ""  # a 404's


async def open_answer(settings: Settings, recorder: TrackingRecorder, token: str, user_agent: str) -> Answer:
    """The pixel of `/public/t/o/<token>.gif`, once its open is recorded; 404 for a token that is not ours."""
    delivery_id = parse_open_token(settings, token)
    if delivery_id is None:
        return Answer(404, {}, message=NO_SUCH_IMAGE)
    await recorder.record(delivery_id, "open", None, user_agent)
    return Answer(200, {"Content-Type": "image/gif", **HEADERS}, PIXEL)


async def click_answer(settings: Settings, recorder: TrackingRecorder, token: str, user_agent: str) -> Answer:
    """The redirect of `/public/t/c/<token>` (with `hc=<conversion token>`), once its click is recorded; 404 for a
    token that is not ours."""
    parsed = parse_click_token(settings, token)
    if parsed is None:
        return Answer(404, {}, message=NO_SUCH_LINK)
    delivery_id, url = parsed
    await recorder.record(delivery_id, "click", url, user_agent)
    destination = add_query_parameter(url, CONVERSION_PARAMETER, conversion_token(settings, delivery_id))
    return Answer(302, {"Location": quote(destination, safe=_LOCATION_SAFE), **HEADERS})


AnswerFunction = Callable[[Settings, TrackingRecorder, str, str], Awaitable[Answer]]


def _error_body(message: str) -> bytes:
    """The app's error shape (api/errors.py), as its JSONResponse renders it."""
    return json.dumps({"message": message, "field": None, "code": "not_found"}, separators=(",", ":")).encode()


class TrackingFastPath:
    """ASGI middleware answering the tracking requests itself (module docstring); the recorder is the app's
    `state.tracking`, made in its lifespan."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        common = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(settings)}
        self._common = [(name.lower().encode(), value.encode()) for name, value in common.items()]
        self._not_found = {message: _error_body(message) for message in (NO_SUCH_IMAGE, NO_SUCH_LINK)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(OPEN_PREFIX) and path.endswith(".gif"):
                token = path[len(OPEN_PREFIX) : -4]
                if token and "/" not in token:
                    return await self._answer(scope, send, open_answer, token)
            elif path.startswith(CLICK_PREFIX):
                token = path[len(CLICK_PREFIX) :]
                if token and "/" not in token:
                    return await self._answer(scope, send, click_answer, token)
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, answer: AnswerFunction, token: str) -> None:
        agent = ""
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                agent = agent or value.decode("latin-1")
            elif name == b"x-request-id":
                incoming = incoming or value.decode("latin-1")
        result = await answer(self.settings, scope["app"].state.tracking, token, agent)
        headers = [(b"x-request-id", request_id(incoming).encode()), *self._common]
        if result.status == 404:
            body = self._not_found[result.message]
            headers.append((b"content-type", b"application/json"))
        else:
            body = result.body
            headers += [(name.lower().encode(), value.encode("latin-1")) for name, value in result.headers.items()]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": result.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
