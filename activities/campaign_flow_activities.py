"""Activities of the flow engine: the run's plan, batched sends of a track at a send step, and the track planning
(timezone groups, wait ends, branch and A/B partitions, the A/B winner, exits).

Tracks live in `campaign_run_audience.track`. Every partition is idempotent the same way: it is handed the track it
splits and `base`, the first track id the workflow has not used yet, and reassigns the leads of `track` *and of every
track >= base* (which only an earlier attempt of the same call can have filled) from scratch. So a retried attempt
recomputes the same split over the same leads, and whatever attempt's result the workflow records matches the table.
Leads that left the flow (`exited`) are never moved or sent again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import String, and_, case, exists, func, literal, not_, or_, select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channels, OutgoingMessage, PermanentSendError, SendReceipt, TransientSendError
from activities.email_message import delivery_message_id
from activities.email_tracking import parse_tracking, track_email
from activities.render_context import LEAD_COLUMNS, WorkspaceRenderInfo, attached_media, workspace_render_info
from activities.send_guard import finish_even_if_cancelled
from core.settings import Settings
from core.signing import media_url_rewriter, public_media_url, unsubscribe_url
from domain.ab_split import VariantStats, in_test_group_expression, pick_winner, variant_expression
from domain.campaign_flow import position_of, step_by_id
from domain.campaign_tracks import (
    HOLDOUT,
    SendDecision,
    address_of,
    channel_skip_reason,
    decide_send,
    group_zones,
    send_indexes_within,
    step_at_index,
    step_indexes,
)
from domain.filters import FilterError, compile_filter, parse_filter
from domain.lists import filter_context_from
from domain.rendering import CompiledTemplate, MessageContent, TemplateError, message_context
from domain.send_timing import (
    allowed_until,
    next_allowed_instant,
    timezone_buckets,
    wait_until_instant,
    zone,
)
from domain.suppression import REMEMBER_ADDRESSES_SQL
from models.campaigns import RunAudience
from models.deliveries import Delivery
from models.leads import CustomFieldDefinition, Lead
from models.payloads.campaign import (
    ExitTrackInput,
    Partition,
    PartitionInput,
    PickWinnerInput,
    PlanTimingInput,
    RunPlan,
    RunPlanInput,
    RunStatusInput,
    SendStepInput,
    SendStepResult,
    StepCount,
    TimingPlan,
    TrackGroup,
    VariantScore,
    WinnerResult,
)
from models.payloads.campaign_flow import (
    BranchStep,
    CampaignSchedule,
    EngagementCondition,
    FlowDefinition,
    SendStep,
    SplitStep,
    WaitStep,
)
from models.payloads.campaign_tracking import CampaignTracking

log = structlog.get_logger("herald.activities.campaign_flow")
AUDIENCE = RunAudience.__table__
LEADS = Lead.__table__
DELIVERIES = Delivery.__table__
CONTEXT_TTL = 60.0  # seconds a worker reuses a run's plan and render data
SUPPRESSIBLE = ("email", "sms", "whatsapp")
CLAIM_CHUNK = 100  # leads claimed per statement while a send batch is under way
HEARTBEAT_EVERY = 0.5  # seconds between a send batch's heartbeats (its heartbeat timeout is far longer)

# Per lead and step: sent if any of its deliveries (primary or fallback) was sent, else failed if one failed, else
# skipped (the primary's reason). The same rule for a batch's result and for a continued run's progress.
OUTCOMES_SQL = """
    SELECT step, variant, outcome, reason, fb, count(*) AS n FROM (
        SELECT step, lead_id, max(variant) AS variant,
            CASE WHEN bool_or(status = 'sent') THEN 'sent'
                 WHEN bool_or(status = 'failed') THEN 'failed'
                 WHEN bool_or(status = 'skipped') THEN 'skipped'
                 ELSE 'sending' END AS outcome,
            max(skip_reason) FILTER (WHERE NOT fallback) AS reason,
            bool_or(fallback AND status = 'sent') AS fb
        FROM {deliveries}
        GROUP BY step, lead_id
    ) per_lead
    GROUP BY step, variant, outcome, reason, fb
"""
RUN_DELIVERIES = "deliveries WHERE run_id = :run_id"
# A page's deliveries at one step. The range on lead_id keeps the scan of the idempotency key's index within the
# page whatever the planner's statistics say: with `lead_id = ANY(:ids)` alone, planned from the statistics of a
# table that grows during the run, it scanned every delivery of the step so far.
PAGE_DELIVERIES = (
    "deliveries WHERE run_id = :run_id AND step = :step AND lead_id BETWEEN :first AND :last AND lead_id = ANY(:ids)"
)


@dataclass(frozen=True)
class RunContext:
    """What every activity of a run needs, read once per worker (and refreshed after CONTEXT_TTL)."""

    run_id: int
    campaign_id: int
    campaign_name: str
    workspace_id: int
    flow: FlowDefinition
    schedule: CampaignSchedule
    workspace_timezone: str
    lead_statuses: tuple[str, ...]
    info: WorkspaceRenderInfo
    loaded_at: float
    tracking: CampaignTracking  # the campaign's, read with the rest (a campaign that runs cannot be edited)

    @property
    def seed(self) -> str:
        return f"campaign:{self.campaign_id}"


@dataclass(frozen=True)
class Message:
    """A pinned template version, compiled, with what goes beside the rendered text."""

    channel: str
    template: CompiledTemplate
    media_urls: tuple[str, ...]
    whatsapp_template: str


class SentMarks:
    """The 'sent' marks of one send batch, written in groups: one UPDATE for up to MAX_PENDING messages or
    MAX_AGE seconds instead of one per message (a mark on its own session cost 1.2 ms here, the largest cost of a
    broadcast after the send itself).

    The batch flushes what is left when it ends, also when it is cancelled (worker shutdown). Only a worker killed
    outright loses marks: those deliveries stay 'sending' and the retry resends them with the same Message-ID, the
    window being at most MAX_AGE seconds of accepted messages, as with a kill between the provider's acceptance and a
    single mark.
    """

    MAX_PENDING = 100
    MAX_AGE = 0.05

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._ids: list[int] = []
        self._provider_ids: list[str | None] = []
        self._oldest = 0.0

    async def add(self, delivery_id: int, provider_message_id: str | None) -> None:
        if not self._ids:
            self._oldest = time.monotonic()
        self._ids.append(delivery_id)
        self._provider_ids.append(provider_message_id)
        if len(self._ids) >= self.MAX_PENDING or time.monotonic() - self._oldest >= self.MAX_AGE:
            await self.flush()

    async def flush(self) -> None:
        if not self._ids:
            return
        ids, provider_ids = self._ids, self._provider_ids
        self._ids, self._provider_ids = [], []
        async with self.sessions() as session:
            await session.execute(CUSTOM_PLANS)
            await session.execute(MARK_SENT_SQL, {"ids": ids, "pids": provider_ids})
            await session.commit()


# For the rest of the transaction, plan each statement for its own parameters. A connection keeps a prepared
# statement's generic plan once it has run five times: planned while a run's first deliveries were being written,
# the mark's plan scanned the whole table (the planner had no statistics yet), and a mark of 100 deliveries went
# from 2 ms to 9 ms and on over a 100k-lead run. Planning anew costs well under a millisecond.
CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
MARK_SENT_SQL = text(
    """
    UPDATE deliveries d SET status = 'sent', provider_message_id = m.pid, error = NULL, skip_reason = NULL,
        updated_at = now(), sent_at = now()
    FROM unnest(CAST(:ids AS bigint[]), CAST(:pids AS text[])) AS m(id, pid)
    WHERE d.id = m.id
    """
)


class CampaignFlowActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Channels,
        settings: Settings,
        mail_from: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.settings = settings
        self.mail_from = mail_from or settings.mail_from
        self._rewrite_url = media_url_rewriter(settings)
        self._contexts: dict[int, RunContext] = {}
        self._messages: dict[tuple[int, int, int | None], Message | None] = {}

    # --- Plan and status ----------------------------------------------------------------------------------------------

    @activity.defn
    async def load_run_plan(self, input: RunPlanInput) -> RunPlan:
        """The run's flow (None: a legacy campaign), schedule and workspace timezone; with `with_counts`, the
        outcomes recorded so far (a continued run's progress)."""
        _bind(run_db_id=input.run_id)
        async with self.sessions() as session:
            row = await _run_row(session, input.run_id)
            if row is None:
                # The API starts the workflow just before committing the run: retry until it is visible.
                raise ApplicationError(f"campaign run {input.run_id} not found (yet)")
            plan = RunPlan(
                flow=_parse_flow(row.flow) if row.flow is not None else None,
                schedule=_parse_schedule(row.schedule),
                workspace_timezone=row.timezone or "UTC",
            )
            if input.with_counts:
                plan.counts = await _outcomes(session, input.run_id)
        return plan

    @activity.defn
    async def set_run_status(self, input: RunStatusInput) -> None:
        """Mirror a phase change (pending_approval → scheduled → running) onto the run and its campaign, only from
        the given statuses: a pause or a finish recorded meanwhile is never overwritten."""
        _bind(run_db_id=input.run_id)
        async with self.sessions() as session:
            campaign_id = (
                await session.execute(
                    text(
                        "UPDATE campaign_runs SET status = :status WHERE id = :run_id AND status = ANY(:only_from) "
                        "RETURNING campaign_id"
                    ),
                    {"run_id": input.run_id, "status": input.status, "only_from": input.only_from},
                )
            ).scalar_one_or_none()
            if campaign_id is not None:
                await session.execute(
                    text(
                        "UPDATE campaigns SET status = :status, updated_at = now() "
                        "WHERE id = :id AND status = ANY(:only_from)"
                    ),
                    {"id": campaign_id, "status": input.status, "only_from": input.only_from},
                )
            await session.commit()

    # --- Sending ------------------------------------------------------------------------------------------------------

    @activity.defn
    async def send_step_batch(self, input: SendStepInput) -> SendStepResult:
        """Send a send step to the next page of a track.

        Each lead's delivery is claimed under the unique (run, step, lead, fallback) key before anything is sent and
        marked right after the channel answers, so a retried attempt sends only what is still unsent. Skips (goal
        reached, frequency cap, no consent, suppressed, invalid address, missing template) are recorded as skipped
        deliveries with their reason. The primary channel failing for good, or being impossible for the lead, tries
        the step's fallback channel. Transient channel errors end the attempt (retried with backoff) once the
        messages in flight are recorded.
        """
        _bind(run_db_id=input.run_id, track=input.track, step=input.step)
        ctx = await self._context(input.run_id)
        _, step = step_at_index(ctx.flow, input.step)
        if not isinstance(step, SendStep):
            raise ApplicationError(
                f"step {input.step} is a {step.type} step", type="ConfigurationError", non_retryable=True
            )
        leads = await self._page(input)
        if not leads:
            return SendStepResult(processed=0, last_lead_id=input.after_lead_id)
        primary = await self._message(ctx, step.channel, step.template_id, step.template_version)
        fallback = (
            await self._message(ctx, step.fallback.channel, step.fallback.template_id, step.fallback.template_version)
            if step.fallback is not None
            else None
        )
        live = [lead for lead in leads if lead["exited"] is None]
        decisions = await self._decide(ctx, step, live, primary is None)
        by_id = {lead["id"]: lead for lead in live}
        transient: list[TransientSendError] = []
        marks = SentMarks(self.sessions)
        done = 0
        beat_at = 0.0

        async def deliver(delivery_id: int, lead_id: int, is_fallback: bool) -> None:
            nonlocal done
            lead = by_id[lead_id]
            message = fallback if is_fallback else primary
            channel = step.fallback.channel if is_fallback and step.fallback else step.channel
            try:
                if message is None:
                    await self._mark(delivery_id, "skipped", reason="no_template")
                else:
                    await self._send(ctx, input, channel, message, delivery_id, lead, is_fallback, marks)
            except PermanentSendError as exc:
                log.warning("delivery failed", lead_id=lead_id, channel=channel, error=exc.reason)
                await self._mark(delivery_id, "failed", error=exc.reason)
                await self._suppress(ctx, lead, channel, exc.suppress)
                if not is_fallback and step.fallback is not None:
                    follow_up = await self._claim_fallback(ctx, input, step, lead, exc.suppress)
                    if follow_up is not None:
                        await deliver(follow_up, lead_id, True)
                        return
            except TransientSendError as exc:
                log.warning("transient send error", lead_id=lead_id, channel=channel, error=exc.reason)
                transient.append(exc)
            done += 1
            nonlocal beat_at
            if time.monotonic() - beat_at >= HEARTBEAT_EVERY:
                beat_at = time.monotonic()
                activity.heartbeat({"after_lead_id": input.after_lead_id, "done": done})

        queue: asyncio.Queue[tuple[int, int, bool] | None] = asyncio.Queue()
        workers = max(1, self.channels.concurrency(step.channel))
        stopping = False  # cancelled (worker shutdown): finish the messages in flight, start no others

        async def claim_in_chunks() -> None:
            """Claim the page a chunk at a time: sending starts once the first chunk is claimed, and the next
            claims run while messages are in flight."""
            try:
                for start in range(0, len(live), CLAIM_CHUNK):
                    if transient or stopping:
                        break
                    chunk = {lead["id"]: decisions[lead["id"]] for lead in live[start : start + CLAIM_CHUNK]}
                    for item in await self._claim(ctx, input, step, chunk):
                        queue.put_nowait(item)
            finally:
                for _ in range(workers):
                    queue.put_nowait(None)

        async def drain() -> None:
            while (item := await queue.get()) is not None:
                if not (transient or stopping):  # else what is left waits for the retry
                    await deliver(*item)

        # Shielded as a whole: a cancellation lets every message in flight be sent *and recorded* (cut between the
        # provider's acceptance and the record, the retry would send it again), then propagates.
        work = asyncio.gather(claim_in_chunks(), *(drain() for _ in range(workers)), return_exceptions=True)
        try:
            outcomes = await asyncio.shield(work)
        except asyncio.CancelledError:
            stopping = True
            await work
            raise
        finally:
            await finish_even_if_cancelled(marks.flush())
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if transient:
            first = transient[0]
            raise ApplicationError(
                first.reason,
                type="TransientSendError",
                next_retry_delay=timedelta(seconds=first.retry_after) if first.retry_after else None,
            )
        result = await self._page_result(input, [lead["id"] for lead in leads])
        result.processed = len(leads)
        result.last_lead_id = leads[-1]["id"]
        result.more = len(leads) == input.limit and await self._more_after(input, result.last_lead_id)
        log.info("step batch sent", leads=len(leads), sent=result.sent, failed=result.failed, skipped=result.skipped)
        return result

    async def _page(self, input: SendStepInput) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    f"""
                    SELECT {", ".join(f"l.{column}" for column in LEAD_COLUMNS)},
                           l.consent_sms, l.consent_whatsapp, l.suppressed_sms, l.suppressed_whatsapp, a.exited
                    FROM campaign_run_audience a JOIN leads l ON l.id = a.lead_id
                    WHERE a.run_id = :run_id AND a.track = :track AND a.lead_id > :after
                    ORDER BY a.lead_id
                    LIMIT :limit
                    """
                ),
                {"run_id": input.run_id, "track": input.track, "after": input.after_lead_id, "limit": input.limit},
            )
            keys = list(rows.keys())
            return [dict(zip(keys, row, strict=True)) for row in rows]

    async def _more_after(self, input: SendStepInput, lead_id: int) -> bool:
        """Whether the track has leads after this one (a track's members do not change during a send step)."""
        async with self.sessions() as session:
            return bool(
                (
                    await session.execute(
                        text(
                            "SELECT EXISTS (SELECT 1 FROM campaign_run_audience "
                            "WHERE run_id = :run_id AND track = :track AND lead_id > :after)"
                        ),
                        {"run_id": input.run_id, "track": input.track, "after": lead_id},
                    )
                ).scalar_one()
            )

    async def _decide(
        self, ctx: RunContext, step: SendStep, leads: list[dict[str, Any]], template_missing: bool
    ) -> dict[int, SendDecision]:
        cap = ctx.schedule.frequency_cap
        recent: dict[int, int] = {}
        if cap is not None and leads:
            async with self.sessions() as session:
                rows = await session.execute(
                    text(
                        "SELECT lead_id, count(*) AS n FROM deliveries WHERE lead_id = ANY(:ids) AND marketing "
                        "AND status = 'sent' AND sent_at > now() - make_interval(days => :days) GROUP BY lead_id"
                    ),
                    {"ids": [lead["id"] for lead in leads], "days": cap.days},
                )
                recent = {row.lead_id: row.n for row in rows}
        return {
            lead["id"]: decide_send(
                lead,
                channel=step.channel,
                fallback_channel=step.fallback.channel if step.fallback else None,
                exit_statuses=ctx.flow.exit_on_statuses,
                sent_in_window=recent.get(lead["id"], 0),
                cap=cap.max_messages if cap else None,
                template_missing=template_missing,
            )
            for lead in leads
        }

    async def _claim(
        self, ctx: RunContext, input: SendStepInput, step: SendStep, decisions: dict[int, SendDecision]
    ) -> list[tuple[int, int, bool]]:
        """One delivery per lead (two with a fallback decided now) and the goal exits, in one transaction; rows that
        exist (an earlier attempt) are left alone. Returns the deliveries to send, (id, lead, fallback): those
        claimed now, and those an earlier attempt left 'sending'."""
        rows = []
        for lead_id, decision in decisions.items():
            rows.append(self._row(ctx, input, lead_id, step.channel, False, decision.primary, decision.reason))
            if decision.fallback is not None and step.fallback is not None:
                rows.append(
                    self._row(
                        ctx, input, lead_id, step.fallback.channel, True, decision.fallback, decision.fallback_reason
                    )
                )
        exits = [(lead_id, d.exit_status) for lead_id, d in decisions.items() if d.exit_status]
        if not rows:
            return []
        async with self.sessions() as session:
            inserted = await insert_deliveries(session, rows)
            for status in sorted({status for _, status in exits}):
                await session.execute(
                    text(
                        "UPDATE campaign_run_audience SET exited = :reason "
                        "WHERE run_id = :run_id AND lead_id = ANY(:ids) AND exited IS NULL"
                    ),
                    {
                        "run_id": input.run_id,
                        "reason": f"goal:{status}",
                        "ids": [lead_id for lead_id, s in exits if s == status],
                    },
                )
            await session.commit()
        to_send = [(row.id, row.lead_id, row.fallback) for row in inserted if row.status == "sending"]
        if len(inserted) < len(rows):  # rows of an earlier attempt: send what it left in doubt
            claimed_now = {(row.lead_id, row.fallback) for row in inserted}
            earlier = sorted({row["lead_id"] for row in rows if (row["lead_id"], row["fallback"]) not in claimed_now})
            to_send += await self._pending(input, earlier)
        return sorted(set(to_send), key=lambda item: (item[1], item[2]))  # each delivery once

    @staticmethod
    def _row(
        ctx: RunContext,
        input: SendStepInput,
        lead_id: int,
        channel: str,
        fallback: bool,
        status: str,
        reason: str | None,
    ) -> dict[str, Any]:
        return {
            "workspace_id": ctx.workspace_id,
            "run_id": input.run_id,
            "step": input.step,
            "lead_id": lead_id,
            "fallback": fallback,
            "channel": channel,
            "status": status,
            "skip_reason": reason if status == "skipped" else None,
            "variant": input.variant,
        }

    async def _claim_fallback(
        self, ctx: RunContext, input: SendStepInput, step: SendStep, lead: dict[str, Any], suppressed: str | None
    ) -> int | None:
        """After the primary failed for good: the fallback delivery, claimed now; its id when it is to be sent."""
        assert step.fallback is not None
        reason = channel_skip_reason(lead, step.fallback.channel)
        row = self._row(ctx, input, lead["id"], step.fallback.channel, True, "skipped" if reason else "sending", reason)
        async with self.sessions() as session:
            await insert_deliveries(session, [row])
            found = (
                await session.execute(
                    text(
                        "SELECT id, status FROM deliveries "
                        "WHERE run_id = :run_id AND step = :step AND lead_id = :lead_id AND fallback"
                    ),
                    {"run_id": input.run_id, "step": input.step, "lead_id": lead["id"]},
                )
            ).one()
            await session.commit()
        return found.id if found.status == "sending" else None

    async def _pending(self, input: SendStepInput, lead_ids: list[int]) -> list[tuple[int, int, bool]]:
        """Deliveries still 'sending': claimed now, or left in doubt by an attempt that died mid-send."""
        if not lead_ids:
            return []
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    f"SELECT id, lead_id, fallback FROM {PAGE_DELIVERIES} AND status = 'sending' "
                    "ORDER BY lead_id, fallback"
                ),
                {"run_id": input.run_id, **_page_keys(input, lead_ids)},
            )
            return [(row.id, row.lead_id, row.fallback) for row in rows]

    async def _send(
        self,
        ctx: RunContext,
        input: SendStepInput,
        channel: str,
        message: Message,
        delivery_id: int,
        lead: dict[str, Any],
        is_fallback: bool,
        marks: SentMarks,
    ) -> None:
        receipt = await send_delivery(
            self.channels,
            self.settings,
            self.mail_from,
            channel=channel,
            message=message,
            delivery_id=delivery_id,
            lead=lead,
            run_id=input.run_id,
            step=input.step,
            fallback=is_fallback,
            workspace_id=ctx.workspace_id,
            info=ctx.info,
            campaign={"id": ctx.campaign_id, "name": ctx.campaign_name},
            tracking=ctx.tracking,
            rewrite_url=self._rewrite_url,
        )
        await marks.add(delivery_id, receipt.provider_message_id)

    async def _mark(
        self,
        delivery_id: int,
        status: str,
        *,
        provider_message_id: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> None:
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    UPDATE deliveries SET status = :status, provider_message_id = :pid, error = :error,
                        skip_reason = :reason, updated_at = now(),
                        sent_at = CASE WHEN :mark_sent THEN now() ELSE sent_at END
                    WHERE id = :id
                    """
                ),
                {
                    "id": delivery_id,
                    "status": status,
                    "pid": provider_message_id,
                    "error": error,
                    "reason": reason,
                    "mark_sent": status == "sent",
                },
            )
            await session.commit()

    async def _suppress(self, ctx: RunContext, lead: dict[str, Any], channel: str, reason: str | None) -> None:
        await suppress_address(self.sessions, ctx.workspace_id, lead, channel, reason)

    async def _page_result(self, input: SendStepInput, lead_ids: list[int]) -> SendStepResult:
        result = SendStepResult(processed=0)
        async with self.sessions() as session:
            counts = await _outcomes(session, input.run_id, PAGE_DELIVERIES, **_page_keys(input, lead_ids))
            attempted = await session.execute(
                text(
                    f"SELECT channel, count(*) AS n FROM {PAGE_DELIVERIES} AND status IN ('sent', 'failed') "
                    "GROUP BY channel"
                ),
                {"run_id": input.run_id, **_page_keys(input, lead_ids)},
            )
            result.attempted = {row.channel: row.n for row in attempted}
        for count in counts:
            if count.status in ("sent", "failed", "skipped"):
                setattr(result, count.status, getattr(result, count.status) + count.count)
            if count.status == "sent" and count.fallback:
                result.fallback_sent += count.count
            if count.status == "skipped" and count.skip_reason:
                result.by_reason[count.skip_reason] = result.by_reason.get(count.skip_reason, 0) + count.count
        return result

    # --- Track planning -----------------------------------------------------------------------------------------------

    @activity.defn
    async def plan_timing(self, input: PlanTimingInput) -> TimingPlan:
        """When the track's leads may run their step, grouped by instant: the schedule's local start time
        (`start`), the end of a wait (`wait`), or the sending window of a send step (`send`). Leads are split by
        timezone only when the answer depends on it; each group after the first moves to a new track."""
        _bind(run_db_id=input.run_id, track=input.track)
        ctx = await self._context(input.run_id)
        schedule, workspace_tz = ctx.schedule, zone(ctx.workspace_timezone, "UTC")
        now = input.now
        started = input.started_at or now
        windowed = schedule.quiet_hours is not None or len(schedule.weekdays) < 7
        per_zone: Any = None  # zone name -> ready instant, when it depends on the lead's zone
        single: datetime | None = None
        if input.kind == "start":
            if schedule.mode != "local_time" or schedule.date is None or schedule.local_time is None:
                raise ApplicationError("the schedule has no local time", type="ConfigurationError", non_retryable=True)
            counts = await self._zone_counts(input)
            day = datetime.fromisoformat(input.date or schedule.date).date()
            buckets = timezone_buckets(counts, day, schedule.local_time, workspace_tz, schedule)
            lookup = {name: bucket.fire_at for bucket in buckets for name in bucket.zones}
            return await self._regroup(input, counts, lambda name: max(lookup[name], now))
        if input.kind == "wait":
            _, step = step_at_index(ctx.flow, input.step or 0)
            if not isinstance(step, WaitStep):
                raise ApplicationError("not a wait step", type="ConfigurationError", non_retryable=True)
            lead_zone = step.until is not None and step.until.timezone_mode == "lead"

            def wait_end(name: str | None) -> datetime:
                tz = zone(name, workspace_tz) if name is not None else workspace_tz
                if step.until is not None:
                    end = wait_until_instant(step, now, tz if lead_zone else workspace_tz)
                else:
                    end = max(started + step.duration.as_timedelta(), now)  # type: ignore[union-attr]
                return next_allowed_instant(end, tz, schedule) if step.respect_quiet_hours else end

            if lead_zone or (step.respect_quiet_hours and windowed):
                per_zone = wait_end
            else:
                single = wait_end(None)
        else:
            per_zone = lambda name: next_allowed_instant(now, zone(name, workspace_tz), schedule)  # noqa: E731
        if per_zone is None:
            assert single is not None
            return TimingPlan(groups=[TrackGroup(track=input.track, ready_at=single, leads=0)])
        plan = await self._regroup(input, await self._zone_counts(input), per_zone)
        if input.kind == "send":
            for group in plan.groups:
                ends = [allowed_until(group.ready_at, zone(name, workspace_tz), schedule) for name in group.zones]
                group.window_ends_at = min((end for end in ends if end is not None), default=None)
        return plan

    async def _zone_counts(self, input: PlanTimingInput) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    "SELECT coalesce(l.timezone, '') AS zone, count(*) AS n FROM campaign_run_audience a "
                    "JOIN leads l ON l.id = a.lead_id WHERE a.run_id = :run_id "
                    "AND (a.track = :track OR a.track >= :base) AND a.exited IS NULL GROUP BY 1"
                ),
                {"run_id": input.run_id, "track": input.track, "base": input.base},
            )
            return {row.zone: row.n for row in rows}

    async def _regroup(self, input: PlanTimingInput, counts: dict[str, int], instant_of) -> TimingPlan:
        groups = group_zones(counts, instant_of)
        if len(groups) <= 1:
            ready = groups[0].ready_at if groups else input.now
            leads = groups[0].leads if groups else 0
            zones = groups[0].zones if groups else []
            if groups:
                await self._move_back(input)
            return TimingPlan(groups=[TrackGroup(track=input.track, ready_at=ready, leads=leads, zones=zones)])
        tracks = [input.track] + [input.base + i for i in range(len(groups) - 1)]
        names, targets = [], []
        for track, group in zip(tracks, groups, strict=True):
            names.extend(group.zones)
            targets.extend([track] * len(group.zones))
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE campaign_run_audience a SET track = m.track FROM leads l, "
                    "unnest(CAST(:zones AS text[]), CAST(:tracks AS int[])) AS m(zone, track) "
                    "WHERE a.run_id = :run_id AND (a.track = :track OR a.track >= :base) AND a.exited IS NULL "
                    "AND l.id = a.lead_id AND coalesce(l.timezone, '') = m.zone"
                ),
                {"run_id": input.run_id, "track": input.track, "base": input.base, "zones": names, "tracks": targets},
            )
            await session.commit()
        return TimingPlan(
            groups=[
                TrackGroup(track=track, ready_at=group.ready_at, leads=group.leads, zones=group.zones)
                for track, group in zip(tracks, groups, strict=True)
            ]
        )

    async def _move_back(self, input: PlanTimingInput) -> None:
        """One group after all: leads an earlier attempt moved to new tracks go back to the track."""
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE campaign_run_audience SET track = :track "
                    "WHERE run_id = :run_id AND track >= :base AND exited IS NULL"
                ),
                {"run_id": input.run_id, "track": input.track, "base": input.base},
            )
            await session.commit()

    @activity.defn
    async def partition_track(self, input: PartitionInput) -> Partition:
        """A branch: the track's leads matching the condition go to track `base` (yes), the others to `base + 1`
        (no). Engagement conditions read the referenced send step's deliveries (primary or fallback); field
        conditions are lead filters evaluated now."""
        _bind(run_db_id=input.run_id, track=input.track, step=input.step)
        ctx = await self._context(input.run_id)
        _, step = step_at_index(ctx.flow, input.step)
        if not isinstance(step, BranchStep):
            raise ApplicationError("not a branch step", type="ConfigurationError", non_retryable=True)
        matches = await self._condition(ctx, input.run_id, step)
        yes, no = input.base, input.base + 1
        counts = await self._reassign(input, case((matches, literal(yes)), else_=literal(no)), None)
        now = datetime.now(UTC)
        return Partition(
            arms={
                "yes": TrackGroup(track=yes, ready_at=now, leads=counts.get(yes, 0)),
                "no": TrackGroup(track=no, ready_at=now, leads=counts.get(no, 0)),
            }
        )

    async def _condition(self, ctx: RunContext, run_id: int, step: BranchStep):
        condition = step.condition
        if isinstance(condition, EngagementCondition):
            position = position_of(ctx.flow, condition.step_id)
            if position is None or not isinstance(step_by_id(ctx.flow, condition.step_id), SendStep):
                raise ApplicationError(
                    f"branch '{step.id}' looks at '{condition.step_id}', which is not a send step",
                    type="ConfigurationError",
                    non_retryable=True,
                )
            ref = step_indexes(ctx.flow)[position]
            d = DELIVERIES

            def had(*where) -> Any:
                return exists(
                    select(literal(1)).where(
                        d.c.run_id == run_id, d.c.step == ref, d.c.lead_id == AUDIENCE.c.lead_id, *where
                    )
                )

            event = condition.event
            if event == "opened":
                return had(d.c.opened_at.is_not(None))
            if event == "not_opened":
                return not_(had(d.c.opened_at.is_not(None)))
            if event == "clicked":
                return had(d.c.clicked_at.is_not(None))
            if event == "not_clicked":
                return not_(had(d.c.clicked_at.is_not(None)))
            if event == "delivered":
                return had(d.c.status == "sent")
            return and_(had(d.c.status == "failed"), not_(had(d.c.status == "sent")))  # failed
        async with self.sessions() as session:
            definitions = (
                await session.execute(
                    select(CustomFieldDefinition).where(CustomFieldDefinition.workspace_id == ctx.workspace_id)
                )
            ).scalars()
            filter_ctx = filter_context_from(ctx.workspace_id, datetime.now(UTC), ctx.lead_statuses, definitions)
        try:
            return compile_filter(parse_filter(condition.filter), filter_ctx)
        except FilterError as exc:
            raise ApplicationError(
                f"branch '{step.id}': the filter is invalid: {exc}", type="ConfigurationError", non_retryable=True
            ) from exc

    @activity.defn
    async def split_track(self, input: PartitionInput) -> Partition:
        """An A/B split: variant i gets track `base + i` (deterministic buckets, domain.ab_split); with an automatic
        winner only the test group is split and the others wait in a holdout track (`base + number of variants`)."""
        _bind(run_db_id=input.run_id, track=input.track, step=input.step)
        ctx = await self._context(input.run_id)
        _, step = step_at_index(ctx.flow, input.step)
        if not isinstance(step, SplitStep):
            raise ApplicationError("not an A/B split step", type="ConfigurationError", non_retryable=True)
        variants = [(variant.id, variant.percent) for variant in step.variants]
        tracks = {variant_id: input.base + i for i, (variant_id, _) in enumerate(variants)}
        holdout = input.base + len(variants)
        chosen = variant_expression(AUDIENCE.c.lead_id, step.id, variants, ctx.seed)
        track_of = case(*[(chosen == variant_id, literal(t)) for variant_id, t in tracks.items()], else_=literal(-1))
        if step.winner is not None:
            tested = in_test_group_expression(AUDIENCE.c.lead_id, step.id, step.winner.test_percent, ctx.seed)
            track_of = case((tested, track_of), else_=literal(holdout))
            chosen = case((tested, chosen), else_=literal(None, String))
        counts = await self._reassign(input, track_of, chosen)
        now = datetime.now(UTC)
        arms = {
            variant_id: TrackGroup(track=t, ready_at=now, leads=counts.get(t, 0)) for variant_id, t in tracks.items()
        }
        if step.winner is not None:
            arms[HOLDOUT] = TrackGroup(track=holdout, ready_at=now, leads=counts.get(holdout, 0))
        return Partition(arms=arms)

    async def _reassign(self, input: PartitionInput, track_of, variant_of) -> dict[int, int]:
        """Move the leads of the track (and of tracks >= base: an earlier attempt's) by `track_of`; counts per
        new track."""
        values: dict[str, Any] = {"track": track_of}
        if variant_of is not None:
            values["variant"] = variant_of
        population = and_(
            AUDIENCE.c.run_id == input.run_id,
            or_(AUDIENCE.c.track == input.track, AUDIENCE.c.track >= input.base),
            AUDIENCE.c.exited.is_(None),
        )
        async with self.sessions() as session:
            await session.execute(update(AUDIENCE).where(population, LEADS.c.id == AUDIENCE.c.lead_id).values(**values))
            rows = await session.execute(
                select(AUDIENCE.c.track, func.count())
                .where(AUDIENCE.c.run_id == input.run_id, AUDIENCE.c.track >= input.base, AUDIENCE.c.exited.is_(None))
                .group_by(AUDIENCE.c.track)
            )
            counts = {track: n for track, n in rows}
            await session.commit()
        return counts

    @activity.defn
    async def pick_winner(self, input: PickWinnerInput) -> WinnerResult:
        """The A/B winner by the split's metric over the test group's deliveries (ties: the first variant); the
        holdout track's leads are recorded in that variant."""
        _bind(run_db_id=input.run_id, step=input.step)
        ctx = await self._context(input.run_id)
        position, step = step_at_index(ctx.flow, input.step)
        if not isinstance(step, SplitStep) or step.winner is None:
            raise ApplicationError("not an A/B split with a winner", type="ConfigurationError", non_retryable=True)
        goal = list(ctx.flow.exit_on_statuses) or ["won"]
        scores = []
        async with self.sessions() as session:
            for variant in step.variants:
                steps = send_indexes_within(ctx.flow, position, variant.id)
                row = (
                    await session.execute(
                        text(
                            "SELECT count(*) FILTER (WHERE d.status = 'sent') AS sent, "
                            "count(*) FILTER (WHERE d.opened_at IS NOT NULL) AS opened, "
                            "count(*) FILTER (WHERE d.clicked_at IS NOT NULL) AS clicked, "
                            "count(DISTINCT d.lead_id) FILTER (WHERE d.status = 'sent' AND l.status = ANY(:goal)) "
                            "AS converted "
                            "FROM deliveries d JOIN leads l ON l.id = d.lead_id "
                            "WHERE d.run_id = :run_id AND d.step = ANY(:steps) AND d.variant = :variant"
                        ),
                        {"run_id": input.run_id, "steps": steps, "variant": variant.id, "goal": goal},
                    )
                ).one()
                scores.append(
                    VariantScore(
                        variant=variant.id,
                        sent=row.sent,
                        opened=row.opened,
                        clicked=row.clicked,
                        converted=row.converted,
                    )
                )
            winner = pick_winner(
                {s.variant: VariantStats(s.sent, s.opened, s.clicked, s.converted) for s in scores},
                step.winner.metric,
                [variant.id for variant in step.variants],
            )
            await session.execute(
                text(
                    "UPDATE campaign_run_audience SET variant = :variant "
                    "WHERE run_id = :run_id AND track = :track AND exited IS NULL"
                ),
                {"run_id": input.run_id, "track": input.holdout_track, "variant": winner},
            )
            await session.commit()
        log.info("a/b winner", split=step.id, winner=winner)
        return WinnerResult(winner=winner, scores=scores)

    @activity.defn
    async def exit_track(self, input: ExitTrackInput) -> None:
        _bind(run_db_id=input.run_id, track=input.track)
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE campaign_run_audience SET exited = :reason "
                    "WHERE run_id = :run_id AND track = :track AND exited IS NULL"
                ),
                {"run_id": input.run_id, "track": input.track, "reason": input.reason},
            )
            await session.commit()

    # --- Caches -------------------------------------------------------------------------------------------------------

    async def _context(self, run_id: int) -> RunContext:
        cached = self._contexts.get(run_id)
        if cached is not None and time.monotonic() - cached.loaded_at < CONTEXT_TTL:
            return cached
        async with self.sessions() as session:
            row = await _run_row(session, run_id)
            if row is None:
                raise ApplicationError(
                    f"campaign run {run_id} not found", type="ConfigurationError", non_retryable=True
                )
            if row.flow is None:
                raise ApplicationError(f"run {run_id} has no flow", type="ConfigurationError", non_retryable=True)
            info = await workspace_render_info(session, row.workspace_id)
        context = RunContext(
            run_id=run_id,
            campaign_id=row.campaign_id,
            campaign_name=row.campaign_name,
            workspace_id=row.workspace_id,
            flow=_parse_flow(row.flow),
            schedule=_parse_schedule(row.schedule),
            workspace_timezone=row.timezone or "UTC",
            lead_statuses=tuple(row.lead_statuses or ()),
            info=info,
            loaded_at=time.monotonic(),
            tracking=parse_tracking(row.tracking),
        )
        if len(self._contexts) > 256:
            self._contexts.clear()
        self._contexts[run_id] = context
        return context

    async def _message(self, ctx: RunContext, channel: str, template_id: int, version: int | None) -> Message | None:
        """The pinned version (the template's current one when the flow pins none), compiled; None when it does not
        exist in the workspace (its leads are skipped: no_template). Versions never change, so this is cached."""
        key = (ctx.workspace_id, template_id, version)
        if version is not None and key in self._messages:
            return self._messages[key]
        message = await load_message(self.sessions, self.settings, ctx.workspace_id, channel, template_id, version)
        if version is not None:
            if len(self._messages) > 512:
                self._messages.clear()
            self._messages[key] = message
        return message


# --- The send path shared with journeys (activities/journey_activities.py) ----------------------------------------


async def load_message(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    workspace_id: int,
    channel: str,
    template_id: int,
    version: int | None,
) -> Message | None:
    """A template version (the template's current one when `version` is None), compiled with its media; None when
    the template does not exist in the workspace. A template of another channel or one that does not compile is a
    non-retryable error (ConfigurationError, TemplateError)."""
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT t.channel, v.subject, v.preheader, v.body_html, v.body_text, v.media_ids, "
                    "v.whatsapp_template FROM templates t JOIN template_versions v ON v.template_id = t.id "
                    "WHERE t.id = :t AND t.workspace_id = :w AND v.number = coalesce(:n, t.version)"
                ),
                {"t": template_id, "w": workspace_id, "n": version},
            )
        ).one_or_none()
        media = (
            await attached_media(session, workspace_id, list(row.media_ids or []))
            if row is not None and channel != "email"
            else []
        )
    if row is None:
        return None
    if row.channel != channel:
        raise ApplicationError(
            f"template {template_id} is a {row.channel} template, not {channel}",
            type="ConfigurationError",
            non_retryable=True,
        )
    content = MessageContent(
        channel=row.channel,
        subject=row.subject,
        preheader=row.preheader,
        body_html=row.body_html,
        body_text=row.body_text,
        media_ids=tuple(row.media_ids or ()),
        whatsapp_template=row.whatsapp_template or "",
    )
    try:
        template = CompiledTemplate(content)
    except TemplateError as exc:
        raise ApplicationError(
            f"template {template_id} does not compile: {exc}", type="TemplateError", non_retryable=True
        ) from exc
    return Message(
        channel=row.channel,
        template=template,
        media_urls=tuple(public_media_url(settings, asset, variant) for asset, variant in media),
        whatsapp_template=row.whatsapp_template or "",
    )


async def send_delivery(
    channels: Channels,
    settings: Settings,
    mail_from: str,
    *,
    channel: str,
    message: Message,
    delivery_id: int,
    lead: dict[str, Any],
    run_id: int,
    step: int,
    fallback: bool,
    workspace_id: int,
    info: WorkspaceRenderInfo,
    campaign: dict[str, Any] | None,
    tracking: CampaignTracking,
    rewrite_url: Any,
) -> SendReceipt:
    """Render the message for the lead, track it (email), and hand it to the channel under the delivery's key
    (run:step:lead, ":f" for a fallback) and its deterministic Message-ID: a resend of a delivery left in doubt
    carries the same ids. Raises PermanentSendError (also when the template does not render for this lead) or
    TransientSendError."""
    unsubscribe = unsubscribe_url(settings, lead["id"], run_id, step)
    context = message_context(
        lead,
        custom_keys=info.custom_keys,
        workspace=info.workspace,
        campaign=campaign,
        unsubscribe_url=unsubscribe,
    )
    try:
        rendered = message.template.render(context, rewrite_url=rewrite_url)
    except TemplateError as exc:
        raise PermanentSendError(f"the template does not render for this lead: {exc}") from exc
    if channel == "email":
        rendered = track_email(rendered, settings, delivery_id, tracking, unsubscribe_url=unsubscribe)
    message_id = delivery_message_id(run_id, step, lead["id"], mail_from)
    key = f"{run_id}:{step}:{lead['id']}"
    if fallback:
        message_id = message_id.replace("@", "-f@", 1)
        key += ":f"
    return await channels.get(channel).send(
        OutgoingMessage(
            channel=channel,
            to=address_of(lead, channel),
            to_name=f"{lead['first_name']} {lead['last_name']}".strip(),
            rendered=rendered,
            message_id=message_id,
            delivery_key=key,
            workspace_id=workspace_id,
            unsubscribe_url=unsubscribe,
            media_urls=message.media_urls,
            whatsapp_template=message.whatsapp_template,
        )
    )


async def suppress_address(
    sessions: async_sessionmaker[AsyncSession],
    workspace_id: int,
    lead: dict[str, Any],
    channel: str,
    reason: str | None,
) -> None:
    """Suppress the lead's address on the channel, and remember its hash (REMEMBER_ADDRESSES_SQL) so that an
    import cannot add the address again after the lead is deleted."""
    if reason is None or channel not in SUPPRESSIBLE:
        return
    async with sessions() as session:
        await session.execute(
            text(
                f"UPDATE leads SET suppressed_{channel} = :reason, updated_at = now() "
                f"WHERE id = :id AND suppressed_{channel} IS NULL"
            ),
            {"id": lead["id"], "reason": reason},
        )
        address = address_of(lead, channel)
        if address:
            await session.execute(
                text(REMEMBER_ADDRESSES_SQL),
                {"w": workspace_id, "channel": channel, "reason": reason, "addresses": [address]},
            )
        await session.commit()


INSERT_DELIVERIES_SQL = text(
    """
    INSERT INTO deliveries (workspace_id, run_id, step, lead_id, fallback, channel, status, skip_reason, variant,
                            marketing, attempts, created_at, updated_at)
    SELECT :workspace_id, :run_id, :step, r.lead_id, r.fallback, r.channel, r.status, r.skip_reason, :variant,
           true, 1, now(), now()
    FROM unnest(CAST(:lead_ids AS bigint[]), CAST(:fallbacks AS boolean[]), CAST(:channels AS text[]),
                CAST(:statuses AS text[]), CAST(:reasons AS text[]))
         AS r(lead_id, fallback, channel, status, skip_reason)
    ON CONFLICT ON CONSTRAINT uq_deliveries_idempotency DO NOTHING
    RETURNING id, lead_id, fallback, status
    """
)


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> list[Any]:
    """Claim `rows` (of one run, step and variant) in one statement; rows that exist already are left alone.
    Returns the rows inserted: id, lead_id, fallback, status."""
    first = rows[0]
    result = await session.execute(
        INSERT_DELIVERIES_SQL,
        {
            "workspace_id": first["workspace_id"],
            "run_id": first["run_id"],
            "step": first["step"],
            "variant": first["variant"],
            "lead_ids": [row["lead_id"] for row in rows],
            "fallbacks": [row["fallback"] for row in rows],
            "channels": [row["channel"] for row in rows],
            "statuses": [row["status"] for row in rows],
            "reasons": [row["skip_reason"] for row in rows],
        },
    )
    return list(result)


async def _run_row(session: AsyncSession, run_id: int) -> Any:
    return (
        await session.execute(
            text(
                "SELECT r.campaign_id, r.workspace_id, r.flow, coalesce(r.schedule, c.schedule) AS schedule, "
                "c.name AS campaign_name, c.tracking, w.timezone, w.lead_statuses "
                "FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id "
                "JOIN workspaces w ON w.id = r.workspace_id WHERE r.id = :id"
            ),
            {"id": run_id},
        )
    ).one_or_none()


def _page_keys(input: SendStepInput, lead_ids: list[int]) -> dict[str, Any]:
    """PAGE_DELIVERIES' parameters besides the run."""
    return {"step": input.step, "ids": lead_ids, "first": min(lead_ids), "last": max(lead_ids)}


async def _outcomes(
    session: AsyncSession, run_id: int, deliveries: str = RUN_DELIVERIES, **params: Any
) -> list[StepCount]:
    rows = await session.execute(text(OUTCOMES_SQL.format(deliveries=deliveries)), {"run_id": run_id, **params})
    return [
        StepCount(
            index=row.step,
            variant=row.variant,
            fallback=bool(row.fb),
            status=row.outcome,
            skip_reason=row.reason if row.outcome == "skipped" else None,
            count=row.n,
        )
        for row in rows
    ]


def _parse_flow(data: Any) -> FlowDefinition:
    try:
        return FlowDefinition.model_validate(data)
    except ValueError as exc:
        raise ApplicationError(
            f"the run's flow is invalid: {exc}", type="ConfigurationError", non_retryable=True
        ) from exc


def _parse_schedule(data: Any) -> CampaignSchedule:
    try:
        return CampaignSchedule.model_validate(data or {})
    except ValueError as exc:
        raise ApplicationError(
            f"the run's schedule is invalid: {exc}", type="ConfigurationError", non_retryable=True
        ) from exc


def _bind(**extra: Any) -> None:
    info = activity.info()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        workflow_id=info.workflow_id,
        run_id=info.workflow_run_id,
        activity=info.activity_type,
        attempt=info.attempt,
        **extra,
    )
