"""Automation graphs: the rules a definition must follow before it is published, and how a journey moves through it.

A graph is nodes joined by edges from a node's *outcome* (the builder's source handle) to another node. What each
node type offers (see `outcomes`):
- triggers: `next` (required);
- conditions: `yes` and `no` (filter, engagement), one outcome per branch key (random_split), all required;
- actions: `next` and `fallback`, both optional. An action whose `next` is not connected ends the journey once it
  has run (a *terminal* action: the journey completes); without `fallback`, an action that fails for good ends the
  journey as failed. `exit` has no outcome: the lead leaves at once;
- delays: `next` (required); wait_until_date_field also `skipped` (optional: not connected, a skipped lead's
  journey completes); wait_for_event `event` and `timeout` (both required).
So a dead end, a required outcome left unconnected, is an error; ending the journey is said with an `exit` node or by
leaving an action's `next` open.

A cycle must pass through a delay that always waits (wait_duration, wait_until_time_of_day, wait_for_event, or a
yearly wait_until_date_field): otherwise a journey could run its loop forever without ever yielding. A
one-time date wait does not count, since a date already past continues at once.

Everything here is pure: the workspace's known ids come in through `GraphContext`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from pydantic import ValidationError

from domain.custom_fields import CustomFieldError, FieldDefinition, validate_custom_values
from domain.filters import FilterContext, FilterError, compile_filter, parse_filter
from domain.rendering import environment
from models.payloads.automation import (
    MAX_CUSTOM_TEXT,
    AddedToListNode,
    AddToListNode,
    AssignOwnerNode,
    AutomationGraph,
    CallWebhookNode,
    CampaignInteractionNode,
    CustomFieldChangedNode,
    DateFieldNode,
    EngagementNode,
    EventGoal,
    EventSpec,
    ExitNode,
    ExternalEventNode,
    FieldValue,
    FilterGoal,
    FilterNode,
    JourneyEvent,
    LeadCreatedNode,
    LeadStatusChangedNode,
    MessageEvent,
    Node,
    NotifyUserNode,
    RandomSplitNode,
    RecurringScheduleNode,
    RemoveFromListNode,
    SendMessageNode,
    StartAutomationNode,
    StatusChangedEvent,
    TagAddedNode,
    UpdateFieldNode,
    WaitDurationNode,
    WaitForEventNode,
    WaitUntilDateFieldNode,
    WaitUntilTimeOfDayNode,
)
from models.payloads.campaign_flow import Duration

Severity = Literal["error", "warning"]

MAX_NODES = 200
MAX_DEFINITION_BYTES = 128_000  # the graph is workflow input: far below Temporal's 256 KB payload warning
MAX_DELAY = timedelta(days=365)
MAX_SCORE = 2**31 - 1
SCALAR_TYPES = frozenset({"bool", "int", "float", "str", "constrained-str"})  # pydantic's names for FieldValue's parts


@dataclass(frozen=True)
class GraphProblem:
    """One finding of validate_graph. `node_id` is the node to show it on (None: the automation as a whole);
    `field` points into the node ("config.template_id", "outcomes.yes") or the automation ("goals[0].filter")."""

    node_id: str | None
    field: str
    message: str
    code: str
    severity: Severity = "error"


def has_errors(problems: Sequence[GraphProblem]) -> bool:
    return any(problem.severity == "error" for problem in problems)


@dataclass(frozen=True)
class GraphContext:
    """What the workspace has, for the references a graph makes. Empty collections mean "none exist".

    filter_context: filters are compiled against it (fields, statuses, custom fields and their types);
    template_channels / template_versions: as for campaign flows; list_kinds: list id -> static/dynamic/hybrid;
    secret_names: workspace secrets a webhook may use; automation_id: the automation being checked (None: new).
    """

    filter_context: FilterContext
    template_channels: Mapping[int, str] = field(default_factory=dict)
    template_versions: Mapping[int, Collection[int]] = field(default_factory=dict)
    list_kinds: Mapping[int, str] = field(default_factory=dict)
    user_ids: Collection[int] = ()
    automation_ids: Collection[int] = ()
    campaign_ids: Collection[int] = ()
    secret_names: Collection[str] = ()
    automation_id: int | None = None
    max_nodes: int = MAX_NODES
    max_bytes: int = MAX_DEFINITION_BYTES


# --- Outcomes and navigation ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def allowed(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


def outcomes(node: Node) -> Outcomes:
    """The outcomes (edge handles) a node offers; see the module docstring for why each is required or not."""
    if isinstance(node, ExitNode):
        return Outcomes()
    if isinstance(node, FilterNode | EngagementNode):
        return Outcomes(required=("yes", "no"))
    if isinstance(node, RandomSplitNode):
        return Outcomes(required=tuple(branch.key for branch in node.config.branches))
    if isinstance(node, WaitForEventNode):
        return Outcomes(required=("event", "timeout"))
    if isinstance(node, WaitUntilDateFieldNode):
        return Outcomes(required=("next",), optional=("skipped",))
    if node.category == "action":
        return Outcomes(optional=("next", "fallback"))
    return Outcomes(required=("next",))  # triggers and the other delays


def node_by_id(graph: AutomationGraph, node_id: str) -> Node | None:
    return next((node for node in graph.nodes if node.id == node_id), None)


def successor(graph: AutomationGraph, node_id: str, outcome: str) -> str | None:
    """The node an outcome leads to; None when it is not connected (the journey ends there)."""
    return next((e.target for e in graph.edges if e.source == node_id and e.outcome == outcome), None)


def trigger_nodes(graph: AutomationGraph) -> list[Node]:
    return [node for node in graph.nodes if node.category == "trigger"]


def triggers_matching(graph: AutomationGraph, event: JourneyEvent) -> list[str]:
    """The ids of the trigger nodes this event fires, in graph order (empty: the event starts nothing here).

    Only the event is compared; a trigger's enrollment `filter` and the re-entry policy are for the dispatcher to
    check next. Automated (machine) opens and clicks never trigger.
    """
    return [node.id for node in trigger_nodes(graph) if matches_trigger(node, event)]


def matches_trigger(node: Node, event: JourneyEvent) -> bool:
    if event.machine:
        return False
    if isinstance(node, LeadStatusChangedNode):
        config = node.config
        return (
            event.kind == "status_changed"
            and event.to_status == config.to_status
            and event.from_status != event.to_status
            and (config.from_status is None or event.from_status == config.from_status)
        )
    if isinstance(node, LeadCreatedNode):
        return event.kind == "lead_created" and (not node.config.sources or event.source in node.config.sources)
    if isinstance(node, AddedToListNode):
        return event.kind == "added_to_list" and event.list_id == node.config.list_id
    if isinstance(node, TagAddedNode):
        return event.kind == "tag_added" and node.config.tag in event.tags
    if isinstance(node, CustomFieldChangedNode):
        config = node.config
        return (
            event.kind == "field_changed"
            and event.field == config.field
            and (config.to_value is None or same_value(event.value, config.to_value))
        )
    if isinstance(node, ExternalEventNode):
        return event.kind == "external_event" and event.name == node.config.event
    if isinstance(node, CampaignInteractionNode):
        config = node.config
        return (
            event.kind == "campaign_interaction"
            and event.interaction == config.interaction
            and (config.campaign_id is None or event.campaign_id == config.campaign_id)
        )
    if isinstance(node, DateFieldNode | RecurringScheduleNode):
        return event.kind == "scheduled" and event.node_id == node.id
    return False


def same_value(actual: Any, expected: Any) -> bool:
    """JSON equality without Python's True == 1: a boolean only equals a boolean, numbers compare by value."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


def timeline_events(type_: str, data: Mapping[str, Any], *, lead_id: int, event_id: str) -> list[JourneyEvent]:
    """A lead timeline row (`lead_events`: created, status_changed, tagged, added_to_list, field_changed) as the
    events triggers match; other types give none. A custom_fields change gives one event per changed key, its id
    suffixed with the key so that each is deduplicated on its own."""
    if type_ == "created":
        return [JourneyEvent(kind="lead_created", event_id=event_id, lead_id=lead_id, source=data.get("source"))]
    if type_ == "status_changed":
        old, new = data.get("from"), data.get("to")
        if not isinstance(new, str) or old == new:
            return []
        return [JourneyEvent(kind="status_changed", event_id=event_id, lead_id=lead_id, from_status=old, to_status=new)]
    if type_ == "tagged":
        tags = tuple(tag for tag in data.get("tags") or () if isinstance(tag, str))
        return [JourneyEvent(kind="tag_added", event_id=event_id, lead_id=lead_id, tags=tags)] if tags else []
    if type_ == "added_to_list" and isinstance(data.get("list_id"), int):
        return [JourneyEvent(kind="added_to_list", event_id=event_id, lead_id=lead_id, list_id=data["list_id"])]
    if type_ == "field_changed" and data.get("field") == "custom_fields":
        old, new = data.get("from") or {}, data.get("to") or {}
        return [
            JourneyEvent(
                kind="field_changed",
                event_id=f"{event_id}:{key}",
                lead_id=lead_id,
                field=key,
                value=_scalar(new.get(key)),
            )
            for key in sorted(set(old) | set(new))
            if not same_value(old.get(key), new.get(key))
        ]
    return []


def _scalar(value: Any) -> Any:
    """A stored custom value as an event carries it: JSON scalars as they are, anything else (corrupt) as None."""
    if isinstance(value, str):
        return value[:MAX_CUSTOM_TEXT]
    return value if isinstance(value, bool | int | float) and value == value else None


# --- Parsing ----------------------------------------------------------------------------------------------------------


def parse_graph(data: Any) -> tuple[AutomationGraph | None, list[GraphProblem]]:
    """The builder's JSON as a graph, or the shape problems, each on its node ("config.template_id") so that the
    builder can show them where they are."""
    if not isinstance(data, Mapping):
        return None, [GraphProblem(None, "", "an automation must be a JSON object", "invalid_shape")]
    try:
        return AutomationGraph.model_validate(data), []
    except ValidationError as error:
        problems: dict[tuple[str | None, str], GraphProblem] = {}
        for item in error.errors():
            node_id, where, leftover = _locate(data, item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            if leftover and leftover[0] in SCALAR_TYPES:
                message = "expects text, a number, true/false or null"
            problems.setdefault((node_id, where), GraphProblem(node_id, where, message, "invalid_shape"))
        return None, list(problems.values())


def _locate(data: Mapping[str, Any], loc: Sequence[str | int]) -> tuple[str | None, str, list[str | int]]:
    """(node id, path inside the node, leftover) for a pydantic error location: discriminator tags dropped, the
    path of a node's error relative to the node, leftover the locations below a plain value (union members)."""
    node_id: str | None = None
    parts: list[str] = []
    current: Any = data
    untagged: Any = None
    rest = list(loc)
    if len(rest) >= 2 and rest[0] in ("nodes", "edges") and isinstance(rest[1], int):
        items = data.get(rest[0])
        current = items[rest[1]] if isinstance(items, list) and rest[1] < len(items) else None
        key = "id" if rest[0] == "nodes" else "source"
        if isinstance(current, Mapping) and isinstance(current.get(key), str):
            node_id = current[key][:64]
        if rest[0] == "edges":
            parts.append(f"edges[{rest[1]}]")
        rest = rest[2:]
    while rest:
        item = rest[0]
        if isinstance(current, Mapping):
            tag = (current.get("type"), current.get("kind"))
            if isinstance(item, str) and item not in current and item in tag and current is not untagged:
                untagged = current  # a discriminated union's tag, not a field (once: {"kind": "filter"} lacks filter)
                rest.pop(0)
                continue
            if isinstance(item, str) and item not in current and (item in SCALAR_TYPES or "[" in item):
                break  # a union member's label (e.g. "int", "list[...]"), not a field of this object
            current = current.get(item)
        elif isinstance(current, list) and isinstance(item, int):
            current = current[item] if item < len(current) else None
        elif parts:
            break  # below a plain value: the members of a union
        parts.append(f"[{item}]" if isinstance(item, int) else str(item))
        rest.pop(0)
    where = "".join(p if p.startswith("[") or not i else f".{p}" for i, p in enumerate(parts))
    return node_id, where, rest


def check_graph(data: Any, context: GraphContext) -> tuple[AutomationGraph | None, list[GraphProblem]]:
    """parse_graph, then validate_graph when the shape is right: what the API runs on a draft."""
    graph, problems = parse_graph(data)
    if graph is None:
        return None, problems
    return graph, validate_graph(graph, context)


# --- Validation -------------------------------------------------------------------------------------------------------


def validate_graph(graph: AutomationGraph, context: GraphContext) -> list[GraphProblem]:
    """Every problem of the graph, errors and warnings, each naming its node (a graph with errors cannot be
    published). See docs/automations.md for the list."""
    return _Validator(graph, context).run()


def yields(node: Node) -> bool:
    """A node that always waits before its journey goes on: the only kind a cycle may pass through."""
    if isinstance(node, WaitUntilDateFieldNode):
        return node.config.every_year
    return isinstance(node, WaitDurationNode | WaitUntilTimeOfDayNode | WaitForEventNode)


@dataclass
class _Validator:
    graph: AutomationGraph
    ctx: GraphContext
    problems: list[GraphProblem] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    succ: dict[str, list[str]] = field(default_factory=dict)  # over valid edges only
    pred: dict[str, list[str]] = field(default_factory=dict)

    def add(self, node_id: str | None, where: str, message: str, code: str, severity: Severity = "error") -> None:
        self.problems.append(GraphProblem(node_id, where, message, code, severity))

    def run(self) -> list[GraphProblem]:
        count = len(self.graph.nodes)
        if count > self.ctx.max_nodes:
            self.add(None, "nodes", f"an automation may have at most {self.ctx.max_nodes} nodes ({count})", "too_big")
            if count > self.ctx.max_nodes * 5:
                return self.problems  # far too big to be worth checking node by node
        size = len(self.graph.model_dump_json())
        if size > self.ctx.max_bytes:
            self.add(None, "", f"the definition takes {size} bytes, more than {self.ctx.max_bytes}", "too_big")
        self.index_nodes()
        self.check_edges()
        triggers = [node.id for node in self.nodes.values() if node.category == "trigger"]
        if not triggers:
            self.add(None, "nodes", "add a trigger: nothing would ever start this automation", "no_trigger")
        reachable = self.reachable(triggers)
        for node in self.nodes.values():
            if node.id not in reachable and node.category != "trigger":
                self.add(node.id, "", "no trigger leads to this node", "unreachable")
        self.check_cycles()
        dominators = self.dominators(triggers, reachable)
        for node in self.nodes.values():
            self.check_node(node, dominators.get(node.id))
        for index, goal in enumerate(self.graph.goals):
            self.check_goal(index, goal)
        if not any(node.category == "action" and not isinstance(node, ExitNode) for node in self.nodes.values()):
            self.add(None, "nodes", "the automation does nothing: add an action", "no_action", "warning")
        return self.problems

    # Structure

    def index_nodes(self) -> None:
        for node in self.graph.nodes:
            if node.id in self.nodes:
                self.add(node.id, "id", f"the node id '{node.id}' is used more than once", "duplicate_id")
                continue
            self.nodes[node.id] = node
            self.succ[node.id], self.pred[node.id] = [], []

    def check_edges(self) -> None:
        taken: set[tuple[str, str]] = set()
        edge_ids: set[str] = set()
        for index, edge in enumerate(self.graph.edges):
            where = f"edges[{index}]"
            source, target = self.nodes.get(edge.source), self.nodes.get(edge.target)
            if edge.id is not None:
                if edge.id in edge_ids:
                    self.add(edge.source, f"{where}.id", f"the edge id '{edge.id}' is used twice", "duplicate_edge")
                edge_ids.add(edge.id)
            if source is None:
                self.add(edge.target if target else None, f"{where}.source", f"no node '{edge.source}'", "no_source")
                continue
            if target is None:
                self.add(source.id, f"{where}.target", f"no node '{edge.target}'", "no_target")
                continue
            allowed = outcomes(source).allowed
            if edge.outcome not in allowed:
                offered = ", ".join(allowed) or "none: it ends the journey"
                self.add(
                    source.id,
                    f"outcomes.{edge.outcome}",
                    f"a {source.type} node has no outcome '{edge.outcome}' (outcomes: {offered})",
                    "unknown_outcome",
                )
                continue
            if (source.id, edge.outcome) in taken:
                self.add(
                    source.id,
                    f"outcomes.{edge.outcome}",
                    f"outcome '{edge.outcome}' is connected more than once",
                    "duplicate_outcome",
                )
                continue
            if source.id == target.id:
                self.add(source.id, f"outcomes.{edge.outcome}", "a node cannot lead to itself", "self_loop")
                continue
            if target.category == "trigger":
                self.add(target.id, "incoming", "a trigger starts journeys: nothing may lead to it", "into_trigger")
                continue
            taken.add((source.id, edge.outcome))
            self.succ[source.id].append(target.id)
            self.pred[target.id].append(source.id)
        for node in self.nodes.values():
            for outcome in outcomes(node).required:
                if (node.id, outcome) not in taken:
                    self.add(
                        node.id, f"outcomes.{outcome}", f"outcome '{outcome}' leads nowhere: connect it", "dead_end"
                    )

    def reachable(self, roots: Sequence[str]) -> set[str]:
        seen, stack = set(roots), list(roots)
        while stack:
            for target in self.succ[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def check_cycles(self) -> None:
        """Cycles of the graph without its yielding delays: each one could spin without waiting."""
        kept = [node_id for node_id, node in self.nodes.items() if not yields(node)]
        for component in _strongly_connected(kept, {n: [t for t in self.succ[n] if t in kept] for n in kept}):
            if len(component) < 2:
                continue
            loop = ", ".join(component)
            for node_id in component:
                self.add(
                    node_id,
                    "",
                    f"the loop through {loop} has no delay: add a wait to it so that a journey cannot spin forever",
                    "cycle_without_delay",
                )

    def dominators(self, triggers: Sequence[str], reachable: set[str]) -> dict[str, set[str]]:
        """For each reachable node, the nodes every path from a trigger to it goes through (itself included)."""
        order = [node_id for node_id in self.nodes if node_id in reachable]
        everything = set(order)
        dom = {node_id: ({node_id} if node_id in triggers else set(everything)) for node_id in order}
        changed = True
        while changed:
            changed = False
            for node_id in order:
                if node_id in triggers:
                    continue
                preds = [dom[p] for p in self.pred[node_id] if p in reachable]
                new = {node_id} | (set.intersection(*preds) if preds else set())
                if new != dom[node_id]:
                    dom[node_id], changed = new, True
        return dom

    def no_delay_path(self, start: str, goal: str) -> bool:
        """Whether some path from `start` reaches `goal` without going through a delay."""
        seen, stack = {start}, [start]
        while stack:
            for target in self.succ[stack.pop()]:
                if target == goal:
                    return True
                if target not in seen and self.nodes[target].category != "delay":
                    seen.add(target)
                    stack.append(target)
        return False

    # Nodes

    def check_node(self, node: Node, dominators: set[str] | None) -> None:
        config: Any = node.config
        if node.category == "trigger" and config.filter is not None:
            self.filter(node.id, "config.filter", config.filter)
        if isinstance(node, LeadStatusChangedNode):
            self.status(node.id, "config.to_status", config.to_status)
            if config.from_status is not None:
                self.status(node.id, "config.from_status", config.from_status)
                if config.from_status == config.to_status:
                    self.add(node.id, "config.from_status", "from and to are the same status", "same_status")
        elif isinstance(node, AddedToListNode):
            self.list_ref(node.id, config.list_id, member=False)
        elif isinstance(node, CustomFieldChangedNode):
            if self.custom_field(node.id, "config.field", config.field) and config.to_value is not None:
                self.custom_value(node.id, "config.to_value", config.field, config.to_value)
        elif isinstance(node, CampaignInteractionNode):
            if config.campaign_id is not None and config.campaign_id not in self.ctx.campaign_ids:
                self.add(node.id, "config.campaign_id", f"campaign {config.campaign_id} does not exist", "unknown_ref")
        elif isinstance(node, DateFieldNode | WaitUntilDateFieldNode):
            self.date_field(node.id, config.field)
        elif isinstance(node, FilterNode):
            self.filter(node.id, "config.filter", config.filter)
        elif isinstance(node, EngagementNode):
            self.message_ref(node, "config.node", config.node, dominators, warn_without_delay=True)
        elif isinstance(node, RandomSplitNode):
            self.split(node)
        elif isinstance(node, SendMessageNode):
            self.template(node)
        elif isinstance(node, UpdateFieldNode):
            self.update_field(node)
        elif isinstance(node, AddToListNode | RemoveFromListNode):
            self.list_ref(node.id, config.list_id, member=True)
        elif isinstance(node, AssignOwnerNode):
            users = [config.user_id] if config.mode == "user" else config.user_ids
            for index, user_id in enumerate(users):
                where = "config.user_id" if config.mode == "user" else f"config.user_ids[{index}]"
                self.user(node.id, where, user_id)
            if config.mode == "round_robin" and len(users) == 1:
                self.add(node.id, "config.user_ids", "round robin over one user", "single_user", "warning")
        elif isinstance(node, NotifyUserNode):
            if config.user_id is not None:
                self.user(node.id, "config.user_id", config.user_id)
            self.text_template(node.id, "config.subject", config.subject)
            self.text_template(node.id, "config.body", config.body)
        elif isinstance(node, CallWebhookNode):
            self.text_template(node.id, "config.url", config.url)
            if config.body is not None:
                self.text_template(node.id, "config.body", config.body)
            if config.auth_secret is not None and config.auth_secret not in self.ctx.secret_names:
                self.add(node.id, "config.auth_secret", f"no secret '{config.auth_secret}'", "unknown_ref")
        elif isinstance(node, StartAutomationNode):
            if config.automation_id == self.ctx.automation_id:
                self.add(node.id, "config.automation_id", "an automation cannot start itself", "self_start")
            elif config.automation_id not in self.ctx.automation_ids:
                self.add(
                    node.id, "config.automation_id", f"automation {config.automation_id} does not exist", "unknown_ref"
                )
        elif isinstance(node, WaitDurationNode):
            self.duration(node.id, "config.duration", config.duration, "a wait")
        elif isinstance(node, WaitForEventNode):
            self.duration(node.id, "config.timeout", config.timeout, "the timeout")
            self.event_spec(node, "config.event", config.event, dominators)

    def status(self, node_id: str | None, where: str, status: str) -> None:
        if status not in self.ctx.filter_context.statuses:
            self.add(node_id, where, f"'{status}' is not a lead status of this workspace", "unknown_status")

    def filter(self, node_id: str | None, where: str, data: Mapping[str, Any]) -> None:
        try:
            compile_filter(parse_filter(data), self.ctx.filter_context)
        except FilterError as error:
            self.add(node_id, f"{where}.{error.path}" if error.path else where, error.message, "invalid_filter")

    def custom_field(self, node_id: str, where: str, key: str) -> bool:
        if key in self.ctx.filter_context.custom_fields:
            return True
        self.add(node_id, where, f"no custom field '{key}' in this workspace", "unknown_field")
        return False

    def custom_value(self, node_id: str, where: str, key: str, value: FieldValue) -> None:
        ctx = self.ctx.filter_context
        definition = FieldDefinition(key, ctx.custom_fields[key], tuple(ctx.custom_choices.get(key, ())))
        try:
            validate_custom_values({key: value}, {key: definition})
        except CustomFieldError as error:
            self.add(node_id, where, str(error).removeprefix(f"{error.path}: "), "invalid_value")

    def date_field(self, node_id: str, key: str) -> None:
        if self.custom_field(node_id, "config.field", key) and self.ctx.filter_context.custom_fields[key] != "date":
            kind = self.ctx.filter_context.custom_fields[key]
            self.add(node_id, "config.field", f"'{key}' is a {kind} field, not a date field", "not_a_date")

    def list_ref(self, node_id: str, list_id: int, *, member: bool) -> None:
        """A list an action changes (`member`) or a trigger watches. Dynamic lists have no explicit members."""
        kind = self.ctx.list_kinds.get(list_id)
        if kind is None:
            self.add(node_id, "config.list_id", f"list {list_id} does not exist", "unknown_ref")
        elif kind == "dynamic" and member:
            message = f"list {list_id} is dynamic (a filter): leads cannot be added to or removed from it"
            self.add(node_id, "config.list_id", message, "dynamic_list")
        elif kind == "dynamic":
            message = f"list {list_id} is dynamic (a filter): nobody is added to it explicitly: this never fires"
            self.add(node_id, "config.list_id", message, "dynamic_list", "warning")

    def user(self, node_id: str, where: str, user_id: int) -> None:
        if user_id not in self.ctx.user_ids:
            self.add(node_id, where, f"user {user_id} is not a member of this workspace", "unknown_ref")

    def duration(self, node_id: str, where: str, duration: Duration, what: str) -> None:
        length = duration.as_timedelta()
        if length <= timedelta(0):
            self.add(node_id, where, f"{what} must be longer than zero", "invalid_duration")
        elif length > MAX_DELAY:
            self.add(node_id, where, f"{what} may be at most 365 days", "invalid_duration")

    def text_template(self, node_id: str, where: str, source: str) -> None:
        try:
            environment(html=False).from_string(source)
        except Exception as error:  # TemplateSyntaxError, or RecursionError on absurd nesting
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.add(node_id, where, f"template error: {message}", "invalid_template")

    def template(self, node: SendMessageNode) -> None:
        config = node.config
        channel = self.ctx.template_channels.get(config.template_id)
        if channel is None:
            self.add(node.id, "config.template_id", f"template {config.template_id} does not exist", "unknown_ref")
            return
        if channel != config.channel:
            message = f"template {config.template_id} is a {channel} template, not {config.channel}"
            self.add(node.id, "config.template_id", message, "wrong_channel")
        versions = self.ctx.template_versions.get(config.template_id, ())
        if config.template_version is not None and config.template_version not in versions:
            message = f"template {config.template_id} has no version {config.template_version}"
            self.add(node.id, "config.template_version", message, "unknown_ref")

    def split(self, node: RandomSplitNode) -> None:
        branches = node.config.branches
        seen: set[str] = set()
        for index, branch in enumerate(branches):
            if branch.key in seen:
                message = f"the branch key '{branch.key}' is used more than once"
                self.add(node.id, f"config.branches[{index}].key", message, "duplicate_branch")
            seen.add(branch.key)
        total = sum(branch.percent for branch in branches)
        if total != 100:
            self.add(node.id, "config.branches", f"the percents add up to {total}, not 100", "split_not_100")

    def update_field(self, node: UpdateFieldNode) -> None:
        config = node.config
        value = config.value
        if config.field == "status":
            if config.operation != "set":
                self.add(node.id, "config.operation", "a status can only be set", "invalid_operation")
            elif not isinstance(value, str):
                self.add(node.id, "config.value", "expects a lead status", "invalid_value")
            else:
                self.status(node.id, "config.value", value)
        elif config.field == "score":
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SCORE:
                self.add(node.id, "config.value", "expects a whole number", "invalid_value")
        else:
            key = config.field.removeprefix("custom.")
            if not self.custom_field(node.id, "config.field", key):
                return
            if config.operation == "increment":
                if self.ctx.filter_context.custom_fields[key] != "number":
                    self.add(node.id, "config.operation", "only number fields can be incremented", "invalid_operation")
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    self.add(node.id, "config.value", "expects a number to add", "invalid_value")
            elif value is not None:
                self.custom_value(node.id, "config.value", key, value)

    def message_ref(
        self, node: Node, where: str, ref: str, dominators: set[str] | None, *, warn_without_delay: bool = False
    ) -> None:
        """A reference to the message of an earlier send_message node, which every path to `node` went through."""
        target = self.nodes.get(ref)
        if target is None:
            self.add(node.id, where, f"there is no node '{ref}'", "unknown_node")
        elif not isinstance(target, SendMessageNode):
            self.add(node.id, where, f"node '{ref}' is a {target.type} node, not send_message", "not_a_send")
        elif dominators is not None and ref not in dominators:
            message = f"not every lead reaching this node went through send '{ref}' before it"
            self.add(node.id, where, message, "send_not_before")
        elif dominators is not None and warn_without_delay and self.no_delay_path(ref, node.id):
            message = f"no wait between send '{ref}' and this condition: leads will have had no time to open or click"
            self.add(node.id, where, message, "no_delay_after_send", "warning")

    def event_spec(self, node: Node | None, where: str, spec: EventSpec, dominators: set[str] | None) -> None:
        if isinstance(spec, MessageEvent):
            if node is None:
                self.add(None, f"{where}.node", "a goal cannot wait for one node's message", "message_goal")
            else:
                self.message_ref(node, f"{where}.node", spec.node, dominators)
        elif isinstance(spec, StatusChangedEvent) and spec.to_status is not None:
            self.status(node.id if node else None, f"{where}.to_status", spec.to_status)

    def check_goal(self, index: int, goal: FilterGoal | EventGoal) -> None:
        if isinstance(goal, FilterGoal):
            self.filter(None, f"goals[{index}].filter", goal.filter)
        else:
            self.event_spec(None, f"goals[{index}].event", goal.event, None)


def _strongly_connected(nodes: Sequence[str], succ: Mapping[str, Sequence[str]]) -> Iterator[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit on long chains); each component in
    the nodes' order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    position = {node: i for i, node in enumerate(nodes)}
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                yield sorted(component, key=position.__getitem__)
