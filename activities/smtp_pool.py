"""A small pool of persistent aiosmtplib connections shared by the send activities of one worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


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

    async def send(self, message: EmailMessage) -> None:
        """Send one message on a pooled connection; SMTP errors propagate for the caller to classify."""
        async with self._slots:
            client = await self._checkout()
            try:
                await client.send_message(message)
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


async def _close_quietly(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except Exception:
        client.close()
