"""Signed public links put in sent messages: images (served without login) and per-delivery unsubscribe links.

Recipients have no session, so the link itself carries an HMAC (keyed by `Settings.signing_key`) over what it
grants; anything else under /public answers 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

from core.settings import Settings

ORIGINAL = "original"
# What the editor stores (`/api/media/<id>/file[/<variant>]`, possibly absolute) or `media:<id>[/<variant>]`.
_MEDIA_SRC = re.compile(
    r"^(?:https?://[^/\s]+)?/api/media/(?P<id>\d+)/file(?:/(?P<variant>[\w-]+))?/?(?:\?[^#]*)?$"
    r"|^media:(?P<ref>\d+)(?:/(?P<ref_variant>[\w-]+))?$"
)
_VARIANT = re.compile(r"^[\w-]{1,40}$")


def signature(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def valid_signature(key: bytes, message: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(signature(key, message), sent or "")


def _media_message(asset_id: int, variant: str) -> str:
    return f"media:{asset_id}:{variant}"


def public_media_url(settings: Settings, asset_id: int, variant: str = ORIGINAL) -> str:
    sig = signature(settings.signing_key, _media_message(asset_id, variant))
    return f"{settings.public_url.rstrip('/')}/public/media/{asset_id}/{variant}?sig={sig}"


def valid_media_signature(settings: Settings, asset_id: int, variant: str, sent: str | None) -> bool:
    return bool(_VARIANT.match(variant)) and valid_signature(
        settings.signing_key, _media_message(asset_id, variant), sent
    )


def media_reference(src: str) -> tuple[int, str] | None:
    """(asset id, variant) of an image source pointing at the library, or None for any other URL."""
    match = _MEDIA_SRC.match(src.strip())
    if match is None:
        return None
    if match.group("id"):
        return int(match.group("id")), match.group("variant") or ORIGINAL
    return int(match.group("ref")), match.group("ref_variant") or "web"


def media_url_rewriter(settings: Settings) -> Callable[[str], str]:
    """The `rewrite_url` the renderer applies to `<img src>`: library images become public signed URLs."""

    def rewrite(src: str) -> str:
        ref = media_reference(src)
        return public_media_url(settings, *ref) if ref else src

    return rewrite


def unsubscribe_url(settings: Settings, lead_id: int, run_id: int, step: int) -> str:
    """One link per delivery: it names the lead and the run it came from, and nothing can be changed in it."""
    token = f"{lead_id}.{run_id}.{step}"
    sig = signature(settings.signing_key, f"unsubscribe:{token}")
    return f"{settings.public_url.rstrip('/')}/public/unsubscribe/{token}.{sig}"


def preview_unsubscribe_url(settings: Settings) -> str:
    """Previews and test sends show where the link goes without granting anything."""
    return f"{settings.public_url.rstrip('/')}/public/unsubscribe/preview"


def parse_unsubscribe_token(settings: Settings, token: str) -> tuple[int, int, int] | None:
    """(lead id, run id, step) of a genuine token, else None."""
    parts = token.split(".")
    if len(parts) != 4 or not all(part.isdigit() for part in parts[:3]):
        return None
    body = ".".join(parts[:3])
    if not valid_signature(settings.signing_key, f"unsubscribe:{body}", parts[3]):
        return None
    lead_id, run_id, step = (int(part) for part in parts[:3])
    return lead_id, run_id, step
