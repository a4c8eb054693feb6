"""The automation simulator and test mode (#10): see docs/automations.md#simulator-and-test-mode.

- `POST /api/automations/{id}/simulations` checks the graph (the one given, or the saved draft) and the leads
  chosen, stores an `automation_simulations` row and starts AutomationSimulationWorkflow (`simulation-<id>`), which
  runs the real journey workflow for those leads on a time-skipping test server with dry-run actions; `GET
  .../simulations/{sim_id}` returns its status and results.
- `POST /api/automations/{id}/test-runs` enters one lead for real (its messages are sent) in mode `test`, every delay
  and wait cut to `max_delay_seconds`; `GET .../test-runs/{workflow_id}` follows it.

Both run the draft as version 0 unless it is the published version unchanged. Workflows are started by name: the
API never imports workflows/ or activities/.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from api import automation_service
from api.automation_context import graph_context
from api.context import guard
from api.deps import SettingsDep, TemporalDep
from api.errors import ApiError
from api.lead_service import compile_or_422, filter_context
from api.schemas_automation_simulations import (
    GraphRefusedOut,
    SimulationIn,
    SimulationOut,
    SimulationStarted,
    SimulationSummaryOut,
    TestRunIn,
    TestRunOut,
    TestRunProgressOut,
)
from api.schemas_automations import problem_out
from api.scoping import Scope, ScopeDep
from core.journeys import PublishedAutomation, enter
from core.workflow_ids import automation_simulation_workflow_id
from domain.automation_graph import parse_graph, validate_graph
from domain.automation_simulation import NoTrigger, simulated_event, simulated_trigger
from domain.journey_steps import EntryHistory
from domain.permissions import Permission
from models.automations import Automation, AutomationSimulation, Journey, JourneyStepRow, SimulationStatus
from models.leads import Lead
from models.payloads.automation import AutomationGraph
from models.payloads.simulation import SimulatedStep, SimulationInput, SimulationResults

router = APIRouter(prefix="/api/automations", tags=["automation simulator"])
SIMULATION_WORKFLOW = "AutomationSimulationWorkflow"
RECENT_SIMULATIONS = 20
GRAPH_REFUSED = {422: {"model": GraphRefusedOut, "description": "The graph has errors (in `problems`), or bad input"}}
UNAVAILABLE = {503: {"description": "Temporal refused or is unreachable: nothing was started"}}


class _Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


# --- Simulations ------------------------------------------------------------------------------------------------------


@router.post(
    "/{automation_id}/simulations",
    response_model=SimulationStarted,
    status_code=202,
    responses={**GRAPH_REFUSED, **UNAVAILABLE},
    **guard(Permission.campaigns_write),
)
async def start_simulation(
    automation_id: int, body: SimulationIn, scope: ScopeDep, settings: SettingsDep, client: TemporalDep
) -> SimulationStarted | JSONResponse:
    """Simulates the graph for the leads chosen: each enters at the trigger (the graph's first, or `trigger_node`)
    and runs the real journey workflow with dry-run actions on a time-skipping server, no event ever arriving.
    Poll `GET .../simulations/{id}` for the results."""
    automation = await scope.get(Automation, automation_id, "automation")
    try:
        graph, version = await _runnable_graph(scope, automation, body.graph)
    except _Refused as refused:
        return refused.response
    trigger = _trigger_or_422(graph, body.trigger_node)
    selection = await _selection(scope, body)
    simulation = scope.add(
        AutomationSimulation(
            automation_id=automation_id,
            version=version,
            graph=graph.model_dump(mode="json"),
            selection=selection,
            trigger_node=trigger,
            status=SimulationStatus.queued.value,
            created_by=scope.context.user_id,
        )
    )
    await scope.session.flush()
    scope.audit(
        "automation.simulated", "automation", automation_id, after={"simulation_id": simulation.id, "version": version}
    )
    # Committed before the start: the workflow's activity reads the row at once.
    await scope.session.commit()
    simulation_id = simulation.id
    assert simulation_id is not None
    workflow_id = automation_simulation_workflow_id(simulation_id)
    try:
        await client.start_workflow(
            SIMULATION_WORKFLOW,
            SimulationInput(simulation_id=simulation_id, workspace_id=scope.workspace_id),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
        )
    except Exception as exc:
        await scope.session.delete(simulation)
        await scope.session.commit()
        raise ApiError(503, f"the simulation could not start: {exc}", code="unavailable") from exc
    return SimulationStarted(id=simulation_id, status="queued", workflow_id=workflow_id)


@router.get(
    "/{automation_id}/simulations", response_model=list[SimulationSummaryOut], **guard(Permission.workspace_read)
)
async def list_simulations(automation_id: int, scope: ScopeDep) -> list[SimulationSummaryOut]:
    """The automation's latest simulations, newest first (without their results)."""
    await scope.get(Automation, automation_id, "automation")
    found = await scope.session.exec(
        scope.select(AutomationSimulation)
        .where(AutomationSimulation.automation_id == automation_id)
        .order_by(col(AutomationSimulation.id).desc())
        .limit(RECENT_SIMULATIONS)
    )
    return [
        SimulationSummaryOut(
            id=s.id,
            status=s.status,
            version=s.version,
            selection=s.selection,
            totals=(s.results or {}).get("totals"),
            created_at=s.created_at,
            finished_at=s.finished_at,
        )
        for s in found.all()
    ]


@router.get(
    "/{automation_id}/simulations/{simulation_id}", response_model=SimulationOut, **guard(Permission.workspace_read)
)
async def get_simulation(automation_id: int, simulation_id: int, scope: ScopeDep) -> SimulationOut:
    """The simulation's status and, once done, its results: per-node counts, each lead's path with the simulated
    dates, and what would have been sent."""
    simulation = await scope.get(AutomationSimulation, simulation_id, "simulation")
    if simulation.automation_id != automation_id:
        raise ApiError(404, f"simulation {simulation_id} not found", field="simulation_id")
    return SimulationOut(
        id=simulation_id,
        automation_id=automation_id,
        status=simulation.status,
        version=simulation.version,
        trigger_node=simulation.trigger_node,
        selection=simulation.selection,
        graph=simulation.graph,
        results=SimulationResults.model_validate(simulation.results) if simulation.results else None,
        error=simulation.error,
        created_at=simulation.created_at,
        finished_at=simulation.finished_at,
    )


# --- Test runs --------------------------------------------------------------------------------------------------------


@router.post(
    "/{automation_id}/test-runs",
    response_model=TestRunOut,
    status_code=202,
    responses={**GRAPH_REFUSED, **UNAVAILABLE},
    **guard(Permission.campaigns_launch),
)
async def start_test_run(
    automation_id: int, body: TestRunIn, scope: ScopeDep, settings: SettingsDep, client: TemporalDep
) -> TestRunOut | JSONResponse:
    """Enters the lead for real (messages are sent, changes are made) at the trigger, whatever its enrollment filter
    and the re-entry policy, with every delay and wait cut to `max_delay_seconds`. Its journey is of mode `test`."""
    automation = await scope.get(Automation, automation_id, "automation")
    try:
        graph, version = await _runnable_graph(scope, automation, body.graph)
    except _Refused as refused:
        return refused.response
    trigger_id = _trigger_or_422(graph, body.trigger_node)
    lead = await scope.find(Lead, body.lead_id)
    if lead is None:
        raise ApiError(422, f"lead_id: lead {body.lead_id} does not exist", field="lead_id")
    trigger = simulated_trigger(graph, trigger_id)
    field = getattr(getattr(trigger, "config", None), "field", None)
    event = simulated_event(
        trigger,
        lead_id=body.lead_id,
        event_id=f"test-{uuid.uuid4().hex[:16]}",
        lead_status=lead.status,
        field_value=(lead.custom_fields or {}).get(field) if isinstance(field, str) else None,
    )
    scope.audit(
        "automation.test_run",
        "automation",
        automation_id,
        after={"lead_id": body.lead_id, "version": version, "max_delay_seconds": body.max_delay_seconds},
    )
    await scope.session.commit()
    try:
        entered = await enter(
            client,
            workspace_id=scope.workspace_id,
            automation=PublishedAutomation(automation_id, version, graph),
            trigger_node=trigger_id,
            event=event,
            history=EntryHistory(),
            task_queue=settings.temporal_task_queue,
            mode="test",
            max_delay_seconds=body.max_delay_seconds,
        )
    except Exception as exc:
        raise ApiError(503, f"the test run could not start: {exc}", code="unavailable") from exc
    assert entered.workflow_id is not None
    return TestRunOut(
        workflow_id=entered.workflow_id,
        automation_id=automation_id,
        lead_id=body.lead_id,
        version=version,
        trigger_node=trigger_id,
        event_id=event.event_id,
        max_delay_seconds=body.max_delay_seconds,
    )


@router.get(
    "/{automation_id}/test-runs/{workflow_id}", response_model=TestRunProgressOut, **guard(Permission.workspace_read)
)
async def get_test_run(automation_id: int, workflow_id: str, scope: ScopeDep) -> TestRunProgressOut:
    """Where the test run's journey is: its status, current node, and the steps it recorded so far."""
    await scope.get(Automation, automation_id, "automation")
    journey = (
        await scope.session.exec(
            scope.select(Journey)
            .where(Journey.automation_id == automation_id, Journey.workflow_id == workflow_id, Journey.mode == "test")
            .order_by(col(Journey.id).desc())
        )
    ).first()
    if journey is None:
        if not workflow_id.startswith(f"journey-{automation_id}-"):
            raise ApiError(404, f"test run {workflow_id} not found", field="workflow_id")
        return TestRunProgressOut(workflow_id=workflow_id, journey_id=None)
    steps = await scope.session.exec(
        select(JourneyStepRow).where(JourneyStepRow.journey_id == journey.id).order_by(col(JourneyStepRow.seq))
    )
    return TestRunProgressOut(
        workflow_id=workflow_id,
        journey_id=journey.id,
        status=journey.status,
        current_node=journey.current_node,
        waiting_until=journey.waiting_until,
        end_reason=journey.end_reason,
        path=[SimulatedStep.of_row(step) for step in steps.all()],
    )


# --- Helpers ----------------------------------------------------------------------------------------------------------


async def _runnable_graph(scope: Scope, automation: Automation, given: Any) -> tuple[AutomationGraph, int]:
    """The graph to run (the one given, else the saved draft), checked against the workspace: without an error, it
    and its version (the published one when it is that version unchanged, else 0); errors: a 422 with the problems."""
    source = automation.draft if given is None else given
    graph, problems = parse_graph(source)
    if graph is not None:
        problems = validate_graph(graph, await graph_context(scope, graph, automation_id=automation.id))
    errors = [problem for problem in problems if problem.severity == "error"]
    if graph is None or errors:
        first = errors[0] if errors else problems[0]
        where = " ".join(part for part in (f"node '{first.node_id}'" if first.node_id else "", first.field) if part)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        refused = GraphRefusedOut(
            message=f"the graph cannot run: {where or 'graph'}: {first.message}{more}",
            problems=[problem_out(problem) for problem in problems],
        )
        raise _Refused(JSONResponse(status_code=422, content=refused.model_dump(mode="json")))
    published = await automation_service.published_graph(scope, automation)
    if published is not None and published == graph and automation.published_version is not None:
        return graph, automation.published_version
    return graph, 0


def _trigger_or_422(graph: AutomationGraph, trigger_node: str | None) -> str:
    try:
        return simulated_trigger(graph, trigger_node).id
    except NoTrigger as exc:
        raise ApiError(422, f"trigger_node: {exc}", field="trigger_node") from exc


async def _selection(scope: Scope, body: SimulationIn) -> dict[str, Any]:
    """`{"lead_ids": [...]}` (each a lead of the workspace) or `{"filter": ..., "limit": n}` (a filter that compiles
    against the workspace's fields), with the `engagement` assumed when it is not "none"."""
    if (body.lead_ids is None) == (body.filter is None):
        raise ApiError(422, "lead_ids: choose the leads by `lead_ids` or by `filter` (one of them)", field="lead_ids")
    if body.lead_ids is not None:
        lead_ids = list(dict.fromkeys(body.lead_ids))
        found = set(
            (await scope.session.exec(select(Lead.id).where(scope.where(Lead), col(Lead.id).in_(lead_ids)))).all()
        )
        missing = [lead_id for lead_id in lead_ids if lead_id not in found]
        if missing:
            shown = ", ".join(str(lead_id) for lead_id in missing[:10])
            raise ApiError(422, f"lead_ids: no such lead: {shown}", field="lead_ids")
        return {"lead_ids": lead_ids, **_engagement(body)}
    compile_or_422(body.filter, await filter_context(scope), field="filter")
    return {"filter": body.filter, "limit": body.limit, **_engagement(body)}


def _engagement(body: SimulationIn) -> dict[str, Any]:
    return {} if body.engagement == "none" else {"engagement": body.engagement}
