"""The simulator's activity (#10): an automation's graph run for chosen leads, with the real JourneyWorkflow and
dry-run actions, on a private Temporal time-skipping test server, so weeks of delays pass in seconds.

`run_simulation` reads the `automation_simulations` row, resolves its leads (ids, or a filter and a limit), starts
`temporal-test-server` (core.temporal.test_server_binary) and an in-process Worker on it with the journey workflow
and the journey activities it was given (workers/ injects both: activities never import workflows/), enters each
lead through core.journeys.enter in mode "simulation" (event id `sim-<simulation>-<lead>`, a synthesized event of
the trigger), and lets simulated time run until every journey has ended. Nothing is sent or changed: the actions
are dry runs (JourneyActivities, mode "simulation"); the journeys' own rows (`journeys` mode `simulation`,
`journey_steps`) hold the simulated dates, and are what the results are read from. No event ever reaches a
journey, so every wait for an event times out (`ASSUMED`), unless the selection assumes that every lead opens or
clicks each message the moment it is sent (`engagement`: the journeys count those as the message's events).

Bounds: at most `SimulationLimits.at_once` simulations per worker process, a few journeys' activities at a time,
`horizon` of simulated time and `wall_time` of real time; journeys still running then are stopped and reported
`unfinished` (with the node they wait at). A retried attempt starts afresh: its earlier journeys rows are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.journey_activities import lead_matches, mask_address
from activities.render_context import LEAD_COLUMNS, workspace_render_info
from core.journey_intake import load_entry_histories
from core.journeys import PublishedAutomation, enter
from core.temporal import test_server_binary
from domain.automation_graph import node_by_id, parse_graph
from domain.automation_simulation import (
    NoTrigger,
    assumed_world,
    engagement_of,
    node_counts,
    simulated_event,
    simulated_trigger,
    totals,
)
from domain.campaign_tracks import address_of
from domain.filters import FilterError, compile_filter, parse_filter
from domain.journey_steps import EntryHistory, entry_decision
from domain.lists import filter_context_from
from domain.rendering import TemplateError, message_context, render_string
from models.automations import RUNNING_JOURNEY_STATUSES, SimulationStatus
from models.leads import Lead
from models.payloads.automation import AutomationGraph, Node, SendMessageNode
from models.payloads.simulation import (
    MAX_SIMULATED_LEADS,
    SIMULATION_REFUSED,
    SimulatedLead,
    SimulatedStep,
    SimulationFailure,
    SimulationInput,
    SimulationResults,
    SimulationSummary,
    WouldSend,
)

log = structlog.get_logger("herald.activities.simulations")
LEADS = Lead.__table__
SENDS = {"send_message": "message", "notify_user": "notification", "call_webhook": "webhook"}


@dataclass(frozen=True)
class SimulationLimits:
    at_once: int = 2  # simulations running at once in one worker process (each has its own test server)
    journeys_at_once: int = 10  # journey activities at once in a simulation's worker (the database's load)
    horizon: timedelta = timedelta(days=730)  # simulated time after which journeys still running are stopped
    wall_time: timedelta = timedelta(minutes=5)  # real time after which journeys still running are stopped
    poll: float = 0.5  # seconds between checks of the clocks (and heartbeats)


def _refused(message: str) -> ApplicationError:
    return ApplicationError(message[:1000], type=SIMULATION_REFUSED, non_retryable=True)


def activity_methods(instance: object) -> list[Callable[..., Any]]:
    """An activities object's `@activity.defn` methods, bound: what a Worker needs of it."""
    return [
        getattr(instance, name)
        for name, member in inspect.getmembers(type(instance))
        if hasattr(member, "__temporal_activity_definition")
    ]


@dataclass
class _Lead:
    id: int
    name: str
    status: str | None
    custom_fields: dict[str, Any]


class SimulationActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        journey_workflow: type,
        journey_activities: object,
        test_server: Callable[[], str] = test_server_binary,
        limits: SimulationLimits | None = None,
    ) -> None:
        """`journey_workflow` (JourneyWorkflow) and `journey_activities` (a JourneyActivities) are given by the
        worker's wiring: this module must not import workflows/."""
        self.sessions = sessions
        self.journey_workflow = journey_workflow
        self.journey_activities = activity_methods(journey_activities)
        self.test_server = test_server
        self.limits = limits or SimulationLimits()
        self._slots: asyncio.Semaphore | None = None

    # --- The activities -------------------------------------------------------------------------------------------

    @activity.defn
    async def run_simulation(self, input: SimulationInput) -> SimulationSummary:
        """Simulate the row's graph for its leads and store the results (status `done`). A row already done is
        left as it is (a retried attempt after the results were stored)."""
        structlog.contextvars.bind_contextvars(simulation_id=input.simulation_id)
        row = await self._row(input)
        if row["status"] == SimulationStatus.done.value:
            results = row["results"] or {}
            counts = results.get("totals", {})
            return SimulationSummary(
                simulation_id=input.simulation_id,
                status="done",
                leads=counts.get("leads", 0),
                entered=counts.get("entered", 0),
            )
        graph, problems = parse_graph(row["graph"])
        if graph is None:
            raise _refused(f"the graph does not parse: {problems[0].message if problems else 'invalid'}")
        try:
            trigger = simulated_trigger(graph, row["trigger_node"])
        except NoTrigger as exc:
            raise _refused(str(exc)) from exc
        await self._set_status(input, SimulationStatus.running)
        lead_ids = await self._lead_ids(input.workspace_id, row["selection"])
        async with self._slot():
            results = await self._simulate(input, row, graph, trigger, lead_ids)
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE automation_simulations SET status = 'done', results = CAST(:r AS jsonb), error = NULL, "
                    "finished_at = now() WHERE id = :id"
                ),
                {"id": input.simulation_id, "r": results.model_dump_json()},
            )
            await session.commit()
        log.info("simulation done", leads=results.totals.get("leads"), entered=results.totals.get("entered"))
        return SimulationSummary(
            simulation_id=input.simulation_id,
            status="done",
            leads=results.totals.get("leads", 0),
            entered=results.totals.get("entered", 0),
        )

    @activity.defn
    async def fail_simulation(self, input: SimulationFailure) -> None:
        """Record why the simulation could not run (a row already done keeps its results)."""
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE automation_simulations SET status = 'failed', error = :e, finished_at = now() "
                    "WHERE id = :id AND workspace_id = :w AND status <> 'done'"
                ),
                {"id": input.simulation_id, "w": input.workspace_id, "e": input.error[:2000]},
            )
            await session.commit()

    # --- Reading the row and the leads ------------------------------------------------------------------------------

    async def _row(self, input: SimulationInput) -> dict[str, Any]:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT s.automation_id, s.version, s.graph, s.selection, s.trigger_node, s.status, "
                        "s.results, a.name AS automation_name FROM automation_simulations s "
                        "JOIN automations a ON a.id = s.automation_id WHERE s.id = :id AND s.workspace_id = :w"
                    ),
                    {"id": input.simulation_id, "w": input.workspace_id},
                )
            ).one_or_none()
        if row is None:
            raise _refused(f"simulation {input.simulation_id} no longer exists (its automation was deleted?)")
        return dict(row._mapping)

    async def _set_status(self, input: SimulationInput, status: SimulationStatus) -> None:
        async with self.sessions() as session:
            await session.execute(
                text("UPDATE automation_simulations SET status = :s WHERE id = :id AND status <> 'done'"),
                {"id": input.simulation_id, "s": status.value},
            )
            await session.commit()

    async def _lead_ids(self, workspace_id: int, selection: dict[str, Any]) -> list[int]:
        """The leads chosen: the ids given (in their order; a deleted one is reported as such), or the first leads
        (by id) matching the filter, at most `limit`."""
        if "lead_ids" in selection:
            return [int(lead_id) for lead_id in selection["lead_ids"]][:MAX_SIMULATED_LEADS]
        limit = min(int(selection.get("limit") or MAX_SIMULATED_LEADS), MAX_SIMULATED_LEADS)
        async with self.sessions() as session:
            statuses = (
                await session.execute(text("SELECT lead_statuses FROM workspaces WHERE id = :w"), {"w": workspace_id})
            ).scalar() or []
            definitions = await session.execute(
                text("SELECT key, type, choices FROM custom_field_definitions WHERE workspace_id = :w"),
                {"w": workspace_id},
            )
            context = filter_context_from(workspace_id, datetime.now(UTC), list(statuses), list(definitions))
            try:
                condition = compile_filter(parse_filter(selection.get("filter") or {}), context)
            except FilterError as exc:
                raise _refused(f"the lead filter no longer applies: {exc}") from exc
            query = (
                select(LEADS.c.id)
                .where(LEADS.c.workspace_id == workspace_id, condition)
                .order_by(LEADS.c.id)
                .limit(limit)
            )
            return list((await session.execute(query)).scalars())

    async def _leads(self, workspace_id: int, lead_ids: Sequence[int]) -> dict[int, _Lead]:
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    "SELECT id, first_name, last_name, status, custom_fields FROM leads "
                    "WHERE workspace_id = :w AND id = ANY(:ids)"
                ),
                {"w": workspace_id, "ids": list(lead_ids)},
            )
            return {
                row.id: _Lead(
                    row.id,
                    " ".join(part for part in (row.first_name, row.last_name) if part),
                    row.status,
                    dict(row.custom_fields or {}),
                )
                for row in rows
            }

    @contextlib.asynccontextmanager
    async def _slot(self):
        """One of the worker's simulation slots, heartbeating while another simulation holds it."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.at_once)
        while self._slots.locked():
            activity.heartbeat("waiting for a simulation slot")
            await asyncio.sleep(self.limits.poll)
        await self._slots.acquire()  # at once: nothing ran since the check
        try:
            yield
        finally:
            self._slots.release()

    # --- The simulation -------------------------------------------------------------------------------------------

    async def _simulate(
        self,
        input: SimulationInput,
        row: dict[str, Any],
        graph: AutomationGraph,
        trigger: Node,
        lead_ids: list[int],
    ) -> SimulationResults:
        automation_id: int = row["automation_id"]
        version: int = row["version"]
        prefix = f"sim-{input.simulation_id}-"
        async with self.sessions() as session:  # an earlier attempt's journeys
            await session.execute(
                text(
                    "DELETE FROM journeys WHERE automation_id = :a AND mode = 'simulation' "
                    "AND starts_with(trigger_event_id, :p)"
                ),
                {"a": automation_id, "p": prefix},
            )
            await session.commit()
        leads = await self._leads(input.workspace_id, lead_ids)
        async with self.sessions() as session:
            found = await load_entry_histories(session, lead_ids, [automation_id])
        histories = {lead_id: by[automation_id] for lead_id, by in found.items()}
        enrollment = getattr(getattr(trigger, "config", None), "filter", None)
        outcome: dict[int, SimulatedLead] = {}
        to_enter: list[_Lead] = []
        for lead_id in lead_ids:
            lead = leads.get(lead_id)
            if lead is None:
                outcome[lead_id] = SimulatedLead(lead_id=lead_id, entered=False, end="not_entered", reason="no_lead")
                continue
            if enrollment is not None and not await self._matches(input.workspace_id, lead_id, enrollment):
                outcome[lead_id] = SimulatedLead(
                    lead_id=lead_id, name=lead.name, entered=False, end="not_entered", reason="enrollment_filter"
                )
                continue
            to_enter.append(lead)

        activity.heartbeat("starting the test server")
        try:
            binary = self.test_server()
        except RuntimeError as exc:  # not installed where this worker runs: retrying will not help
            raise _refused(str(exc)) from exc
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=binary
        )
        unfinished_note: str | None = None
        try:
            started_at = await env.get_current_time()
            worker = Worker(
                env.client,
                task_queue=f"simulation-{input.simulation_id}",
                workflows=[self.journey_workflow],
                activities=self.journey_activities,
                max_concurrent_activities=self.limits.journeys_at_once,
                max_concurrent_workflow_tasks=self.limits.journeys_at_once,
            )
            async with worker:
                automation = PublishedAutomation(automation_id, version, graph)
                workflow_ids = await self._enter(
                    env.client, input, automation, trigger, to_enter, prefix, row["selection"]
                )
                unfinished_note = await self._run_until_done(env, workflow_ids, started_at)
            ended_at = await env.get_current_time()
        finally:
            with contextlib.suppress(Exception):
                await env.shutdown()

        rows = await self._journeys(automation_id, [f"{prefix}{lead.id}" for lead in to_enter])
        for lead in to_enter:
            journey = rows.get(f"{prefix}{lead.id}")
            outcome[lead.id] = self._lead_result(lead, journey, graph)
        for lead_id, result in outcome.items():
            policy = entry_decision(graph.reentry, histories.get(lead_id, EntryHistory()))
            result.reentry = policy.reason
        if any(result.end == "unfinished" for result in outcome.values()):
            await self._close_unfinished(automation_id, prefix)
        ordered = [outcome[lead_id] for lead_id in lead_ids if lead_id in outcome]
        return SimulationResults(
            assumed=assumed_world(engagement_of(row["selection"])),
            trigger_node=trigger.id,
            version=version,
            started_at=started_at,
            ended_at=ended_at,
            leads=ordered,
            nodes=node_counts(ordered),
            would_send=await self._would_send(input.workspace_id, row["automation_name"], graph, ordered),
            totals=totals(ordered),
            unfinished=unfinished_note if any(r.end == "unfinished" for r in ordered) else None,
        )

    async def _matches(self, workspace_id: int, lead_id: int, tree: dict[str, Any]) -> bool:
        async with self.sessions() as session:
            return await lead_matches(session, workspace_id, lead_id, tree)

    async def _enter(
        self,
        client: Client,
        input: SimulationInput,
        automation: PublishedAutomation,
        trigger: Node,
        leads: Sequence[_Lead],
        prefix: str,
        selection: dict[str, Any],
    ) -> list[str]:
        """Each lead entered at the trigger, as the dispatcher would (a few at a time)."""
        gate = asyncio.Semaphore(self.limits.journeys_at_once)
        field = getattr(getattr(trigger, "config", None), "field", None)
        engagement = engagement_of(selection)

        async def one(lead: _Lead) -> str:
            event = simulated_event(
                trigger,
                lead_id=lead.id,
                event_id=f"{prefix}{lead.id}",
                lead_status=lead.status,
                field_value=lead.custom_fields.get(field) if isinstance(field, str) else None,
            )
            async with gate:
                entered = await enter(
                    client,
                    workspace_id=input.workspace_id,
                    automation=automation,
                    trigger_node=trigger.id,
                    event=event,
                    history=EntryHistory(),
                    task_queue=f"simulation-{input.simulation_id}",
                    mode="simulation",
                    simulated_engagement=engagement,
                )
            assert entered.workflow_id is not None
            return entered.workflow_id

        ids = await asyncio.gather(*(one(lead) for lead in leads))
        activity.heartbeat(f"{len(ids)} journeys entered")
        return list(ids)

    async def _run_until_done(
        self, env: WorkflowEnvironment, workflow_ids: Sequence[str], started_at: datetime
    ) -> str | None:
        """Let simulated time run until every journey has ended, or the horizon or the time limit is reached (then
        the journeys still running are terminated): None, or why some were stopped."""
        limits = self.limits
        waiting = {
            asyncio.ensure_future(env.client.get_workflow_handle(workflow_id).result()): workflow_id
            for workflow_id in workflow_ids
        }
        deadline = time.monotonic() + limits.wall_time.total_seconds()
        note: str | None = None
        # The simulated clock runs to the horizon and no further: the test server skips from timer to timer (each
        # fired in order, the work it wakes done before the next skip) until `horizon` after now, so where a journey
        # is stopped does not depend on how fast this machine runs it. Journeys that end before it end the wait.
        clock = asyncio.ensure_future(env.sleep(limits.horizon - (await env.get_current_time() - started_at)))
        try:
            while waiting:
                done, _ = await asyncio.wait(
                    [*waiting, clock], timeout=limits.poll, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    if task is clock:
                        continue
                    waiting.pop(task)
                    if task.exception() is not None:  # a workflow failure: its row says what happened
                        log.warning("simulated journey failed", error=str(task.exception()))
                activity.heartbeat(f"{len(workflow_ids) - len(waiting)} of {len(workflow_ids)} journeys ended")
                if not waiting:
                    break
                if clock.done():
                    clock.result()  # the test server failed: raise
                    note = f"stopped after {limits.horizon.days} simulated days"
                    break
                if time.monotonic() > deadline:
                    note = f"stopped after {int(limits.wall_time.total_seconds())} seconds of simulation"
                    break
        finally:
            clock.cancel()
            for task in waiting:
                task.cancel()
            for workflow_id in waiting.values():
                with contextlib.suppress(Exception):
                    await env.client.get_workflow_handle(workflow_id).terminate(note or "simulation stopped")
        return note

    async def _journeys(self, automation_id: int, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The simulated journeys (by trigger event id) with their steps, oldest first."""
        async with self.sessions() as session:
            journeys = await session.execute(
                text(
                    "SELECT id, trigger_event_id, status, end_reason, current_node, waiting_until FROM journeys "
                    "WHERE automation_id = :a AND mode = 'simulation' AND trigger_event_id = ANY(:e)"
                ),
                {"a": automation_id, "e": list(event_ids)},
            )
            found = {row.trigger_event_id: {**row._mapping, "steps": []} for row in journeys}
            by_id = {journey["id"]: journey for journey in found.values()}
            if by_id:
                steps = await session.execute(
                    text(
                        "SELECT journey_id, node_id, node_type, outcome, next_node, at, wake_at, reason, end_status, "
                        "detail FROM journey_steps WHERE journey_id = ANY(:j) ORDER BY journey_id, seq"
                    ),
                    {"j": list(by_id)},
                )
                for step in steps:
                    by_id[step.journey_id]["steps"].append(step)
        return found

    @staticmethod
    def _lead_result(lead: _Lead, journey: dict[str, Any] | None, graph: AutomationGraph) -> SimulatedLead:
        if journey is None:  # the lead was deleted before its journey began
            return SimulatedLead(lead_id=lead.id, name=lead.name, entered=False, end="not_entered", reason="no_lead")
        path = [SimulatedStep.of_row(step) for step in journey["steps"]]
        running = journey["status"] in RUNNING_JOURNEY_STATUSES
        return SimulatedLead(
            lead_id=lead.id,
            name=lead.name,
            entered=True,
            end="unfinished" if running else journey["status"],
            reason="" if running else (journey["end_reason"] or ""),
            journey_id=journey["id"],
            waiting_at=journey["current_node"] if running else None,
            waiting_until=journey["waiting_until"] if running else None,
            path=path,
        )

    async def _close_unfinished(self, automation_id: int, prefix: str) -> None:
        """Journeys stopped at the horizon: their rows end too (nothing runs them any more)."""
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE journeys SET status = 'exited', end_reason = 'simulation_stopped', finished_at = now(), "
                    "updated_at = now() WHERE automation_id = :a AND mode = 'simulation' "
                    "AND starts_with(trigger_event_id, :p) AND status = ANY(:running)"
                ),
                {"a": automation_id, "p": prefix, "running": list(RUNNING_JOURNEY_STATUSES)},
            )
            await session.commit()

    # --- What would have been sent ----------------------------------------------------------------------------------

    async def _would_send(
        self, workspace_id: int, automation_name: str, graph: AutomationGraph, leads: Sequence[SimulatedLead]
    ) -> list[WouldSend]:
        """Every message, notification and webhook call the dry runs described, in simulated order; a message with
        its template, masked address and subject (or the start of its text) rendered for the lead."""
        found: list[WouldSend] = []
        wanted: set[int] = set()
        for lead in leads:
            for step in lead.path:
                kind = SENDS.get(step.node_type)
                if kind is None or step.reason != "succeeded" or "would" not in step.detail:
                    continue
                found.append(
                    WouldSend(
                        kind=kind,  # type: ignore[arg-type]
                        lead_id=lead.lead_id,
                        node_id=step.node_id,
                        at=step.at,
                        description=str(step.detail["would"]),
                    )
                )
                if kind == "message":
                    wanted.add(lead.lead_id)
        if wanted:
            await self._describe_messages(workspace_id, automation_name, graph, found, wanted)
        found.sort(key=lambda item: (item.at, item.lead_id))
        return found

    async def _describe_messages(
        self,
        workspace_id: int,
        automation_name: str,
        graph: AutomationGraph,
        found: list[WouldSend],
        lead_ids: set[int],
    ) -> None:
        async with self.sessions() as session:
            rows = await session.execute(
                text(f"SELECT {', '.join(LEAD_COLUMNS)} FROM leads WHERE workspace_id = :w AND id = ANY(:ids)"),
                {"w": workspace_id, "ids": sorted(lead_ids)},
            )
            leads = {row.id: dict(row._mapping) for row in rows}
            info = await workspace_render_info(session, workspace_id)
            templates: dict[tuple[int, int | None], Any] = {}
            for item in found:
                node = node_by_id(graph, item.node_id)
                lead = leads.get(item.lead_id)
                if item.kind != "message" or not isinstance(node, SendMessageNode) or lead is None:
                    continue
                config = node.config
                key = (config.template_id, config.template_version)
                if key not in templates:
                    templates[key] = (
                        await session.execute(
                            text(
                                "SELECT t.name, v.subject, v.body_text FROM templates t JOIN template_versions v "
                                "ON v.template_id = t.id AND v.number = coalesce(:n, t.version) "
                                "WHERE t.id = :t AND t.workspace_id = :w"
                            ),
                            {"t": config.template_id, "n": config.template_version, "w": workspace_id},
                        )
                    ).one_or_none()
                template = templates[key]
                item.channel = config.channel
                item.template_id = config.template_id
                item.to = mask_address(address_of(lead, config.channel))
                if template is None:
                    continue
                item.template_name = template.name
                context = message_context(
                    lead,
                    custom_keys=info.custom_keys,
                    workspace=info.workspace,
                    campaign={"name": automation_name},
                    unsubscribe_url="",
                )
                if config.channel == "email":
                    item.subject = _rendered(template.subject or "", context, 200)
                else:
                    item.preview = _rendered(template.body_text or "", context, 160)


def _rendered(source: str, context: dict[str, Any], limit: int) -> str:
    """The text rendered for the lead, on one line and cut at `limit`; the source itself when it does not render."""
    try:
        value = render_string(source, context)
    except TemplateError:
        value = source
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"
