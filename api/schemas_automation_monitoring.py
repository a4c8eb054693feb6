"""The automation monitoring's shapes (GET /api/automations/{id}/monitor, /errors, /journeys): see
docs/automations.md#monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MonitorMode = Literal["live", "test"]
JourneyStatusName = Literal["active", "waiting", "completed", "exited", "failed", "goal_met"]


class MonitorTotals(BaseModel):
    entered: int = Field(description="Journeys of the automation (in this mode and version)")
    active: int
    waiting: int
    completed: int
    exited: int
    failed: int
    goal_met: int


class MonitorNodeCounts(BaseModel):
    node_id: str
    active: int = Field(description="Journeys whose current node it is, between waits")
    waiting: int = Field(description="Journeys waiting at it (a delay, or a wait for an event)")
    completed: int = Field(description="Journeys that ended at it (the same for exited, failed, goal_met)")
    exited: int
    failed: int
    goal_met: int
    passed: int = Field(description="Steps recorded at the node (a lead going through it twice counts twice)")
    errors: int = Field(description="Steps at the node with an error (a failed action)")
    fallbacks: int = Field(description="Steps that took the node's fallback (a failed or skipped action)")
    retried: int = Field(description="Steps whose action took more than one attempt")


class MonitorOut(BaseModel):
    automation_id: int
    mode: MonitorMode
    version: int | None = Field(description="The version counted; null: all of them")
    versions: list[int] = Field(description="The automation's published versions")
    totals: MonitorTotals
    nodes: list[MonitorNodeCounts] = Field(description="Nodes with anything to count; a node not listed counts zero")
    as_of: datetime


class MonitoredLead(BaseModel):
    id: int
    name: str = Field(description="First and last name; empty when the lead has none")
    email: str | None


class MonitorErrorEntry(BaseModel):
    id: int = Field(description="The step's id: pass the last one as `before` for the next page")
    at: datetime
    journey_id: int
    lead_id: int
    lead: MonitoredLead
    node_id: str
    node_type: str
    error: str = Field(description="The action's error, or the reason the journey failed at the node")
    error_type: str | None = Field(description="The error's type (HTTPError, PermanentSendError...)")
    attempts: int | None = Field(description="Attempts made, when known (all of them once the retries ran out)")
    max_attempts: int | None = Field(description="The node's retry.max_attempts")
    retry_state: str | None = Field(description="Temporal's: MAXIMUM_ATTEMPTS_REACHED, NON_RETRYABLE_FAILURE...")
    fallback_taken: bool
    outcome: str | None = Field(description="The outcome taken (fallback), null when the journey failed there")
    end_status: str | None = Field(description="failed when the journey ended at this step")
    temporal_url: str


class MonitorErrorPage(BaseModel):
    items: list[MonitorErrorEntry] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last page")


class MonitoredJourney(BaseModel):
    id: int
    lead_id: int
    lead: MonitoredLead
    status: JourneyStatusName
    current_node: str | None = Field(description="Where it is, or the node it ended at")
    waiting_until: datetime | None
    entered_at: datetime
    finished_at: datetime | None
    version: int
    entry: int = Field(description="The lead's entry number in the automation")
    mode: str
    trigger_node: str
    end_reason: str | None
    workflow_id: str
    temporal_url: str


class MonitoredJourneyPage(BaseModel):
    items: list[MonitoredJourney] = Field(description="Newest first")
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last page")


class MonitoredJourneyStep(BaseModel):
    seq: int
    node_id: str
    node_type: str
    outcome: str | None
    next_node: str | None
    at: datetime
    wake_at: datetime | None
    reason: str
    end_status: str | None
    detail: dict[str, Any] = Field(description="error, error_type, retry_state, attempts, fallback, why...")


class JourneyPathEdge(BaseModel):
    source: str
    outcome: str
    target: str


class MonitoredJourneyDetail(BaseModel):
    journey: MonitoredJourney
    steps: list[MonitoredJourneyStep] = Field(description="In order (the latest ones when there are more)")
    total_steps: int
    nodes: list[str] = Field(description="The nodes visited, in the order first reached (the current one included)")
    edges: list[JourneyPathEdge] = Field(description="The edges taken, in the order first taken")
