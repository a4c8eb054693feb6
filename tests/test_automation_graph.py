"""Automation graphs: each node type's shape, every validation rule (naming the node at fault), navigation and
trigger matching. Pure: no services."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.automation_graph import (
    GraphContext,
    GraphProblem,
    check_graph,
    has_errors,
    node_by_id,
    outcomes,
    parse_graph,
    successor,
    timeline_events,
    triggers_matching,
    validate_graph,
)
from domain.filters import FilterContext
from models.payloads.automation import AutomationGraph, JourneyEvent, JourneyInput, RetrySettings

FIXTURES = Path(__file__).parent / "fixtures" / "automations"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "automations.md"
STATUSES = ("new", "contacted", "qualified", "proposal", "won", "lost", "unsubscribed")
CUSTOM = {"birthday": "date", "renewal": "date", "plan": "choice", "seats": "number", "vip": "boolean", "nick": "text"}
FILTER_CONTEXT = FilterContext(
    workspace_id=1,
    now=datetime(2026, 6, 1, tzinfo=UTC),
    custom_fields=CUSTOM,
    custom_choices={"plan": ["free", "pro"]},
    statuses=STATUSES,
)
CONTEXT = GraphContext(
    filter_context=FILTER_CONTEXT,
    template_channels={11: "email", 12: "email", 21: "sms", 31: "whatsapp"},
    template_versions={11: {1, 2}, 12: {1}, 21: {1}, 31: {1}},
    list_kinds={5: "static", 6: "dynamic", 7: "hybrid"},
    user_ids={2, 3, 4},
    automation_ids={40, 41},
    campaign_ids={70},
    secret_names={"crm-token"},
    automation_id=40,
)
VIP = {"combinator": "and", "rules": [{"field": "tags", "operator": "containsAny", "value": ["vip"]}]}


def fixture(name: str = "qualified_case_study") -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def node(node_id: str, type_: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "config": config}


def trigger(node_id: str = "t", status: str = "qualified") -> dict[str, Any]:
    return node(node_id, "lead_status_changed", to_status=status)


def send(node_id: str, channel: str = "email", template_id: int = 11, **extra: Any) -> dict[str, Any]:
    return node(node_id, "send_message", channel=channel, template_id=template_id, **extra)


def wait(node_id: str, days: int = 1) -> dict[str, Any]:
    return node(node_id, "wait_duration", duration={"days": days})


def exit_(node_id: str = "x") -> dict[str, Any]:
    return {"id": node_id, "type": "exit"}


def edge(source: str, outcome: str, target: str) -> dict[str, Any]:
    return {"source": source, "outcome": outcome, "target": target}


def chain(*ids: str) -> list[dict[str, Any]]:
    """next edges along the ids."""
    return [edge(a, "next", b) for a, b in itertools.pairwise(ids)]


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"nodes": nodes, "edges": edges, **extra}


def problems(data: dict[str, Any], context: GraphContext = CONTEXT) -> list[GraphProblem]:
    parsed, found = check_graph(data, context)
    assert parsed is not None, found
    return found


def errors(data: dict[str, Any], context: GraphContext = CONTEXT) -> set[tuple[str | None, str, str]]:
    return {(p.node_id, p.field, p.code) for p in problems(data, context) if p.severity == "error"}


def warnings(data: dict[str, Any]) -> set[tuple[str | None, str, str]]:
    return {(p.node_id, p.field, p.code) for p in problems(data) if p.severity == "warning"}


def with_node(extra: dict[str, Any], outgoing: dict[str, str] | None = None) -> dict[str, Any]:
    """trigger -> extra -> (each outcome of `outgoing`) -> its own exit node; a valid frame for one node."""
    nodes = [trigger(), extra]
    edges = [edge("t", "next", extra["id"])]
    for outcome, target in (outgoing or {}).items():
        nodes.append(exit_(target))
        edges.append(edge(extra["id"], outcome, target))
    return graph(nodes, edges)


# --- The example from the issue -------------------------------------------------------------------------------------


def test_the_issue_example_is_valid_and_round_trips():
    data = fixture()
    parsed, found = check_graph(data, CONTEXT)
    assert found == []
    assert parsed is not None and validate_graph(parsed, CONTEXT) == []
    assert AutomationGraph.model_validate_json(parsed.model_dump_json()) == parsed
    assert parsed.reentry == "once_ever" and parsed.goals[0].event.to_status == "won"
    assert "$defs" in AutomationGraph.model_json_schema()  # the schema builds (for the builder and OpenAPI)


def test_the_issue_example_navigates():
    parsed = AutomationGraph.model_validate(fixture())
    assert successor(parsed, "qualified", "next") == "wait-2d"
    assert successor(parsed, "case-study", "fallback") == "sms-nudge"
    assert successor(parsed, "wait-open", "timeout") == "sms-nudge"
    assert successor(parsed, "wait-click", "event") == "assign-sales"
    assert successor(parsed, "notify-owner", "next") is None  # a terminal action: the journey completes
    assert successor(parsed, "done", "next") is None
    assert node_by_id(parsed, "case-study").config.template_id == 11
    assert node_by_id(parsed, "nope") is None


def test_the_issue_example_is_a_journey_input():
    parsed = AutomationGraph.model_validate(fixture())
    event = JourneyEvent(kind="status_changed", event_id="lead-event-9", lead_id=7, to_status="qualified")
    journey = JourneyInput(
        workspace_id=1,
        automation_id=40,
        version=3,
        lead_id=7,
        trigger_node="qualified",
        trigger_event=event,
        graph=parsed,
    )
    again = JourneyInput.model_validate_json(journey.model_dump_json())
    assert again == journey
    assert len(journey.model_dump_json()) < 10_000


def test_the_docs_cover_every_node_type_and_their_example_is_valid():
    text = DOCS.read_text()
    schema = AutomationGraph.model_json_schema()
    types = sorted(
        definition["properties"]["type"]["const"]
        for definition in schema["$defs"].values()
        if "type" in definition.get("properties", {}) and "const" in definition["properties"]["type"]
    )
    assert len(types) == 27
    for type_ in types:
        assert f"`{type_}`" in text, type_
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    assert example == fixture()


# --- Shapes ---------------------------------------------------------------------------------------------------------

VALID_NODES = [
    ("lead_status_changed", {"to_status": "qualified", "from_status": "new"}),
    ("lead_created", {}),
    ("lead_created", {"sources": ["import"], "filter": VIP}),
    ("added_to_list", {"list_id": 5}),
    ("tag_added", {"tag": "vip"}),
    ("custom_field_changed", {"field": "plan", "to_value": "pro"}),
    ("external_event", {"event": "webinar.registered"}),
    ("campaign_interaction", {"interaction": "clicked", "campaign_id": 70}),
    ("date_field", {"field": "birthday", "every_year": True, "offset_days": -1, "time": "08:30"}),
    ("recurring_schedule", {"frequency": "weekly", "weekday": 0, "time": "09:00", "filter": VIP}),
    ("recurring_schedule", {"frequency": "monthly", "day_of_month": 28, "time": "09:00", "filter": VIP}),
    ("filter", {"filter": VIP}),
    ("random_split", {"branches": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]}),
    ("send_message", {"channel": "sms", "template_id": 21}),
    ("update_field", {"field": "score", "operation": "increment", "value": 10}),
    ("update_field", {"field": "custom.vip", "value": True}),
    ("add_tag", {"tag": "hot"}),
    ("remove_tag", {"tag": "cold"}),
    ("add_to_list", {"list_id": 5}),
    ("remove_from_list", {"list_id": 7}),
    ("assign_owner", {"user_id": 2}),
    ("notify_user", {"recipient": "user", "user_id": 3, "subject": "Hot lead", "body": "{{ lead.email }}"}),
    (
        "call_webhook",
        {
            "url": "https://crm.example.com/hooks/{{ lead.id }}?src=herald",
            "headers": {"X-Source": "herald"},
            "auth_secret": "crm-token",
            "body": '{"email": "{{ lead.email }}"}',
            "retry": {"max_attempts": 2, "initial_interval_seconds": 5},
        },
    ),
    ("start_automation", {"automation_id": 41}),
    ("wait_duration", {"duration": {"hours": 6}}),
    ("wait_until_time_of_day", {"time": "09:00", "weekdays": [4, 0, 0]}),
    ("wait_until_date_field", {"field": "renewal", "offset_days": -30, "when_past": "skip"}),
    ("wait_for_event", {"event": {"kind": "external_event", "name": "demo.booked"}, "timeout": {"days": 3}}),
    ("wait_for_event", {"event": {"kind": "status_changed"}, "timeout": {"days": 3}}),
    ("wait_for_event", {"event": {"kind": "tag_added", "tag": "vip"}, "timeout": {"days": 3}}),
    ("wait_for_event", {"event": {"kind": "converted"}, "timeout": {"days": 3}}),
]


@pytest.mark.parametrize(("type_", "config"), VALID_NODES, ids=[t for t, _ in VALID_NODES])
def test_each_node_type_accepts_its_config(type_, config):
    parsed, found = parse_graph(graph([node("n", type_, **config)], []))
    assert found == []
    assert parsed.nodes[0].type == type_


def test_config_defaults():
    parsed, _ = parse_graph(
        graph(
            [
                {"id": "c", "type": "lead_created"},
                exit_(),
                node("w", "wait_until_time_of_day", time="09:00", weekdays=[4, 0, 0]),
                send("s"),
            ],
            [],
        )
    )
    created, leave, at_time, message = parsed.nodes
    assert created.config.sources == [] and created.config.filter is None
    assert leave.config.model_dump() == {}
    assert at_time.config.weekdays == [0, 4]
    assert message.config.retry == RetrySettings(max_attempts=5, initial_interval_seconds=30)
    assert message.config.retry.maximum_interval().total_seconds() == 600
    assert parsed.reentry == "once_ever" and parsed.goals == []


INVALID_NODES = [
    ("lead_status_changed", {}, "config.to_status"),
    ("lead_created", {"sources": [""]}, "config.sources[0]"),
    ("added_to_list", {"list_id": 0}, "config.list_id"),
    ("tag_added", {"tag": "   "}, "config.tag"),
    ("custom_field_changed", {"field": "Plan"}, "config.field"),
    ("external_event", {"event": "has space"}, "config.event"),
    ("campaign_interaction", {"interaction": "bounced"}, "config.interaction"),
    ("date_field", {"field": "renewal", "offset_days": 5000}, "config.offset_days"),
    ("date_field", {"field": "renewal", "time": "9:00"}, "config.time"),
    ("recurring_schedule", {"frequency": "weekly", "time": "09:00", "filter": VIP}, "config"),
    ("recurring_schedule", {"frequency": "daily", "time": "09:00"}, "config.filter"),
    (
        "recurring_schedule",
        {"frequency": "monthly", "day_of_month": 31, "time": "09:00", "filter": VIP},
        "config.day_of_month",
    ),
    ("recurring_schedule", {"frequency": "daily", "day_of_month": 1, "time": "09:00", "filter": VIP}, "config"),
    ("filter", {}, "config.filter"),
    ("engagement", {"node": "s", "event": "bounced"}, "config.event"),
    ("random_split", {"branches": [{"key": "a", "percent": 99}]}, "config.branches"),
    (
        "random_split",
        {"branches": [{"key": "A", "percent": 50}, {"key": "b", "percent": 50}]},
        "config.branches[0].key",
    ),
    (
        "random_split",
        {"branches": [{"key": "a", "percent": 0}, {"key": "b", "percent": 50}]},
        "config.branches[0].percent",
    ),
    ("send_message", {"channel": "fax", "template_id": 11}, "config.channel"),
    ("send_message", {"channel": "email", "template_id": 11, "fallback": {}}, "config.fallback"),
    (
        "send_message",
        {"channel": "email", "template_id": 11, "retry": {"max_attempts": 0}},
        "config.retry.max_attempts",
    ),
    (
        "send_message",
        {"channel": "email", "template_id": 11, "retry": {"initial_interval_seconds": 7200}},
        "config.retry.initial_interval_seconds",
    ),
    ("update_field", {"field": "email", "value": "x"}, "config.field"),
    ("update_field", {"field": "score", "value": [1]}, "config.value"),
    ("update_field", {"field": "score", "operation": "multiply", "value": 2}, "config.operation"),
    ("add_tag", {"tag": "x" * 65}, "config.tag"),
    ("remove_tag", {}, "config.tag"),
    ("add_to_list", {"list_id": -1}, "config.list_id"),
    ("remove_from_list", {"list_id": "five"}, "config.list_id"),
    ("assign_owner", {"mode": "round_robin", "user_ids": []}, "config"),
    ("assign_owner", {"mode": "round_robin", "user_ids": [2, 2]}, "config"),
    ("assign_owner", {"mode": "user"}, "config"),
    ("notify_user", {"recipient": "user", "subject": "s", "body": "b"}, "config"),
    ("notify_user", {"subject": "", "body": "b"}, "config.subject"),
    ("call_webhook", {"url": "ftp://example.com/x"}, "config.url"),
    ("call_webhook", {"url": "https://user:pw@example.com/x"}, "config.url"),
    ("call_webhook", {"url": "https://{{ lead.host }}/x"}, "config.url"),
    ("call_webhook", {"url": "https://example.com/x", "headers": {"Authorization": "Bearer abc"}}, "config.headers"),
    ("call_webhook", {"url": "https://example.com/x", "headers": {"X-Api-Key": "abc"}}, "config.headers"),
    ("call_webhook", {"url": "https://example.com/x", "headers": {"X-A": "a\r\nB: c"}}, "config.headers"),
    ("call_webhook", {"url": "https://example.com/x", "method": "GET", "body": "{}"}, "config"),
    ("call_webhook", {"url": "https://example.com/x", "timeout_seconds": 60}, "config.timeout_seconds"),
    ("call_webhook", {"url": "https://example.com/x", "auth_secret": "no spaces allowed"}, "config.auth_secret"),
    ("start_automation", {"automation_id": 0}, "config.automation_id"),
    ("exit", {"reason": "done"}, "config.reason"),
    ("wait_duration", {"duration": {"days": -1}}, "config.duration.days"),
    ("wait_duration", {"duration": {"weeks": 1}}, "config.duration.weeks"),
    ("wait_until_time_of_day", {"time": "24:00"}, "config.time"),
    ("wait_until_time_of_day", {"time": "09:00", "weekdays": []}, "config.weekdays"),
    ("wait_until_time_of_day", {"time": "09:00", "weekdays": [7]}, "config.weekdays[0]"),
    ("wait_until_date_field", {"field": "renewal", "when_past": "later"}, "config.when_past"),
    ("wait_for_event", {"event": {"kind": "opened"}, "timeout": {"days": 1}}, "config.event.node"),
    ("wait_for_event", {"event": {"kind": "bounced"}, "timeout": {"days": 1}}, "config.event"),
    ("wait_for_event", {"event": {"kind": "converted"}}, "config.timeout"),
]


@pytest.mark.parametrize(("type_", "config", "where"), INVALID_NODES, ids=[f"{t}-{w}" for t, _, w in INVALID_NODES])
def test_each_node_type_refuses_a_bad_config_naming_the_node_and_field(type_, config, where):
    parsed, found = parse_graph(graph([trigger(), node("n", type_, **config)], []))
    assert parsed is None
    assert [(p.node_id, p.field, p.code) for p in found] == [("n", where, "invalid_shape")], found


def test_shape_problems_name_the_node_and_read_well():
    _, found = parse_graph(
        graph(
            [
                node("bad id!", "exit"),
                node("n1", "teleport"),
                node("n2", "update_field", field="score", value={"a": 1}),
            ],
            [{"source": "n1", "outcome": "next"}],
            reentry="sometimes",
            goals=[{"kind": "filter"}],
            colour="red",
        )
    )
    by_place = {(p.node_id, p.field): p.message for p in found}
    assert "should match pattern" in by_place[("bad id!", "id")]
    assert "teleport" in by_place[("n1", "")]  # the type is not one of the node types
    assert by_place[("n2", "config.value")] == "expects text, a number, true/false or null"
    assert ("n1", "edges[0].target") in by_place
    assert (None, "reentry") in by_place
    assert (None, "goals[0].filter") in by_place
    assert (None, "colour") in by_place


def test_a_graph_must_be_an_object():
    assert parse_graph([1, 2]) == (
        None,
        [GraphProblem(None, "", "an automation must be a JSON object", "invalid_shape")],
    )


# --- Validation: structure -----------------------------------------------------------------------------------------


def test_a_minimal_graph_is_valid_and_an_action_may_end_the_journey():
    data = graph([trigger(), node("tag", "add_tag", tag="hot")], chain("t", "tag"))
    assert problems(data) == []


def test_duplicate_node_ids():
    data = graph([trigger(), exit_("x"), exit_("x")], chain("t", "x"))
    assert errors(data) == {("x", "id", "duplicate_id")}


def test_edges_must_join_existing_nodes():
    data = graph([trigger(), exit_()], [*chain("t", "x"), edge("t", "fallback", "ghost"), edge("ghost", "next", "x")])
    assert errors(data) == {
        ("t", "edges[1].target", "no_target"),
        ("x", "edges[2].source", "no_source"),
    }


def test_unknown_outcomes_are_named_on_the_node():
    data = graph(
        [trigger(), node("f", "filter", filter=VIP), exit_("a"), exit_("b"), exit_("c")],
        [edge("t", "next", "f"), edge("f", "yes", "a"), edge("f", "no", "b"), edge("f", "next", "c")],
    )
    assert errors(data) == {("f", "outcomes.next", "unknown_outcome"), ("c", "", "unreachable")}


def test_exit_has_no_outcome():
    data = graph([trigger(), exit_(), node("tag", "add_tag", tag="x")], [*chain("t", "x"), edge("x", "next", "tag")])
    found = errors(data)
    assert ("x", "outcomes.next", "unknown_outcome") in found
    assert ("tag", "", "unreachable") in found


def test_an_outcome_is_connected_once():
    data = graph([trigger(), exit_("a"), exit_("b")], [edge("t", "next", "a"), edge("t", "next", "b")])
    assert errors(data) == {("t", "outcomes.next", "duplicate_outcome"), ("b", "", "unreachable")}


def test_duplicate_edge_ids():
    data = graph([trigger(), send("s"), exit_()], [edge("t", "next", "s"), edge("s", "next", "x")])
    data["edges"][0]["id"] = data["edges"][1]["id"] = "e1"
    assert errors(data) == {("s", "edges[1].id", "duplicate_edge")}


def test_no_self_loops():
    data = graph([trigger(), wait("w")], [edge("t", "next", "w"), edge("w", "next", "w")])
    assert errors(data) == {("w", "outcomes.next", "self_loop"), ("w", "outcomes.next", "dead_end")}


def test_triggers_have_no_incoming_edges():
    data = graph([trigger("t1"), trigger("t2", "won"), exit_()], [*chain("t1", "x"), edge("t1", "fallback", "t2")])
    found = errors(data)
    assert ("t1", "outcomes.fallback", "unknown_outcome") in found
    data = graph(
        [trigger("t1"), send("s"), trigger("t2", "won"), exit_()], [*chain("t1", "s", "t2"), *chain("t2", "x")]
    )
    assert errors(data) == {("t2", "incoming", "into_trigger")}


@pytest.mark.parametrize(
    ("extra", "connected", "missing"),
    [
        (node("f", "filter", filter=VIP), {"yes": "a"}, "outcomes.no"),
        (node("g", "engagement", node="s", event="opened"), {"no": "a"}, "outcomes.yes"),
        (
            node("r", "random_split", branches=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]),
            {"a": "e1"},
            "outcomes.b",
        ),
        (wait("w"), {}, "outcomes.next"),
        (node("w", "wait_until_time_of_day", time="09:00"), {}, "outcomes.next"),
        (node("w", "wait_until_date_field", field="renewal"), {"skipped": "a"}, "outcomes.next"),
        (
            node("w", "wait_for_event", event={"kind": "converted"}, timeout={"days": 1}),
            {"event": "a"},
            "outcomes.timeout",
        ),
    ],
    ids=["filter", "engagement", "random_split", "wait_duration", "time_of_day", "date_field", "wait_for_event"],
)
def test_conditions_and_delays_may_not_dead_end(extra, connected, missing):
    nodes = [trigger(), send("s"), wait("pause"), extra]
    edges = chain("t", "s", "pause", extra["id"])
    for outcome, target in connected.items():
        nodes.append(exit_(target))
        edges.append(edge(extra["id"], outcome, target))
    assert errors(graph(nodes, edges)) == {(extra["id"], missing, "dead_end")}


def test_a_trigger_must_lead_somewhere():
    assert errors(graph([trigger()], [])) == {("t", "outcomes.next", "dead_end")}


def test_optional_outcomes_may_stay_open():
    data = graph(
        [trigger(), node("w", "wait_until_date_field", field="renewal"), send("s")],
        chain("t", "w", "s"),  # no `skipped`, no send `next` nor `fallback`
    )
    assert problems(data) == []


def test_at_least_one_trigger():
    data = graph([send("s"), exit_()], chain("s", "x"))
    found = errors(data)
    assert (None, "nodes", "no_trigger") in found
    assert ("s", "", "unreachable") in found and ("x", "", "unreachable") in found


def test_every_node_is_reachable_from_a_trigger():
    data = graph([trigger(), exit_(), send("lonely"), exit_("y")], [*chain("t", "x"), *chain("lonely", "y")])
    assert errors(data) == {("lonely", "", "unreachable"), ("y", "", "unreachable")}


def test_several_triggers_may_share_a_path():
    data = graph(
        [trigger("t1"), node("t2", "tag_added", tag="hot"), send("s")],
        [edge("t1", "next", "s"), edge("t2", "next", "s")],
    )
    assert problems(data) == []


def test_a_cycle_without_a_delay_is_refused_on_each_of_its_nodes():
    data = graph(
        [trigger(), node("f", "filter", filter=VIP), node("tag", "add_tag", tag="x"), exit_()],
        [edge("t", "next", "f"), edge("f", "yes", "tag"), edge("tag", "next", "f"), edge("f", "no", "x")],
    )
    assert errors(data) == {("f", "", "cycle_without_delay"), ("tag", "", "cycle_without_delay")}


def test_a_cycle_through_a_wait_is_allowed():
    data = graph(
        [trigger(), node("f", "filter", filter=VIP), send("s"), wait("w"), exit_()],
        [edge("t", "next", "f"), edge("f", "yes", "s"), *chain("s", "w", "f"), edge("f", "no", "x")],
    )
    assert problems(data) == []


def test_every_cycle_needs_a_wait_not_just_the_component():
    # f -> tag -> f has no wait, even though f -> w -> f has one.
    data = graph(
        [trigger(), node("f", "filter", filter=VIP), node("tag", "add_tag", tag="x"), wait("w")],
        [
            edge("t", "next", "f"),
            edge("f", "yes", "tag"),
            edge("tag", "next", "f"),
            edge("f", "no", "w"),
            *chain("w", "f"),
        ],
    )
    assert errors(data) == {("f", "", "cycle_without_delay"), ("tag", "", "cycle_without_delay")}


@pytest.mark.parametrize(("every_year", "ok"), [(False, False), (True, True)])
def test_a_date_wait_only_counts_as_a_delay_when_yearly(every_year, ok):
    data = graph(
        [trigger(), node("w", "wait_until_date_field", field="renewal", every_year=every_year), send("s")],
        [*chain("t", "w", "s", "w")],
    )
    assert (errors(data) == set()) is ok
    if not ok:
        assert errors(data) == {("w", "", "cycle_without_delay"), ("s", "", "cycle_without_delay")}


def test_the_node_limit():
    nodes = [trigger()] + [node(f"n{i}", "add_tag", tag="x") for i in range(5)]
    data = graph(nodes, chain("t", *[f"n{i}" for i in range(5)]))
    small = GraphContext(filter_context=FILTER_CONTEXT, max_nodes=5)
    assert errors(data, small) == {(None, "nodes", "too_big")}
    assert errors(data) == set()
    # Far over the limit: nothing else is checked.
    tiny = GraphContext(filter_context=FILTER_CONTEXT, max_nodes=1)
    assert [p.code for p in problems(data, tiny)] == ["too_big"]


def test_the_size_limit():
    data = with_node(node("n", "notify_user", subject="s", body="x" * 5000))
    small = GraphContext(filter_context=FILTER_CONTEXT, user_ids={2}, max_bytes=4000)
    assert errors(data, small) == {(None, "", "too_big")}


def test_an_automation_that_does_nothing_is_a_warning():
    assert warnings(graph([trigger(), wait("w"), exit_()], chain("t", "w", "x"))) == {(None, "nodes", "no_action")}


# --- Validation: references to an earlier send ------------------------------------------------------------------


def engagement_graph(before: list[dict], edges: list[dict], ref: str = "s") -> dict[str, Any]:
    nodes = [*before, node("g", "engagement", node=ref, event="clicked"), exit_("ya"), exit_("na")]
    return graph(nodes, [*edges, edge("g", "yes", "ya"), edge("g", "no", "na")])


def test_engagement_on_an_earlier_send_after_a_wait():
    data = engagement_graph([trigger(), send("s"), wait("w")], chain("t", "s", "w", "g"))
    assert problems(data) == []


def test_engagement_refers_to_an_existing_send():
    data = engagement_graph([trigger(), send("s"), wait("w")], chain("t", "s", "w", "g"), ref="ghost")
    assert errors(data) == {("g", "config.node", "unknown_node")}
    data = engagement_graph([trigger(), send("s"), wait("w")], chain("t", "s", "w", "g"), ref="w")
    assert errors(data) == {("g", "config.node", "not_a_send")}


def test_engagement_needs_the_send_on_every_path():
    split = node("r", "random_split", branches=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}])
    data = engagement_graph(
        [trigger(), split, send("s"), wait("w")],
        [
            edge("t", "next", "r"),
            edge("r", "a", "s"),
            edge("s", "next", "w"),
            edge("r", "b", "w"),
            edge("w", "next", "g"),
        ],
    )
    assert errors(data) == {("g", "config.node", "send_not_before")}


def test_engagement_cannot_look_forward():
    nodes = [trigger(), wait("w"), node("g", "engagement", node="s", event="clicked"), send("s"), exit_("na")]
    edges = [*chain("t", "w", "g"), edge("g", "yes", "s"), edge("g", "no", "na")]
    assert errors(graph(nodes, edges)) == {("g", "config.node", "send_not_before")}


def test_engagement_right_after_the_send_is_a_warning():
    data = engagement_graph([trigger(), send("s")], chain("t", "s", "g"))
    assert errors(data) == set()
    assert warnings(data) == {("g", "config.node", "no_delay_after_send")}


def test_a_send_reached_through_its_fallback_still_counts():
    data = fixture()
    assert problems(data) == []  # wait-click comes after case-study on both the next and the fallback path


def test_wait_for_event_on_a_message_needs_the_send_before_it():
    opened = {"kind": "opened", "node": "s"}
    late = graph(
        [trigger(), node("w", "wait_for_event", event=opened, timeout={"days": 3}), send("s"), exit_()],
        [edge("t", "next", "w"), edge("w", "event", "s"), edge("w", "timeout", "x")],
    )
    assert errors(late) == {("w", "config.event.node", "send_not_before")}
    wrong = graph(
        [trigger(), wait("s"), node("w", "wait_for_event", event=opened, timeout={"days": 3}), exit_()],
        [*chain("t", "s", "w"), edge("w", "event", "x"), edge("w", "timeout", "x")],
    )
    assert errors(wrong) == {("w", "config.event.node", "not_a_send")}


# --- Validation: node configs against the workspace --------------------------------------------------------------

CONFIG_ERRORS = [
    (node("n", "lead_status_changed", to_status="vip"), {}, ("n", "config.to_status", "unknown_status")),
    (
        node("n", "lead_status_changed", to_status="won", from_status="won"),
        {},
        ("n", "config.from_status", "same_status"),
    ),
    (
        node(
            "n",
            "lead_created",
            filter={"combinator": "and", "rules": [{"field": "mood", "operator": "=", "value": "x"}]},
        ),
        {},
        ("n", "config.filter.rules[0].field", "invalid_filter"),
    ),
    (node("n", "added_to_list", list_id=99), {}, ("n", "config.list_id", "unknown_ref")),
    (node("n", "custom_field_changed", field="colour"), {}, ("n", "config.field", "unknown_field")),
    (node("n", "custom_field_changed", field="plan", to_value="gold"), {}, ("n", "config.to_value", "invalid_value")),
    (node("n", "custom_field_changed", field="seats", to_value="ten"), {}, ("n", "config.to_value", "invalid_value")),
    (
        node("n", "campaign_interaction", interaction="opened", campaign_id=71),
        {},
        ("n", "config.campaign_id", "unknown_ref"),
    ),
    (node("n", "date_field", field="plan"), {}, ("n", "config.field", "not_a_date")),
    (node("n", "date_field", field="anniversary"), {}, ("n", "config.field", "unknown_field")),
    (
        node("n", "recurring_schedule", frequency="daily", time="09:00", filter={"combinator": "xor", "rules": []}),
        {},
        ("n", "config.filter.combinator", "invalid_filter"),
    ),
]


@pytest.mark.parametrize(
    ("bad", "outgoing", "expected"), CONFIG_ERRORS, ids=[e[2][1] + "-" + e[2][2] for e in CONFIG_ERRORS]
)
def test_trigger_configs_are_checked_against_the_workspace(bad, outgoing, expected):
    data = graph([bad, send("s")], [edge("n", "next", "s")])
    found = [(p.node_id, p.field, p.code) for p in problems(data) if p.severity == "error"]
    assert found == [expected]  # once


ACTION_ERRORS = [
    (
        node(
            "n", "filter", filter={"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "vip"}]}
        ),
        ("n", "config.filter.rules[0].value", "invalid_filter"),
    ),
    (
        node("n", "random_split", branches=[{"key": "a", "percent": 50}, {"key": "b", "percent": 40}]),
        ("n", "config.branches", "split_not_100"),
    ),
    (
        node("n", "random_split", branches=[{"key": "a", "percent": 50}, {"key": "a", "percent": 50}]),
        ("n", "config.branches[1].key", "duplicate_branch"),
    ),
    (send("n", template_id=99), ("n", "config.template_id", "unknown_ref")),
    (send("n", channel="sms", template_id=11), ("n", "config.template_id", "wrong_channel")),
    (send("n", template_id=12, template_version=2), ("n", "config.template_version", "unknown_ref")),
    (node("n", "update_field", field="status", value="vip"), ("n", "config.value", "unknown_status")),
    (
        node("n", "update_field", field="status", operation="increment", value=1),
        ("n", "config.operation", "invalid_operation"),
    ),
    (node("n", "update_field", field="score", value=1.5), ("n", "config.value", "invalid_value")),
    (node("n", "update_field", field="score", value=True), ("n", "config.value", "invalid_value")),
    (node("n", "update_field", field="custom.colour", value="red"), ("n", "config.field", "unknown_field")),
    (
        node("n", "update_field", field="custom.nick", operation="increment", value=1),
        ("n", "config.operation", "invalid_operation"),
    ),
    (
        node("n", "update_field", field="custom.seats", operation="increment", value="1"),
        ("n", "config.value", "invalid_value"),
    ),
    (node("n", "update_field", field="custom.renewal", value="2026-02-30"), ("n", "config.value", "invalid_value")),
    (node("n", "update_field", field="custom.plan", value="gold"), ("n", "config.value", "invalid_value")),
    (node("n", "add_to_list", list_id=6), ("n", "config.list_id", "dynamic_list")),
    (node("n", "remove_from_list", list_id=99), ("n", "config.list_id", "unknown_ref")),
    (node("n", "assign_owner", user_id=9), ("n", "config.user_id", "unknown_ref")),
    (node("n", "assign_owner", mode="round_robin", user_ids=[2, 9]), ("n", "config.user_ids[1]", "unknown_ref")),
    (
        node("n", "notify_user", recipient="user", user_id=9, subject="s", body="b"),
        ("n", "config.user_id", "unknown_ref"),
    ),
    (node("n", "notify_user", subject="{{ lead.name", body="b"), ("n", "config.subject", "invalid_template")),
    (node("n", "notify_user", subject="s", body="{% if %}"), ("n", "config.body", "invalid_template")),
    (node("n", "call_webhook", url="https://x.example/{{lead.id", body="{}"), ("n", "config.url", "invalid_template")),
    (node("n", "call_webhook", url="https://x.example/", body="{{ }"), ("n", "config.body", "invalid_template")),
    (
        node("n", "call_webhook", url="https://x.example/", auth_secret="other"),
        ("n", "config.auth_secret", "unknown_ref"),
    ),
    (node("n", "start_automation", automation_id=40), ("n", "config.automation_id", "self_start")),
    (node("n", "start_automation", automation_id=99), ("n", "config.automation_id", "unknown_ref")),
    (node("n", "wait_duration", duration={}), ("n", "config.duration", "invalid_duration")),
    (node("n", "wait_duration", duration={"days": 366}), ("n", "config.duration", "invalid_duration")),
    (node("n", "wait_until_date_field", field="nick"), ("n", "config.field", "not_a_date")),
    (
        node("n", "wait_for_event", event={"kind": "converted"}, timeout={"minutes": 0}),
        ("n", "config.timeout", "invalid_duration"),
    ),
    (
        node("n", "wait_for_event", event={"kind": "status_changed", "to_status": "vip"}, timeout={"days": 1}),
        ("n", "config.event.to_status", "unknown_status"),
    ),
]


@pytest.mark.parametrize(
    ("bad", "expected"), ACTION_ERRORS, ids=[f"{b['type']}-{e[2]}-{e[1]}" for b, e in ACTION_ERRORS]
)
def test_node_configs_are_checked_against_the_workspace(bad, expected):
    offered = outcomes(parse_graph(graph([bad], []))[0].nodes[0])
    data = with_node(bad, {outcome: f"x-{outcome}" for outcome in offered.required})
    assert errors(data) == {expected}


def test_valid_configs_pass_the_workspace_checks():
    for type_, config in VALID_NODES:
        candidate = node("n", type_, **config)
        parsed = parse_graph(graph([candidate], []))[0].nodes[0]
        if parsed.category == "trigger":
            data = graph([candidate, send("s")], [edge("n", "next", "s")])
        else:
            data = with_node(candidate, {outcome: f"x-{outcome}" for outcome in outcomes(parsed).required})
        assert errors(data) == set(), (type_, errors(data))


def test_warnings_on_configs():
    single = with_node(node("n", "assign_owner", mode="round_robin", user_ids=[2]))
    assert warnings(single) == {("n", "config.user_ids", "single_user")}
    dynamic = graph([node("n", "added_to_list", list_id=6), send("s")], [edge("n", "next", "s")])
    assert warnings(dynamic) == {("n", "config.list_id", "dynamic_list")}
    assert not has_errors(problems(dynamic)) and has_errors([*problems(single), GraphProblem(None, "", "x", "x")])


def test_goals_are_checked():
    bad_filter = {"combinator": "and", "rules": [{"field": "mood", "operator": "=", "value": "x"}]}
    data = graph(
        [trigger(), send("s")],
        chain("t", "s"),
        goals=[
            {"kind": "filter", "filter": bad_filter},
            {"kind": "event", "event": {"kind": "opened", "node": "s"}},
            {"kind": "event", "event": {"kind": "status_changed", "to_status": "vip"}},
            {"kind": "event", "event": {"kind": "external_event", "name": "order.paid"}},
            {
                "kind": "filter",
                "filter": {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "won"}]},
            },
        ],
    )
    assert errors(data) == {
        (None, "goals[0].filter.rules[0].field", "invalid_filter"),
        (None, "goals[1].event.node", "message_goal"),
        (None, "goals[2].event.to_status", "unknown_status"),
    }


# --- Trigger matching ---------------------------------------------------------------------------------------------


def event(kind: str, **fields: Any) -> JourneyEvent:
    return JourneyEvent(kind=kind, event_id="ev-1", lead_id=7, **fields)


TRIGGERS = AutomationGraph.model_validate(
    graph(
        [
            node("to-qualified", "lead_status_changed", to_status="qualified"),
            node("new-to-won", "lead_status_changed", to_status="won", from_status="new"),
            node("created", "lead_created"),
            node("imported", "lead_created", sources=["import"]),
            node("list", "added_to_list", list_id=5),
            node("vip", "tag_added", tag="vip"),
            node("plan", "custom_field_changed", field="plan"),
            node("plan-pro", "custom_field_changed", field="plan", to_value="pro"),
            node("seats-1", "custom_field_changed", field="seats", to_value=1),
            node("webinar", "external_event", event="webinar.registered"),
            node("any-click", "campaign_interaction", interaction="clicked"),
            node("unsub-70", "campaign_interaction", interaction="unsubscribed", campaign_id=70),
            node("birthday", "date_field", field="birthday", every_year=True),
            node("weekly", "recurring_schedule", frequency="daily", time="09:00", filter=VIP),
        ],
        [],
    )
)


@pytest.mark.parametrize(
    ("incoming", "matched"),
    [
        (event("status_changed", from_status="new", to_status="qualified"), ["to-qualified"]),
        (event("status_changed", from_status="new", to_status="won"), ["new-to-won"]),
        (event("status_changed", from_status="proposal", to_status="won"), []),
        (event("status_changed", from_status="qualified", to_status="qualified"), []),
        (event("lead_created", source="api"), ["created"]),
        (event("lead_created", source="import"), ["created", "imported"]),
        (event("added_to_list", list_id=5), ["list"]),
        (event("added_to_list", list_id=6), []),
        (event("tag_added", tags=("hot", "vip")), ["vip"]),
        (event("tag_added", tags=("VIP",)), []),
        (event("field_changed", field="plan", value="free"), ["plan"]),
        (event("field_changed", field="plan", value="pro"), ["plan", "plan-pro"]),
        (event("field_changed", field="seats", value=1.0), ["seats-1"]),
        (event("field_changed", field="seats", value=True), []),
        (event("external_event", name="webinar.registered"), ["webinar"]),
        (event("external_event", name="webinar.attended"), []),
        (event("campaign_interaction", interaction="clicked", campaign_id=3), ["any-click"]),
        (event("campaign_interaction", interaction="clicked", campaign_id=3, machine=True), []),
        (event("campaign_interaction", interaction="unsubscribed", campaign_id=70), ["unsub-70"]),
        (event("campaign_interaction", interaction="unsubscribed", campaign_id=71), []),
        (event("scheduled", node_id="birthday"), ["birthday"]),
        (event("scheduled", node_id="weekly"), ["weekly"]),
        (event("scheduled", node_id="to-qualified"), []),
        (event("converted"), []),
        (event("message_clicked", node_id="s"), []),
    ],
)
def test_triggers_matching(incoming, matched):
    assert triggers_matching(TRIGGERS, incoming) == matched


def test_timeline_rows_become_trigger_events():
    made = timeline_events("status_changed", {"from": "new", "to": "qualified"}, lead_id=7, event_id="le-1")
    assert made == [
        event("status_changed", from_status="new", to_status="qualified").model_copy(update={"event_id": "le-1"})
    ]
    assert timeline_events("status_changed", {"from": "won", "to": "won"}, lead_id=7, event_id="le-1") == []
    assert timeline_events("created", {"source": "import"}, lead_id=7, event_id="le-2")[0].source == "import"
    assert timeline_events("tagged", {"tags": ["a", "b"]}, lead_id=7, event_id="le-3")[0].tags == ("a", "b")
    assert timeline_events("added_to_list", {"list_id": 5}, lead_id=7, event_id="le-4")[0].list_id == 5
    changed = timeline_events(
        "field_changed",
        {
            "field": "custom_fields",
            "from": {"plan": "free", "seats": 1, "nick": "Al"},
            "to": {"plan": "pro", "seats": 1},
        },
        lead_id=7,
        event_id="le-5",
    )
    assert [(e.event_id, e.field, e.value) for e in changed] == [
        ("le-5:nick", "nick", None),
        ("le-5:plan", "plan", "pro"),
    ]
    assert timeline_events("field_changed", {"field": "company", "from": "A", "to": "B"}, lead_id=7, event_id="x") == []
    assert timeline_events("untagged", {"tags": ["a"]}, lead_id=7, event_id="x") == []
    odd = timeline_events(
        "field_changed", {"field": "custom_fields", "from": {}, "to": {"nick": {"a": 1}}}, lead_id=7, event_id="y"
    )
    assert [(e.field, e.value) for e in odd] == [("nick", None)]
    assert triggers_matching(TRIGGERS, changed[1]) == ["plan", "plan-pro"]
