"""Monitoring an automation (#10): leads per node, the error log, the journeys and a lead's path, each journey
linked to its Temporal execution. Read-only; live journeys unless `mode=test`. See docs/automations.md#monitoring."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import automation_monitoring as monitoring
from api.context import guard
from api.deps import SettingsDep
from api.errors import not_found
from api.schemas_automation_monitoring import (
    JourneyStatusName,
    MonitoredJourneyDetail,
    MonitoredJourneyPage,
    MonitorErrorPage,
    MonitorMode,
    MonitorOut,
)
from api.scoping import ScopeDep
from domain.permissions import Permission
from models.automations import Automation

router = APIRouter(prefix="/api/automations", tags=["automation monitoring"])

NODE_ID = r"^[A-Za-z0-9_-]{1,64}$"
Mode = Annotated[MonitorMode, Query(description="live journeys, or the test runs' (delays shortened)")]
Version = Annotated[int | None, Query(ge=1, description="Only the journeys of this version; all versions if left out")]
Limit = Annotated[int, Query(ge=1, le=monitoring.MAX_LIMIT)]
Before = Annotated[int | None, Query(gt=0, description="The `next_before` of the previous page")]
NodeId = Annotated[str | None, Query(pattern=NODE_ID, description="Only this node's (journeys: at it, or ended there)")]


async def _automation(scope: ScopeDep, automation_id: int) -> Automation:
    return await scope.get(Automation, automation_id, "automation")


@router.get("/{automation_id}/monitor", response_model=MonitorOut, **guard(Permission.workspace_read))
async def automation_monitor(
    automation_id: int, scope: ScopeDep, mode: Mode = "live", version: Version = None
) -> MonitorOut:
    """Totals by status, and per node: the journeys there (active, waiting) or ended there (completed, exited,
    failed, goal_met), the steps recorded at it, those with an error, a fallback taken or a retried action."""
    await _automation(scope, automation_id)
    return await monitoring.monitor(scope.session, scope.workspace_id, automation_id, mode, version)


@router.get("/{automation_id}/errors", response_model=MonitorErrorPage, **guard(Permission.workspace_read))
async def automation_errors(
    automation_id: int,
    scope: ScopeDep,
    settings: SettingsDep,
    node_id: NodeId = None,
    mode: Mode = "live",
    version: Version = None,
    limit: Limit = 50,
    before: Before = None,
) -> MonitorErrorPage:
    """The steps that went wrong (an action's error, a journey failing), newest first: the error, its type, the
    attempts made, Temporal's retry state, whether the fallback was taken, and the journey's Temporal link."""
    await _automation(scope, automation_id)
    return await monitoring.error_log(
        scope.session,
        settings,
        scope.workspace_id,
        automation_id,
        mode=mode,
        version=version,
        node_id=node_id,
        limit=limit,
        before=before,
    )


@router.get("/{automation_id}/journeys", response_model=MonitoredJourneyPage, **guard(Permission.workspace_read))
async def automation_journeys(
    automation_id: int,
    scope: ScopeDep,
    settings: SettingsDep,
    status: JourneyStatusName | None = None,
    node_id: NodeId = None,
    lead_id: Annotated[int | None, Query(gt=0)] = None,
    mode: Mode = "live",
    version: Version = None,
    limit: Limit = 50,
    before: Before = None,
) -> MonitoredJourneyPage:
    """The automation's journeys, newest first, with the lead's name and email and the Temporal link."""
    await _automation(scope, automation_id)
    return await monitoring.journey_list(
        scope.session,
        settings,
        scope.workspace_id,
        automation_id,
        mode=mode,
        version=version,
        status=status,
        node_id=node_id,
        lead_id=lead_id,
        limit=limit,
        before=before,
    )


@router.get(
    "/{automation_id}/journeys/{journey_id}", response_model=MonitoredJourneyDetail, **guard(Permission.workspace_read)
)
async def automation_journey(
    automation_id: int, journey_id: int, scope: ScopeDep, settings: SettingsDep
) -> MonitoredJourneyDetail:
    """A journey and its steps in order (dates, outcomes, details), with the nodes and edges it went through."""
    await _automation(scope, automation_id)
    found = await monitoring.journey_detail(scope.session, settings, scope.workspace_id, automation_id, journey_id)
    if found is None:
        raise not_found("journey", journey_id)
    return found
