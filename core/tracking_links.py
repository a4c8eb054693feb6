"""Signed tracking links put in sent email: the open pixel and the click redirects (docs/tracking.md).

- open pixel: `<public_url>/public/t/o/<delivery>.<sig>.gif`, sig = HMAC("open:<delivery>")
- click: `<public_url>/public/t/c/<delivery>.<b64url(url)>.<sig>`, sig = HMAC("click:<delivery>:<url>")
- conversion token, `hc` parameter of a click's destination: `<delivery>.<sig>`, sig = HMAC("conversion:<delivery>")

Keyed like every public link (`core.signing.signature`, `Settings.signing_key`). The click link carries its
destination, signed with the delivery: nobody can make Herald redirect anywhere it did not put in a message (no open
redirect), and only http(s) destinations are ever produced or followed. The parse functions return None for anything
altered, signed with another key, malformed or not http(s).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from core.settings import Settings
from core.signing import signature, valid_signature
from domain.tracking import is_trackable_url

_DELIVERY = re.compile(r"^[1-9][0-9]{0,18}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_TOKEN_CHARS = 8192  # a click token longer than this is not one of ours (links are kept well under it)


def _base(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/public/t"


def open_pixel_url(settings: Settings, delivery_id: int) -> str:
    sig = signature(settings.signing_key, f"open:{delivery_id}")
    return f"{_base(settings)}/o/{delivery_id}.{sig}.gif"


def click_url(settings: Settings, delivery_id: int, url: str) -> str:
    """The redirect to `url` for one delivery. Raises ValueError for a URL that is not http(s)."""
    return _click_url(_base(settings), settings.signing_key, delivery_id, url)


def click_url_maker(settings: Settings, delivery_id: int) -> Callable[[str], str]:
    """`click_url` for one delivery's links, the key and the base read once (the key is derived on each read)."""
    base, key = _base(settings), settings.signing_key
    return lambda url: _click_url(base, key, delivery_id, url)


def _click_url(base: str, key: bytes, delivery_id: int, url: str) -> str:
    if not is_trackable_url(url):
        raise ValueError(f"only http(s) links are tracked, not {url[:40]!r}")
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return f"{base}/c/{delivery_id}.{encoded}.{signature(key, f'click:{delivery_id}:{url}')}"


def parse_open_token(settings: Settings, token: str) -> int | None:
    """The delivery id of a genuine pixel token (`<delivery>.<sig>`, without `.gif`), else None."""
    delivery, _, sig = token.partition(".")
    if not _DELIVERY.match(delivery) or not valid_signature(settings.signing_key, f"open:{delivery}", sig):
        return None
    return int(delivery)


def parse_click_token(settings: Settings, token: str) -> tuple[int, str] | None:
    """(delivery id, destination) of a genuine click token, else None."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    delivery, encoded, sig = parts
    if not _DELIVERY.match(delivery) or not _B64URL.match(encoded):
        return None
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not valid_signature(settings.signing_key, f"click:{delivery}:{url}", sig) or not is_trackable_url(url):
        return None
    return int(delivery), url


def conversion_token(settings: Settings, delivery_id: int) -> str:
    """What a click's destination carries as `hc`: lets the landing page report a conversion of this delivery."""
    return f"{delivery_id}.{signature(settings.signing_key, f'conversion:{delivery_id}')}"


def parse_conversion_token(settings: Settings, token: str) -> int | None:
    """The delivery id of a genuine conversion token, else None."""
    delivery, _, sig = token.partition(".")
    if not _DELIVERY.match(delivery) or not valid_signature(settings.signing_key, f"conversion:{delivery}", sig):
        return None
    return int(delivery)
