"""Request ids, security headers and (opt-in) CORS."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from core.settings import Settings

# The SPA is served from our own origin; the outbox preview renders mail in a sandboxed srcdoc iframe.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI loads its bundle from a CDN; the docs page gets a policy that allows exactly that.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# On every answer, the tracking fast path's included (api/tracking_fast_path.py).
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def request_id(incoming: str) -> str:
    """The client's X-Request-ID when it is a sane one, else a new id."""
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def content_security_policy(settings: Settings) -> str:
    """The app's policy; with S3 storage, media come from the bucket's origin (presigned redirects)."""
    if not settings.s3_endpoint:
        return CONTENT_SECURITY_POLICY
    from core.storage.s3 import parse_s3_endpoint

    host, secure = parse_s3_endpoint(settings.s3_public_endpoint or settings.s3_endpoint)
    origin = f"{'https' if secure else 'http'}://{host}"
    return CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:;", f"img-src 'self' data: {origin}; media-src 'self' {origin};"
    )


def install_middleware(app: FastAPI, settings: Settings) -> None:
    policy = content_security_policy(settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"],
        )

    @app.middleware("http")
    async def request_id_and_security_headers(request: Request, call_next):
        request.state.request_id = request_id(request.headers.get("x-request-id", ""))
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers.update(SECURITY_HEADERS)
        docs = request.url.path.startswith("/api/docs")
        # A route may set a stricter policy of its own (uploaded files are served sandboxed).
        response.headers.setdefault("Content-Security-Policy", DOCS_POLICY if docs else policy)
        return response
