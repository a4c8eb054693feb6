"""SMS and WhatsApp through a Twilio-style Messages API (one adapter, two channels).

`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, HTTP basic auth (account SID, auth token):
`To`, `From` (or `MessagingServiceSid` when the sender is an `MG…` service SID), `Body`; WhatsApp prefixes both
numbers with `whatsapp:` and adds one `MediaUrl` per attached media. The answer's `sid` is the provider id.
"""

from __future__ import annotations

import httpx

from activities.channels.base import (
    SUPPRESS_BOUNCED,
    SUPPRESS_UNSUBSCRIBED,
    OutgoingMessage,
    PermanentSendError,
    SendError,
    SendReceipt,
    TransientSendError,
    http_status_error,
)

DEFAULT_BASE_URL = "https://api.twilio.com"
# Error codes (https://www.twilio.com/docs/api/errors) that mean this number will never receive the message.
INVALID_NUMBER_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21217,  # phone number does not appear to be valid
        21401,  # invalid phone number
        21407,  # this phone number type does not support SMS or MMS
        21421,  # phone number is invalid
        21612,  # the 'To' phone number is not currently reachable via SMS
        21614,  # 'To' number is not a valid mobile number
        63024,  # invalid message recipient (WhatsApp)
    }
)
OPTED_OUT_CODES = frozenset({21610})  # the recipient replied STOP


class TwilioChannel:
    def __init__(
        self,
        name: str,
        *,
        client: httpx.AsyncClient,
        account_sid: str,
        sender: str,
        base_url: str = DEFAULT_BASE_URL,
        concurrency: int = 10,
    ) -> None:
        if name not in ("sms", "whatsapp"):
            raise ValueError(f"Twilio carries sms and whatsapp, not {name!r}")
        self.name = name
        self.client = client  # carries the basic auth and the timeout
        self.sender = sender
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.concurrency = concurrency

    def form(self, message: OutgoingMessage) -> dict[str, str | list[str]]:
        whatsapp = self.name == "whatsapp"
        form: dict[str, str | list[str]] = {"To": _address(message.to, whatsapp)}
        if self.sender.startswith("MG"):
            form["MessagingServiceSid"] = self.sender
        else:
            form["From"] = _address(self.sender, whatsapp)
        form["Body"] = message.rendered.text
        if whatsapp and message.media_urls:
            form["MediaUrl"] = list(message.media_urls)  # repeated: one field per medium
        return form

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        try:
            response = await self.client.post(self.url, data=self.form(message))
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"{self.name} provider timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientSendError(f"{self.name} provider unreachable: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            try:
                return SendReceipt(provider_message_id=str(response.json()["sid"]))
            except (ValueError, KeyError, TypeError):
                return SendReceipt(provider_message_id=message.message_id)
        raise classify_twilio_response(response)


def classify_twilio_response(response: httpx.Response) -> SendError:
    """429 and 5xx transient; a 4xx with an invalid-number code suppresses the number; other 4xx permanent."""
    code, detail = None, response.text[:300]
    try:
        body = response.json()
        code = int(body.get("code")) if body.get("code") is not None else None
        detail = f"{code} {body.get('message', '')}".strip() if code else str(body.get("message", detail))
    except (ValueError, TypeError, AttributeError):
        pass
    error = http_status_error(response.status_code, detail, retry_after=response.headers.get("Retry-After"))
    if isinstance(error, PermanentSendError):
        if code in INVALID_NUMBER_CODES:
            error.suppress = SUPPRESS_BOUNCED
        elif code in OPTED_OUT_CODES:
            error.suppress = SUPPRESS_UNSUBSCRIBED
    return error


def _address(number: str, whatsapp: bool) -> str:
    if whatsapp and not number.startswith("whatsapp:"):
        return f"whatsapp:{number}"
    return number
