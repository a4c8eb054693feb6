"""Campaign flow definitions: their shape, the validation rules (each naming the step) and the engine's cursor."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from domain.campaign_flow import (
    MAX_DEPTH,
    MAX_STEPS,
    FlowProblem,
    Position,
    after,
    enter,
    first_position,
    has_errors,
    iter_steps,
    next_position,
    parent_position,
    path_label,
    position_of,
    send_steps,
    step_at,
    step_by_id,
    validate_flow,
)
from models.payloads.campaign_flow import (
    BranchStep,
    CampaignSchedule,
    FlowDefinition,
    SendStep,
    SplitStep,
    WaitStep,
    WaitUntil,
)

TEMPLATE_CHANNELS = {1: "email", 2: "sms", 3: "whatsapp", 4: "email", 11: "email", 12: "email", 13: "email"}
TEMPLATE_CHANNELS |= {14: "email", 21: "sms", 22: "sms", 31: "whatsapp"}
TEMPLATE_VERSIONS = {template_id: {1} for template_id in TEMPLATE_CHANNELS} | {1: {1, 2}, 11: {1, 2, 3}}
STATUSES = ("new", "contacted", "qualified", "proposal", "won", "lost", "unsubscribed")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "campaign-flows.md"


def send(step_id: str, channel: str = "email", template_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "send", "channel": channel, "template_id": template_id, **extra}


def wait(step_id: str, **duration: int) -> dict[str, Any]:
    return {"id": step_id, "type": "wait", "duration": duration or {"days": 1}}


def until(step_id: str, day: str, at: str = "09:00", mode: str = "workspace") -> dict[str, Any]:
    return {"id": step_id, "type": "wait", "until": {"date": day, "time": at, "timezone_mode": mode}}


def branch(step_id: str, ref: str = "s1", event: str = "opened", yes=None, no=()) -> dict[str, Any]:
    """An engagement branch; without arms, the yes arm exits (two empty arms would be a warning)."""
    condition = {"kind": "engagement", "step_id": ref, "event": event}
    yes = [exit_(f"{step_id}-out")] if yes is None and not no else list(yes or ())
    return {"id": step_id, "type": "branch", "condition": condition, "yes": yes, "no": list(no)}


def split(step_id: str, *variants: tuple[str, int, list], winner: dict | None = None) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "ab_split",
        "variants": [{"id": v, "name": v.upper(), "percent": p, "steps": steps} for v, p, steps in variants],
        "winner": winner,
    }


def exit_(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "exit"}


def flow(*steps: dict[str, Any], exit_on_statuses: list[str] | None = None) -> FlowDefinition:
    return FlowDefinition.model_validate({"steps": list(steps), "exit_on_statuses": exit_on_statuses or []})


def check(definition: FlowDefinition) -> list[FlowProblem]:
    return validate_flow(
        definition, template_channels=TEMPLATE_CHANNELS, template_versions=TEMPLATE_VERSIONS, known_statuses=STATUSES
    )


def errors(definition: FlowDefinition) -> list[tuple[str | None, str]]:
    return [(p.step_id, p.path) for p in check(definition) if p.severity == "error"]


def warnings(definition: FlowDefinition) -> list[tuple[str | None, str]]:
    return [(p.step_id, p.path) for p in check(definition) if p.severity == "warning"]


def only_error(definition: FlowDefinition) -> FlowProblem:
    problems = [p for p in check(definition) if p.severity == "error"]
    assert len(problems) == 1, problems
    return problems[0]


def docs_example() -> dict[str, Any]:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)
    return json.loads(blocks[0])


# --- The shape --------------------------------------------------------------------------------------------------------


def test_the_documented_example_parses_validates_and_round_trips():
    definition = FlowDefinition.model_validate(docs_example())
    assert check(definition) == []
    again = FlowDefinition.model_validate_json(definition.model_dump_json())
    assert again == definition
    assert isinstance(definition.steps[2], BranchStep)
    assert isinstance(definition.steps[2].yes[0], SplitStep)
    assert definition.steps[2].yes[0].winner.test_percent == 20
    assert "$defs" in FlowDefinition.model_json_schema()  # the recursive schema builds (for the UI)


def test_the_documented_schedule_parses():
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), re.S)
    schedule = CampaignSchedule.model_validate(json.loads(blocks[1]))
    assert schedule.mode == "local_time" and schedule.weekdays == [0, 1, 2, 3, 4]
    assert schedule.quiet_hours.start == "21:00" and schedule.throttle_per_minute == {"email": 1200, "sms": 60}


@pytest.mark.parametrize("step_id", ["", "Send", "send 1", "a" * 41, "café", "a.b", "a:b", "a#b"])
def test_step_ids_are_short_lowercase_slugs(step_id):
    with pytest.raises(ValidationError):
        flow(send(step_id))
    flow(send("a" * 40), send("s_1-x"))


@pytest.mark.parametrize(
    "step",
    [
        {"id": "w", "type": "wait"},
        {"id": "w", "type": "wait", "duration": {"days": 1}, "until": {"date": "2026-01-01", "time": "09:00"}},
        {"id": "w", "type": "wait", "until": {"date": "2026-02-30", "time": "09:00"}},
        {"id": "w", "type": "wait", "until": {"date": "2026-02-01", "time": "24:00"}},
        {"id": "w", "type": "wait", "until": {"date": "2026-02-01", "time": "9:00"}},
        {"id": "w", "type": "wait", "until": {"date": "2026-02-01", "time": "09:00", "timezone_mode": "utc"}},
        {"id": "w", "type": "wait", "duration": {"days": -1}},
        {"id": "s", "type": "send", "channel": "fax", "template_id": 1},
        {"id": "s", "type": "send", "channel": "email", "template_id": 0},
        {"id": "s", "type": "send", "channel": "email", "template_id": 1, "subject": "extra fields are refused"},
        {"id": "s", "type": "teleport"},
        {"id": "b", "type": "branch", "condition": {"kind": "engagement", "step_id": "s", "event": "bounced"}},
        {"id": "b", "type": "branch", "condition": {"kind": "mood"}},
        {
            "id": "x",
            "type": "ab_split",
            "variants": [],
            "winner": {"metric": "open_rate", "after": {}, "test_percent": 4},
        },
        {
            "id": "x",
            "type": "ab_split",
            "variants": [],
            "winner": {"metric": "revenue", "after": {}, "test_percent": 5},
        },
        {"id": "x", "type": "ab_split", "variants": [{"id": "a", "name": "", "percent": 100}]},
        {"id": "x", "type": "ab_split", "variants": [{"id": "a", "name": "A", "percent": 101}]},
    ],
)
def test_malformed_steps_are_refused(step):
    with pytest.raises(ValidationError):
        flow(step)


def test_a_wait_until_exposes_its_local_date_and_time():
    wait_until = WaitUntil(date="2026-03-29", time="02:30", timezone_mode="lead")
    assert wait_until.wall_clock() == datetime(2026, 3, 29, 2, 30)


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "at"},
        {"mode": "at", "at": "2026-06-01T09:00:00"},  # naive: which timezone?
        {"mode": "now", "at": "2026-06-01T09:00:00Z"},
        {"mode": "local_time", "local_time": "09:00"},
        {"mode": "local_time", "date": "2026-06-01"},
        {"mode": "now", "date": "2026-06-01"},
        {"mode": "now", "weekdays": []},
        {"mode": "now", "weekdays": [7]},
        {"mode": "now", "quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"mode": "now", "throttle_per_minute": {"fax": 10}},
        {"mode": "now", "throttle_per_minute": {"email": 0}},
        {"mode": "now", "frequency_cap": {"max_messages": 0}},
        {"mode": "later"},
    ],
)
def test_malformed_schedules_are_refused(data):
    with pytest.raises(ValidationError):
        CampaignSchedule.model_validate(data)


def test_schedule_defaults_and_normalisation():
    schedule = CampaignSchedule()
    assert schedule.mode == "now" and schedule.weekdays == [0, 1, 2, 3, 4, 5, 6]
    assert CampaignSchedule(weekdays=[4, 0, 4]).weekdays == [0, 4]
    at = CampaignSchedule.model_validate({"mode": "at", "at": "2026-06-01T09:00:00+02:00"})
    assert at.at.utcoffset() is not None
    capped = CampaignSchedule.model_validate({"frequency_cap": {"max_messages": 3}})
    assert capped.frequency_cap.days == 7


# --- Validation -------------------------------------------------------------------------------------------------------


def test_a_sound_flow_has_no_problems():
    definition = flow(
        send("s1", template_version=2, fallback={"channel": "sms", "template_id": 2, "template_version": 1}),
        wait("w1", days=3),
        branch("b1", "s1", yes=[send("s2", "whatsapp", 3)], no=[send("s3", "sms", 2), exit_("out")]),
        split("ab", ("a", 30, [send("va")]), ("b", 70, [send("vb", template_id=4)])),
        exit_on_statuses=["won"],
    )
    assert check(definition) == []
    assert not has_errors(check(definition))


@pytest.mark.parametrize("steps", [[], [wait("w1")], [wait("w1"), exit_("x")]])
def test_a_flow_must_send_something(steps):
    problem = only_error(flow(*steps))
    assert (problem.step_id, problem.path) == (None, "steps") and "send" in problem.message


def test_nested_sends_count_as_sending():
    assert check(flow(split("ab", ("a", 50, [send("s1")]), ("b", 50, [send("s2")])))) == []


def test_step_ids_are_unique_across_the_whole_tree():
    definition = flow(send("s1"), wait("w1"), branch("b1", yes=[send("s1")], no=[wait("w1", hours=2)]))
    assert errors(definition) == [("s1", "steps[2].yes[0].id"), ("w1", "steps[2].no[0].id")]


def test_templates_must_exist_with_the_steps_channel_and_version():
    assert errors(flow(send("s1", template_id=99))) == [("s1", "steps[0].template_id")]
    problem = only_error(flow(send("s1", "sms", 1)))
    assert problem.path == "steps[0].template_id" and "email template, not sms" in problem.message
    assert errors(flow(send("s1", template_version=3))) == [("s1", "steps[0].template_version")]
    assert check(flow(send("s1", template_version=2))) == []
    nested = flow(send("s0"), wait("w"), branch("b1", "s0", yes=[send("s1", "whatsapp", 1)]))
    assert errors(nested) == [("s1", "steps[2].yes[0].template_id")]


def test_a_template_without_any_version_record_has_no_pinned_version():
    problem = validate_flow(
        flow(send("s1", template_version=1)),
        template_channels={1: "email"},
        template_versions={},
        known_statuses=STATUSES,
    )
    assert [(p.step_id, p.path) for p in problem] == [("s1", "steps[0].template_version")]


def test_the_fallback_uses_another_channel_and_a_matching_template():
    same = flow(send("s1", fallback={"channel": "email", "template_id": 4}))
    assert errors(same) == [("s1", "steps[0].fallback.channel")]
    mismatch = flow(send("s1", fallback={"channel": "sms", "template_id": 3}))
    assert errors(mismatch) == [("s1", "steps[0].fallback.template_id")]
    missing = flow(send("s1", fallback={"channel": "sms", "template_id": 98}))
    assert errors(missing) == [("s1", "steps[0].fallback.template_id")]
    version = flow(send("s1", fallback={"channel": "sms", "template_id": 2, "template_version": 5}))
    assert errors(version) == [("s1", "steps[0].fallback.template_version")]


@pytest.mark.parametrize(
    ("duration", "ok"),
    [
        ({"minutes": 1}, True),
        ({"days": 365}, True),
        ({"days": 364, "hours": 24}, True),
        ({}, False),
        ({"days": 0, "hours": 0, "minutes": 0}, False),
        ({"days": 365, "minutes": 1}, False),
        ({"hours": 8761}, False),
    ],
)
def test_waits_last_more_than_zero_and_at_most_a_year(duration, ok):
    definition = flow(send("s1"), {"id": "w1", "type": "wait", "duration": duration})
    assert errors(definition) == ([] if ok else [("w1", "steps[1].duration")])


class TestEngagementBranches:
    def test_an_earlier_send_in_the_same_sequence(self):
        assert check(flow(send("s1"), wait("w"), branch("b1", "s1"))) == []

    def test_a_send_before_an_enclosing_branch(self):
        definition = flow(send("s1"), wait("w"), branch("b1", "s1", yes=[wait("w2"), branch("b2", "s1", "clicked")]))
        assert check(definition) == []

    def test_an_earlier_send_in_the_same_arm(self):
        definition = flow(send("s0"), wait("w"), branch("b1", "s0", yes=[send("s1"), wait("w2"), branch("b2", "s1")]))
        assert check(definition) == []

    def test_a_send_in_the_same_variant(self):
        definition = flow(split("ab", ("a", 50, [send("s1"), wait("w"), branch("b", "s1")]), ("b", 50, [send("s2")])))
        assert check(definition) == []

    def test_a_later_send(self):
        problem = only_error(flow(send("s0"), wait("w"), branch("b1", "s9"), send("s9")))
        assert (problem.step_id, problem.path) == ("b1", "steps[2].condition.step_id")
        assert "comes after" in problem.message

    def test_a_send_inside_the_branch_itself(self):
        problem = only_error(flow(send("s0"), branch("b1", "s1", yes=[send("s1")])))
        assert problem.step_id == "b1" and "comes after" in problem.message

    def test_a_send_in_the_sibling_arm(self):
        definition = flow(
            send("s0"), wait("w"), branch("b1", "s0", yes=[send("s1")], no=[wait("w2"), branch("b2", "s1")])
        )
        problem = only_error(definition)
        assert (problem.step_id, problem.path) == ("b2", "steps[2].no[1].condition.step_id")
        assert "another branch arm or variant" in problem.message

    def test_a_send_nested_in_an_earlier_branch_only_some_leads_took(self):
        definition = flow(send("s0"), wait("w"), branch("b1", "s0", yes=[send("s1")]), wait("w2"), branch("b2", "s1"))
        assert errors(definition) == [("b2", "steps[4].condition.step_id")]

    def test_a_send_in_another_variant(self):
        definition = flow(split("ab", ("a", 50, [send("s1")]), ("b", 50, [send("s2"), wait("w"), branch("b", "s1")])))
        assert errors(definition) == [("b", "steps[0].variants[1].steps[2].condition.step_id")]

    def test_a_step_that_is_not_a_send(self):
        earlier = only_error(flow(send("s0"), wait("w"), branch("b1", "w")))
        assert "wait step, not a send step" in earlier.message
        later = only_error(flow(send("s0"), branch("b1", "x"), exit_("x")))
        assert "exit step, not a send step" in later.message
        itself = only_error(flow(send("s0"), branch("b1", "b1", yes=[send("s1")])))
        assert "branch step, not a send step" in itself.message

    def test_an_unknown_step(self):
        problem = only_error(flow(send("s0"), wait("w"), branch("b1", "nope")))
        assert problem.path == "steps[2].condition.step_id" and "no step 'nope'" in problem.message

    @pytest.mark.parametrize("event", ["opened", "clicked", "not_opened", "not_clicked"])
    def test_no_wait_between_the_send_and_the_branch_is_a_warning(self, event):
        definition = flow(wait("w0"), send("s1"), branch("b1", "s1", event))
        assert errors(definition) == [] and warnings(definition) == [("b1", "steps[2].condition.step_id")]

    def test_a_wait_before_an_enclosing_branch_counts(self):
        definition = flow(send("s1"), wait("w"), branch("b1", "s1", yes=[branch("b2", "s1", "clicked")]))
        assert warnings(definition) == []

    @pytest.mark.parametrize("event", ["delivered", "failed"])
    def test_delivery_events_need_no_wait(self, event):
        assert check(flow(send("s1"), branch("b1", "s1", event))) == []


class TestFilterBranches:
    def test_a_valid_filter(self):
        condition = {
            "kind": "filter",
            "filter": {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "won"}]},
        }
        definition = flow(send("s1"), {"id": "b1", "type": "branch", "condition": condition, "yes": [send("s2")]})
        assert check(definition) == []

    def test_a_malformed_filter_is_named_by_its_path(self):
        condition = {
            "kind": "filter",
            "filter": {"combinator": "and", "rules": [{"field": "status", "operator": "="}, 3]},
        }
        problem = only_error(
            flow(send("s1"), {"id": "b1", "type": "branch", "condition": condition, "yes": [send("s2")]})
        )
        assert problem.step_id == "b1" and problem.path.startswith("steps[1].condition.filter.rules[")


def test_a_branch_with_two_empty_arms_is_a_warning():
    definition = flow(send("s1"), wait("w"), branch("b1", yes=[]))
    assert errors(definition) == [] and warnings(definition) == [("b1", "steps[2]")]


class TestSplits:
    @pytest.mark.parametrize("percents", [(50, 50), (1, 99), (25, 25, 25, 25), (33, 33, 34), (10, 20, 30, 40)])
    def test_two_to_four_variants_adding_up_to_100(self, percents):
        variants = [(f"v{i}", p, [send(f"s{i}")]) for i, p in enumerate(percents)]
        assert check(flow(split("ab", *variants))) == []

    @pytest.mark.parametrize("percents", [(100,), (20, 20, 20, 20, 20)])
    def test_too_few_or_too_many_variants(self, percents):
        variants = [(f"v{i}", p, [send(f"s{i}")]) for i, p in enumerate(percents)]
        problem = only_error(flow(split("ab", *variants)))
        assert (problem.step_id, problem.path) == ("ab", "steps[0].variants") and "2 to 4" in problem.message

    @pytest.mark.parametrize("percents", [(50, 49), (50, 51), (60, 60, 0)])
    def test_percents_must_add_up_to_100(self, percents):
        variants = [(f"v{i}", p, [send(f"s{i}")]) for i, p in enumerate(percents)]
        problems = errors(flow(split("ab", *variants)))
        assert ("ab", "steps[0].variants") in problems

    def test_every_variant_gets_at_least_one_percent(self):
        definition = flow(split("ab", ("a", 0, [send("s0")]), ("b", 100, [send("s1")])))
        assert errors(definition) == [("ab", "steps[0].variants[0].percent")]

    def test_variant_ids_are_unique_in_the_split(self):
        definition = flow(split("ab", ("a", 50, [send("s0")]), ("a", 50, [send("s1")])))
        assert errors(definition) == [("ab", "steps[0].variants[1].id")]

    def test_a_winner_waits_between_zero_and_365_days(self):
        for after_, ok in (({"hours": 4}, True), ({}, False), ({"days": 366}, False)):
            winner = {"metric": "open_rate", "after": after_, "test_percent": 10}
            definition = flow(split("ab", ("a", 50, [send("s0")]), ("b", 50, [send("s1")]), winner=winner))
            assert errors(definition) == ([] if ok else [("ab", "steps[0].winner.after")])

    def test_a_variant_without_send_makes_a_winner_meaningless(self):
        winner = {"metric": "click_rate", "after": {"hours": 4}, "test_percent": 10}
        definition = flow(send("s0"), split("ab", ("a", 50, [wait("w")]), ("b", 50, [send("s1")]), winner=winner))
        assert errors(definition) == [] and warnings(definition) == [("ab", "steps[1].variants[0].steps")]
        without_winner = flow(send("s0"), split("ab", ("a", 50, [wait("w")]), ("b", 50, [send("s1")])))
        assert check(without_winner) == []


class TestUnreachable:
    def test_steps_after_an_exit_are_named(self):
        definition = flow(send("s1"), exit_("x"), wait("w"), send("s2"))
        problems = [p for p in check(definition) if p.severity == "error"]
        assert [(p.step_id, p.path) for p in problems] == [("w", "steps[2]"), ("s2", "steps[3]")]
        assert all("exit step 'x'" in p.message for p in problems)

    def test_inside_an_arm(self):
        definition = flow(send("s1"), wait("w"), branch("b1", yes=[exit_("x"), send("s2")]), send("s3"))
        assert errors(definition) == [("s2", "steps[2].yes[1]")]

    def test_after_a_branch_whose_arms_all_exit(self):
        definition = flow(
            send("s1"), wait("w"), branch("b1", yes=[exit_("x1")], no=[send("s2"), exit_("x2")]), send("s3")
        )
        problem = only_error(definition)
        assert (problem.step_id, problem.path) == ("s3", "steps[3]") and "'b1'" in problem.message

    def test_an_empty_arm_continues_after_the_branch(self):
        definition = flow(send("s1"), wait("w"), branch("b1", yes=[exit_("x1")]), send("s3"))
        assert check(definition) == []

    def test_after_a_split_whose_variants_all_exit(self):
        nested_exit = branch("b", "s1", "delivered", yes=[exit_("x2")], no=[exit_("x3")])
        definition = flow(
            split("ab", ("a", 50, [send("s0"), exit_("x1")]), ("b", 50, [send("s1"), nested_exit])), send("s2")
        )
        assert errors(definition) == [("s2", "steps[1]")]
        open_variant = flow(split("ab", ("a", 50, [send("s0"), exit_("x1")]), ("b", 50, [send("s1")])), send("s2"))
        assert check(open_variant) == []


class TestUntilWaits:
    def test_later_until_is_fine(self):
        definition = flow(
            send("s1"), until("u1", "2026-06-01"), send("s2"), until("u2", "2026-06-01", "09:01"), send("s3")
        )
        assert check(definition) == []

    @pytest.mark.parametrize(("day", "at"), [("2026-06-01", "09:00"), ("2026-05-31", "23:59"), ("2025-06-01", "10:00")])
    def test_same_or_earlier_until_is_an_error(self, day, at):
        definition = flow(send("s1"), until("u1", "2026-06-01"), send("s2"), until("u2", day, at), send("s3"))
        problem = only_error(definition)
        assert (problem.step_id, problem.path) == ("u2", "steps[3].until") and "'u1'" in problem.message

    def test_an_until_inside_an_earlier_arm_counts(self):
        definition = flow(
            send("s1"),
            branch("b1", "s1", "delivered", yes=[until("u1", "2026-07-01")]),
            until("u2", "2026-06-15"),
            send("s2"),
        )
        assert errors(definition) == [("u2", "steps[2].until")]

    def test_an_until_in_the_enclosing_sequence_counts(self):
        definition = flow(send("s1"), until("u1", "2026-07-01"), branch("b1", "s1", yes=[until("u2", "2026-06-15")]))
        assert errors(definition) == [("u2", "steps[2].yes[0].until")]

    def test_sibling_arms_do_not_constrain_each_other(self):
        definition = flow(
            send("s1"),
            branch("b1", "s1", "delivered", yes=[until("u1", "2026-07-01")], no=[until("u2", "2026-06-15")]),
            send("s2"),
        )
        assert check(definition) == []

    def test_mixed_timezone_modes_close_together_are_a_warning(self):
        close = flow(send("s1"), until("u1", "2026-06-01"), until("u2", "2026-06-02", "10:00", "lead"), send("s2"))
        assert errors(close) == [] and warnings(close) == [("u2", "steps[2].until")]
        far = flow(send("s1"), until("u1", "2026-06-01"), until("u2", "2026-06-02", "11:01", "lead"), send("s2"))
        assert check(far) == []


def test_exit_statuses_must_be_known():
    definition = flow(send("s1"), exit_on_statuses=["won", "champion", "lost"])
    problem = only_error(definition)
    assert (problem.step_id, problem.path) == (None, "exit_on_statuses[1]") and "champion" in problem.message


def nested_branches(depth: int) -> FlowDefinition:
    """A send at the top, then branches nested `depth - 1` levels, the innermost holding a send at level `depth`."""
    inner: list[dict[str, Any]] = [send("deep")]
    for level in range(depth - 1, 0, -1):
        inner = [branch(f"b{level}", "s0", "delivered", yes=inner)]
    return flow(send("s0"), *inner)


def test_nesting_depth():
    assert check(nested_branches(MAX_DEPTH)) == []
    problem = only_error(nested_branches(MAX_DEPTH + 1))
    assert problem.step_id == "deep" and "8 levels" in problem.message
    assert problem.path == "steps[1]" + ".yes[0]" * MAX_DEPTH


def test_at_most_100_steps():
    assert check(flow(*(send(f"s{i}") for i in range(MAX_STEPS)))) == []
    nested = [send(f"s{i}") for i in range(MAX_STEPS - 2)]
    too_many = flow(send("top"), branch("b", "top", "delivered", yes=nested[:50], no=[*nested[50:], send("last")]))
    problem = only_error(too_many)
    assert (problem.step_id, problem.path) == (None, "steps") and "101" in problem.message


def test_a_huge_flow_gets_one_problem_quickly():
    huge = flow(*(send("same") for _ in range(MAX_STEPS * 10 + 1)))  # duplicate ids not even reported
    problems = check(huge)
    assert [(p.step_id, p.path) for p in problems] == [(None, "steps")] and "1001" in problems[0].message


# --- Tree access and the cursor ---------------------------------------------------------------------------------------


def example() -> FlowDefinition:
    """
    0 s1
    1 w1
    2 b1 yes: [0 s2, 1 ab (a: [0 va1, 1 va2], b: [], c: [0 vc])]   no: [0 x]
    3 s3
    """
    return flow(
        send("s1"),
        wait("w1"),
        branch(
            "b1",
            yes=[
                send("s2"),
                split("ab", ("a", 40, [send("va1"), send("va2")]), ("b", 30, []), ("c", 30, [send("vc")])),
            ],
            no=[exit_("x")],
        ),
        send("s3"),
    )


def test_iter_steps_is_depth_first_execution_order():
    positions = [(position, step.id) for position, step in iter_steps(example())]
    assert positions == [
        ((0,), "s1"),
        ((1,), "w1"),
        ((2,), "b1"),
        ((2, "yes", 0), "s2"),
        ((2, "yes", 1), "ab"),
        ((2, "yes", 1, "a", 0), "va1"),
        ((2, "yes", 1, "a", 1), "va2"),
        ((2, "yes", 1, "c", 0), "vc"),
        ((2, "no", 0), "x"),
        ((3,), "s3"),
    ]


def test_lookups():
    definition = example()
    assert [step.id for step in send_steps(definition)] == ["s1", "s2", "va1", "va2", "vc", "s3"]
    assert all(isinstance(step, SendStep) for step in send_steps(definition))
    assert isinstance(step_by_id(definition, "w1"), WaitStep) and step_by_id(definition, "nope") is None
    assert position_of(definition, "va2") == (2, "yes", 1, "a", 1) and position_of(definition, "nope") is None
    assert step_at(definition, (2, "yes", 1, "c", 0)).id == "vc"
    assert step_at(definition, [2, "no", 0]).id == "x"  # a position read back from JSON is a list
    assert path_label(definition, (2, "yes", 1, "c", 0)) == "steps[2].yes[1].variants[2].steps[0]"
    assert path_label(definition, (3,)) == "steps[3]"
    assert parent_position((2, "yes", 1, "c", 0)) == (2, "yes", 1) and parent_position((3,)) is None
    assert first_position(definition) == (0,) and first_position(flow()) is None


@pytest.mark.parametrize(
    "position", [(), (4,), (-1,), (2, "maybe", 0), (2, "yes"), (2, "yes", 5), (0, "yes", 0), ("0",)]
)
def test_step_at_refuses_positions_that_do_not_exist(position):
    with pytest.raises(ValueError):
        step_at(example(), position)


def test_after_climbs_out_of_arms():
    definition = example()
    assert after(definition, (0,)) == (1,)
    assert after(definition, (2,)) == (3,)  # skipping the branch and everything in it
    assert after(definition, (2, "yes", 0)) == (2, "yes", 1)
    assert after(definition, (2, "yes", 1, "a", 0)) == (2, "yes", 1, "a", 1)
    assert after(definition, (2, "yes", 1, "a", 1)) == (3,)  # end of variant a, end of yes: after the branch
    assert after(definition, (2, "yes", 1, "c", 0)) == (3,)
    assert after(definition, (3,)) is None


def test_enter_and_next_position():
    definition = example()
    assert next_position(definition, (0,)) == (1,)
    assert next_position(definition, (2,), "yes") == (2, "yes", 0)
    assert next_position(definition, (2,), "no") == (2, "no", 0)
    assert next_position(definition, (2, "yes", 1), "c") == (2, "yes", 1, "c", 0)
    assert next_position(definition, (2, "yes", 1), "b") == (3,)  # an empty variant continues after the split
    assert enter(definition, (2, "yes", 1), "a") == (2, "yes", 1, "a", 0)
    assert next_position(definition, (2, "no", 0)) is None  # exit
    assert next_position(definition, (3,)) is None  # end of the flow
    with pytest.raises(ValueError):
        next_position(definition, (2,))  # which arm?
    with pytest.raises(ValueError):
        next_position(definition, (0,), "yes")
    with pytest.raises(ValueError):
        next_position(definition, (2,), "a")
    with pytest.raises(ValueError):
        enter(definition, (0,), "yes")


def run(definition: FlowDefinition, choices: dict[str, str]) -> list[str]:
    """The step ids a lead runs, taking the arm `choices[step id]` at every branch or split."""
    visited = []
    position: Position | None = first_position(definition)
    while position is not None:
        step = step_at(definition, position)
        visited.append(step.id)
        position = next_position(definition, position, choices.get(step.id))
    return visited


@pytest.mark.parametrize(
    ("choices", "visited"),
    [
        ({"b1": "no"}, ["s1", "w1", "b1", "x"]),
        ({"b1": "yes", "ab": "a"}, ["s1", "w1", "b1", "s2", "ab", "va1", "va2", "s3"]),
        ({"b1": "yes", "ab": "b"}, ["s1", "w1", "b1", "s2", "ab", "s3"]),
        ({"b1": "yes", "ab": "c"}, ["s1", "w1", "b1", "s2", "ab", "vc", "s3"]),
    ],
)
def test_a_lead_walks_the_flow(choices, visited):
    assert run(example(), choices) == visited


def test_positions_survive_json_with_numeric_looking_variant_ids():
    definition = flow(split("ab", ("1", 50, [send("s1")]), ("2", 50, [send("s2")])))
    position = position_of(definition, "s2")
    assert position == (0, "2", 0)
    adapter = TypeAdapter(Position)
    again = adapter.validate_json(adapter.dump_json(position))
    assert again == position and step_at(definition, again).id == "s2"
