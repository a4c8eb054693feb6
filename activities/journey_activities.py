"""Activities of JourneyWorkflow (#10): the journey's own records, what its decisions need to know about the lead,
and the actions. All I/O of a journey is here; the decisions are in domain/journey_steps.py.

Exactly once, per journey step (`seq`, the step's number in the journey; the workflow gives it):
- `send_message` is a campaign send: the delivery is claimed under the deliveries' unique key (run, step, lead,
  fallback) before the channel is called, where the run is the automation's pseudo run for the lead's entry and the
  step is `seq`; it goes through the campaigns' channel code (activities/campaign_flow_activities.send_delivery:
  rendering, tracking, Message-ID, unsubscribe link) and is marked sent after. A retried attempt finds the row: sent,
  nothing is sent again; left 'sending' by an attempt that died mid-send, it is resent with the same Message-ID.
- the other side effects claim a `journey_actions` row (journey, seq): database changes are made in the same
  transaction as the claim (a retry finds it and returns the recorded result), notifications and webhooks claim
  'sending' first and record 'done' after (a retry after an unrecorded success repeats the call with the same
  Message-ID / Idempotency-Key).

Errors: a permanent failure (provider refusal, HTTP 4xx, an impossible change) is a non-retryable `ActionFailed`,
a broken definition a `ConfigurationError` / `TemplateError`, a deleted lead `LeadGone`, a deleted journeys row
`JourneyGone`; anything else is retried under the node's retry policy, and the send marks its delivery failed on
the node's last attempt. Lead changes write the lead's timeline (`lead_events`) like the API and, once committed,
dispatch its events (core/journey_intake.py), so that automation A's change can start automation B; a retried attempt
dispatches them again (same event ids), and a lead changed by automations too often is taken for a loop
(MAX_AUTOMATED_CHANGES). The dispatcher's loaders (`load_published`, `load_dispatch_targets`, `lead_matches`...)
live in core/journey_intake.py and are re-exported here.

Mode "simulation" (the simulator) runs every action as a dry run: nothing is sent or written (but the journey's own
steps), and the outcome says what would have been done, addresses masked.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.campaign_flow_activities import Message, load_message, send_delivery, suppress_address
from activities.channels import Channels, PermanentSendError, TransientSendError
from activities.channels.email import classify_smtp_error
from activities.email_message import OutgoingEmail, mail_domain
from activities.email_tracking import parse_tracking
from activities.outbound_http import BlockedAddress, guarded_http_client
from activities.render_context import LEAD_COLUMNS, WorkspaceRenderInfo, workspace_render_info
from activities.send_guard import finish_even_if_cancelled
from activities.smtp_pool import SmtpPool
from activities.user_mail import user_email
from core.db import autocommit
from core.journey_intake import (  # noqa: F401 - DispatchTargets, lead_matches, load_dispatch_targets: re-exported
    WAITABLE_KINDS,
    DispatchTargets,
    dispatch_events,
    dispatch_needed,
    dispatched_rows,
    drop_from_outbox,
    lead_event_journey_events,
    lead_matches,
    load_dispatch_targets,
    load_histories,
    load_published,
    may_trigger,
)
from core.journeys import Dispatched, enter
from core.secrets import SecretBox, SecretUnavailable, read_secret
from core.settings import Settings
from core.signing import media_url_rewriter
from domain.automation_graph import trigger_nodes
from domain.campaign_tracks import address_of, channel_skip_reason
from domain.custom_fields import CustomFieldError, FieldDefinition, merge_custom_values, validate_custom_values
from domain.filters import FilterContext, FilterError, compile_filter, parse_filter
from domain.journey_steps import EntryHistory, round_robin_pick
from domain.lists import filter_context_from
from domain.rendering import TemplateError, message_context, render_string
from models.leads import Lead
from models.payloads.automation import (
    AddTagNode,
    AddToListNode,
    AssignOwnerNode,
    CallWebhookNode,
    JourneyEvent,
    NotifyUserNode,
    RemoveFromListNode,
    RemoveTagNode,
    SendMessageNode,
    StartAutomationNode,
    UpdateFieldNode,
)
from models.payloads.journey import (
    ACTION_FAILED,
    CONFIGURATION_ERROR,
    JOURNEY_GONE,
    LEAD_GONE,
    ActionInput,
    ActionOutcome,
    BeginJourney,
    ConditionInput,
    ConditionResult,
    JourneyRef,
    LeadTiming,
    LeadTimingInput,
    RecordSteps,
)

log = structlog.get_logger("herald.activities.journeys")
LEADS = Lead.__table__
CONTEXT_TTL = 60.0  # seconds a worker reuses a workspace's filter context and render data
# What an action reads of a lead: the template context, what decides a send, and the owner.
ACTION_LEAD_COLUMNS = (
    *LEAD_COLUMNS,
    "consent_sms",
    "consent_whatsapp",
    "suppressed_sms",
    "suppressed_whatsapp",
    "owner_id",
)
FINAL_STATUSES = ("completed", "exited", "failed", "goal_met")
# begin_journey's inserts, when journeys of the same lead and automation begin at once: a try loses only to a journey
# that did begin (its insert waits for that one's commit), so N at once need at most N tries.
ENTRY_TRIES = 50
# A parameter used twice is cast, so that asyncpg deduces one type for it.
BEGIN_JOURNEY = text(
    """
    INSERT INTO journeys (workspace_id, automation_id, version, lead_id, entry, workflow_id, first_run_id, mode,
        status, trigger_node, trigger_event_id, current_node, entered_at, updated_at)
    SELECT :w, :a, :v, :l,
        coalesce((SELECT max(entry) FROM journeys WHERE automation_id = :a AND lead_id = :l
                  AND mode <> 'simulation'), 0) + 1,
        :workflow_id, :run_id, :mode, 'active', CAST(:trigger AS text), :event, CAST(:trigger AS text), now(), now()
    WHERE EXISTS (SELECT 1 FROM leads WHERE id = :l AND workspace_id = :w)
        AND EXISTS (SELECT 1 FROM automations WHERE id = :a AND workspace_id = :w)
    ON CONFLICT DO NOTHING
    RETURNING id, entry
    """
)
# The journey's row and its new steps in one statement (a step already written is left alone).
RECORD_STEPS = text(
    """
    WITH updated AS (
        UPDATE journeys SET status = :status, current_node = :node, waiting_until = :until,
            end_reason = CASE WHEN :final THEN :reason ELSE end_reason END,
            finished_at = CASE WHEN :final THEN coalesce(finished_at, now()) ELSE NULL END,
            updated_at = now()
        WHERE id = :id
        RETURNING id
    ), written AS (
        INSERT INTO journey_steps (journey_id, automation_id, seq, node_id, node_type, outcome, next_node, at,
            wake_at, reason, end_status, detail)
        SELECT updated.id, :automation_id, step.seq, step.node_id, step.node_type, step.outcome, step.next_node,
            step.at, step.wake_at, step.reason, step.end_status, step.detail
        FROM updated CROSS JOIN jsonb_to_recordset(CAST(:steps AS jsonb)) AS step(seq integer, node_id text,
            node_type text, outcome text, next_node text, at timestamptz, wake_at timestamptz, reason text,
            end_status text, detail jsonb)
        ON CONFLICT ON CONSTRAINT uq_journey_steps_seq DO NOTHING
    )
    SELECT count(*) FROM updated
    """
)
WHY_NOT_BEGUN = text(
    """
    SELECT own.id AS own_id, own.entry AS own_entry,
        EXISTS (SELECT 1 FROM leads WHERE id = :l AND workspace_id = :w) AS lead,
        EXISTS (SELECT 1 FROM automations WHERE id = :a AND workspace_id = :w) AS automation,
        earlier.id AS earlier_id, earlier.entry AS earlier_entry
    FROM (SELECT 1) AS one
    LEFT JOIN journeys own ON own.workflow_id = :workflow_id AND own.first_run_id = :run_id
    LEFT JOIN journeys earlier ON earlier.automation_id = :a AND earlier.lead_id = :l AND earlier.mode = 'live'
        AND earlier.trigger_event_id = :event
    """
)
ACTOR = "automation:{automation_id}"  # lead_events.actor of a journey's changes
LEAD_EVENTS_DETAIL = "lead_events"  # the outcome's detail: ids of the timeline rows a lead change wrote
# The outcome's detail: the journey events of the change that a wait or a goal could look for (JourneyEvent dumps).
# The journey that made the change is not signalled them (_dispatch_changes): it reads them here instead, and takes
# them out of the step's detail (workflows/journey.py, patch OWN_LEAD_CHANGES).
OWN_EVENTS_DETAIL = "own_events"
# More journey-made changes of one lead per minute than this: a loop between automations (A's change triggers B,
# whose change triggers A...) is suspected, and the changes stop starting journeys until the rate falls.
MAX_AUTOMATED_CHANGES = 60


def _permanent(message: str, kind: str = ACTION_FAILED) -> ApplicationError:
    return ApplicationError(message[:1000], type=kind, non_retryable=True)


def _lead_gone(lead_id: int) -> ApplicationError:
    return ApplicationError(f"lead {lead_id} no longer exists", type=LEAD_GONE, non_retryable=True)


def _journey_gone(journey_id: int) -> ApplicationError:
    return ApplicationError(f"journey {journey_id} no longer exists", type=JOURNEY_GONE, non_retryable=True)


def mask_address(address: str) -> str:
    """An address as a dry run shows it: `j***@example.com`, `+33******78`."""
    address = address.strip()
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) <= 4:
        return "*" * len(address)
    return f"{address[:3]}{'*' * (len(address) - 5)}{address[-2:]}"


@dataclass
class _Workspace:
    """What the actions need of a workspace, read once per worker and refreshed after CONTEXT_TTL."""

    statuses: tuple[str, ...]
    timezone: str
    definitions: dict[str, FieldDefinition]
    info: WorkspaceRenderInfo
    loaded_at: float = field(default_factory=time.monotonic)

    def filter_context(self, workspace_id: int) -> FilterContext:
        return filter_context_from(workspace_id, datetime.now(UTC), self.statuses, self.definitions.values())


class JourneyActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Channels,
        settings: Settings,
        smtp: SmtpPool,
        *,
        client: Client | None = None,
        task_queue: str | None = None,
        mail_from: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.settings = settings
        self.smtp = smtp
        self.client = client
        self.task_queue = task_queue or settings.temporal_task_queue
        self.mail_from = mail_from or settings.mail_from
        self._http = http
        self._rewrite_url = media_url_rewriter(settings)
        self._tracking = parse_tracking(None)  # journey email: opens and clicks tracked, no UTM parameters
        self._workspaces: dict[int, _Workspace] = {}
        self._runs: dict[tuple[int, int], tuple[int, str]] = {}  # (automation, entry) -> (pseudo run, name)
        self._messages: dict[tuple[int, int, int], Message | None] = {}

    # --- The journey's records ----------------------------------------------------------------------------------------

    @activity.defn
    async def begin_journey(self, input: BeginJourney) -> JourneyRef:
        """The journeys row of this execution chain (workflow id + first run id): created with the lead's next
        entry number (live and test journeys counted; a simulation numbers itself as the entry it would be), or
        found when an earlier attempt created it. A live journey whose trigger event already entered the lead in
        this automation is a duplicate (`duplicate`: the journey ends at once).

        One statement in autocommit, the unique indexes standing guard: the execution (uq_journeys_execution), the
        entry number (ux_journeys_entry) and a live trigger event (ux_journeys_trigger_event). When it inserts
        nothing, _why_not_begun tells why; when it finds no reason, another journey of the lead took the entry
        number meanwhile, and the next try numbers after it."""
        _bind(lead_id=input.lead_id, automation_id=input.automation_id)
        async with self.sessions() as session:
            connection = await autocommit(session)
            for _try in range(ENTRY_TRIES):
                row = (await connection.execute(BEGIN_JOURNEY, _begin_params(input))).one_or_none()
                if row is not None:
                    log.info("journey begun", journey_id=row.id, entry=row.entry, mode=input.mode)
                    return JourneyRef(journey_id=row.id, entry=row.entry)
                found = await self._why_not_begun(connection, input)
                if found is not None:
                    return found
        raise RuntimeError(f"no entry number after {ENTRY_TRIES} tries (journeys of the lead starting meanwhile)")

    @staticmethod
    async def _why_not_begun(connection: AsyncConnection, input: BeginJourney) -> JourneyRef | None:
        """begin_journey inserted nothing: the row an earlier attempt of this execution created; or the lead is gone
        (LeadGone), or the automation (a configuration error); or, live, the trigger event entered the lead before
        (a duplicate delivered after that journey ended, which "once at a time" would start again); else None (the
        entry number was taken)."""
        found = (await connection.execute(WHY_NOT_BEGUN, _begin_params(input))).one()
        if found.own_id is not None:
            return JourneyRef(journey_id=found.own_id, entry=found.own_entry)
        if not found.lead:
            raise _lead_gone(input.lead_id)
        if not found.automation:
            raise _permanent(f"automation {input.automation_id} does not exist", CONFIGURATION_ERROR)
        if input.mode == "live" and found.earlier_id is not None:
            log.info("duplicate trigger event", journey_id=found.earlier_id, event_id=input.trigger_event_id)
            return JourneyRef(journey_id=found.earlier_id, entry=found.earlier_entry, duplicate=True)
        return None

    @activity.defn
    async def record_steps(self, input: RecordSteps) -> None:
        """Write the steps (a step already written is left alone) and the journey's status, current node and
        waiting_until; a final status stamps finished_at."""
        _bind(journey_id=input.journey_id)
        steps = [
            {
                "seq": input.first_seq + offset,
                "node_id": step.node_id,
                "node_type": step.node_type,
                "outcome": step.outcome,
                "next_node": step.next_node,
                "at": step.at.isoformat(),
                "wake_at": step.wake_at.isoformat() if step.wake_at is not None else None,
                "reason": step.reason,
                "end_status": step.end,
                "detail": step.detail,
            }
            for offset, step in enumerate(input.steps)
        ]
        async with self.sessions() as session:
            connection = await autocommit(session)  # one statement
            found = await connection.execute(
                RECORD_STEPS,
                {
                    "id": input.journey_id,
                    "automation_id": input.automation_id,
                    "status": input.status,
                    "node": input.current_node,
                    "until": input.waiting_until,
                    "final": input.status in FINAL_STATUSES,
                    "reason": input.end_reason,
                    "steps": json.dumps(steps, default=str),
                },
            )
            if found.scalar_one() == 0:
                raise _journey_gone(input.journey_id)

    # --- What the decisions need ----------------------------------------------------------------------------------

    @activity.defn
    async def lead_timing(self, input: LeadTimingInput) -> LeadTiming:
        """The lead's timezone, the workspace's (the fallback), and a custom field's value (a date wait)."""
        _bind(lead_id=input.lead_id)
        async with self.sessions() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT l.timezone, w.timezone AS workspace_timezone, "
                        "l.custom_fields ->> CAST(:field AS text) AS value FROM leads l "
                        "JOIN workspaces w ON w.id = l.workspace_id WHERE l.id = :l AND l.workspace_id = :w"
                    ),
                    {"l": input.lead_id, "w": input.workspace_id, "field": input.field},
                )
            ).one_or_none()
        if row is None:
            raise _lead_gone(input.lead_id)
        return LeadTiming(
            timezone=row.timezone or "", workspace_timezone=row.workspace_timezone or "UTC", value=row.value
        )

    @activity.defn
    async def evaluate_condition(self, input: ConditionInput) -> ConditionResult:
        """A filter condition: whether the lead matches the filter tree now (domain/filters.py's SQL). An
        engagement condition: whether the lead opened / clicked the message this journey sent at that node (its
        deliveries' stamps, written by tracking)."""
        _bind(lead_id=input.lead_id, journey_id=input.journey_id)
        async with self.sessions() as session:
            if input.kind == "filter":
                if not await self._lead_exists(session, input.workspace_id, input.lead_id):
                    raise _lead_gone(input.lead_id)
                matched = await self._matches(session, input.workspace_id, input.lead_id, input.filter or {})
                return ConditionResult(matched=matched)
            row = (
                await session.execute(
                    text(
                        "SELECT coalesce(bool_or(opened_at IS NOT NULL), false) AS opened, "
                        "coalesce(bool_or(clicked_at IS NOT NULL), false) AS clicked "
                        "FROM deliveries WHERE journey_id = :j AND node_id = :n"
                    ),
                    {"j": input.journey_id, "n": input.node},
                )
            ).one()
        return ConditionResult(matched=row.opened or row.clicked, opened=row.opened, clicked=row.clicked)

    # --- Actions --------------------------------------------------------------------------------------------------

    @activity.defn
    async def send_message(self, input: ActionInput) -> ActionOutcome:
        """Send the node's template on its channel (see the module docstring for the exactly-once rules). Skipped
        when impossible for the lead (no address or an invalid one, no consent, suppressed, unsubscribed, the
        template deleted): the skip is a delivery too. A permanent refusal fails the delivery (and suppresses a bad
        address, as campaigns do) and the activity, non-retryable."""
        node = _node(input, SendMessageNode)
        config = node.config
        self._bind(input)
        lead, goal = await self._start(input)
        if goal is not None:
            return goal
        message = await self._message(input.workspace_id, config.channel, config.template_id, config.template_version)
        reason = "no_template" if message is None else channel_skip_reason(lead, config.channel)
        if input.mode == "simulation":
            if reason is not None:
                return ActionOutcome(result="skipped", reason=reason, detail={"would": f"skip ({reason})"})
            address = mask_address(address_of(lead, config.channel))
            would = f"send template {config.template_id} by {config.channel} to {address}"
            # A message id of its own, so that the opens and clicks a simulation assumes are this message's.
            return ActionOutcome(result="succeeded", message_id=f"simulated-{input.seq}", detail={"would": would})
        run_id, automation_name = await self._entry_run(input)
        delivery = await self._claim(input, run_id, config.channel, reason)
        attempt = activity.info().attempt
        message_id = str(delivery.id)
        if delivery.status == "sent":
            return ActionOutcome(
                result="succeeded", message_id=message_id, detail={"delivery_id": delivery.id}, attempt=attempt
            )
        if delivery.status == "skipped":
            return ActionOutcome(
                result="skipped", reason=delivery.skip_reason or "", detail={"delivery_id": delivery.id}
            )
        if delivery.status == "failed":
            raise _permanent(f"{config.channel}: {delivery.error or 'failed'}")
        assert message is not None
        info = (await self._workspace(input.workspace_id)).info

        async def send_and_mark() -> None:
            receipt = await send_delivery(
                self.channels,
                self.settings,
                self.mail_from,
                channel=config.channel,
                message=message,
                delivery_id=delivery.id,
                lead=lead,
                run_id=run_id,
                step=input.seq,
                fallback=False,
                workspace_id=input.workspace_id,
                info=info,
                campaign={"name": automation_name},
                tracking=self._tracking,
                rewrite_url=self._rewrite_url,
            )
            await self._mark(delivery.id, "sent", provider_message_id=receipt.provider_message_id)

        try:
            await finish_even_if_cancelled(send_and_mark())
        except PermanentSendError as exc:
            log.warning("journey send failed", channel=config.channel, error=exc.reason)
            await self._mark(delivery.id, "failed", error=exc.reason)
            await suppress_address(self.sessions, input.workspace_id, lead, config.channel, exc.suppress)
            raise _permanent(f"{config.channel}: {exc.reason}") from exc
        except TransientSendError as exc:
            log.warning("journey send deferred", channel=config.channel, error=exc.reason, attempt=attempt)
            if attempt >= input.max_attempts:  # the node's last attempt: the delivery failed for good
                await self._mark(delivery.id, "failed", error=exc.reason)
            raise ApplicationError(
                f"{config.channel}: {exc.reason}",
                type="TransientSendError",
                next_retry_delay=timedelta(seconds=exc.retry_after) if exc.retry_after else None,
            ) from exc
        log.info("journey message sent", channel=config.channel, delivery_id=delivery.id)
        return ActionOutcome(
            result="succeeded", message_id=message_id, detail={"delivery_id": delivery.id}, attempt=attempt
        )

    @activity.defn
    async def change_lead(self, input: ActionInput) -> ActionOutcome:
        """update_field (status, score, custom.<key>: set or increment), add_tag / remove_tag, add_to_list /
        remove_from_list (explicit membership of a static or hybrid list), assign_owner (a user, or the next of a
        round robin: a turn of the automation's shared counter). Done in the transaction that records the action,
        with the lead's timeline event, so a retried attempt changes nothing twice."""
        node = input.node
        self._bind(input)
        if input.mode == "simulation":
            _lead, goal = await self._start(input)
            return goal or ActionOutcome(result="succeeded", detail={"would": _describe_change(node)})
        changes: list[tuple[int, str, dict[str, Any]]] = []
        async with self.sessions() as session:  # one session (and transaction) for the checks and the change
            # The lead is locked first: an attempt running late beside its retry waits here, then finds the claim.
            current, goal = await self._start(input, session, lock=True)
            if goal is not None:
                return goal
            done = await self._claim_action(session, input, "done")
            if done is not None:
                await session.close()
                # An earlier attempt made the change but may have died before dispatching it: again (same ids).
                await self._dispatch_changes(input, done.detail.get(LEAD_EVENTS_DETAIL) or [])
                return done
            outcome = await self._change(session, input, current, changes)
            await session.execute(
                text(
                    "UPDATE journey_actions SET result = CAST(:r AS jsonb), updated_at = now() "
                    "WHERE journey_id = :j AND seq = :s"
                ),
                {"r": outcome.model_dump_json(), "j": input.journey_id, "s": input.seq},
            )
            if changes and not await self._dispatch_needed(session, input, changes):
                # The usual case (no automation starts on this change, no other journey of the lead waits for
                # it): its outbox rows go in this transaction, and nothing is left to do after the commit.
                await drop_from_outbox(session, [row_id for row_id, _type, _data in changes])
                changes = []
            await session.commit()
        await self._dispatch_changes(input, changes)
        return outcome.model_copy(update={"attempt": activity.info().attempt})

    @staticmethod
    async def _dispatch_needed(
        session: AsyncSession, input: ActionInput, changes: list[tuple[int, str, dict[str, Any]]]
    ) -> bool:
        events = [
            event
            for row_id, type_, data in changes
            for event in lead_event_journey_events(row_id, input.lead_id, type_, data)
        ]
        return await dispatch_needed(session, input.workspace_id, events, exclude={input.workflow_id})

    async def _dispatch_changes(
        self, input: ActionInput, changes: list[tuple[int, str, dict[str, Any]]] | list[int]
    ) -> None:
        """The committed change's timeline events to the dispatcher, so that it can start or signal journeys of
        other automations (and of this lead's other journeys). Not the journey that made the change: it has the
        events in its action's outcome (OWN_EVENTS_DETAIL), and a signal to it would cost it another workflow
        task (or fail the task that runs the change as a local activity). `changes`: (row id, type, data), or the
        row ids recorded by an earlier attempt. A lead changed by automations more than MAX_AUTOMATED_CHANGES times
        in a minute is taken for a loop between automations: its changes are still made, but start nothing. Errors
        are logged: the change is done, and its journey goes on. Rows dispatched, or held back by the loop guard,
        leave the outbox (migration 0015); the others are TriggerSweepWorkflow's."""
        if not changes or input.mode == "simulation":
            return
        if self.client is None:
            log.warning("no Temporal client: journey-made lead changes start no journeys")
            return
        try:
            # One session for the loop guard, the dispatch (its reads) and the outbox rows.
            async with self.sessions() as session:
                if isinstance(changes[0], int):
                    rows = await session.execute(
                        text("SELECT id, type, data FROM lead_events WHERE id = ANY(:ids) AND lead_id = :l"),
                        {"ids": list(changes), "l": input.lead_id},
                    )
                    changes = [(row.id, row.type, row.data) for row in rows]
                recent = (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM (SELECT 1 FROM lead_events WHERE lead_id = :l "
                            "AND actor LIKE 'automation:%' AND created_at > now() - interval '1 minute' "
                            "ORDER BY id DESC LIMIT :cap) recent"
                        ),
                        {"l": input.lead_id, "cap": MAX_AUTOMATED_CHANGES + 1},
                    )
                ).scalar_one()
                row_ids = [row_id for row_id, _type, _data in changes]  # type: ignore[misc]
                if recent > MAX_AUTOMATED_CHANGES:
                    log.error("automation loop suspected: the lead's changes start no journeys", last_minute=recent)
                    done = row_ids  # deliberately not dispatched: not for the sweep
                else:
                    events = [
                        event
                        for row_id, type_, data in changes  # type: ignore[misc]
                        for event in lead_event_journey_events(row_id, input.lead_id, type_, data)
                    ]
                    outcomes = await dispatch_events(
                        self.client, session, input.workspace_id, events, self.task_queue, exclude={input.workflow_id}
                    )
                    done = dispatched_rows(outcomes, row_ids)  # failed ones: the sweep's
                if done:
                    await drop_from_outbox(session, done)
                    await session.commit()
        except Exception as error:
            log.error("journey-made lead change not dispatched", error=f"{type(error).__name__}: {error}")

    @activity.defn
    async def notify_user(self, input: ActionInput) -> ActionOutcome:
        """Email a workspace user (the lead's owner, or a given member) the node's subject and body, rendered with
        the lead in the sandbox. No owner, or a user who is no longer a member: skipped."""
        node = _node(input, NotifyUserNode)
        config = node.config
        self._bind(input)
        lead, goal = await self._start(input)
        if goal is not None:
            return goal
        user_id = lead.get("owner_id") if config.recipient == "owner" else config.user_id
        if user_id is None:
            return ActionOutcome(result="skipped", reason="no_owner")
        async with self.sessions() as session:
            user = (
                await session.execute(
                    text(
                        "SELECT u.email, u.name FROM users u JOIN memberships m ON m.user_id = u.id "
                        "WHERE u.id = :u AND m.workspace_id = :w AND u.is_active"
                    ),
                    {"u": user_id, "w": input.workspace_id},
                )
            ).one_or_none()
        if user is None:
            return ActionOutcome(result="skipped", reason="no_user", detail={"user_id": user_id})
        context = await self._context(input, lead)
        try:
            subject = " ".join(render_string(config.subject, context).split())[:200]
            body = render_string(config.body, context)
        except TemplateError as exc:
            raise _permanent(f"the notification does not render for this lead: {exc}") from exc
        if input.mode == "simulation":
            return ActionOutcome(
                result="succeeded",
                detail={"would": f"email user {user_id} ({mask_address(user.email)}): {subject}"},
            )
        async with self.sessions() as session:
            done = await self._claim_action(session, input, "sending")
            await session.commit()
        if done is not None:
            return done
        message_id = f"<herald-j{input.journey_id}-s{input.seq}@{mail_domain(self.mail_from)}>"
        try:
            email = user_email(
                mail_from=self.mail_from,
                to=user.email,
                subject=subject,
                body=body,
                message_id=message_id,
                workspace_id=input.workspace_id,
            )
        except ValueError as exc:
            raise _permanent(str(exc)) from exc
        try:
            await finish_even_if_cancelled(self._send_and_record(input, email, user_id))
        except Exception as exc:
            error = classify_smtp_error(exc)
            if isinstance(error, PermanentSendError):
                raise _permanent(f"email to user {user_id}: {error.reason}") from exc
            raise ApplicationError(f"email to user {user_id}: {error.reason}", type="TransientSendError") from exc
        return ActionOutcome(result="succeeded", detail={"user_id": user_id}, attempt=activity.info().attempt)

    async def _send_and_record(self, input: ActionInput, email: OutgoingEmail, user_id: int) -> None:
        await self.smtp.send(email)
        await self._record_action(input, ActionOutcome(result="succeeded", detail={"user_id": user_id}))

    @activity.defn
    async def call_webhook(self, input: ActionInput) -> ActionOutcome:
        """An HTTP call with the node's method, headers and body (URL path, query and body rendered with the lead
        in the sandbox; the host is the node's, never a template's). 2xx succeeds; 408, 429, 5xx, timeouts and
        connection errors are retried; any other answer fails for good. Each call carries `Idempotency-Key`
        (journey workflow id and step), the same on a retry, and with `auth_secret` the workspace secret's value as
        its `Authorization` header, read (and decrypted) at each call: a secret that is missing or cannot be
        decrypted fails the node for good (ConfigurationError naming it), so its fallback is taken."""
        node = _node(input, CallWebhookNode)
        config = node.config
        self._bind(input)
        lead, goal = await self._start(input)
        if goal is not None:
            return goal
        context = await self._context(input, lead)
        try:
            url = render_string(config.url, context).strip()
            body = render_string(config.body, context) if config.body is not None else None
        except TemplateError as exc:
            raise _permanent(f"the webhook does not render for this lead: {exc}") from exc
        expected, actual = urlsplit(config.url), urlsplit(url)
        if (actual.scheme, actual.netloc) != (expected.scheme, expected.netloc):
            raise _permanent("the rendered URL changed the host")
        if input.mode == "simulation":
            if config.auth_secret is not None:
                await self._secret(input, config.auth_secret, touch=False)  # a missing one fails the dry run too
            return ActionOutcome(
                result="succeeded", detail={"would": f"{config.method} {expected.netloc}{actual.path}"}
            )
        async with self.sessions() as session:
            done = await self._claim_action(session, input, "sending")
            await session.commit()
        if done is not None:
            return done
        headers = {
            **config.headers,
            "Idempotency-Key": f"{input.workflow_id}:{input.seq}",
            "User-Agent": "Herald-Automations/1",
        }
        if config.auth_secret is not None:
            headers["Authorization"] = await self._secret(input, config.auth_secret, touch=True)
        if body is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json" if body.lstrip().startswith(("{", "[")) else "text/plain"
        try:
            response = await self._client_http().request(
                config.method,
                url,
                content=body.encode() if body is not None else None,
                headers=headers,
                timeout=config.timeout_seconds,
            )
        except BlockedAddress as exc:
            raise _permanent(f"{config.method} {expected.netloc}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ApplicationError(f"{config.method} {expected.netloc}: {type(exc).__name__}: {exc}"[:500]) from exc
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise ApplicationError(f"{config.method} {expected.netloc}: HTTP {status}", type="WebhookDeferred")
        if not 200 <= status < 300:
            raise _permanent(f"{config.method} {expected.netloc}: HTTP {status}")
        outcome = ActionOutcome(result="succeeded", detail={"status": status})
        await self._record_action(input, outcome)
        return outcome.model_copy(update={"attempt": activity.info().attempt})

    @activity.defn
    async def start_automation(self, input: ActionInput) -> ActionOutcome:
        """Enter the lead in another automation (its published version, at its first trigger, under its own
        re-entry policy) through the dispatcher's signal-with-start. The event id is this journey's step, so a
        retried attempt enters nothing twice. An automation that is not active (or gone): skipped."""
        node = _node(input, StartAutomationNode)
        target_id = node.config.automation_id
        self._bind(input)
        _lead, goal = await self._start(input)
        if goal is not None:
            return goal
        async with self.sessions() as session:
            target = await load_published(session, input.workspace_id, target_id)
            history = (await load_histories(session, input.lead_id, [target_id])).get(target_id, EntryHistory())
        if target is None:
            return ActionOutcome(result="skipped", reason="not_active", detail={"automation_id": target_id})
        triggers = trigger_nodes(target.graph)
        if not triggers:
            return ActionOutcome(result="skipped", reason="no_trigger", detail={"automation_id": target_id})
        if input.mode == "simulation":
            return ActionOutcome(result="succeeded", detail={"would": f"start automation {target_id}"})
        if self.client is None:
            raise _permanent("this worker has no Temporal client to start journeys with", CONFIGURATION_ERROR)
        event = JourneyEvent(
            kind="external_event",
            event_id=f"{input.workflow_id}:{input.seq}",
            lead_id=input.lead_id,
            occurred_at=datetime.now(UTC),
            name=f"automation:{input.automation_id}",
            data={"automation_id": input.automation_id, "journey_id": input.journey_id},
        )
        result: Dispatched = await enter(
            self.client,
            workspace_id=input.workspace_id,
            automation=target,
            trigger_node=triggers[0].id,
            event=event,
            history=history,
            task_queue=self.task_queue,
        )
        detail = {"automation_id": target_id, "action": result.action, "workflow_id": result.workflow_id}
        if result.action == "refused":
            return ActionOutcome(result="skipped", reason=result.reason, detail=detail)
        return ActionOutcome(result="succeeded", reason=result.reason, detail=detail, attempt=activity.info().attempt)

    # --- Helpers --------------------------------------------------------------------------------------------------

    def _bind(self, input: ActionInput) -> None:
        _bind(
            lead_id=input.lead_id,
            automation_id=input.automation_id,
            journey_id=input.journey_id,
            node=input.node.id,
            seq=input.seq,
            mode=input.mode,
        )

    async def _start(
        self, input: ActionInput, within: AsyncSession | None = None, *, lock: bool = False
    ) -> tuple[dict[str, Any], ActionOutcome | None]:
        """The lead (LeadGone when deleted), and the outcome when a filter goal is met (nothing is done then);
        in the session given, else in one of its own. `lock`: the lead's row locked (FOR UPDATE) until the
        session's transaction ends."""
        async with nullcontext(within) if within is not None else self.sessions() as session:
            row = (
                await session.execute(
                    text(
                        f"SELECT {', '.join(ACTION_LEAD_COLUMNS)} FROM leads WHERE id = :l AND workspace_id = :w"
                        + (" FOR UPDATE" if lock else "")
                    ),
                    {"l": input.lead_id, "w": input.workspace_id},
                )
            ).one_or_none()
            if row is None:
                raise _lead_gone(input.lead_id)
            for goal in input.goal_filters:
                if await self._matches(session, input.workspace_id, input.lead_id, goal.filter):
                    log.info("journey goal met", goal=goal.index)
                    return dict(row._mapping), ActionOutcome(result="goal_met", goal=goal.index, reason="goal")
        return dict(row._mapping), None

    async def _matches(self, session: AsyncSession, workspace_id: int, lead_id: int, tree: dict[str, Any]) -> bool:
        workspace = await self._workspace(workspace_id, session)
        try:
            condition = compile_filter(parse_filter(tree), workspace.filter_context(workspace_id))
        except FilterError as exc:
            raise _permanent(f"the filter is invalid: {exc}", CONFIGURATION_ERROR) from exc
        query = (
            select(literal(1))
            .select_from(LEADS)
            .where(LEADS.c.id == lead_id, LEADS.c.workspace_id == workspace_id, condition)
            .limit(1)
        )
        return (await session.execute(query)).scalar() is not None

    @staticmethod
    async def _lead_exists(session: AsyncSession, workspace_id: int, lead_id: int) -> bool:
        found = await session.execute(
            text("SELECT 1 FROM leads WHERE id = :l AND workspace_id = :w"), {"l": lead_id, "w": workspace_id}
        )
        return found.scalar() is not None

    async def _workspace(self, workspace_id: int, session: AsyncSession | None = None) -> _Workspace:
        cached = self._workspaces.get(workspace_id)
        if cached is not None and time.monotonic() - cached.loaded_at < CONTEXT_TTL:
            return cached
        if session is None:
            async with self.sessions() as own:
                return await self._workspace(workspace_id, own)
        row = (
            await session.execute(
                text("SELECT lead_statuses, timezone FROM workspaces WHERE id = :w"), {"w": workspace_id}
            )
        ).one()
        fields = await session.execute(
            text("SELECT key, type, choices FROM custom_field_definitions WHERE workspace_id = :w"), {"w": workspace_id}
        )
        loaded = _Workspace(
            statuses=tuple(row.lead_statuses or ()),
            timezone=row.timezone or "UTC",
            definitions={f.key: FieldDefinition(f.key, f.type, tuple(f.choices or ())) for f in fields},
            info=await workspace_render_info(session, workspace_id),
        )
        if len(self._workspaces) > 256:
            self._workspaces.clear()
        self._workspaces[workspace_id] = loaded
        return loaded

    async def _context(self, input: ActionInput, lead: dict[str, Any]) -> dict[str, Any]:
        info = (await self._workspace(input.workspace_id)).info
        return message_context(
            lead, custom_keys=info.custom_keys, workspace=info.workspace, campaign=None, unsubscribe_url=""
        )

    async def _message(self, workspace_id: int, channel: str, template_id: int, version: int | None) -> Message | None:
        """A pinned version is cached (versions never change); the current version is read each time."""
        key = (workspace_id, template_id, version or 0)
        if version is not None and key in self._messages:
            return self._messages[key]
        message = await load_message(self.sessions, self.settings, workspace_id, channel, template_id, version)
        if version is not None:
            if len(self._messages) > 512:
                self._messages.clear()
            self._messages[key] = message
        return message

    async def _entry_run(self, input: ActionInput) -> tuple[int, str]:
        """The automation's pseudo run for the lead's entry (campaign_runs, created by its first send), and the
        automation's name (what `campaign.name` shows in a journey's template)."""
        key = (input.automation_id, input.entry)
        if key in self._runs:
            return self._runs[key]
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    INSERT INTO campaign_runs (workspace_id, campaign_id, automation_id, number, workflow_id, status,
                        total, sent, failed, skipped, started_at)
                    SELECT :w, NULL, :a, :n, :workflow_id, 'automation', 0, 0, 0, 0, now()
                    WHERE EXISTS (SELECT 1 FROM automations WHERE id = :a)
                    ON CONFLICT ON CONSTRAINT uq_campaign_runs_automation_entry DO NOTHING
                    """
                ),
                {
                    "w": input.workspace_id,
                    "a": input.automation_id,
                    "n": input.entry,
                    "workflow_id": f"automation-{input.automation_id}-entry-{input.entry}",
                },
            )
            row = (
                await session.execute(
                    text(
                        "SELECT r.id, a.name FROM campaign_runs r JOIN automations a ON a.id = r.automation_id "
                        "WHERE r.automation_id = :a AND r.number = :n"
                    ),
                    {"a": input.automation_id, "n": input.entry},
                )
            ).one_or_none()
            await session.commit()
        if row is None:  # the automation was deleted (its journeys rows with it)
            raise _journey_gone(input.journey_id)
        if len(self._runs) > 4096:
            self._runs.clear()
        self._runs[key] = (row.id, row.name)
        return self._runs[key]

    async def _claim(self, input: ActionInput, run_id: int, channel: str, reason: str | None) -> Any:
        """The delivery of this journey step: claimed now ('sending', or 'skipped' with its reason), or the one an
        earlier attempt claimed."""
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    INSERT INTO deliveries (workspace_id, run_id, step, lead_id, fallback, channel, status,
                        skip_reason, marketing, attempts, created_at, updated_at, journey_id, node_id)
                    SELECT :w, :run, :step, :lead, false, :channel, :status, :reason, true, 1, now(), now(), :j, :node
                    WHERE EXISTS (SELECT 1 FROM journeys WHERE id = :j)
                    ON CONFLICT ON CONSTRAINT uq_deliveries_idempotency DO NOTHING
                    """
                ),
                {
                    "w": input.workspace_id,
                    "run": run_id,
                    "step": input.seq,
                    "lead": input.lead_id,
                    "channel": channel,
                    "status": "skipped" if reason else "sending",
                    "reason": reason,
                    "j": input.journey_id,
                    "node": input.node.id,
                },
            )
            row = (
                await session.execute(
                    text(
                        "SELECT id, status, skip_reason, error FROM deliveries "
                        "WHERE run_id = :run AND step = :step AND lead_id = :lead AND NOT fallback"
                    ),
                    {"run": run_id, "step": input.seq, "lead": input.lead_id},
                )
            ).one_or_none()
            await session.commit()
        if row is None:
            raise _journey_gone(input.journey_id)
        return row

    async def _mark(
        self, delivery_id: int, status: str, *, provider_message_id: str | None = None, error: str | None = None
    ) -> None:
        async with self.sessions() as session:
            await session.execute(
                text(
                    """
                    UPDATE deliveries SET status = :status, provider_message_id = :pid, error = :error,
                        updated_at = now(), attempts = :attempt,
                        sent_at = CASE WHEN :sent THEN now() ELSE sent_at END
                    WHERE id = :id
                    """
                ),
                {
                    "id": delivery_id,
                    "status": status,
                    "pid": provider_message_id,
                    "error": error,
                    "sent": status == "sent",
                    "attempt": activity.info().attempt,
                },
            )
            await session.commit()

    @staticmethod
    async def _claim_action(session: AsyncSession, input: ActionInput, status: str) -> ActionOutcome | None:
        """Claim this journey step's side effect; the recorded outcome when an earlier attempt completed it (None:
        go ahead, also when an earlier attempt left it 'sending')."""
        inserted = await session.execute(
            text(
                "INSERT INTO journey_actions (journey_id, seq, node_id, status, result, created_at, updated_at) "
                "SELECT :j, :s, :n, :status, '{}', now(), now() WHERE EXISTS (SELECT 1 FROM journeys WHERE id = :j) "
                "ON CONFLICT (journey_id, seq) DO NOTHING RETURNING seq"
            ),
            {"j": input.journey_id, "s": input.seq, "n": input.node.id, "status": status},
        )
        if inserted.scalar() is not None:
            return None
        row = (
            await session.execute(
                text("SELECT status, result FROM journey_actions WHERE journey_id = :j AND seq = :s"),
                {"j": input.journey_id, "s": input.seq},
            )
        ).one_or_none()
        if row is None:
            raise _journey_gone(input.journey_id)
        if row.status != "done":
            return None
        result = row.result if isinstance(row.result, dict) else json.loads(row.result)
        log.info("journey action already done")
        return ActionOutcome.model_validate(result).model_copy(update={"attempt": activity.info().attempt})

    async def _record_action(self, input: ActionInput, outcome: ActionOutcome) -> None:
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE journey_actions SET status = 'done', result = CAST(:r AS jsonb), updated_at = now() "
                    "WHERE journey_id = :j AND seq = :s"
                ),
                {"r": outcome.model_dump_json(), "j": input.journey_id, "s": input.seq},
            )
            await session.commit()

    async def _secret(self, input: ActionInput, name: str, *, touch: bool) -> str:
        """The value of the workspace secret a webhook names (`touch`: its `last_used_at` stamped). A missing or
        undecryptable one is a non-retryable ConfigurationError naming it; the value is never logged."""
        box = SecretBox.from_settings(self.settings)
        async with self.sessions() as session:
            try:
                value = await read_secret(session, box, input.workspace_id, name, touch=touch)
            except SecretUnavailable as exc:
                raise _permanent(str(exc), CONFIGURATION_ERROR) from None
            await session.commit()
        return value

    def _client_http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = guarded_http_client(allow_private=self.settings.automation_webhooks_allow_private)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    # --- Lead changes ---------------------------------------------------------------------------------------------

    async def _change(
        self,
        session: AsyncSession,
        input: ActionInput,
        lead: dict[str, Any],
        written: list[tuple[int, str, dict[str, Any]]],
    ) -> ActionOutcome:
        node = input.node
        config: Any = node.config
        events: list[tuple[str, dict[str, Any]]] = []
        changes: dict[str, Any] = {}
        outcome = ActionOutcome(result="succeeded")
        if isinstance(node, UpdateFieldNode):
            outcome = await self._update_field(session, input, node, lead, changes, events)
        elif isinstance(node, AddTagNode | RemoveTagNode):
            tags = list(lead["tags"] or [])
            if isinstance(node, AddTagNode) and config.tag not in tags:
                changes["tags"] = [*tags, config.tag]
                events.append(("tagged", {"tags": [config.tag]}))
            elif isinstance(node, RemoveTagNode) and config.tag in tags:
                changes["tags"] = [tag for tag in tags if tag != config.tag]
                events.append(("untagged", {"tags": [config.tag]}))
            outcome = ActionOutcome(result="succeeded", detail={"changed": bool(changes)})
        elif isinstance(node, AddToListNode | RemoveFromListNode):
            outcome = await self._membership(session, input, node, events)
        elif isinstance(node, AssignOwnerNode):
            outcome = await self._assign(session, input, node, lead, changes, events)
        else:
            raise _permanent(f"{node.type} is not a lead change", CONFIGURATION_ERROR)
        if changes:
            assignments = ", ".join(
                f"{name} = CAST(:{name} AS jsonb)" if name == "custom_fields" else f"{name} = :{name}"
                for name in changes
            )
            values = {name: json.dumps(value) if name == "custom_fields" else value for name, value in changes.items()}
            await session.execute(
                text(f"UPDATE leads SET {assignments}, updated_at = now() WHERE id = :id"),
                {"id": input.lead_id, **values},
            )
        for type_, data in events:
            row_id = (
                await session.execute(
                    text(
                        "INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at) "
                        "VALUES (:w, :l, :type, CAST(:data AS jsonb), :actor, now()) RETURNING id"
                    ),
                    {
                        "w": input.workspace_id,
                        "l": input.lead_id,
                        "type": type_,
                        "data": json.dumps(data, default=str),
                        "actor": ACTOR.format(automation_id=input.automation_id),
                    },
                )
            ).scalar_one()
            if may_trigger(type_, data):
                written.append((row_id, type_, json.loads(json.dumps(data, default=str))))
        if written:  # a retried attempt finds them in the recorded outcome, to dispatch them again
            outcome.detail[LEAD_EVENTS_DETAIL] = [row_id for row_id, _type, _data in written]
            own = [
                event.model_dump(mode="json", exclude_defaults=True)
                for row_id, type_, data in written
                for event in lead_event_journey_events(row_id, input.lead_id, type_, data)
                if event.kind in WAITABLE_KINDS
            ]
            if own:
                outcome.detail[OWN_EVENTS_DETAIL] = own
        return outcome

    async def _update_field(
        self,
        session: AsyncSession,
        input: ActionInput,
        node: UpdateFieldNode,
        lead: dict[str, Any],
        changes: dict[str, Any],
        events: list[tuple[str, dict[str, Any]]],
    ) -> ActionOutcome:
        config = node.config
        workspace = await self._workspace(input.workspace_id, session)
        if config.field == "status":
            statuses = [*workspace.statuses, "unsubscribed"]
            if config.operation != "set" or not isinstance(config.value, str) or config.value not in statuses:
                raise _permanent(f"'{config.value}' is not a lead status of this workspace")
            if lead["status"] != config.value:
                changes["status"] = config.value
                events.append(("status_changed", {"from": lead["status"], "to": config.value}))
        elif config.field == "score":
            if isinstance(config.value, bool) or not isinstance(config.value, int):
                raise _permanent("a score is a whole number")
            score = lead["score"] + config.value if config.operation == "increment" else config.value
            if not -(2**31) <= score < 2**31:
                raise _permanent("the score would be out of range")
            if score != lead["score"]:
                changes["score"] = score
                events.append(("field_changed", {"field": "score", "from": lead["score"], "to": score}))
        else:
            key = config.field.removeprefix("custom.")
            definition = workspace.definitions.get(key)
            if definition is None:
                raise _permanent(f"no custom field '{key}' in this workspace")
            current = dict(lead["custom_fields"] or {})
            value = config.value
            if config.operation == "increment":
                if definition.type != "number" or isinstance(value, bool) or not isinstance(value, int | float):
                    raise _permanent(f"'{key}' cannot be incremented by {value!r}")
                old = current.get(key)
                value = (old if isinstance(old, int | float) and not isinstance(old, bool) else 0) + value
            try:
                clean = validate_custom_values({key: value}, {key: definition})
            except CustomFieldError as exc:
                raise _permanent(str(exc)) from exc
            merged = merge_custom_values(current, clean)
            if merged != current:
                changes["custom_fields"] = merged
                events.append(("field_changed", {"field": "custom_fields", "from": current, "to": merged}))
        return ActionOutcome(result="succeeded", detail={"changed": bool(changes)})

    @staticmethod
    async def _membership(
        session: AsyncSession,
        input: ActionInput,
        node: AddToListNode | RemoveFromListNode,
        events: list[tuple[str, dict[str, Any]]],
    ) -> ActionOutcome:
        list_id = node.config.list_id
        kind = (
            await session.execute(
                text("SELECT kind FROM lists WHERE id = :id AND workspace_id = :w"),
                {"id": list_id, "w": input.workspace_id},
            )
        ).scalar()
        if kind is None:
            raise _permanent(f"list {list_id} does not exist")
        if kind == "dynamic":
            raise _permanent(f"list {list_id} is dynamic: it has no explicit members")
        if isinstance(node, AddToListNode):
            changed = await session.execute(
                text(
                    "INSERT INTO list_members (list_id, lead_id, mode, added_at) "
                    "VALUES (:list, :lead, 'include', now()) "
                    "ON CONFLICT (list_id, lead_id) DO UPDATE SET mode = 'include' "
                    "WHERE list_members.mode <> 'include' RETURNING lead_id"
                ),
                {"list": list_id, "lead": input.lead_id},
            )
            if changed.scalar() is not None:
                events.append(("added_to_list", {"list_id": list_id}))
        else:
            changed = await session.execute(
                text(
                    "DELETE FROM list_members WHERE list_id = :list AND lead_id = :lead AND mode = 'include' "
                    "RETURNING lead_id"
                ),
                {"list": list_id, "lead": input.lead_id},
            )
            if changed.scalar() is not None:
                events.append(("removed_from_list", {"list_id": list_id}))
        return ActionOutcome(result="succeeded", detail={"list_id": list_id, "changed": bool(events)})

    @staticmethod
    async def _assign(
        session: AsyncSession,
        input: ActionInput,
        node: AssignOwnerNode,
        lead: dict[str, Any],
        changes: dict[str, Any],
        events: list[tuple[str, dict[str, Any]]],
    ) -> ActionOutcome:
        config = node.config
        detail: dict[str, Any] = {}
        if config.mode == "user":
            assert config.user_id is not None
            user_id = config.user_id
        else:
            turn = (
                await session.execute(
                    text(
                        "UPDATE automations SET counters = jsonb_set(counters, ARRAY[CAST(:node AS text)], "
                        "to_jsonb(coalesce(CAST(counters ->> CAST(:node AS text) AS integer), 0) + 1)) "
                        "WHERE id = :a RETURNING CAST(counters ->> CAST(:node AS text) AS integer) - 1"
                    ),
                    {"a": input.automation_id, "node": node.id},
                )
            ).scalar()
            if turn is None:
                raise _permanent(f"automation {input.automation_id} does not exist", CONFIGURATION_ERROR)
            user_id = round_robin_pick(config.user_ids, turn)
            detail["turn"] = turn
        member = await session.execute(
            text("SELECT 1 FROM memberships WHERE user_id = :u AND workspace_id = :w"),
            {"u": user_id, "w": input.workspace_id},
        )
        if member.scalar() is None:
            raise _permanent(f"user {user_id} is not a member of this workspace")
        if lead["owner_id"] != user_id:
            changes["owner_id"] = user_id
            events.append(("field_changed", {"field": "owner_id", "from": lead["owner_id"], "to": user_id}))
        return ActionOutcome(result="succeeded", detail={**detail, "owner_id": user_id})


# --- Small helpers ----------------------------------------------------------------------------------------------------


def _node(input: ActionInput, kind: type) -> Any:
    if not isinstance(input.node, kind):
        raise _permanent(f"node '{input.node.id}' is a {input.node.type} node", CONFIGURATION_ERROR)
    return input.node


def _describe_change(node: Any) -> str:
    config = node.config
    if isinstance(node, UpdateFieldNode):
        verb = "add" if config.operation == "increment" else "set"
        return f"{verb} {config.value!r} {'to' if verb == 'add' else 'as'} {config.field}"
    if isinstance(node, AddTagNode | RemoveTagNode):
        return f"{node.type.replace('_', ' ')} '{config.tag}'"
    if isinstance(node, AddToListNode | RemoveFromListNode):
        return f"{node.type.replace('_', ' ')} {config.list_id}"
    if isinstance(node, AssignOwnerNode):
        return (
            f"assign to user {config.user_id}" if config.mode == "user" else f"assign by round robin {config.user_ids}"
        )
    return node.type


def _begin_params(input: BeginJourney) -> dict[str, Any]:
    return {
        "w": input.workspace_id,
        "a": input.automation_id,
        "v": input.version,
        "l": input.lead_id,
        "workflow_id": input.workflow_id,
        "run_id": input.first_run_id,
        "mode": input.mode,
        "trigger": input.trigger_node,
        "event": input.trigger_event_id,
    }


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
