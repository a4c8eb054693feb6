"""Shapes of the automations API (/api/automations): drafts, their problems, published versions, and the list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.automation_graph import GraphProblem

GRAPH = (
    "The builder's graph as it is, valid or not: {nodes, edges, reentry, goals} (docs/automations.md); at most "
    "128,000 bytes of JSON"
)


class GraphProblemOut(BaseModel):
    node_id: str | None = Field(description="The node to show it on; null: the automation as a whole")
    field: str = Field(description='Where in the node ("config.template_id", "outcomes.yes") or the automation')
    message: str
    code: str = Field(description="unknown_ref, dead_end, invalid_shape... (docs/automations.md#validation)")
    severity: Literal["error", "warning"]


def problem_out(problem: GraphProblem) -> GraphProblemOut:
    return GraphProblemOut(
        node_id=problem.node_id,
        field=problem.field,
        message=problem.message,
        code=problem.code,
        severity=problem.severity,
    )


class AutomationIn(BaseModel):
    """A new automation: a draft, which may be invalid (it is checked when published)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Unique in the workspace")
    graph: Any = Field(default=None, description=f"{GRAPH}. Omitted or null: an empty graph")


class AutomationPatch(BaseModel):
    """Changes to the draft: only the fields given change. The published version does not change until the next
    publication."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    graph: Any = Field(default=None, description=GRAPH)


class AutomationVersionSummary(BaseModel):
    version: int
    published_at: datetime
    published_by: int | None = Field(description="The user who published it (null: an API key, or a deleted user)")


class AutomationVersionOut(AutomationVersionSummary):
    graph: dict[str, Any] = Field(description="The published graph, normalised (defaults filled in)")


AutomationStatusName = Literal["draft", "active", "paused", "archived"]
STATUS = (
    "draft: never published, nothing runs; active: triggers start journeys of the published version; paused: "
    "triggers start nothing, running journeys go on"
)


class AutomationOut(BaseModel):
    id: int
    name: str
    status: AutomationStatusName = Field(description=STATUS)
    published_version: int | None = Field(description="The version new journeys enter; null: never published")
    draft: Any = Field(description="The builder's graph as last saved")
    valid: bool = Field(description="The draft has no error (warnings allowed): it can be published as it is")
    problems: list[GraphProblemOut] = Field(description="The draft's problems against the workspace, as /validate")
    versions: list[AutomationVersionSummary] = Field(description="Every publication, newest first")
    created_at: datetime
    updated_at: datetime


class AutomationSummary(BaseModel):
    id: int
    name: str
    status: AutomationStatusName = Field(description=STATUS)
    published_version: int | None
    updated_at: datetime
    running: int = Field(description="Live journeys running now (active or waiting)")
    entered: int = Field(description="Live journeys ever entered, all versions")


class PublishRefusedOut(BaseModel):
    """A publication refused because the draft has errors: nothing was written."""

    message: str
    detail: str = Field(description="The same as message")
    field: str | None = None
    code: Literal["invalid_graph"] = "invalid_graph"
    problems: list[GraphProblemOut]
