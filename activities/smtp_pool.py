"""A small pool of persistent aiosmtplib connections shared by the send activities of one worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.typing import SMTPStatus

from activities.email_message import OutgoingEmail


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    timeout: float = 30.0
    pool_size: int = 5


class SmtpPool:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(config.pool_size)
        # Whether the server offers 8BITMIME, as its last greeting said; until a connection has greeted it,
        # messages are built 7-bit clean.
        self.eight_bit = False

    @property
    def size(self) -> int:
        return self.config.pool_size

    async def send(self, email: OutgoingEmail, *, sign: Callable[[bytes], bytes] | None = None) -> None:
        """Send one message on a pooled connection; SMTP errors propagate for the caller to classify.

        `sign` gets the exact bytes that go on the wire and returns them signed (DKIM).
        """
        async with self._slots:
            client = await self._checkout()
            try:
                await _send(client, email, sign)
            except BaseException:
                await _close_quietly(client)
                raise
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            await _close_quietly(self._idle.get_nowait())

    async def _checkout(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        client = aiosmtplib.SMTP(
            hostname=self.config.host,
            port=self.config.port,
            username=self.config.username,
            password=self.config.password,
            use_tls=self.config.use_tls,
            start_tls=None if not self.config.use_tls else False,
            timeout=self.config.timeout,
        )
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        self.eight_bit = client.supports_extension("8bitmime")
        return client


async def _send(client: aiosmtplib.SMTP, email: OutgoingEmail, sign: Callable[[bytes], bytes] | None) -> None:
    """MAIL, RCPT and DATA for one message.

    What `SMTP.sendmail` does, minus its address parsing (four `email.utils.parseaddr` calls a message, 10% of a
    broadcast's CPU here): `build_email` has validated both addresses already, so they go into the envelope as they
    are. The errors raised are sendmail's, for `classify_smtp_error`.
    """
    encoding = "ascii"
    options = []
    if email.smtputf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("a non-ASCII address needs SMTPUTF8, which the server lacks")
        options.append(b"SMTPUTF8")
        encoding = "utf-8"
    if email.eight_bit:
        if not client.supports_extension("8bitmime"):
            # Built when the server offered 8BITMIME; the pool now knows better, so the retry builds it 7-bit.
            raise aiosmtplib.SMTPException("the server no longer offers 8BITMIME")
        options.append(b"BODY=8BITMIME")
    data = sign(email.data) if sign is not None else email.data
    if client.supports_extension("size"):
        options.insert(0, b"SIZE=%d" % len(data))  # RFC 1870: octets with CRLF line ends, as built
    response = await client.execute_command(b"MAIL", b"FROM:<" + email.sender.encode(encoding) + b">", *options)
    if response.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, email.sender)
    refused = []
    for recipient in email.recipients:
        response = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode(encoding) + b">")
        if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            refused.append(aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient))
    if refused:
        raise aiosmtplib.SMTPRecipientsRefused(refused)
    await client.data(data)


async def _close_quietly(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except Exception:
        client.close()
