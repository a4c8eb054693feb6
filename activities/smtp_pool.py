"""A small pool of persistent aiosmtplib connections shared by the send activities of one worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message


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

    @property
    def size(self) -> int:
        return self.config.pool_size

    async def send(self, message: EmailMessage, *, sign: Callable[[bytes], bytes] | None = None) -> None:
        """Send one message on a pooled connection; SMTP errors propagate for the caller to classify.

        `sign` gets the exact bytes that go on the wire and returns them signed (DKIM): the flattening depends on
        the server's extensions (8BITMIME, SMTPUTF8), so it happens here, on the connection that sends.
        """
        async with self._slots:
            client = await self._checkout()
            try:
                if sign is None:
                    await client.send_message(message)
                else:
                    await _send_signed(client, message, sign)
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
        return client


async def _send_signed(client: aiosmtplib.SMTP, message: EmailMessage, sign: Callable[[bytes], bytes]) -> None:
    """`SMTP.send_message`, with the flattened bytes passed through `sign` before DATA."""
    sender = extract_sender(message)
    recipients = extract_recipients(message)
    if not sender or not recipients:
        raise ValueError("the message has no From or no recipient")
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    options = []
    utf8 = not (sender + "".join(recipients)).isascii()
    if utf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("a non-ASCII address needs SMTPUTF8, which the server lacks")
        options.append("SMTPUTF8")
    eight_bit = client.supports_extension("8bitmime")
    if eight_bit:
        options.append("BODY=8BITMIME")
    data = flatten_message(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
    await client.sendmail(sender, recipients, sign(data), mail_options=options)


async def _close_quietly(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except Exception:
        client.close()
