"""The embedded SMTP sink: accepts every message and stores it in `outbox_messages` for the Outbox page."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.outbox import OutboxMessage

log = structlog.get_logger("herald.smtp_sink")


def parse_message(raw: bytes, mail_from: str, rcpt_to: list[str]) -> OutboxMessage:
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    workspace = str(message.get("X-Herald-Workspace", "")).strip()
    return OutboxMessage(
        workspace_id=int(workspace) if workspace.isdigit() else None,
        mail_from=mail_from,
        rcpt_to=rcpt_to,
        subject=str(message.get("Subject", "")),
        message_id=str(message.get("Message-ID", "")),
        body_text=text_part.get_content() if text_part is not None else "",
        body_html=html_part.get_content() if html_part is not None else "",
        raw=raw.decode("utf-8", errors="replace"),
    )


class OutboxHandler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        stored = parse_message(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        try:
            await self._store(stored)
        except IntegrityError:  # a workspace header naming no workspace: keep the mail, unfiled
            stored.workspace_id = None
            await self._store(stored)
        return "250 Message accepted for delivery"

    async def _store(self, message: OutboxMessage) -> None:
        async with self.sessions() as db:
            db.add(message)
            await db.commit()


async def start_smtp_sink(
    sessions: async_sessionmaker[AsyncSession], host: str = "127.0.0.1", port: int = 2525
) -> asyncio.Server:
    """Serve SMTP on the running event loop; close the returned server to stop."""
    loop = asyncio.get_running_loop()
    handler = OutboxHandler(sessions)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="herald-sink", enable_SMTPUTF8=True), host=host, port=port
    )
    log.info("smtp sink listening", host=host, port=port)
    return server
