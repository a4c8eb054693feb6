"""The automation builder's check of a draft graph (#10): nothing is stored. See docs/automations.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.automation_context import graph_context
from api.context import guard
from api.schemas_automations import GraphProblemOut, problem_out
from api.scoping import ScopeDep
from domain.automation_graph import has_errors, parse_graph, validate_graph
from domain.permissions import Permission
from models.payloads.automation import AutomationGraph

router = APIRouter(prefix="/api/automations", tags=["automations"])


class DraftIn(BaseModel):
    graph: Any = Field(
        description="The builder's graph as it is, valid or not: {nodes, edges, reentry, goals} (docs/automations.md)"
    )


class DraftCheckOut(BaseModel):
    valid: bool = Field(description="No error (warnings allowed): the graph could be published as it is")
    problems: list[GraphProblemOut]
    graph: AutomationGraph | None = Field(
        description="The graph with its defaults filled in; null when its shape is wrong (see `problems`)"
    )


@router.post("/validate", response_model=DraftCheckOut, **guard(Permission.campaigns_write))
async def validate_draft(body: DraftIn, scope: ScopeDep) -> DraftCheckOut:
    """Every problem of a draft automation, each naming its node and field, against the caller's workspace
    (templates and their channels and versions, lists and their kinds, members, campaigns, statuses and custom
    fields). An invalid draft is an answer, not an error: 200 with `valid` false."""
    graph, problems = parse_graph(body.graph)
    if graph is not None:
        problems = validate_graph(graph, await graph_context(scope, graph))
    return DraftCheckOut(
        valid=not has_errors(problems),
        problems=[problem_out(problem) for problem in problems],
        graph=graph,
    )
