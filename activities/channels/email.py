"""Email over the worker's pooled SMTP connections, DKIM-signed when a key is configured."""

from __future__ import annotations

import asyncio
import re

import aiosmtplib

from activities.channels.base import (
    SUPPRESS_BOUNCED,
    OutgoingMessage,
    PermanentSendError,
    SendError,
    SendReceipt,
    TransientSendError,
)
from activities.email_message import DkimSigner, build_email
from activities.smtp_pool import SmtpPool

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Without an enhanced status code, these replies mean "no such mailbox/domain" (RFC 5321 §4.2.2-4.2.3).
_BAD_MAILBOX_CODES = {550, 551, 553}


class EmailChannel:
    name = "email"

    def __init__(self, pool: SmtpPool, mail_from: str, dkim: DkimSigner | None = None) -> None:
        self.pool = pool
        self.mail_from = mail_from
        self.dkim = dkim
        self.concurrency = pool.size  # as many sends in flight as the pool has connections

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        try:
            email = build_email(
                mail_from=self.mail_from,
                to_email=message.to,
                to_name=message.to_name,
                rendered=message.rendered,
                message_id=message.message_id,
                delivery_key=message.delivery_key,
                workspace_id=message.workspace_id,
                unsubscribe_url=message.unsubscribe_url,
                test=message.test,
                eight_bit=self.pool.eight_bit,
            )
        except ValueError as exc:  # an address that cannot be sent to
            raise PermanentSendError(f"invalid email address: {exc}", suppress=SUPPRESS_BOUNCED) from exc
        try:
            await self.pool.send(email, sign=self.dkim.sign if self.dkim else None)
        except Exception as exc:
            raise classify_smtp_error(exc) from exc
        return SendReceipt(provider_message_id=message.message_id)


def classify_smtp_error(exc: BaseException) -> SendError:
    """SMTP 4xx, connection trouble and timeouts are transient; 5xx permanent, suppressing a bad mailbox.

    A 5xx suppresses the address only when it is about the mailbox: enhanced status 5.1.x (bad destination
    mailbox or domain), or a bare 550/551/553. Policy refusals (5.7.x spam, blocked sender), content refusals and
    a refused MAIL FROM fail the message without blaming the address. Refusals of the session itself (greeting,
    HELO, AUTH) are transient: they concern our relay settings, not the message.
    """
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = sorted(exc.recipients, key=lambda r: r.code, reverse=True)
        return classify_smtp_error(refused[0]) if refused else TransientSendError(f"SMTP: {exc}")
    if isinstance(
        exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPHeloError | aiosmtplib.SMTPConnectResponseError
    ):
        # The session with our relay, not this message: every message would fail alike until it is fixed.
        return TransientSendError(f"SMTP session refused ({exc.code}): {exc.message}"[:500])
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"SMTP {exc.code}: {exc.message}"[:500]
        if exc.code < 500:
            return TransientSendError(reason)
        enhanced = _ENHANCED.match(exc.message or "")
        mailbox = enhanced.group(2) == "1" if enhanced else exc.code in _BAD_MAILBOX_CODES
        if isinstance(exc, aiosmtplib.SMTPSenderRefused):
            mailbox = False  # MAIL FROM refused: about our sender address, not the recipient
        return PermanentSendError(reason, suppress=SUPPRESS_BOUNCED if mailbox else None)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentSendError(f"SMTP: {exc}"[:500])
    if isinstance(exc, aiosmtplib.SMTPException | OSError | asyncio.TimeoutError | TimeoutError):
        return TransientSendError(f"SMTP: {type(exc).__name__}: {exc}"[:500])
    if isinstance(exc, ValueError):
        return PermanentSendError(f"SMTP: {exc}"[:500])
    return TransientSendError(f"{type(exc).__name__}: {exc}"[:500])
