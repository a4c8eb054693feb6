"""What the automations API does beyond HTTP (#10): drafts checked and measured, the answer shapes, the journey
counts, the schedules of a published version, and the commit that keeps them and the database in step."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select

from api.automation_context import graph_context
from api.errors import ApiError
from api.lead_service import workspace_of
from api.schemas_automations import AutomationOut, AutomationSummary, AutomationVersionSummary, problem_out
from api.scoping import Scope
from core.automation_schedules import TriggerSchedule, scheduled_triggers
from domain.automation_graph import MAX_DEFINITION_BYTES, GraphProblem, parse_graph, validate_graph
from models.automations import RUNNING_JOURNEY_STATUSES, Automation, AutomationStatus, AutomationVersion
from models.payloads.automation import AutomationGraph

EMPTY_GRAPH: dict[str, Any] = {"nodes": [], "edges": []}


def checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApiError(422, "name: may not be blank", field="name")
    return name


def checked_draft(graph: Any) -> Any:
    """The draft as given (valid or not), refused only when it is larger than a graph may be."""
    size = len(json.dumps(graph, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DEFINITION_BYTES:
        raise ApiError(
            422, f"graph: the draft takes {size} bytes of JSON, more than {MAX_DEFINITION_BYTES}", field="graph"
        )
    return graph


def name_taken(name: str) -> str:
    return f"name: an automation named {name!r} already exists"


async def check_draft(
    scope: Scope, automation_id: int, draft: Any
) -> tuple[AutomationGraph | None, list[GraphProblem]]:
    """The draft's problems against the workspace, as the builder's check finds them (shape problems alone while
    the shape is wrong), and the normalised graph when its shape is right."""
    graph, problems = parse_graph(draft)
    if graph is not None:
        problems = validate_graph(graph, await graph_context(scope, graph, automation_id=automation_id))
    return graph, problems


async def automation_out(scope: Scope, automation: Automation) -> AutomationOut:
    _graph, problems = await check_draft(scope, automation.id, automation.draft)
    versions = await scope.session.exec(
        scope.select(AutomationVersion)
        .where(AutomationVersion.automation_id == automation.id)
        .order_by(col(AutomationVersion.version).desc())
    )
    return AutomationOut(
        id=automation.id,
        name=automation.name,
        status=automation.status,
        published_version=automation.published_version,
        draft=automation.draft,
        valid=not any(problem.severity == "error" for problem in problems),
        problems=[problem_out(problem) for problem in problems],
        versions=[
            AutomationVersionSummary(version=v.version, published_at=v.published_at, published_by=v.published_by)
            for v in versions.all()
        ],
        created_at=automation.created_at,
        updated_at=automation.updated_at,
    )


async def summaries(scope: Scope) -> list[AutomationSummary]:
    """The workspace's automations, last changed first, with their live journeys (running now, ever entered)."""
    automations = (
        await scope.session.exec(
            scope.select(Automation).order_by(col(Automation.updated_at).desc(), col(Automation.id).desc())
        )
    ).all()
    counts = await scope.session.execute(
        text(
            "SELECT automation_id, count(*) FILTER (WHERE status = ANY(:running)) AS running, count(*) AS entered "
            "FROM journeys WHERE workspace_id = :w AND mode = 'live' GROUP BY automation_id"
        ),
        {"w": scope.workspace_id, "running": list(RUNNING_JOURNEY_STATUSES)},
    )
    by_id = {row.automation_id: row for row in counts}
    return [
        AutomationSummary(
            id=a.id,
            name=a.name,
            status=a.status,
            published_version=a.published_version,
            updated_at=a.updated_at,
            running=by_id[a.id].running if a.id in by_id else 0,
            entered=by_id[a.id].entered if a.id in by_id else 0,
        )
        for a in automations
    ]


async def running_journeys(scope: Scope, automation_id: int) -> int:
    """Live journeys of the automation running now (active or waiting)."""
    found = await scope.session.execute(
        text(
            "SELECT count(*) FROM journeys WHERE automation_id = :a AND workspace_id = :w AND mode = 'live' "
            "AND status = ANY(:running)"
        ),
        {"a": automation_id, "w": scope.workspace_id, "running": list(RUNNING_JOURNEY_STATUSES)},
    )
    return found.scalar_one()


async def next_version(scope: Scope, automation_id: int) -> int:
    latest = await scope.session.exec(
        select(func.max(AutomationVersion.version)).where(AutomationVersion.automation_id == automation_id)
    )
    return (latest.one() or 0) + 1


async def published_graph(scope: Scope, automation: Automation) -> AutomationGraph | None:
    """The graph of the published version (None: never published)."""
    if automation.published_version is None:
        return None
    version = (
        await scope.session.exec(
            scope.select(AutomationVersion).where(
                AutomationVersion.automation_id == automation.id,
                AutomationVersion.version == automation.published_version,
            )
        )
    ).first()
    return parse_graph(version.graph)[0] if version is not None else None


async def trigger_schedules(scope: Scope, automation_id: int, graph: AutomationGraph | None) -> list[TriggerSchedule]:
    """The Schedules a published graph runs on (recurring ones in the workspace's current timezone)."""
    if graph is None:
        return []
    timezone = (await workspace_of(scope)).timezone or "UTC"
    return scheduled_triggers(automation_id, scope.workspace_id, graph, timezone)


async def recurring_schedules(scope: Scope, timezone: str) -> list[tuple[TriggerSchedule, bool]]:
    """The Schedules of the recurring triggers of the workspace's published automations (active or paused) as they
    are in `timezone`, each with whether it is paused: what a change of the workspace's timezone moves."""
    statuses = (AutomationStatus.active.value, AutomationStatus.paused.value)
    automations = (
        await scope.session.exec(
            scope.select(Automation)
            .where(col(Automation.published_version).is_not(None), col(Automation.status).in_(statuses))
            .order_by(col(Automation.id))
        )
    ).all()
    found: list[tuple[TriggerSchedule, bool]] = []
    for automation in automations:
        graph = await published_graph(scope, automation)
        if graph is None:
            continue
        paused = automation.status == AutomationStatus.paused.value
        specs = scheduled_triggers(automation.id, scope.workspace_id, graph, timezone)
        found += [(spec, paused) for spec in specs if spec.kind == "recurring_schedule"]
    return found


def snapshot(automation: Automation) -> dict[str, Any]:
    """What the audit log keeps of an automation (not the graph: versions keep those)."""
    return {"name": automation.name, "status": automation.status, "published_version": automation.published_version}
