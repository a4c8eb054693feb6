"""Test sends: one template version to a few addresses through the template's channel, marked as a test.

Every message goes through the worker's `Channels`, like a campaign's: email through the SMTP pool (DKIM-signed
when configured) with "[Test] " before the subject and `X-Herald-Test: 1`; SMS and WhatsApp through the configured
provider (the local outbox by default); social posts to the local outbox. Nothing is written to `deliveries`, so a
test never counts in a campaign's numbers or the analytics.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channels, OutgoingMessage, SendError, channels_from_settings
from activities.email_message import mail_domain
from activities.render_context import attached_media, load_lead, workspace_render_info
from activities.smtp_pool import SmtpPool
from core.settings import Settings
from core.signing import media_url_rewriter, preview_unsubscribe_url, public_media_url
from domain.rendering import (
    CompiledTemplate,
    MessageContent,
    RenderedMessage,
    TemplateError,
    message_context,
    sample_lead,
)
from models.payloads.test_send import TestSendInput, TestSendRecipient, TestSendResult
from models.templates import CONTENT_FIELDS

log = structlog.get_logger("herald.activities.test_send")


class TestSendActivities:
    __test__ = False  # not a pytest class

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        smtp: SmtpPool,
        mail_from: str,
        settings: Settings,
        channels: Channels | None = None,
    ) -> None:
        self.sessions = sessions
        self.mail_from = mail_from
        self.settings = settings
        # The worker's shared channels; built here from the settings when the worker passes none.
        self.channels = channels or channels_from_settings(settings, smtp, sessions, mail_from=mail_from)

    @activity.defn
    async def send_test(self, input: TestSendInput) -> TestSendResult:
        """Render once, then send to each address; one address failing does not stop the others."""
        version, template_name = await self._load_version(input)
        rendered, media = await self._render(input, version)
        if version["channel"] != "email":
            # The outbox files non-email tests under the template's name.
            rendered = dataclasses.replace(rendered, subject=template_name)
        results = []
        for index, to in enumerate(input.to):
            message = OutgoingMessage(
                channel=version["channel"],
                to=to,
                to_name="",
                rendered=rendered,
                message_id=f"<herald-{input.test_id}-{index}@{mail_domain(self.mail_from)}>",
                delivery_key=f"test:{input.test_id}",
                workspace_id=input.workspace_id,
                unsubscribe_url=None,
                media_urls=tuple(media),
                whatsapp_template=version.get("whatsapp_template") or "",
                test=True,
                social_networks=tuple(version.get("social_networks") or ()),
            )
            try:
                receipt = await self.channels.get(message.channel).send(message)
            except Exception as exc:
                error = exc.reason if isinstance(exc, SendError) else str(exc) or type(exc).__name__
                log.warning("test send failed", template_id=input.template_id, error=error)
                results.append(TestSendRecipient(to=to, ok=False, error=error))
                continue
            results.append(TestSendRecipient(to=to, ok=True, message_id=receipt.provider_message_id))
        log.info("test sent", template_id=input.template_id, version=input.version, ok=sum(r.ok for r in results))
        return TestSendResult(results=results)

    async def _load_version(self, input: TestSendInput) -> tuple[dict[str, Any], str]:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    text(
                        f"SELECT t.channel, t.name, {', '.join(f'v.{column}' for column in CONTENT_FIELDS)} "
                        "FROM templates t JOIN template_versions v ON v.template_id = t.id "
                        "WHERE t.id = :t AND t.workspace_id = :w AND v.number = :n"
                    ),
                    {"t": input.template_id, "w": input.workspace_id, "n": input.version},
                )
            ).one_or_none()
        if row is None:
            raise ApplicationError(
                f"template {input.template_id} has no version {input.version}",
                type="ConfigurationError",
                non_retryable=True,
            )
        data = dict(row._mapping)
        return data, data.pop("name")

    async def _render(self, input: TestSendInput, version: dict[str, Any]) -> tuple[RenderedMessage, list[str]]:
        async with self.sessions() as session:
            info = await workspace_render_info(session, input.workspace_id)
            lead = await load_lead(session, input.workspace_id, input.lead_id) if input.lead_id else None
            media = await attached_media(session, input.workspace_id, list(version.get("media_ids") or []))
        if input.lead_id and lead is None:
            raise ApplicationError(f"lead {input.lead_id} not found", type="ConfigurationError", non_retryable=True)
        context = message_context(
            lead if lead is not None else sample_lead(info.custom_fields),
            custom_keys=info.custom_keys,
            workspace=info.workspace,
            campaign=None,
            unsubscribe_url=preview_unsubscribe_url(self.settings),
        )
        content = MessageContent(
            channel=version["channel"],
            subject=version["subject"],
            preheader=version["preheader"],
            body_html=version["body_html"],
            body_text=version["body_text"],
        )
        try:
            rendered = CompiledTemplate(content).render(context, rewrite_url=media_url_rewriter(self.settings))
        except TemplateError as exc:
            raise ApplicationError(f"template: {exc}", type="TemplateError", non_retryable=True) from exc
        return rendered, [public_media_url(self.settings, asset_id, variant) for asset_id, variant in media]
