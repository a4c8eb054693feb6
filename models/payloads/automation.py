"""An automation's definition: a graph of trigger, condition, action and delay nodes (the visual builder's document,
JourneyWorkflow's input), and the small payloads a journey exchanges (the events it reacts to, the steps it logs).

Only shapes are checked here (types, formats, ranges that need no context). The rules that need the whole graph or
the workspace (each node's outgoing handles, reachability, cycles, references to earlier sends, filters, templates,
lists, users...) are in `domain.automation_graph.validate_graph`, which names the node at fault; the decisions a
journey takes at each node are in `domain.journey_steps`. Everything is JSON: ids and settings, no lead data.
See docs/automations.md.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from models.payloads.campaign_flow import ALL_WEEKDAYS, Channel, Duration, HourMinute

NODE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # builder ids (nanoid, uuid) and hand-written slugs
OUTCOME_PATTERN = r"^[a-z0-9_-]{1,40}$"
EVENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
FIELD_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"  # a custom field key (domain/custom_fields.py KEY_PATTERN)
UPDATE_FIELD_PATTERN = r"^(status|score|custom\.[a-z][a-z0-9_]{0,63})$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"
SECRET_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"
TEMPLATE_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
MAX_ID = 2**31 - 1
MAX_OFFSET_DAYS = 3650
MAX_GRAPH_NODES = 1000  # a shape bound only; validate_graph applies the real limit (GraphContext.max_nodes)
MAX_GRAPH_EDGES = 5000
MAX_GOALS = 20
MAX_SPLIT_BRANCHES = 10
MAX_ROUND_ROBIN_USERS = 100
MAX_WEBHOOK_HEADERS = 20
MAX_TEMPLATE_TEXT = 20_000
MAX_CUSTOM_TEXT = 2000
# Header names that carry credentials (or that the HTTP client owns): secrets never sit inline in a definition,
# which every editor and every journey's history can read. A workspace secret is referenced by name instead.
FORBIDDEN_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "host", "content-length", "transfer-encoding",
     "connection"}
)  # fmt: skip
CREDENTIAL_HINTS = ("token", "secret", "password", "passwd", "api-key", "apikey", "api_key", "auth", "session")

# Retries of an action: exponential backoff from the node's initial interval, doubling up to this ceiling.
RETRY_BACKOFF = 2.0
RETRY_MAX_INTERVAL = timedelta(minutes=10)

NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
Outcome = Annotated[str, StringConstraints(pattern=OUTCOME_PATTERN)]
EventName = Annotated[str, StringConstraints(pattern=EVENT_NAME_PATTERN)]
FieldKey = Annotated[str, StringConstraints(pattern=FIELD_KEY_PATTERN)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
StatusName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Weekday = Annotated[int, Field(ge=0, le=6)]
OffsetDays = Annotated[int, Field(ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS)]
FilterTree = dict[str, Any]  # a react-querybuilder lead filter (docs/filters.md), checked by domain.filters
# A custom field value as JSON: checked against the field's type by validate_graph.
FieldValue = (
    bool
    | int
    | Annotated[float, Field(allow_inf_nan=False)]
    | Annotated[str, StringConstraints(max_length=MAX_CUSTOM_TEXT)]
    | None
)
Reentry = Literal["once_ever", "once_at_a_time", "every_time"]
Interaction = Literal["opened", "clicked", "unsubscribed"]
Category = Literal["trigger", "condition", "action", "delay"]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Triggers ---------------------------------------------------------------------------------------------------------


class _TriggerConfig(_Shape):
    filter: FilterTree | None = Field(
        default=None, description="Enrollment condition: only leads matching it when the trigger fires enter"
    )


class LeadStatusChangedConfig(_TriggerConfig):
    to_status: StatusName
    from_status: StatusName | None = Field(default=None, description="None: from any status")


class LeadCreatedConfig(_TriggerConfig):
    sources: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20, description="Lead sources (api, upsert, import, form...); empty: any"
    )


class AddedToListConfig(_TriggerConfig):
    list_id: Id


class TagAddedConfig(_TriggerConfig):
    tag: TagName


class CustomFieldChangedConfig(_TriggerConfig):
    field: FieldKey
    to_value: FieldValue = Field(default=None, description="None: any change of the field")


class ExternalEventConfig(_TriggerConfig):
    """An event posted to POST /api/events, or sent by a form or a webhook, under this name."""

    event: EventName


class CampaignInteractionConfig(_TriggerConfig):
    interaction: Interaction
    campaign_id: Id | None = Field(default=None, description="None: any campaign")


class DateFieldConfig(_TriggerConfig):
    """Fires on the lead's date (a custom date field) + offset_days, at `time` in the lead's timezone; run by a
    Temporal Schedule. every_year: on each anniversary (birthdays); otherwise once, on the date itself."""

    field: FieldKey
    offset_days: OffsetDays = 0
    time: HourMinute = "09:00"
    every_year: bool = False


class RecurringScheduleConfig(_Shape):
    """Every run enters the leads matching `filter` (re-entry policy permitting), in the workspace's timezone."""

    frequency: Literal["daily", "weekly", "monthly"]
    time: HourMinute
    weekday: Weekday | None = Field(default=None, description="weekly: Monday = 0")
    day_of_month: int | None = Field(default=None, ge=1, le=28, description="monthly: 1-28 (every month has it)")
    filter: FilterTree = Field(description="The audience of each run")

    @model_validator(mode="after")
    def _cadence_fields(self) -> RecurringScheduleConfig:
        if (self.frequency == "weekly") != (self.weekday is not None):
            raise ValueError("'weekday' is required for a weekly schedule and only for it")
        if (self.frequency == "monthly") != (self.day_of_month is not None):
            raise ValueError("'day_of_month' is required for a monthly schedule and only for it")
        return self


# --- Conditions -------------------------------------------------------------------------------------------------------


class FilterConditionConfig(_Shape):
    filter: FilterTree


class EngagementConditionConfig(_Shape):
    """yes when the lead opened (or clicked) the message sent by send_message node `node` of this journey."""

    node: NodeId
    event: Literal["opened", "clicked"]


class SplitBranch(_Shape):
    key: Outcome = Field(description="The branch's outcome (edge handle)")
    percent: int = Field(ge=1, le=99)
    label: str | None = Field(default=None, max_length=80)


class RandomSplitConfig(_Shape):
    branches: list[SplitBranch] = Field(min_length=2, max_length=MAX_SPLIT_BRANCHES)


# --- Actions ----------------------------------------------------------------------------------------------------------


class RetrySettings(_Shape):
    """How often a failing action is tried before its `fallback` outcome is taken (or the journey fails)."""

    max_attempts: int = Field(default=5, ge=1, le=10)
    initial_interval_seconds: int = Field(default=30, ge=1, le=3600)

    def initial_interval(self) -> timedelta:
        return timedelta(seconds=self.initial_interval_seconds)

    def maximum_interval(self) -> timedelta:
        return max(self.initial_interval(), RETRY_MAX_INTERVAL)


class _ActionConfig(_Shape):
    retry: RetrySettings = Field(default_factory=RetrySettings)


class SendMessageConfig(_ActionConfig):
    channel: Channel
    template_id: Id
    template_version: int | None = Field(default=None, ge=1, description="None: the version current at send time")


class UpdateFieldConfig(_ActionConfig):
    field: Annotated[str, StringConstraints(pattern=UPDATE_FIELD_PATTERN)] = Field(
        description="status, score or custom.<key>"
    )
    operation: Literal["set", "increment"] = "set"
    value: FieldValue = Field(description="set: the new value (None clears a custom field); increment: the amount")


class TagConfig(_ActionConfig):
    tag: TagName


class ListConfig(_ActionConfig):
    list_id: Id


class AssignOwnerConfig(_ActionConfig):
    mode: Literal["user", "round_robin"] = "user"
    user_id: Id | None = None
    user_ids: list[Id] = Field(default_factory=list, max_length=MAX_ROUND_ROBIN_USERS)

    @model_validator(mode="after")
    def _mode_fields(self) -> AssignOwnerConfig:
        if self.mode == "user" and (self.user_id is None or self.user_ids):
            raise ValueError("mode 'user' needs 'user_id' (and no 'user_ids')")
        if self.mode == "round_robin":
            if self.user_id is not None or not self.user_ids:
                raise ValueError("mode 'round_robin' needs 'user_ids' (and no 'user_id')")
            if len(set(self.user_ids)) != len(self.user_ids):
                raise ValueError("'user_ids' lists a user more than once")
        return self


class NotifyUserConfig(_ActionConfig):
    """An email to a workspace user; subject and body are template text rendered with the lead (sandboxed)."""

    recipient: Literal["user", "owner"] = "owner"
    user_id: Id | None = None
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=MAX_TEMPLATE_TEXT)

    @model_validator(mode="after")
    def _recipient_fields(self) -> NotifyUserConfig:
        if (self.recipient == "user") != (self.user_id is not None):
            raise ValueError("'user_id' is required for recipient 'user' and only for it")
        return self


class CallWebhookConfig(_ActionConfig):
    """An HTTP call; `url` (path and query) and `body` are template text. Credentials are never inline: name a
    workspace secret in `auth_secret` and the activity sends its value as the Authorization header."""

    url: str = Field(min_length=1, max_length=2000)
    method: Literal["POST", "PUT", "PATCH", "GET", "DELETE"] = "POST"
    headers: dict[Annotated[str, StringConstraints(pattern=HEADER_NAME_PATTERN)], str] = Field(
        default_factory=dict, max_length=MAX_WEBHOOK_HEADERS
    )
    auth_secret: Annotated[str, StringConstraints(pattern=SECRET_NAME_PATTERN)] | None = None
    body: str | None = Field(default=None, max_length=MAX_TEMPLATE_TEXT)
    timeout_seconds: int = Field(default=10, ge=1, le=30)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if any(ch.isspace() for ch in TEMPLATE_TAGS.sub("", value)):
            raise ValueError("a URL has no spaces (outside template tags)")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as error:
            raise ValueError(f"not a valid URL: {error}") from error
        if parts.scheme not in ("http", "https"):
            raise ValueError("the URL must start with https:// (or http://)")
        if not parts.hostname or "{" in parts.netloc:
            raise ValueError("the URL needs a fixed host name (templates only in the path and query)")
        if parts.username is not None or parts.password is not None:
            raise ValueError("no credentials in the URL: use 'auth_secret'")
        return value

    @field_validator("headers")
    @classmethod
    def _no_inline_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            lowered = name.lower()
            if lowered in FORBIDDEN_HEADERS or any(hint in lowered for hint in CREDENTIAL_HINTS):
                raise ValueError(f"header {name!r} may not be set inline: put credentials in a secret ('auth_secret')")
            if len(header) > 1000 or "\r" in header or "\n" in header:
                raise ValueError(f"header {name!r}: at most 1000 characters on one line")
        return value

    @model_validator(mode="after")
    def _body_method(self) -> CallWebhookConfig:
        if self.method == "GET" and self.body is not None:
            raise ValueError("a GET request has no body")
        return self


class StartAutomationConfig(_ActionConfig):
    automation_id: Id


class ExitConfig(_Shape):
    pass


# --- Delays -----------------------------------------------------------------------------------------------------------


class WaitDurationConfig(_Shape):
    duration: Duration


class WaitUntilTimeOfDayConfig(_Shape):
    """Until the next `time` in the lead's timezone (on one of `weekdays`, Monday = 0)."""

    time: HourMinute
    weekdays: list[Weekday] = Field(default_factory=lambda: list(ALL_WEEKDAYS), min_length=1)

    @field_validator("weekdays")
    @classmethod
    def _unique_sorted(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class WaitUntilDateFieldConfig(_Shape):
    """Until the lead's date field + offset_days at `time` (lead's timezone); every_year: its next anniversary.
    A lead without the date takes `skipped`; a date already past continues at once or takes `skipped` (when_past)."""

    field: FieldKey
    offset_days: OffsetDays = 0
    time: HourMinute = "09:00"
    every_year: bool = False
    when_past: Literal["continue", "skip"] = "continue"


class MessageEvent(_Shape):
    """The lead opened / clicked the message sent by send_message node `node` of this journey (a click also
    counts as an open)."""

    kind: Literal["opened", "clicked"]
    node: NodeId


class ExternalEvent(_Shape):
    kind: Literal["external_event"] = "external_event"
    name: EventName


class StatusChangedEvent(_Shape):
    kind: Literal["status_changed"] = "status_changed"
    to_status: StatusName | None = Field(default=None, description="None: any status change")


class TagAddedEvent(_Shape):
    kind: Literal["tag_added"] = "tag_added"
    tag: TagName


class ConvertedEvent(_Shape):
    kind: Literal["converted"] = "converted"


EventSpec = Annotated[
    MessageEvent | ExternalEvent | StatusChangedEvent | TagAddedEvent | ConvertedEvent, Field(discriminator="kind")
]


class WaitForEventConfig(_Shape):
    event: EventSpec
    timeout: Duration


# --- Nodes ------------------------------------------------------------------------------------------------------------


class Position(_Shape):
    """Where the builder draws the node; ignored by everything else."""

    x: float = Field(ge=-1e7, le=1e7, allow_inf_nan=False)
    y: float = Field(ge=-1e7, le=1e7, allow_inf_nan=False)


class _Node(_Shape):
    category: ClassVar[Category]

    id: NodeId
    label: str | None = Field(default=None, max_length=80)
    position: Position | None = None


class LeadStatusChangedNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["lead_status_changed"]
    config: LeadStatusChangedConfig


class LeadCreatedNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["lead_created"]
    config: LeadCreatedConfig = Field(default_factory=LeadCreatedConfig)


class AddedToListNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["added_to_list"]
    config: AddedToListConfig


class TagAddedNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["tag_added"]
    config: TagAddedConfig


class CustomFieldChangedNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["custom_field_changed"]
    config: CustomFieldChangedConfig


class ExternalEventNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["external_event"]
    config: ExternalEventConfig


class CampaignInteractionNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["campaign_interaction"]
    config: CampaignInteractionConfig


class DateFieldNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["date_field"]
    config: DateFieldConfig


class RecurringScheduleNode(_Node):
    category: ClassVar[Category] = "trigger"
    type: Literal["recurring_schedule"]
    config: RecurringScheduleConfig


class FilterNode(_Node):
    category: ClassVar[Category] = "condition"
    type: Literal["filter"]
    config: FilterConditionConfig


class EngagementNode(_Node):
    category: ClassVar[Category] = "condition"
    type: Literal["engagement"]
    config: EngagementConditionConfig


class RandomSplitNode(_Node):
    category: ClassVar[Category] = "condition"
    type: Literal["random_split"]
    config: RandomSplitConfig


class SendMessageNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["send_message"]
    config: SendMessageConfig


class UpdateFieldNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["update_field"]
    config: UpdateFieldConfig


class AddTagNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["add_tag"]
    config: TagConfig


class RemoveTagNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["remove_tag"]
    config: TagConfig


class AddToListNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["add_to_list"]
    config: ListConfig


class RemoveFromListNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["remove_from_list"]
    config: ListConfig


class AssignOwnerNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["assign_owner"]
    config: AssignOwnerConfig


class NotifyUserNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["notify_user"]
    config: NotifyUserConfig


class CallWebhookNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["call_webhook"]
    config: CallWebhookConfig


class StartAutomationNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["start_automation"]
    config: StartAutomationConfig


class ExitNode(_Node):
    category: ClassVar[Category] = "action"
    type: Literal["exit"]
    config: ExitConfig = Field(default_factory=ExitConfig)


class WaitDurationNode(_Node):
    category: ClassVar[Category] = "delay"
    type: Literal["wait_duration"]
    config: WaitDurationConfig


class WaitUntilTimeOfDayNode(_Node):
    category: ClassVar[Category] = "delay"
    type: Literal["wait_until_time_of_day"]
    config: WaitUntilTimeOfDayConfig


class WaitUntilDateFieldNode(_Node):
    category: ClassVar[Category] = "delay"
    type: Literal["wait_until_date_field"]
    config: WaitUntilDateFieldConfig


class WaitForEventNode(_Node):
    category: ClassVar[Category] = "delay"
    type: Literal["wait_for_event"]
    config: WaitForEventConfig


TriggerNode = (
    LeadStatusChangedNode
    | LeadCreatedNode
    | AddedToListNode
    | TagAddedNode
    | CustomFieldChangedNode
    | ExternalEventNode
    | CampaignInteractionNode
    | DateFieldNode
    | RecurringScheduleNode
)
ConditionNode = FilterNode | EngagementNode | RandomSplitNode
ActionNode = (
    SendMessageNode
    | UpdateFieldNode
    | AddTagNode
    | RemoveTagNode
    | AddToListNode
    | RemoveFromListNode
    | AssignOwnerNode
    | NotifyUserNode
    | CallWebhookNode
    | StartAutomationNode
    | ExitNode
)
DelayNode = WaitDurationNode | WaitUntilTimeOfDayNode | WaitUntilDateFieldNode | WaitForEventNode
Node = Annotated[TriggerNode | ConditionNode | ActionNode | DelayNode, Field(discriminator="type")]
SCHEDULED_TRIGGERS = (DateFieldNode, RecurringScheduleNode)  # started by a Temporal Schedule, not by a lead event


class Edge(_Shape):
    """From `source`'s outcome (the builder's source handle) to `target`."""

    id: str | None = Field(default=None, min_length=1, max_length=100, description="The builder's edge id")
    source: NodeId
    outcome: Outcome
    target: NodeId


# --- The automation ---------------------------------------------------------------------------------------------------


class FilterGoal(_Shape):
    """Met when the lead matches the filter (checked before each action)."""

    kind: Literal["filter"] = "filter"
    filter: FilterTree
    label: str | None = Field(default=None, max_length=80)


class EventGoal(_Shape):
    """Met when this event happens to the lead while it is in the journey."""

    kind: Literal["event"] = "event"
    event: EventSpec
    label: str | None = Field(default=None, max_length=80)


Goal = Annotated[FilterGoal | EventGoal, Field(discriminator="kind")]


class AutomationGraph(_Shape):
    """One version of an automation: what the builder saves, validate_graph checks and JourneyWorkflow runs."""

    nodes: list[Node] = Field(default_factory=list, max_length=MAX_GRAPH_NODES)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_GRAPH_EDGES)
    reentry: Reentry = Field(
        default="once_ever",
        description="once_ever: a lead enters once; once_at_a_time: again after its journey ended; every_time: "
        "on every trigger, even while a journey of the lead runs",
    )
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS, description="Met: the lead exits at once")


# --- What a journey exchanges -----------------------------------------------------------------------------------------

EventKind = Literal[
    "lead_created",
    "status_changed",
    "added_to_list",
    "tag_added",
    "field_changed",
    "external_event",
    "campaign_interaction",
    "message_opened",
    "message_clicked",
    "converted",
    "scheduled",
]


class JourneyEvent(_Shape):
    """Something that happened to a lead, as the trigger dispatcher and a journey's signals carry it. Only the
    fields of its kind are set. `event_id` deduplicates (a journey ignores an id it has seen)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EventKind
    event_id: str = Field(min_length=1, max_length=200)
    lead_id: Id
    occurred_at: AwareDatetime | None = None
    from_status: str | None = None  # status_changed
    to_status: str | None = None  # status_changed
    list_id: int | None = None  # added_to_list
    tags: tuple[str, ...] = ()  # tag_added: the tags added by this change
    field: str | None = None  # field_changed: the custom field key
    value: FieldValue = None  # field_changed: the new value (None: removed)
    name: str | None = None  # external_event
    source: str | None = None  # lead_created
    interaction: Interaction | None = None  # campaign_interaction
    campaign_id: int | None = None  # campaign_interaction
    node_id: str | None = None  # message_*: the journey's send node; scheduled: the trigger node that fired
    message_id: str | None = None  # message_*: the id the journey gave the message when sending it
    machine: bool = False  # an automated open/click (scanner, proxy): never triggers or satisfies anything
    data: dict[str, Any] = Field(default_factory=dict)  # external_event properties, for templates


JourneyMode = Literal["live", "test", "simulation"]
# What a simulation assumes its leads do with the messages a journey sends them: nothing, open each one at once, or
# click each one at once (a click counts as an open).
SimulatedEngagement = Literal["none", "opens", "clicks"]
JourneyEnd = Literal["completed", "exited", "failed", "goal_met"]


class JourneyState(BaseModel):
    """What a journey carries across continue-as-new: where it is and what it must remember."""

    node_id: str
    steps: int = 0
    sent_messages: dict[str, str] = Field(default_factory=dict, description="send node id -> message id")
    seen_event_ids: list[str] = Field(default_factory=list, description="The latest ids, for deduplication")
    journey_id: int | None = Field(default=None, description="Its `journeys` row, once recorded")
    entry: int | None = Field(default=None, description="The lead's entry number in the automation (1, 2, ...)")
    wake_at: AwareDatetime | None = Field(default=None, description="A wait under way at node_id ends then")
    waited_from: AwareDatetime | None = Field(default=None, description="...and began then")
    path: list[str] = Field(default_factory=list, description="The latest nodes visited, oldest first")
    engaged: list[tuple[str, str]] = Field(
        default_factory=list, description="(message id, opened/clicked) of this journey's messages, by people"
    )


class JourneyInput(BaseModel):
    """JourneyWorkflow's input: ids and the definition of the version the lead entered (it keeps it to the end)."""

    workspace_id: int
    automation_id: int
    version: int
    lead_id: int
    trigger_node: str
    trigger_event: JourneyEvent
    graph: AutomationGraph
    mode: JourneyMode = "live"
    max_delay_seconds: int | None = Field(
        default=None, ge=0, description="Test mode: every delay and event timeout is cut to at most this"
    )
    simulated_engagement: SimulatedEngagement = Field(
        default="none", description="Simulation mode: the opens and clicks assumed of every message sent"
    )
    state: JourneyState | None = None


class JourneyStep(BaseModel):
    """One decision of a journey, for its log, the monitoring and the simulator: the node, the outcome taken, the
    next node, and when a delay ends. `end` says why the journey stops here (None: it goes on)."""

    node_id: str
    node_type: str
    at: datetime
    outcome: str | None
    next_node: str | None
    wake_at: datetime | None = None
    reason: str = ""
    end: JourneyEnd | None = None
    detail: dict[str, Any] = Field(
        default_factory=dict, description="What the monitoring shows: errors, retries, the fallback taken, a skip"
    )
