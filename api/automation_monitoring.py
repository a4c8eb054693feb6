"""What the monitoring reads of an automation's journeys (#10): counts per node, the error log, the journeys and a
journey's path. Everything comes from the rows the journeys write (`journeys`, `journey_steps`); Temporal is only
linked to. Each query is bounded: per-node counts are aggregates on the indexed automation columns, lists are
keyset pages of at most MAX_LIMIT rows, a journey's steps at most MAX_STEPS.

The caller has checked that the automation is the workspace's; the queries still name the workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from api.schemas_automation_monitoring import (
    JourneyPathEdge,
    MonitoredJourney,
    MonitoredJourneyDetail,
    MonitoredJourneyPage,
    MonitoredJourneyStep,
    MonitoredLead,
    MonitorErrorEntry,
    MonitorErrorPage,
    MonitorNodeCounts,
    MonitorOut,
    MonitorTotals,
)
from core.settings import Settings
from core.temporal import temporal_url

MAX_LIMIT = 200
MAX_STEPS = 500
STATUSES = ("active", "waiting", "completed", "exited", "failed", "goal_met")

# A step that went wrong: an action's error, or the journey failing there (an unknown node, too many steps). Written
# as the predicate of the partial index ix_journey_steps_errors (migration 0015) so that the error log can use it.
ERROR_STEP = "(s.detail ? 'error' OR s.end_status = 'failed')"
RETRIED_STEP = """(
    (jsonb_typeof(s.detail -> 'attempts') = 'number' AND CAST(s.detail ->> 'attempts' AS numeric) > 1)
    OR (s.detail ->> 'retry_state' = 'MAXIMUM_ATTEMPTS_REACHED'
        AND jsonb_typeof(s.detail -> 'max_attempts') = 'number' AND CAST(s.detail ->> 'max_attempts' AS numeric) > 1)
)"""
# Another execution chain took the workflow id later (a "once at a time" lead entering again).
SUPERSEDED = "EXISTS (SELECT 1 FROM journeys n WHERE n.workflow_id = j.workflow_id AND n.id > j.id)"
LEAD_COLUMNS = "l.first_name, l.last_name, l.email"


class Filters:
    """WHERE conditions and their parameters, built up from the optional query parameters."""

    def __init__(self, conditions: list[str], params: dict[str, Any]) -> None:
        self.conditions = conditions
        self.params = params

    def add(self, condition: str, **params: Any) -> None:
        self.conditions.append(condition)
        self.params.update(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions)


def _journeys_of(workspace_id: int, automation_id: int, mode: str, version: int | None) -> Filters:
    found = Filters(
        ["j.workspace_id = :w", "j.automation_id = :a", "j.mode = :mode"],
        {"w": workspace_id, "a": automation_id, "mode": mode},
    )
    if version is not None:
        found.add("j.version = :version", version=version)
    return found


def journey_url(settings: Settings, row: Any) -> str:
    """A journey's execution chain: the workflow id alone while it is the id's latest chain (the page follows a
    continue-as-new to the current run); the chain's first run once the id was reused by a later entry."""
    return temporal_url(settings, row.workflow_id, row.first_run_id if row.superseded else None)


def _lead(row: Any) -> MonitoredLead:
    name = " ".join(part for part in (row.first_name, row.last_name) if part)
    return MonitoredLead(id=row.lead_id, name=name, email=row.email)


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- Counts per node ------------------------------------------------------------------------------------------------


async def monitor(
    session: AsyncSession, workspace_id: int, automation_id: int, mode: str, version: int | None
) -> MonitorOut:
    """Journeys per node and status (where they are, or where they ended), and the steps recorded at each node."""
    scope = _journeys_of(workspace_id, automation_id, mode, version)
    placed = await session.execute(
        text(
            f"SELECT j.current_node, j.status, count(*) AS n FROM journeys j WHERE {scope.sql} "
            "GROUP BY j.current_node, j.status"
        ),
        scope.params,
    )
    steps = await session.execute(
        text(
            f"""
            SELECT s.node_id, count(*) AS passed,
                count(*) FILTER (WHERE {ERROR_STEP}) AS errors,
                count(*) FILTER (WHERE s.detail ->> 'fallback' = 'true') AS fallbacks,
                count(*) FILTER (WHERE {RETRIED_STEP}) AS retried
            FROM journey_steps s JOIN journeys j ON j.id = s.journey_id
            WHERE s.automation_id = :a AND {scope.sql}
            GROUP BY s.node_id
            """
        ),
        scope.params,
    )
    versions = await session.execute(
        text("SELECT version FROM automation_versions WHERE automation_id = :a AND workspace_id = :w ORDER BY version"),
        {"a": automation_id, "w": workspace_id},
    )
    totals = dict.fromkeys(STATUSES, 0)
    nodes: dict[str, dict[str, int]] = {}

    def of(node_id: str) -> dict[str, int]:
        return nodes.setdefault(node_id, dict.fromkeys((*STATUSES, "passed", "errors", "fallbacks", "retried"), 0))

    for row in placed:
        if row.status in totals:
            totals[row.status] += row.n
            if row.current_node is not None:
                of(row.current_node)[row.status] += row.n
    for row in steps:
        counts = of(row.node_id)
        counts.update(passed=row.passed, errors=row.errors, fallbacks=row.fallbacks, retried=row.retried)
    return MonitorOut(
        automation_id=automation_id,
        mode=mode,  # type: ignore[arg-type]
        version=version,
        versions=[row.version for row in versions],
        totals=MonitorTotals(entered=sum(totals.values()), **totals),
        nodes=[MonitorNodeCounts(node_id=node_id, **counts) for node_id, counts in sorted(nodes.items())],
        as_of=datetime.now(UTC),
    )


# --- The error log --------------------------------------------------------------------------------------------------


async def error_log(
    session: AsyncSession,
    settings: Settings,
    workspace_id: int,
    automation_id: int,
    *,
    mode: str,
    version: int | None,
    node_id: str | None,
    limit: int,
    before: int | None,
) -> MonitorErrorPage:
    """The steps that went wrong, newest first (by step id: `before` pages on)."""
    scope = _journeys_of(workspace_id, automation_id, mode, version)
    scope.add("s.automation_id = :a")
    scope.add(ERROR_STEP)
    if node_id is not None:
        scope.add("s.node_id = :node", node=node_id)
    if before is not None:
        scope.add("s.id < :before", before=before)
    rows = list(
        await session.execute(
            text(
                f"""
                SELECT s.id, s.at, s.journey_id, s.node_id, s.node_type, s.outcome, s.reason, s.end_status, s.detail,
                    j.lead_id, j.workflow_id, j.first_run_id, {SUPERSEDED} AS superseded, {LEAD_COLUMNS}
                FROM journey_steps s JOIN journeys j ON j.id = s.journey_id JOIN leads l ON l.id = j.lead_id
                WHERE {scope.sql}
                ORDER BY s.id DESC LIMIT :limit
                """
            ),
            {**scope.params, "limit": limit + 1},
        )
    )
    items = [_error_entry(settings, row) for row in rows[:limit]]
    return MonitorErrorPage(items=items, next_before=items[-1].id if len(rows) > limit else None)


def _error_entry(settings: Settings, row: Any) -> MonitorErrorEntry:
    detail: Mapping[str, Any] = row.detail or {}
    retry_state = detail.get("retry_state")
    max_attempts = _number(detail.get("max_attempts"))
    attempts = _number(detail.get("attempts"))
    if attempts is None and retry_state == "MAXIMUM_ATTEMPTS_REACHED":
        attempts = max_attempts  # every attempt was made
    return MonitorErrorEntry(
        id=row.id,
        at=row.at,
        journey_id=row.journey_id,
        lead_id=row.lead_id,
        lead=_lead(row),
        node_id=row.node_id,
        node_type=row.node_type,
        error=str(detail.get("error") or row.reason or "failed"),
        error_type=detail.get("error_type"),
        attempts=attempts,
        max_attempts=max_attempts,
        retry_state=retry_state,
        fallback_taken=detail.get("fallback") is True,
        outcome=row.outcome,
        end_status=row.end_status,
        temporal_url=journey_url(settings, row),
    )


# --- Journeys -------------------------------------------------------------------------------------------------------

JOURNEY_COLUMNS = f"""j.id, j.lead_id, j.status, j.current_node, j.waiting_until, j.entered_at, j.finished_at,
    j.version, j.entry, j.mode, j.trigger_node, j.end_reason, j.workflow_id, j.first_run_id,
    {SUPERSEDED} AS superseded, {LEAD_COLUMNS}"""


async def journey_list(
    session: AsyncSession,
    settings: Settings,
    workspace_id: int,
    automation_id: int,
    *,
    mode: str,
    version: int | None,
    status: str | None,
    node_id: str | None,
    lead_id: int | None,
    limit: int,
    before: int | None,
) -> MonitoredJourneyPage:
    """The journeys, newest first, filtered by status, current node (where they are or ended) and lead."""
    scope = _journeys_of(workspace_id, automation_id, mode, version)
    if status is not None:
        scope.add("j.status = :status", status=status)
    if node_id is not None:
        scope.add("j.current_node = :node", node=node_id)
    if lead_id is not None:
        scope.add("j.lead_id = :lead", lead=lead_id)
    if before is not None:
        scope.add("j.id < :before", before=before)
    rows = list(
        await session.execute(
            text(
                f"SELECT {JOURNEY_COLUMNS} FROM journeys j JOIN leads l ON l.id = j.lead_id "
                f"WHERE {scope.sql} ORDER BY j.id DESC LIMIT :limit"
            ),
            {**scope.params, "limit": limit + 1},
        )
    )
    items = [_journey(settings, row) for row in rows[:limit]]
    return MonitoredJourneyPage(items=items, next_before=items[-1].id if len(rows) > limit else None)


def _journey(settings: Settings, row: Any) -> MonitoredJourney:
    return MonitoredJourney(
        id=row.id,
        lead_id=row.lead_id,
        lead=_lead(row),
        status=row.status,
        current_node=row.current_node,
        waiting_until=row.waiting_until,
        entered_at=row.entered_at,
        finished_at=row.finished_at,
        version=row.version,
        entry=row.entry,
        mode=row.mode,
        trigger_node=row.trigger_node,
        end_reason=row.end_reason,
        workflow_id=row.workflow_id,
        temporal_url=journey_url(settings, row),
    )


async def journey_detail(
    session: AsyncSession, settings: Settings, workspace_id: int, automation_id: int, journey_id: int
) -> MonitoredJourneyDetail | None:
    """A journey and its steps in order (the latest MAX_STEPS of a long one), with the nodes and edges it went
    through for drawing its path. None: no such journey in this automation."""
    row = (
        await session.execute(
            text(
                f"SELECT {JOURNEY_COLUMNS} FROM journeys j JOIN leads l ON l.id = j.lead_id "
                "WHERE j.id = :j AND j.automation_id = :a AND j.workspace_id = :w"
            ),
            {"j": journey_id, "a": automation_id, "w": workspace_id},
        )
    ).one_or_none()
    if row is None:
        return None
    steps = list(
        await session.execute(
            text(
                "SELECT seq, node_id, node_type, outcome, next_node, at, wake_at, reason, end_status, detail "
                "FROM journey_steps WHERE journey_id = :j ORDER BY seq DESC LIMIT :limit"
            ),
            {"j": journey_id, "limit": MAX_STEPS},
        )
    )
    steps.reverse()
    total = len(steps)
    if total == MAX_STEPS:
        total = (
            await session.execute(text("SELECT count(*) FROM journey_steps WHERE journey_id = :j"), {"j": journey_id})
        ).scalar_one()
    journey = _journey(settings, row)
    shown = [MonitoredJourneyStep.model_validate(step._mapping) for step in steps]
    nodes, edges = path_of(shown, journey.current_node if journey.status in ("active", "waiting") else None)
    return MonitoredJourneyDetail(journey=journey, steps=shown, total_steps=total, nodes=nodes, edges=edges)


def path_of(steps: list[MonitoredJourneyStep], current: str | None) -> tuple[list[str], list[JourneyPathEdge]]:
    """The nodes (the one a running journey is at included) and edges of the steps, each once, first reached first."""
    nodes: dict[str, None] = {}
    edges: dict[tuple[str, str, str], None] = {}
    for step in steps:
        nodes[step.node_id] = None
        if step.outcome is not None and step.next_node is not None:
            edges[(step.node_id, step.outcome, step.next_node)] = None
    if current is not None:
        nodes[current] = None
    return list(nodes), [JourneyPathEdge(source=s, outcome=o, target=t) for s, o, t in edges]
