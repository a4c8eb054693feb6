"""What JourneyWorkflow and its activities exchange (activities/journey_activities.py): ids, one node's settings,
and small results. Lead data stays in the database; a dry run's description masks addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.payloads.automation import JourneyEnd, JourneyMode, JourneyStep, Node

# Why an action activity gave up for good (non-retryable ApplicationError types, see the activities' docstrings).
ACTION_FAILED = "ActionFailed"  # the action cannot succeed for this lead (provider refusal, HTTP 4xx...)
CONFIGURATION_ERROR = "ConfigurationError"  # the definition or the workspace is wrong (template, secret...)
TEMPLATE_ERROR = "TemplateError"
LEAD_GONE = "LeadGone"  # the lead was deleted: the journey ends (exited)
JOURNEY_GONE = "JourneyGone"  # the journeys row is gone (automation or lead deleted)
NON_RETRYABLE = [ACTION_FAILED, CONFIGURATION_ERROR, TEMPLATE_ERROR, LEAD_GONE, JOURNEY_GONE]


class BeginJourney(BaseModel):
    workspace_id: int
    automation_id: int
    version: int
    lead_id: int
    workflow_id: str
    first_run_id: str
    mode: JourneyMode
    trigger_node: str
    trigger_event_id: str


class JourneyRef(BaseModel):
    journey_id: int
    entry: int
    duplicate: bool = Field(
        default=False, description="Another journey of the lead in this automation entered on the same trigger event"
    )


class RecordSteps(BaseModel):
    """Steps `first_seq`, `first_seq + 1`... of the journey (an attempt that repeats them changes nothing), and the
    journey's state now."""

    journey_id: int
    automation_id: int
    first_seq: int
    steps: list[JourneyStep] = Field(default_factory=list)
    status: Literal["active", "waiting", "completed", "exited", "failed", "goal_met"]
    current_node: str | None = None
    waiting_until: datetime | None = None
    end_reason: str | None = None


class LeadTimingInput(BaseModel):
    workspace_id: int
    lead_id: int
    field: str | None = Field(default=None, description="A custom (date) field whose value is wanted")


class LeadTiming(BaseModel):
    timezone: str
    workspace_timezone: str
    value: Any = None


class ConditionInput(BaseModel):
    workspace_id: int
    lead_id: int
    journey_id: int
    kind: Literal["filter", "engagement"]
    filter: dict[str, Any] | None = None
    node: str | None = Field(default=None, description="engagement: the send node whose message is looked at")


class ConditionResult(BaseModel):
    matched: bool = False
    opened: bool = False
    clicked: bool = False


class GoalFilter(BaseModel):
    index: int
    filter: dict[str, Any]


class ActionInput(BaseModel):
    """One action node of one journey. `seq` is the step's number in the journey: with the journey it is the
    idempotency key of what the action does (a delivery, a field change, a round-robin turn...)."""

    workspace_id: int
    automation_id: int
    version: int
    lead_id: int
    journey_id: int
    entry: int
    workflow_id: str
    seq: int
    node: Node
    mode: JourneyMode = "live"
    goal_filters: list[GoalFilter] = Field(default_factory=list, description="Checked first: met, nothing is done")
    max_attempts: int = Field(default=1, description="The node's retry.max_attempts: the last attempt records")


class ActionOutcome(BaseModel):
    result: Literal["succeeded", "skipped", "goal_met"]
    reason: str = ""
    goal: int | None = Field(default=None, description="goal_met: the index of the filter goal")
    message_id: str | None = Field(default=None, description="send_message: the journey's message (delivery id)")
    detail: dict[str, Any] = Field(default_factory=dict)
    attempt: int = 1


class JourneyProgress(BaseModel):
    """The `state` query: where the journey is and where it has been."""

    journey_id: int | None
    entry: int | None
    version: int
    mode: JourneyMode
    status: Literal["active", "waiting", "completed", "exited", "failed", "goal_met"]
    node_id: str
    waiting_until: datetime | None = None
    steps: int
    path: list[str]
    sent_messages: dict[str, str]
    end: JourneyEnd | None = None
    reason: str | None = None


class JourneyOutcome(BaseModel):
    """JourneyWorkflow's result."""

    journey_id: int | None
    end: JourneyEnd
    reason: str
    node_id: str
    steps: int
    path: list[str]
