"""The local outbox: SMS, WhatsApp, social and (unconfigured) webhook messages stored in `outbox_messages` for the
Outbox page instead of reaching a provider. The default for SMS and WhatsApp, so a fresh install sends nothing."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.channels.base import OutgoingMessage, SendReceipt

# One row per (channel, message id): a retried send of the same delivery is not stored twice.
_INSERT = text(
    """
    INSERT INTO outbox_messages (workspace_id, channel, mail_from, rcpt_to, subject, message_id, body_text,
        body_html, raw)
    SELECT CAST(:workspace_id AS integer), CAST(:channel AS varchar), CAST(:mail_from AS varchar),
        CAST(:rcpt_to AS jsonb), CAST(:subject AS text), CAST(:message_id AS varchar), CAST(:body_text AS text), '',
        CAST(:raw AS text)
    WHERE NOT EXISTS (
        SELECT 1 FROM outbox_messages WHERE message_id = CAST(:message_id AS varchar)
        AND channel = CAST(:channel AS varchar)
    )
    """
)


class OutboxChannel:
    def __init__(self, name: str, sessions: async_sessionmaker[AsyncSession], sender: str = "") -> None:
        self.name = name
        self.sessions = sessions
        self.sender = sender  # shown as "from" on the Outbox page
        self.concurrency = 4

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        subject = message.rendered.subject
        raw = {
            "test": message.test,
            "channel": self.name,
            "to": message.to,
            "to_name": message.to_name,
            "text": message.rendered.text,
            "media_urls": list(message.media_urls),
            "whatsapp_template": message.whatsapp_template or None,
            "social_networks": list(message.social_networks),
            "delivery_key": message.delivery_key,
            "unsubscribe_url": message.unsubscribe_url,
        }
        async with self.sessions() as session:
            await session.execute(
                _INSERT,
                {
                    "workspace_id": message.workspace_id,
                    "channel": self.name,
                    "mail_from": self.sender,
                    "rcpt_to": json.dumps([message.to]),
                    "subject": f"[Test] {subject}" if message.test else subject,
                    "message_id": message.message_id,
                    "body_text": message.rendered.text,
                    "raw": json.dumps(raw, ensure_ascii=False),
                },
            )
            await session.commit()
        return SendReceipt(provider_message_id=message.message_id)
