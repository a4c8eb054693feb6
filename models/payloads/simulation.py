"""The simulator's payloads (#10): what AutomationSimulationWorkflow and its activity exchange (ids only: the graph
and the leads chosen are in the `automation_simulations` row), and the results it stores there, which the API
returns as they are. See docs/automations.md#simulator-and-test-mode."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MAX_SIMULATED_LEADS = 200
DEFAULT_SIMULATED_LEADS = 50
# What a simulation assumes of the world: nobody opens, clicks or does anything the journey waits for.
ASSUMED = "no events arrive; every wait_for_event times out"
SIMULATION_REFUSED = "SimulationRefused"  # the row, its automation or its graph cannot be simulated: not retried

LeadEnd = Literal["completed", "exited", "failed", "goal_met", "unfinished", "not_entered"]


class SimulationInput(BaseModel):
    simulation_id: int
    workspace_id: int


class SimulationFailure(BaseModel):
    simulation_id: int
    workspace_id: int
    error: str


class SimulationSummary(BaseModel):
    """The workflow's result: the row has the details."""

    simulation_id: int
    status: Literal["done", "failed"]
    leads: int = 0
    entered: int = 0


class SimulatedStep(BaseModel):
    """One decision of a simulated journey, at its simulated date."""

    node_id: str
    node_type: str
    outcome: str | None = None
    next_node: str | None = None
    at: datetime = Field(description="When the step began (a wait: when it started waiting), simulated")
    wake_at: datetime | None = Field(default=None, description="A delay or wait: when it ended (or times out)")
    reason: str = ""
    end: str | None = Field(default=None, description="Why the journey stopped here (completed, exited...)")
    detail: dict[str, Any] = Field(
        default_factory=dict, description="The dry run's description (`would`), a skip's reason (`why`), errors..."
    )

    @classmethod
    def of_row(cls, row: Any) -> SimulatedStep:
        """A `journey_steps` row (a table row or a raw one, whose `detail` may still be JSON text) as a step."""
        detail = row.detail
        return cls(
            node_id=row.node_id,
            node_type=row.node_type,
            outcome=row.outcome,
            next_node=row.next_node,
            at=row.at,
            wake_at=row.wake_at,
            reason=row.reason,
            end=row.end_status,
            detail=detail if isinstance(detail, dict) else json.loads(detail or "{}"),
        )


class SimulatedLead(BaseModel):
    lead_id: int
    name: str = ""
    entered: bool
    end: LeadEnd
    reason: str = Field(default="", description="The end's reason, or why the lead did not enter")
    journey_id: int | None = None
    reentry: str = Field(
        default="",
        description="What the re-entry policy would say of a live trigger for this lead now (first_entry, "
        "entered_before, already_active...); the simulation runs the journey whatever it says",
    )
    waiting_at: str | None = Field(default=None, description="unfinished: the node it was waiting at")
    waiting_until: datetime | None = None
    path: list[SimulatedStep] = Field(default_factory=list)


class NodeCount(BaseModel):
    passed: int = Field(default=0, description="Steps taken at the node (a node reached twice in a loop counts twice)")
    outcomes: dict[str, int] = Field(default_factory=dict, description="Steps per outcome taken")
    ended: int = Field(default=0, description="Journeys that ended at the node")
    waiting: int = Field(default=0, description="Unfinished journeys still waiting at the node")


class WouldSend(BaseModel):
    """Something a journey would have sent: a message to the lead, a notification to a user, a webhook call."""

    kind: Literal["message", "notification", "webhook"]
    lead_id: int
    node_id: str
    at: datetime
    description: str = Field(description="The dry run's own words, addresses masked")
    channel: str | None = None
    template_id: int | None = None
    template_name: str | None = None
    to: str | None = Field(default=None, description="The address, masked")
    subject: str | None = Field(default=None, description="Email: the subject rendered for the lead")
    preview: str | None = Field(default=None, description="SMS / WhatsApp: the start of the text rendered for the lead")


class SimulationResults(BaseModel):
    assumed: str = ASSUMED
    trigger_node: str
    version: int
    started_at: datetime = Field(description="The simulated clock when the leads entered")
    ended_at: datetime = Field(description="The simulated clock when the last journey ended (or the horizon)")
    leads: list[SimulatedLead]
    nodes: dict[str, NodeCount] = Field(description="Per node id")
    would_send: list[WouldSend]
    totals: dict[str, int] = Field(description="leads, entered, and per end (completed, exited, unfinished...)")
    unfinished: str | None = Field(
        default=None, description="Why some journeys were stopped before their end (the horizon or the time limit)"
    )
