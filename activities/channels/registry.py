"""The channels of one worker, built once from the settings and shared by every send activity."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.channels.base import Channel, ChannelUnavailable
from activities.channels.email import EmailChannel
from activities.channels.outbox import OutboxChannel
from activities.channels.twilio import TwilioChannel
from activities.channels.webhook import WebhookChannel
from activities.email_message import DkimSigner
from activities.smtp_pool import SmtpPool
from core.settings import Settings

log = structlog.get_logger("herald.channels")


class ChannelConfigError(ValueError):
    """A provider is chosen or half-configured but cannot work: raised at worker start, not on the first send."""


class Channels:
    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        unavailable: Mapping[str, str] | None = None,
        clients: tuple[httpx.AsyncClient, ...] = (),
    ) -> None:
        self._channels = dict(channels)
        self._unavailable = dict(unavailable or {})
        self._clients = clients

    def get(self, name: str) -> Channel:
        """The channel; `ChannelUnavailable` (a `PermanentSendError`) when it is unknown or not configured."""
        channel = self._channels.get(name)
        if channel is None:
            raise ChannelUnavailable(self._unavailable.get(name, f"unknown channel {name!r}"))
        return channel

    def available(self, name: str) -> bool:
        return name in self._channels

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._channels)

    def concurrency(self, name: str) -> int:
        """How many sends of this channel one activity should keep in flight."""
        return max(1, int(getattr(self._channels.get(name), "concurrency", 1)))

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def channels_from_settings(
    settings: Settings,
    smtp_pool: SmtpPool,
    sessions: async_sessionmaker[AsyncSession],
    *,
    mail_from: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Channels:
    """email (SMTP pool, DKIM when configured), sms and whatsapp (outbox or Twilio), social (outbox), webhook.

    `transport` replaces the network for the HTTP providers (tests: `httpx.MockTransport`). Raises
    `ChannelConfigError` for a chosen provider that lacks its settings.
    """
    channels: dict[str, Channel] = {
        "email": EmailChannel(smtp_pool, mail_from or settings.mail_from, dkim_signer_from_settings(settings)),
        "social": OutboxChannel("social", sessions),
    }
    unavailable: dict[str, str] = {}
    clients: list[httpx.AsyncClient] = []

    twilio_client: httpx.AsyncClient | None = None
    for name, provider in (("sms", settings.sms_provider), ("whatsapp", settings.whatsapp_provider)):
        provider = provider or settings.sms_provider
        if provider == "outbox":
            channels[name] = OutboxChannel(name, sessions)
            continue
        sender = settings.twilio_from if name == "sms" else settings.twilio_whatsapp_from
        missing = [
            variable
            for variable, value in (
                ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
                ("TWILIO_FROM" if name == "sms" else "TWILIO_WHATSAPP_FROM", sender),
            )
            if not value
        ]
        if missing:
            raise ChannelConfigError(f"{name} provider twilio needs {', '.join(missing)}")
        if twilio_client is None:
            twilio_client = httpx.AsyncClient(
                auth=(settings.twilio_account_sid or "", settings.twilio_auth_token or ""),
                timeout=settings.twilio_timeout_seconds,
                transport=transport,
            )
            clients.append(twilio_client)
        channels[name] = TwilioChannel(
            name,
            client=twilio_client,
            account_sid=settings.twilio_account_sid or "",
            sender=sender or "",
            base_url=settings.twilio_base_url,
        )

    if settings.webhook_url:
        if not settings.webhook_secret:
            raise ChannelConfigError("WEBHOOK_URL needs WEBHOOK_SECRET (receivers verify the signature with it)")
        webhook_client = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, transport=transport)
        clients.append(webhook_client)
        channels["webhook"] = WebhookChannel(
            client=webhook_client, url=settings.webhook_url, secret=settings.webhook_secret
        )
    else:
        unavailable["webhook"] = "the webhook channel is not configured (WEBHOOK_URL)"

    log.info(
        "channels ready",
        sms=type(channels["sms"]).__name__,
        whatsapp=type(channels["whatsapp"]).__name__,
        webhook="webhook" in channels,
        dkim=channels["email"].dkim is not None,  # type: ignore[attr-defined]
    )
    return Channels(channels, unavailable=unavailable, clients=tuple(clients))


def dkim_signer_from_settings(settings: Settings) -> DkimSigner | None:
    """None when DKIM is off (nothing set); `ChannelConfigError` when it is half set or the key does not sign."""
    key: str | bytes | None = settings.dkim_private_key
    if key is None and settings.dkim_private_key_file is not None:
        try:
            key = settings.dkim_private_key_file.read_bytes()
        except OSError as exc:
            raise ChannelConfigError(f"DKIM_PRIVATE_KEY_FILE: {exc}") from exc
    given = {"DKIM_SELECTOR": settings.dkim_selector, "DKIM_DOMAIN": settings.dkim_domain, "a key": key}
    if not any(given.values()):
        return None
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ChannelConfigError(f"DKIM signing needs {', '.join(missing)} (DKIM_PRIVATE_KEY or _FILE for the key)")
    if isinstance(key, str):
        key = key.replace("\\n", "\n").encode()
    try:
        return DkimSigner(settings.dkim_selector or "", settings.dkim_domain or "", key or b"")
    except Exception as exc:
        raise ChannelConfigError(f"the DKIM key cannot sign: {type(exc).__name__}: {exc}") from exc
