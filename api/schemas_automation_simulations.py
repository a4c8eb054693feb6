"""Shapes of the simulator and test mode (/api/automations/{id}/simulations, /test-runs): see
docs/automations.md#simulator-and-test-mode. The results are models/payloads/simulation.py's, as the activity
stored them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas_automations import GraphProblemOut
from models.payloads.automation import SimulatedEngagement
from models.payloads.simulation import (
    DEFAULT_SIMULATED_LEADS,
    MAX_SIMULATED_LEADS,
    SimulatedStep,
    SimulationResults,
)

GRAPH = "The graph to run, as the builder has it (it must have no error); omitted: the automation's saved draft"
MAX_TEST_DELAY = 3600

SimulationStatusName = Literal["queued", "running", "done", "failed"]
JourneyStatusName = Literal["active", "waiting", "completed", "exited", "failed", "goal_met"]


class SimulationIn(BaseModel):
    """Which leads to simulate: `lead_ids`, or a lead `filter` (the first `limit` leads matching it, by id)."""

    model_config = ConfigDict(extra="forbid")

    lead_ids: list[int] | None = Field(default=None, min_length=1, max_length=MAX_SIMULATED_LEADS)
    filter: dict[str, Any] | None = Field(default=None, description="A lead filter tree (docs/filters.md)")
    limit: int = Field(default=DEFAULT_SIMULATED_LEADS, ge=1, le=MAX_SIMULATED_LEADS)
    graph: Any = Field(default=None, description=GRAPH)
    trigger_node: str | None = Field(
        default=None, max_length=64, description="The trigger the leads enter at; omitted: the graph's first"
    )
    engagement: SimulatedEngagement = Field(
        default="none",
        description="What every lead does with each message sent to it, at once: nothing (waits for an open or a "
        "click time out), `opens` it, or `clicks` it (a click is an open too)",
    )


class SimulationStarted(BaseModel):
    id: int
    status: SimulationStatusName
    workflow_id: str


class SimulationOut(BaseModel):
    id: int
    automation_id: int
    status: SimulationStatusName = Field(description="queued, running, done (see `results`), failed (see `error`)")
    version: int = Field(description="The published version simulated; 0: the draft")
    trigger_node: str | None
    selection: dict[str, Any] = Field(
        description='{"lead_ids": [...]} or {"filter": {...}, "limit": n}, with "engagement" when not "none"'
    )
    graph: dict[str, Any] = Field(description="The graph simulated, normalised")
    results: SimulationResults | None = None
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class SimulationSummaryOut(BaseModel):
    id: int
    status: SimulationStatusName
    version: int
    selection: dict[str, Any]
    totals: dict[str, int] | None = Field(default=None, description="The results' totals, once done")
    created_at: datetime
    finished_at: datetime | None = None


class GraphRefusedOut(BaseModel):
    """The graph given (or the saved draft) has errors: nothing was started."""

    message: str
    field: str | None = "graph"
    code: Literal["invalid_graph"] = "invalid_graph"
    problems: list[GraphProblemOut]


class TestRunIn(BaseModel):
    """A real journey for one lead, every delay and wait cut to `max_delay_seconds`: its messages are sent."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")

    lead_id: int = Field(ge=1)
    max_delay_seconds: int = Field(default=30, ge=1, le=MAX_TEST_DELAY)
    graph: Any = Field(default=None, description=GRAPH)
    trigger_node: str | None = Field(default=None, max_length=64)


class TestRunOut(BaseModel):
    __test__ = False

    workflow_id: str
    automation_id: int
    lead_id: int
    version: int = Field(description="The published version run; 0: the draft")
    trigger_node: str
    event_id: str
    max_delay_seconds: int


class TestRunProgressOut(BaseModel):
    __test__ = False

    workflow_id: str
    journey_id: int | None = Field(description="null: the journey has not recorded itself yet")
    status: JourneyStatusName | None = None
    current_node: str | None = None
    waiting_until: datetime | None = None
    end_reason: str | None = None
    path: list[SimulatedStep] = Field(default_factory=list, description="Its steps so far, in order")
