"""The trigger dispatcher: a lead event in, journeys started or signalled (#10, docs/automations.md).

Used by the API (lead changes, `POST /api/events`), by the `start_automation` action and by the Schedules of date
and recurring triggers. It holds no database code: the caller passes the workspace's active automations (their
published version and graph), the lead's entry history per automation, the workflow ids of the lead's running
journeys, and a check of a trigger's enrollment filter (core/journey_intake.py loads them:
`load_dispatch_targets`, `lead_matches`, and `dispatch_events` does it all for a batch of events).

For each automation whose trigger the event fires (domain `triggers_matching`, then the enrollment filter), the
re-entry policy decides (`entry_decision`), and Temporal's workflow ids make it hold under concurrency:
- once_ever: `journey-<automation>-<lead>`, started with REJECT_DUPLICATE: two triggers at once start one journey
  (the second signal-with-start signals it), a later one is refused by the lead's history (and by Temporal while it
  keeps the closed execution);
- once_at_a_time: the same id with ALLOW_DUPLICATE: signal-with-start signals the running journey, or starts the
  next entry once it has ended;
- every_time: `journey-<automation>-<lead>-e<event id>`: a new journey per trigger event (up to 10 running), and a
  duplicate event (same id) starts nothing;
- a test run or a simulation (`mode`): `journey-<automation>-<lead>-e<mode>-<event id>`, whatever the lead's history.
A trigger event enters a lead at most once per automation: a "once at a time" journey started by a duplicate of an
event that already entered the lead ends at once (`begin_journey` finds it; `duplicate_trigger`).
The journey is started with signal-with-start (`start_signal="event"`), so an already running journey receives the
event as a signal; every other running journey of the lead receives it too (a wait or a goal may be looking for it).
The workflow is named, not imported: core never imports workflows/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.workflow_ids import journey_entry_workflow_id, journey_workflow_id
from domain.automation_graph import node_by_id, triggers_matching
from domain.journey_steps import EntryHistory, entry_decision
from models.payloads.automation import AutomationGraph, JourneyEvent, JourneyInput, JourneyMode, SimulatedEngagement

JOURNEY_WORKFLOW = "JourneyWorkflow"
EVENT_SIGNAL = "event"

Action = Literal["started", "signalled", "refused", "filtered", "duplicate"]
# (lead id, filter tree) -> whether the lead matches it now (an enrollment filter).
EnrollmentCheck = Callable[[int, dict], Awaitable[bool]]


class PublishedAutomation(NamedTuple):
    """An active automation as the dispatcher needs it: the version new journeys enter, and its graph."""

    automation_id: int
    version: int
    graph: AutomationGraph


@dataclass(frozen=True)
class Dispatched:
    """What happened for one automation (or one running journey signalled)."""

    automation_id: int | None
    action: Action
    workflow_id: str | None = None
    trigger_node: str | None = None
    reason: str = ""


async def dispatch(
    client: Client,
    workspace_id: int,
    event: JourneyEvent,
    automations: Sequence[PublishedAutomation | tuple[int, int, AutomationGraph]],
    *,
    task_queue: str,
    histories: Mapping[int, EntryHistory] | None = None,
    running: Sequence[str] = (),
    exclude: Collection[str] = (),
    enrollment: EnrollmentCheck | None = None,
    mode: JourneyMode = "live",
    max_delay_seconds: int | None = None,
) -> list[Dispatched]:
    """Start or signal the journeys this event concerns; one `Dispatched` per automation it triggers (entered,
    refused, filtered...) and per other running journey it was delivered to.

    `histories`: the lead's journeys per automation id (all versions; missing: none). `running`: the workflow ids of
    the lead's running journeys, in any automation. `exclude`: running journeys not to signal (the journey whose own
    lead change made the event: it knows of it from its action's outcome). `enrollment`: checks a trigger's filter;
    without it, a trigger with a filter enters nobody (refusing is the safe side).
    """
    results: list[Dispatched] = []
    targeted: set[str] = set()
    for item in automations:
        automation = PublishedAutomation(*item)
        triggers = triggers_matching(automation.graph, event)
        if not triggers:
            continue
        trigger = triggers[0]
        node = node_by_id(automation.graph, trigger)
        enrollment_filter = getattr(getattr(node, "config", None), "filter", None)
        if enrollment_filter is not None and (
            enrollment is None or not await enrollment(event.lead_id, enrollment_filter)
        ):
            results.append(Dispatched(automation.automation_id, "filtered", None, trigger, "enrollment_filter"))
            continue
        history = (histories or {}).get(automation.automation_id, EntryHistory())
        result = await enter(
            client,
            workspace_id=workspace_id,
            automation=automation,
            trigger_node=trigger,
            event=event,
            history=history,
            task_queue=task_queue,
            mode=mode,
            max_delay_seconds=max_delay_seconds,
        )
        results.append(result)
        if result.workflow_id is not None:
            targeted.add(result.workflow_id)
    for workflow_id in running if mode == "live" else ():  # a test run or a simulation signals nobody else
        if workflow_id in targeted or workflow_id in exclude:
            continue
        targeted.add(workflow_id)
        if await signal_journey(client, workflow_id, event):
            results.append(Dispatched(None, "signalled", workflow_id, None, "running"))
    return results


async def enter(
    client: Client,
    *,
    workspace_id: int,
    automation: PublishedAutomation,
    trigger_node: str,
    event: JourneyEvent,
    history: EntryHistory,
    task_queue: str,
    mode: JourneyMode = "live",
    max_delay_seconds: int | None = None,
    simulated_engagement: SimulatedEngagement = "none",
) -> Dispatched:
    """Enter the lead in one automation from `trigger_node`, its re-entry policy permitting (see the module
    docstring). A refused entry of a "once ever" lead whose journey still runs signals that journey."""
    policy = automation.graph.reentry
    lead_id = event.lead_id
    decision = entry_decision(policy, history)
    if mode != "live":  # a test run or a simulation: its own journey whatever the lead's history
        workflow_id = journey_entry_workflow_id(automation.automation_id, lead_id, f"{mode}-{event.event_id}")
        reuse = WorkflowIDReusePolicy.REJECT_DUPLICATE
    elif policy == "every_time":
        workflow_id = journey_entry_workflow_id(automation.automation_id, lead_id, event.event_id)
        reuse = WorkflowIDReusePolicy.REJECT_DUPLICATE
    else:
        workflow_id = journey_workflow_id(automation.automation_id, lead_id)
        reuse = (
            WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if policy == "once_at_a_time"
            else WorkflowIDReusePolicy.REJECT_DUPLICATE
        )
    # once_at_a_time needs no history: signal-with-start signals the running journey or starts the next entry.
    if not decision.allowed and mode == "live" and policy != "once_at_a_time":
        if policy == "once_ever" and history.active and await signal_journey(client, workflow_id, event):
            return Dispatched(automation.automation_id, "signalled", workflow_id, trigger_node, decision.reason)
        return Dispatched(automation.automation_id, "refused", None, trigger_node, decision.reason)
    input = JourneyInput(
        workspace_id=workspace_id,
        automation_id=automation.automation_id,
        version=automation.version,
        lead_id=lead_id,
        trigger_node=trigger_node,
        trigger_event=event,
        graph=automation.graph,
        mode=mode,
        max_delay_seconds=max_delay_seconds if mode == "test" else None,
        simulated_engagement=simulated_engagement if mode == "simulation" else "none",
    )
    try:
        handle = await client.start_workflow(
            JOURNEY_WORKFLOW,
            input,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=reuse,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[event],
        )
    except WorkflowAlreadyStartedError:
        # Closed under REJECT_DUPLICATE: the lead's once-ever journey, or this very event's every-time journey.
        return Dispatched(automation.automation_id, "duplicate", workflow_id, trigger_node, "already_entered")
    # Whether signal-with-start started the journey or signalled a running one: the server says so (1.25 and
    # later); an older one (the time-skipping test server) never does, and the lead's history decides instead.
    response = getattr(handle, "_start_workflow_response", None)
    per_entry = mode != "live" or policy == "every_time"  # a workflow id of its own: a start
    started = bool(getattr(response, "started", False)) or per_entry or history.active == 0
    return Dispatched(
        automation.automation_id,
        "started" if started else "signalled",
        workflow_id,
        trigger_node,
        decision.reason if started else "running",
    )


async def signal_journey(client: Client, workflow_id: str, event: JourneyEvent) -> bool:
    """Deliver the event to a running journey; False when it is not running (ended, or never started)."""
    try:
        await client.get_workflow_handle(workflow_id).signal(EVENT_SIGNAL, event)
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return False
        raise
    return True
