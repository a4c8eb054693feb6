"""Activities of a campaign run: audience snapshot, batched idempotent email sends, run completion."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels.base import Channel, OutgoingMessage, PermanentSendError
from activities.channels.email import EmailChannel
from activities.email_message import delivery_message_id
from activities.email_tracking import parse_tracking, track_email
from activities.render_context import LEAD_COLUMNS, WorkspaceRenderInfo, workspace_render_info
from activities.send_guard import finish_even_if_cancelled
from activities.smtp_pool import SmtpPool
from core.settings import Settings
from core.signing import media_url_rewriter, unsubscribe_url
from domain import campaign_audience
from domain.campaign_audience import ListRef, effective_list_ids
from domain.eligibility import email_skip_reason
from domain.filters import FilterError
from domain.lists import filter_context_from
from domain.rendering import CompiledTemplate, MessageContent, TemplateError, message_context
from models.campaigns import RunAudience
from models.leads import CustomFieldDefinition, Lead
from models.lists import LeadList
from models.payloads.campaign import (
    AudienceSnapshot,
    FinishRunInput,
    SendBatchInput,
    SendBatchResult,
    SnapshotAudienceInput,
)
from models.payloads.campaign_tracking import CampaignTracking
from models.workspaces import Workspace

log = structlog.get_logger("herald.activities.campaign")


@dataclass(frozen=True)
class CampaignMessage:
    """The pinned template version of a campaign, compiled once per batch, and what renders it besides the lead."""

    template: CompiledTemplate
    workspace_id: int
    info: WorkspaceRenderInfo
    campaign: dict[str, Any]  # {"id", "name"}
    tracking: CampaignTracking


class CampaignActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        smtp: SmtpPool,
        mail_from: str,
        settings: Settings | None = None,
        email: Channel | None = None,
    ) -> None:
        self.sessions = sessions
        self.smtp = smtp
        self.mail_from = mail_from
        self.email = email or EmailChannel(smtp, mail_from)  # the worker passes its channel (DKIM-signing if set)
        self.settings = settings or Settings()
        self._rewrite_url = media_url_rewriter(self.settings)

    @activity.defn
    async def snapshot_audience(self, input: SnapshotAudienceInput) -> AudienceSnapshot:
        """Freeze the run's audience (every lead on track 0); safe to retry (ON CONFLICT DO NOTHING, then count)."""
        _bind_log_context(run_db_id=input.run_id)
        async with self.sessions() as session:
            campaign = (
                await session.execute(
                    text(
                        "SELECT workspace_id, list_id, list_ids, exclude_list_ids, exclude_filter "
                        "FROM campaigns WHERE id = :id"
                    ),
                    {"id": input.campaign_id},
                )
            ).one_or_none()
            if campaign is None:
                raise ApplicationError(
                    f"campaign {input.campaign_id} not found", type="ConfigurationError", non_retryable=True
                )
            condition = await audience_condition(session, campaign)
            await session.execute(
                insert(RunAudience)
                .from_select(["run_id", "lead_id"], select(literal(input.run_id), Lead.id).where(condition))
                .on_conflict_do_nothing()
            )
            total = (
                await session.execute(
                    text("SELECT count(*) FROM campaign_run_audience WHERE run_id = :run_id"),
                    {"run_id": input.run_id},
                )
            ).scalar_one()
            await session.execute(
                text("UPDATE campaign_runs SET total = :total WHERE id = :run_id"),
                {"total": total, "run_id": input.run_id},
            )
            await session.commit()
        log.info("audience snapshot", total=total)
        return AudienceSnapshot(total=total)

    @activity.defn
    async def send_batch(self, input: SendBatchInput) -> SendBatchResult:
        """Send the next page of the audience.

        Each lead's delivery row is claimed under the unique (run, step, lead) key before anything is sent, and
        marked sent right after the provider accepts it, so a retried attempt sends only what is still unsent.
        The counts returned are the final statuses of the page's leads, whichever attempt produced them.
        """
        _bind_log_context(run_db_id=input.run_id)
        leads = await self._load_page(input)
        if not leads:
            return SendBatchResult(processed=0, last_lead_id=input.after_lead_id)
        message = await self._load_campaign(input.campaign_id)
        await self._claim(input, message.workspace_id, leads)
        to_send = await self._claimed_unsent(input, [lead["id"] for lead in leads])
        by_id = {lead["id"]: lead for lead in leads}
        transient: list[BaseException] = []
        done = 0

        async def send_one(delivery_id: int, lead_id: int) -> None:
            nonlocal done
            try:
                await self._send_one(input, message, delivery_id, by_id[lead_id])
            except (TemplateError, PermanentSendError) as exc:
                log.warning("delivery failed", lead_id=lead_id, error=str(exc))
                await self._mark(delivery_id, "failed", error=str(exc))
            except Exception as exc:  # TransientSendError (connection trouble, 4xx): the attempt is retried
                log.warning("transient send error", lead_id=lead_id, error=repr(exc))
                transient.append(exc)
            done += 1
            # The SDK throttles heartbeats to a fraction of the heartbeat timeout, so one per message is cheap.
            activity.heartbeat({"after_lead_id": input.after_lead_id, "done": done})

        queue = list(to_send)
        workers = max(1, min(self.smtp.size, len(queue)))

        async def drain() -> None:
            while queue and not transient:
                delivery_id, lead_id = queue.pop()
                await finish_even_if_cancelled(send_one(delivery_id, lead_id))

        # return_exceptions: on cancellation, gather then waits for every drain (and the message each has in
        # flight) instead of returning when the first one stops, so no accepted message is left unrecorded.
        for outcome in await asyncio.gather(*(drain() for _ in range(workers)), return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
        if transient:
            raise transient[0]
        counts = await self._page_counts(input, [lead["id"] for lead in leads])
        log.info("batch sent", after_lead_id=input.after_lead_id, leads=len(leads), **counts)
        return SendBatchResult(processed=len(leads), last_lead_id=leads[-1]["id"], **counts)

    @activity.defn
    async def finish_run(self, input: FinishRunInput) -> None:
        """Mirror the run's final status and counts (computed from deliveries) into the tables the UI lists."""
        _bind_log_context(run_db_id=input.run_id)
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    UPDATE campaign_runs r SET status = :status, finished_at = now(),
                        sent = c.sent, failed = c.failed, skipped = c.skipped
                    FROM (
                        SELECT count(*) FILTER (WHERE status = 'sent') AS sent,
                               count(*) FILTER (WHERE status = 'failed') AS failed,
                               count(*) FILTER (WHERE status = 'skipped') AS skipped
                        FROM deliveries WHERE run_id = :run_id
                    ) c
                    WHERE r.id = :run_id
                    """
                ),
                {"run_id": input.run_id, "status": input.status},
            )
            await session.execute(
                text(
                    "UPDATE campaigns SET status = :status, updated_at = now() "
                    "WHERE id = (SELECT campaign_id FROM campaign_runs WHERE id = :run_id)"
                ),
                {"run_id": input.run_id, "status": input.status},
            )
            if input.status == "rejected":
                # The API records the decision too (with its audit row); the run's own record must not depend on it.
                await session.execute(
                    text(
                        "UPDATE campaigns SET approval_status = 'rejected', approval_comment = :comment, "
                        "approved_by_id = coalesce(:user_id, approved_by_id) "
                        "WHERE id = (SELECT campaign_id FROM campaign_runs WHERE id = :run_id)"
                    ),
                    {"run_id": input.run_id, "comment": input.comment, "user_id": input.decided_by},
                )
            await session.commit()
        log.info("run finished", status=input.status, error=input.error)

    async def _load_page(self, input: SendBatchInput) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    f"""
                    SELECT {", ".join(f"l.{column}" for column in LEAD_COLUMNS)}
                    FROM campaign_run_audience a JOIN leads l ON l.id = a.lead_id
                    WHERE a.run_id = :run_id AND a.lead_id > :after
                    ORDER BY a.lead_id
                    LIMIT :limit
                    """
                ),
                {"run_id": input.run_id, "after": input.after_lead_id, "limit": input.limit},
            )
            return [dict(row._mapping) for row in rows]

    async def _load_campaign(self, campaign_id: int) -> CampaignMessage:
        """The campaign's pinned template version (the template's current content for a campaign created before
        versions existed), compiled, and its workspace's render data."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT c.workspace_id, c.name AS campaign_name, c.tracking, t.channel, "
                        "coalesce(v.subject, t.subject) AS subject, coalesce(v.preheader, t.preheader) AS preheader, "
                        "coalesce(v.body_html, t.body_html) AS body_html, "
                        "coalesce(v.body_text, t.body_text) AS body_text "
                        "FROM campaigns c JOIN templates t ON t.id = c.template_id "
                        "LEFT JOIN template_versions v ON v.id = c.template_version_id WHERE c.id = :id"
                    ),
                    {"id": campaign_id},
                )
            ).one_or_none()
            info = await workspace_render_info(session, row.workspace_id) if row is not None else None
        if row is None or info is None:
            raise ApplicationError(
                f"campaign {campaign_id} has no template", type="ConfigurationError", non_retryable=True
            )
        if row.channel != "email":
            raise ApplicationError(
                f"campaigns send email; the template is a {row.channel} template",
                type="ConfigurationError",
                non_retryable=True,
            )
        content = MessageContent(
            channel=row.channel,
            subject=row.subject,
            preheader=row.preheader,
            body_html=row.body_html,
            body_text=row.body_text,
        )
        try:
            template = CompiledTemplate(content)
        except TemplateError as exc:
            raise ApplicationError(
                f"template does not compile: {exc}", type="TemplateError", non_retryable=True
            ) from exc
        tracking = parse_tracking(row.tracking)
        return CampaignMessage(
            template=template,
            workspace_id=row.workspace_id,
            info=info,
            campaign={"id": campaign_id, "name": row.campaign_name},
            tracking=tracking,
        )

    async def _claim(self, input: SendBatchInput, workspace_id: int, leads: list[dict[str, Any]]) -> None:
        """Insert one delivery row per lead; rows that already exist (an earlier attempt) are left alone."""
        rows = []
        for lead in leads:
            reason = email_skip_reason(lead)
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "run_id": input.run_id,
                    "step": input.step,
                    "lead_id": lead["id"],
                    "status": "skipped" if reason else "sending",
                    "error": reason,
                }
            )
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, error, attempts,
                                            created_at, updated_at)
                    VALUES (:workspace_id, :run_id, :step, :lead_id, 'email', :status, :error, 1, now(), now())
                    ON CONFLICT ON CONSTRAINT uq_deliveries_idempotency DO NOTHING
                    """
                ),
                rows,
            )
            await session.commit()

    async def _claimed_unsent(self, input: SendBatchInput, lead_ids: list[int]) -> list[tuple[int, int]]:
        """Rows still 'sending': claimed now, or left in doubt by an attempt that died mid-send."""
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    "SELECT id, lead_id FROM deliveries "
                    "WHERE run_id = :run_id AND step = :step AND lead_id = ANY(:lead_ids) AND status = 'sending' "
                    "ORDER BY lead_id"
                ),
                {"run_id": input.run_id, "step": input.step, "lead_ids": lead_ids},
            )
            claimed = [(row.id, row.lead_id) for row in rows]
        return claimed

    async def _send_one(
        self, input: SendBatchInput, message: CampaignMessage, delivery_id: int, lead: dict[str, Any]
    ) -> None:
        unsubscribe = unsubscribe_url(self.settings, lead["id"], input.run_id, input.step)
        context = message_context(
            lead,
            custom_keys=message.info.custom_keys,
            workspace=message.info.workspace,
            campaign=message.campaign,
            unsubscribe_url=unsubscribe,
        )
        rendered = message.template.render(context, rewrite_url=self._rewrite_url)
        rendered = track_email(rendered, self.settings, delivery_id, message.tracking, unsubscribe_url=unsubscribe)
        message_id = delivery_message_id(input.run_id, input.step, lead["id"], self.mail_from)
        receipt = await self.email.send(
            OutgoingMessage(
                channel="email",
                to=lead["email"],
                to_name=f"{lead['first_name']} {lead['last_name']}".strip(),
                rendered=rendered,
                message_id=message_id,
                delivery_key=f"{input.run_id}:{input.step}:{lead['id']}",
                workspace_id=message.workspace_id,
                unsubscribe_url=unsubscribe,
            )
        )
        await self._mark(delivery_id, "sent", provider_message_id=receipt.provider_message_id)

    async def _mark(
        self, delivery_id: int, status: str, *, provider_message_id: str | None = None, error: str | None = None
    ) -> None:
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    UPDATE deliveries SET status = :status, provider_message_id = :pid, error = :error,
                        updated_at = now(), sent_at = CASE WHEN :mark_sent THEN now() ELSE sent_at END
                    WHERE id = :id
                    """
                ),
                {
                    "id": delivery_id,
                    "status": status,
                    "pid": provider_message_id,
                    "error": error,
                    "mark_sent": status == "sent",
                },
            )
            await session.commit()

    async def _page_counts(self, input: SendBatchInput, lead_ids: list[int]) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    "SELECT status, count(*) AS n FROM deliveries "
                    "WHERE run_id = :run_id AND step = :step AND lead_id = ANY(:lead_ids) GROUP BY status"
                ),
                {"run_id": input.run_id, "step": input.step, "lead_ids": lead_ids},
            )
            by_status = {row.status: row.n for row in rows}
        return {key: by_status.get(key, 0) for key in ("sent", "failed", "skipped")}


async def audience_condition(session: AsyncSession, campaign: Any):
    """The campaign's audience as a condition on `leads` (domain.campaign_audience: the union of its lists as they
    stand now, every lead of the workspace without lists, minus the excluded lists and the exclusion filter).

    `campaign` has workspace_id, list_id (legacy), list_ids, exclude_list_ids and exclude_filter.
    """
    workspace_id = campaign.workspace_id
    workspace = await session.get(Workspace, workspace_id)
    definitions = (
        await session.execute(select(CustomFieldDefinition).where(CustomFieldDefinition.workspace_id == workspace_id))
    ).scalars()
    ctx = filter_context_from(workspace_id, datetime.now(UTC), workspace.lead_statuses, definitions)
    included = effective_list_ids(campaign.list_ids, campaign.list_id)
    excluded = [int(i) for i in (campaign.exclude_list_ids or [])]
    try:
        return campaign_audience.audience_condition(
            workspace_id,
            [await _list_ref(session, workspace_id, list_id) for list_id in included],
            [await _list_ref(session, workspace_id, list_id) for list_id in excluded],
            campaign.exclude_filter,
            ctx,
        )
    except FilterError as exc:
        raise ApplicationError(
            f"the audience's filter is invalid: {exc}", type="ConfigurationError", non_retryable=True
        ) from exc


async def _list_ref(session: AsyncSession, workspace_id: int, list_id: int) -> ListRef:
    lead_list = await session.get(LeadList, list_id)
    if lead_list is None or lead_list.workspace_id != workspace_id:
        raise ApplicationError(f"list {list_id} not found", type="ConfigurationError", non_retryable=True)
    return ListRef(lead_list.id, lead_list.kind, lead_list.filter)


def _bind_log_context(**extra: Any) -> None:
    info = activity.info()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        workflow_id=info.workflow_id,
        run_id=info.workflow_run_id,
        activity=info.activity_type,
        attempt=info.attempt,
        **extra,
    )
