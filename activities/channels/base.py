"""The one interface every channel implements, and the two errors a send can end with.

A channel turns an `OutgoingMessage` (already rendered) into one provider call and returns the provider's id for
it. Whatever goes wrong is raised as one of two errors, so the engine needs no provider knowledge:

- `TransientSendError`: try again later (SMTP 4xx, connection refused or dropped, timeouts, HTTP 429 and 5xx).
- `PermanentSendError`: never retry this message (SMTP 5xx, invalid number, any other HTTP 4xx). `suppress` says
  whether the address itself is bad (`"bounced"`, or `"unsubscribed"` when the provider says the recipient opted
  out), so the engine suppresses it and tries the step's fallback channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from domain.rendering import RenderedMessage

# Invalid numbers/addresses the provider will never deliver to: suppress the address.
SUPPRESS_BOUNCED = "bounced"
# The recipient opted out at the provider (e.g. replied STOP): suppress it as unsubscribed.
SUPPRESS_UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # email, sms, whatsapp, webhook (social: the local outbox only)
    to: str  # email address, E.164 phone number, or the lead's identifier for a webhook
    to_name: str
    rendered: RenderedMessage
    message_id: str  # "<...@domain>": the Message-ID of an email, the idempotency id everywhere else
    delivery_key: str  # "run:step:lead" (or "test:<id>"), echoed to the provider where it has room for it
    workspace_id: int
    unsubscribe_url: str | None
    media_urls: tuple[str, ...] = ()  # public URLs (WhatsApp MediaUrl, social)
    whatsapp_template: str = ""  # the approved WhatsApp template name, when the template has one
    test: bool = False  # a test send: "[Test] " subject and X-Herald-Test: 1 on email, "test": true elsewhere
    social_networks: tuple[str, ...] = ()  # social posts only (they land in the local outbox)


@dataclass(frozen=True)
class SendReceipt:
    provider_message_id: str  # the Message-ID (email, outbox), Twilio's SID, the webhook receiver's id or ours


class SendError(Exception):
    """Base of the two outcomes; `reason` is short and safe to store in `deliveries.error`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    """Retry with backoff. `retry_after` (seconds) when the provider said how long to wait (HTTP Retry-After)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Never retried: the delivery fails (and the step's fallback channel may be tried).

    `suppress` is the suppression reason for the address ("bounced", "unsubscribed") when the address itself is
    bad, None when the refusal is about the message, the sender or the configuration.
    """

    def __init__(self, reason: str, *, suppress: str | None = None) -> None:
        super().__init__(reason)
        self.suppress = suppress


class ChannelUnavailable(PermanentSendError):
    """The channel is unknown or not configured on this worker (e.g. no WEBHOOK_URL)."""


@runtime_checkable
class Channel(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> SendReceipt: ...


def http_status_error(status: int, detail: str, *, retry_after: str | None = None) -> SendError:
    """Classify an HTTP provider's refusal: 408, 429 and 5xx are transient, any other 4xx permanent."""
    reason = f"HTTP {status}: {detail}".strip().rstrip(":")[:500]
    if status in (408, 429) or status >= 500:
        return TransientSendError(reason, retry_after=_seconds(retry_after))
    return PermanentSendError(reason)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: let the retry policy's backoff decide
        return None
