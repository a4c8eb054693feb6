"""The JSON body of a public endpoint (webhooks, the conversion snippet), read whatever its Content-Type says and
bounded in size: providers and pages post JSON as text/plain or without a type, which FastAPI's body parsing refuses.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from api.errors import ApiError


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """The parsed body (None when it is empty); 413 above `max_bytes`, 422 when it is not JSON, both naming `body`."""
    too_large = ApiError(413, f"body: larger than {max_bytes:,} bytes", field="body", code="too_large")
    if int(request.headers.get("content-length") or 0) > max_bytes:
        raise too_large
    body = await request.body()
    if len(body) > max_bytes:
        raise too_large
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise ApiError(422, "body: not JSON", field="body") from None
