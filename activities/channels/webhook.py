"""The webhook channel: each message POSTed as JSON to one configured URL, signed with HMAC-SHA256.

Headers: `X-Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`,
`X-Herald-Message-Id` (the same for every retry of one delivery: deduplicate on it) and `X-Herald-Delivery`.
A receiver checks the signature with `verify_webhook_signature` (or the same few lines in its own language) and
refuses stale timestamps. 2xx is success (a JSON `id` in the answer is kept as the provider id); 408, 429, 5xx,
timeouts and connection errors are retried; any other status fails the message for good.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from activities.channels.base import (
    OutgoingMessage,
    SendReceipt,
    TransientSendError,
    http_status_error,
)

SIGNATURE_HEADER = "X-Herald-Signature"
MESSAGE_ID_HEADER = "X-Herald-Message-Id"
DELIVERY_HEADER = "X-Herald-Delivery"


def sign_webhook(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_webhook_signature(
    secret: str, body: bytes, header: str, *, tolerance: float = 300, now: float | None = None
) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is within `tolerance` seconds of now."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign_webhook(secret, body, timestamp).partition(",v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def webhook_payload(message: OutgoingMessage) -> dict:
    rendered = message.rendered
    return {
        "type": "message",
        "id": message.message_id,
        "delivery_key": message.delivery_key,
        "workspace_id": message.workspace_id,
        "test": message.test,
        "to": message.to,
        "to_name": message.to_name,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "media_urls": list(message.media_urls),
        "unsubscribe_url": message.unsubscribe_url,
    }


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, client: httpx.AsyncClient, url: str, secret: str, concurrency: int = 10) -> None:
        self.client = client  # carries the timeout
        self.url = url
        self.secret = secret
        self.concurrency = concurrency

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        body = json.dumps(webhook_payload(message), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(self.secret, body, int(time.time())),
            MESSAGE_ID_HEADER: message.message_id,
            DELIVERY_HEADER: message.delivery_key,
        }
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"webhook timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientSendError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise http_status_error(
                response.status_code, response.text[:300], retry_after=response.headers.get("Retry-After")
            )
        try:
            answer = response.json()
            provider_id = str(answer["id"]) if isinstance(answer, dict) and answer.get("id") else message.message_id
        except ValueError:
            provider_id = message.message_id
        return SendReceipt(provider_message_id=provider_id)
