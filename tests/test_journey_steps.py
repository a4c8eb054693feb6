"""Journey step decisions: delay wake-up times across timezones and daylight-saving changes, split boundaries and
distribution, action outcomes and fallbacks, re-entry, events and goals, and a whole journey of the issue's example
walked with them (as the workflow and the simulator will). Pure: no services."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.automation_graph import node_by_id, successor
from domain.journey_steps import (
    MAX_ACTIVE_ENTRIES,
    Decision,
    EntryHistory,
    action_decision,
    anniversary_instant,
    date_field_wake,
    date_trigger_instant,
    delay_decision,
    duration_wake,
    engagement_decision,
    entry_decision,
    event_satisfies,
    event_wait_deadline,
    event_wait_decision,
    exit_decision,
    field_date,
    filter_decision,
    filter_goals,
    goal_decision,
    goal_met_by_event,
    lead_zone,
    record_step,
    round_robin_pick,
    shortened,
    split_branch,
    split_decision,
    stable_draw,
    time_of_day_wake,
)
from models.payloads.automation import (
    AutomationGraph,
    DateFieldConfig,
    EngagementConditionConfig,
    EventGoal,
    FilterGoal,
    JourneyEvent,
    JourneyStep,
    MessageEvent,
    RandomSplitConfig,
    RetrySettings,
    SendMessageNode,
    WaitDurationConfig,
    WaitDurationNode,
    WaitForEventConfig,
    WaitForEventNode,
    WaitUntilDateFieldConfig,
    WaitUntilTimeOfDayConfig,
)

FIXTURE = Path(__file__).parent / "fixtures" / "automations" / "qualified_case_study.json"
GRAPH = AutomationGraph.model_validate(json.loads(FIXTURE.read_text()))
PARIS, NEW_YORK, TOKYO = "Europe/Paris", "America/New_York", "Asia/Tokyo"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at_time(time: str, weekdays: list[int] | None = None) -> WaitUntilTimeOfDayConfig:
    return WaitUntilTimeOfDayConfig(time=time, **({"weekdays": weekdays} if weekdays is not None else {}))


def date_wait(**config: Any) -> WaitUntilDateFieldConfig:
    return WaitUntilDateFieldConfig(field="renewal", **config)


def event(kind: str, **fields: Any) -> JourneyEvent:
    return JourneyEvent(kind=kind, event_id=fields.pop("event_id", "ev-1"), lead_id=7, **fields)


# --- Duration -------------------------------------------------------------------------------------------------------


def test_a_duration_is_elapsed_time_even_across_a_dst_change():
    config = WaitDurationConfig.model_validate({"duration": {"days": 1, "hours": 2}})
    start = utc(2026, 3, 28, 12, 0)  # Paris 13:00 CET; a day later it is 15:00 CEST (clocks moved)
    assert duration_wake(config, start) == utc(2026, 3, 29, 14, 0)
    assert duration_wake(config, datetime(2026, 3, 28, 13, 0, tzinfo=ZoneInfo(PARIS))).tzinfo == UTC
    with pytest.raises(ValueError):
        duration_wake(config, datetime(2026, 3, 28, 12, 0))  # naive: which timezone?


# --- Time of day ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "time", "tz", "expected"),
    [
        # Later the same local day; already past: the next day.
        (utc(2026, 6, 1, 5, 0), "09:00", PARIS, utc(2026, 6, 1, 7, 0)),
        (utc(2026, 6, 1, 8, 0), "09:00", PARIS, utc(2026, 6, 2, 7, 0)),
        # Exactly the time: now.
        (utc(2026, 6, 1, 7, 0), "09:00", PARIS, utc(2026, 6, 1, 7, 0)),
        # Saturday 11:00 CET -> Sunday 09:00 CEST: 07:00 UTC, not 08:00 (the offset of the day itself counts).
        (utc(2026, 3, 28, 10, 0), "09:00", PARIS, utc(2026, 3, 29, 7, 0)),
        # Autumn: Saturday 10:00 CEST -> Sunday 09:00 CET = 08:00 UTC.
        (utc(2026, 10, 24, 8, 0), "09:00", PARIS, utc(2026, 10, 25, 8, 0)),
        # In the spring-forward gap (02:30 does not exist in Paris on 29 March): the jump, 03:00 CEST.
        (utc(2026, 3, 28, 23, 0), "02:30", PARIS, utc(2026, 3, 29, 1, 0)),
        # In the fall-back overlap (01:30 happens twice in New York on 1 November): the first, EDT.
        (utc(2026, 11, 1, 4, 0), "01:30", NEW_YORK, utc(2026, 11, 1, 5, 30)),
        # Past the first 01:30 (now 01:45 EDT): the next day's, not the second occurrence 45 minutes later.
        (utc(2026, 11, 1, 5, 45), "01:30", NEW_YORK, utc(2026, 11, 2, 6, 30)),
        # Other zones: half-hour offsets, and local dates ahead of UTC.
        (utc(2026, 6, 1, 0, 0), "09:00", "Asia/Kolkata", utc(2026, 6, 1, 3, 30)),
        (utc(2026, 6, 1, 20, 0), "09:00", "Pacific/Auckland", utc(2026, 6, 1, 21, 0)),  # 2 June 08:00 there
        (utc(2026, 6, 1, 20, 0), "09:00", "Pacific/Chatham", utc(2026, 6, 1, 20, 15)),  # +12:45: 08:45 there
        (utc(2026, 6, 1, 12, 0), "00:00", "UTC", utc(2026, 6, 2, 0, 0)),
    ],
)
def test_time_of_day(now, time, tz, expected):
    assert time_of_day_wake(at_time(time), now, tz) == expected


def test_time_of_day_on_allowed_weekdays():
    weekdays = at_time("09:00", [0, 1, 2, 3, 4])  # Monday-Friday
    friday_evening = utc(2026, 6, 5, 9, 0)  # 18:00 in Tokyo, Friday 5 June
    assert time_of_day_wake(weekdays, friday_evening, TOKYO) == utc(2026, 6, 8, 0, 0)  # Monday 09:00 JST
    sunday = at_time("10:00", [6])
    assert time_of_day_wake(sunday, utc(2026, 6, 7, 9, 0), "UTC") == utc(2026, 6, 7, 10, 0)
    assert time_of_day_wake(sunday, utc(2026, 6, 7, 11, 0), "UTC") == utc(2026, 6, 14, 10, 0)


def test_the_lead_zone_falls_back_to_the_workspace():
    assert lead_zone("Asia/Tokyo", PARIS) == ZoneInfo(TOKYO)
    assert lead_zone("Mars/Olympus", PARIS) == ZoneInfo(PARIS)
    assert lead_zone("", "UTC") == ZoneInfo("UTC") and lead_zone(None, NEW_YORK) == ZoneInfo(NEW_YORK)
    with pytest.raises(ValueError):
        time_of_day_wake(at_time("09:00"), utc(2026, 6, 1), "Mars/Olympus")


# --- Date field -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "soon", "2026-02-30", 20260101, ["2026-01-01"]])
def test_no_date_takes_skipped(value):
    assert date_field_wake(date_wait(), value, utc(2026, 6, 1), NEW_YORK) == Decision("skipped", "no_date")


def test_field_dates_are_read_like_stored_custom_values():
    assert field_date("2026-09-15") == date(2026, 9, 15)
    assert field_date("2026-09-15T22:00:00+00:00") == date(2026, 9, 15)  # the first 10 characters
    assert field_date(date(2026, 9, 15)) == date(2026, 9, 15)
    assert field_date(datetime(2026, 9, 15, 23, 0, tzinfo=UTC)) == date(2026, 9, 15)


@pytest.mark.parametrize(
    ("value", "config", "expected"),
    [
        # 30 days before 15 September, 09:00 EDT.
        ("2026-09-15", {"offset_days": -30}, utc(2026, 8, 16, 13, 0)),
        # In winter 09:00 is EST.
        ("2026-12-20", {}, utc(2026, 12, 20, 14, 0)),
        ("2026-12-20", {"offset_days": 2, "time": "18:30"}, utc(2026, 12, 22, 23, 30)),
        # Later the same day.
        ("2026-06-01", {"time": "20:00"}, utc(2026, 6, 2, 0, 0)),
    ],
)
def test_a_date_ahead(value, config, expected):
    decision = date_field_wake(date_wait(**config), value, utc(2026, 6, 1, 12, 0), NEW_YORK)
    assert decision == Decision("next", "date", wake_at=expected)


def test_a_date_already_past_continues_now_or_skips():
    now = utc(2026, 6, 1, 12, 0)
    assert date_field_wake(date_wait(), "2026-01-01", now, NEW_YORK) == Decision("next", "date_past", wake_at=now)
    assert date_field_wake(date_wait(when_past="skip"), "2026-01-01", now, NEW_YORK) == Decision("skipped", "date_past")
    # Earlier today (09:00 EDT = 13:00 UTC, now 14:00 UTC) is past too.
    late = utc(2026, 6, 1, 14, 0)
    assert date_field_wake(date_wait(), "2026-06-01", late, NEW_YORK).wake_at == late


@pytest.mark.parametrize(
    ("value", "config", "now", "tz", "expected"),
    [
        # Birthday ahead this year, 09:00 CEST.
        ("1990-07-04", {}, utc(2026, 6, 1), PARIS, utc(2026, 7, 4, 7, 0)),
        # Birthday today but its 09:00 already past: next year.
        ("1990-07-04", {}, utc(2026, 7, 4, 8, 0), PARIS, utc(2027, 7, 4, 7, 0)),
        # A winter birthday: 09:00 CET.
        ("1985-01-10", {}, utc(2026, 6, 1), PARIS, utc(2027, 1, 10, 8, 0)),
        # 29 February: the 28th in common years, the 29th in leap years.
        ("2000-02-29", {}, utc(2026, 6, 1), "UTC", utc(2027, 2, 28, 9, 0)),
        ("2000-02-29", {}, utc(2027, 3, 1), "UTC", utc(2028, 2, 29, 9, 0)),
        # A week before a 3 January anniversary, across the year end.
        ("1990-01-03", {"offset_days": -7}, utc(2026, 12, 20), "UTC", utc(2026, 12, 27, 9, 0)),
        ("1990-12-30", {"offset_days": 7}, utc(2026, 12, 20), "UTC", utc(2027, 1, 6, 9, 0)),
    ],
)
def test_yearly_dates_wait_for_the_next_anniversary(value, config, now, tz, expected):
    decision = date_field_wake(date_wait(every_year=True, **config), value, now, tz)
    assert decision == Decision("next", "anniversary", wake_at=expected)


def test_date_trigger_fires_on_the_leads_local_day():
    birthday = DateFieldConfig(field="birthday", every_year=True)
    born = date(1990, 7, 4)
    assert date_trigger_instant(born, birthday, utc(2026, 7, 4, 5, 0), PARIS) == utc(2026, 7, 4, 7, 0)
    # The Schedule ran after 09:00: still today, so it fires (late rather than never).
    assert date_trigger_instant(born, birthday, utc(2026, 7, 4, 10, 0), PARIS) == utc(2026, 7, 4, 7, 0)
    assert date_trigger_instant(born, birthday, utc(2026, 7, 3, 12, 0), PARIS) is None
    # A leap-day birthday fires on 28 February in common years only.
    leap = date(2000, 2, 29)
    assert date_trigger_instant(leap, birthday, utc(2027, 2, 28, 12), "UTC") == utc(2027, 2, 28, 9, 0)
    assert date_trigger_instant(leap, birthday, utc(2028, 2, 28, 12), "UTC") is None
    assert date_trigger_instant(leap, birthday, utc(2028, 2, 29, 12), "UTC") == utc(2028, 2, 29, 9, 0)
    # One-time: 30 days before a renewal, on New York's day (01:30 UTC on the 16th is still the 15th there).
    renewal = DateFieldConfig(field="renewal", offset_days=-30)
    assert date_trigger_instant(date(2026, 8, 15), renewal, utc(2026, 7, 16, 1, 30), NEW_YORK) is None
    assert date_trigger_instant(date(2026, 8, 15), renewal, utc(2026, 7, 16, 12), NEW_YORK) == utc(2026, 7, 16, 13)
    assert date_trigger_instant(date(2025, 8, 15), renewal, utc(2026, 7, 16, 12), NEW_YORK) is None


def test_anniversary_of_a_date_in_the_future_is_its_first_occurrence():
    config = WaitUntilDateFieldConfig(field="renewal", every_year=True)
    assert anniversary_instant(date(2030, 5, 1), config, utc(2026, 6, 1), "UTC") == utc(2027, 5, 1, 9, 0)


# --- Test mode, waits for events --------------------------------------------------------------------------------------


def test_event_waits_and_test_mode():
    config = WaitForEventConfig.model_validate({"event": {"kind": "converted"}, "timeout": {"days": 3}})
    now = utc(2026, 6, 1, 12, 0)
    deadline = event_wait_deadline(config, now)
    assert deadline == utc(2026, 6, 4, 12, 0)
    assert event_wait_decision(True) == Decision("event", "event")
    assert event_wait_decision(False) == Decision("timeout", "timeout")
    assert shortened(deadline, now, timedelta(seconds=30)) == now + timedelta(seconds=30)
    assert shortened(now + timedelta(seconds=5), now, timedelta(seconds=30)) == now + timedelta(seconds=5)
    assert shortened(deadline, now, None) == deadline
    assert delay_decision(datetime(2026, 6, 1, 14, 0, tzinfo=ZoneInfo(PARIS))).wake_at == utc(2026, 6, 1, 12, 0)


# --- Random split ---------------------------------------------------------------------------------------------------


def split(*percents: int) -> RandomSplitConfig:
    keys = "abcdefghij"
    return RandomSplitConfig(branches=[{"key": keys[i], "percent": p} for i, p in enumerate(percents)])


@pytest.mark.parametrize(
    ("percents", "draw", "branch"),
    [
        ((30, 70), 0.0, "a"),
        ((30, 70), 0.2999999, "a"),
        ((30, 70), 0.3, "b"),
        ((30, 70), math.nextafter(1.0, 0.0), "b"),
        ((29, 29, 42), 0.29, "b"),  # 0.29 * 100 is 28.999999999999996: the boundary is compared as written
        ((29, 29, 42), 0.57, "b"),
        ((29, 29, 42), 0.58, "c"),
        ((1, 99), 0.0099, "a"),
        ((1, 99), 0.01, "b"),
        ((50, 50), 0.5, "b"),
    ],
)
def test_split_boundaries(percents, draw, branch):
    assert split_branch(split(*percents), draw) == branch
    assert split_decision(split(*percents), draw) == Decision(branch, "random_split")


@pytest.mark.parametrize("draw", [1.0, -0.0001, math.nan, math.inf, 1.5])
def test_split_draws_must_be_in_the_unit_interval(draw):
    with pytest.raises(ValueError):
        split_branch(split(50, 50), draw)


def test_split_distribution_follows_the_percents():
    config = split(20, 30, 50)
    leads = 20_000
    counts = {"a": 0, "b": 0, "c": 0}
    for lead_id in range(leads):
        counts[split_branch(config, stable_draw(40, "r", lead_id, 1))] += 1
    for key, percent in (("a", 20), ("b", 30), ("c", 50)):
        assert abs(counts[key] / leads - percent / 100) < 0.015, counts


def test_stable_draws_are_deterministic_and_in_range():
    assert stable_draw(40, "split", 7, 1) == stable_draw(40, "split", 7, 1)
    assert stable_draw(40, "split", 7, 1) != stable_draw(40, "split", 7, 2)
    draws = [stable_draw("x", i) for i in range(1000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert min(draws) < 0.01 and max(draws) > 0.99


# --- Conditions, actions ------------------------------------------------------------------------------------------


def test_condition_decisions():
    assert filter_decision(True) == Decision("yes", "matched")
    assert filter_decision(False) == Decision("no", "not_matched")
    opened = EngagementConditionConfig(node="case-study", event="opened")
    clicked = EngagementConditionConfig(node="case-study", event="clicked")
    assert engagement_decision(opened, opened=False, clicked=True).outcome == "yes"  # a click counts as an open
    assert engagement_decision(opened, opened=False, clicked=False) == Decision("no", "not_opened")
    assert engagement_decision(clicked, opened=True, clicked=False) == Decision("no", "not_clicked")
    assert engagement_decision(clicked, opened=True, clicked=True) == Decision("yes", "clicked")


@pytest.mark.parametrize(
    ("node_id", "result", "expected"),
    [
        ("case-study", "succeeded", Decision("next", "succeeded")),
        ("case-study", "skipped", Decision("fallback", "skipped")),  # no email address: the SMS instead
        ("case-study", "failed", Decision("fallback", "failed")),
        ("notify-owner", "succeeded", Decision("next", "succeeded")),
        ("notify-owner", "skipped", Decision("next", "skipped")),  # no owner, no fallback: go on
        ("notify-owner", "failed", Decision(None, "failed", end="failed")),  # no fallback: the journey fails
        ("done", "succeeded", Decision(None, "exit", end="exited")),
    ],
)
def test_action_outcomes_and_fallbacks(node_id, result, expected):
    assert action_decision(GRAPH, node_by_id(GRAPH, node_id), result) == expected


def test_round_robin():
    assert [round_robin_pick([2, 3, 5], turn) for turn in range(5)] == [2, 3, 5, 2, 3]
    with pytest.raises(ValueError):
        round_robin_pick([], 0)


def test_retry_settings():
    settings = RetrySettings()
    assert (settings.max_attempts, settings.initial_interval(), settings.maximum_interval()) == (
        5,
        timedelta(seconds=30),
        timedelta(minutes=10),
    )
    slow = RetrySettings(initial_interval_seconds=3600)
    assert slow.maximum_interval() == timedelta(hours=1)


# --- The log ------------------------------------------------------------------------------------------------------


def test_record_step():
    now = utc(2026, 6, 1, 12, 0)
    step = record_step(GRAPH, "case-study", Decision("next", "succeeded"), now)
    assert step == JourneyStep(
        node_id="case-study",
        node_type="send_message",
        at=now,
        outcome="next",
        next_node="wait-open",
        reason="succeeded",
    )
    wait = record_step(GRAPH, "wait-2d", delay_decision(now + timedelta(days=2)), now)
    assert (wait.next_node, wait.wake_at, wait.end) == ("case-study", now + timedelta(days=2), None)
    terminal = record_step(GRAPH, "notify-owner", Decision("next", "succeeded"), now)
    assert (terminal.next_node, terminal.end) == (None, "completed")
    assert record_step(GRAPH, "done", exit_decision(), now).end == "exited"
    assert record_step(GRAPH, "notify-owner", Decision(None, "failed", end="failed"), now).end == "failed"
    assert record_step(GRAPH, "wait-open", goal_decision(0), now).model_dump(include={"reason", "end"}) == {
        "reason": "goal[0]",
        "end": "goal_met",
    }
    with pytest.raises(ValueError):
        record_step(GRAPH, "nope", exit_decision(), now)
    with pytest.raises(ValueError):
        record_step(GRAPH, "done", exit_decision(), datetime(2026, 6, 1))


# --- Events and goals ---------------------------------------------------------------------------------------------

OPENED = MessageEvent(kind="opened", node="case-study")
CLICKED = MessageEvent(kind="clicked", node="case-study")


@pytest.mark.parametrize(
    ("spec", "incoming", "sent", "expected"),
    [
        (OPENED, event("message_opened", node_id="case-study"), None, True),
        (OPENED, event("message_clicked", node_id="case-study"), None, True),  # a click counts as an open
        (CLICKED, event("message_opened", node_id="case-study"), None, False),
        (CLICKED, event("message_clicked", node_id="case-study"), None, True),
        (OPENED, event("message_opened", node_id="sms-nudge"), None, False),
        (OPENED, event("message_opened", node_id="case-study", machine=True), None, False),
        (OPENED, event("message_opened", node_id="case-study", message_id="m1"), {"case-study": "m1"}, True),
        (OPENED, event("message_opened", node_id="case-study", message_id="m0"), {"case-study": "m1"}, False),
        (OPENED, event("message_opened", node_id="case-study"), {"case-study": "m1"}, True),
        (OPENED, event("message_opened", node_id="case-study", message_id="m1"), {}, False),  # never sent
        ({"kind": "external_event", "name": "demo.booked"}, event("external_event", name="demo.booked"), None, True),
        ({"kind": "external_event", "name": "demo.booked"}, event("external_event", name="demo.held"), None, False),
        ({"kind": "status_changed"}, event("status_changed", to_status="lost"), None, True),
        ({"kind": "status_changed", "to_status": "won"}, event("status_changed", to_status="lost"), None, False),
        ({"kind": "tag_added", "tag": "vip"}, event("tag_added", tags=("a", "vip")), None, True),
        ({"kind": "tag_added", "tag": "vip"}, event("tag_added", tags=("a",)), None, False),
        ({"kind": "converted"}, event("converted"), None, True),
        ({"kind": "converted"}, event("external_event", name="converted"), None, False),
    ],
)
def test_event_satisfies(spec, incoming, sent, expected):
    if isinstance(spec, dict):
        spec = WaitForEventConfig.model_validate({"event": spec, "timeout": {"days": 1}}).event
    assert event_satisfies(spec, incoming, sent) is expected


def test_goals():
    goals = [
        FilterGoal(filter={"combinator": "and", "rules": [{"field": "score", "operator": ">", "value": 100}]}),
        EventGoal.model_validate({"event": {"kind": "status_changed", "to_status": "won"}}),
        EventGoal.model_validate({"event": {"kind": "converted"}}),
    ]
    assert goal_met_by_event(goals, event("status_changed", to_status="won")) == 1
    assert goal_met_by_event(goals, event("converted")) == 2
    assert goal_met_by_event(goals, event("status_changed", to_status="lost")) is None
    assert filter_goals(goals) == [(0, goals[0].filter)]
    assert goal_decision(1) == Decision(None, "goal[1]", end="goal_met")


# --- Re-entry -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "active", "finished", "allowed", "reason"),
    [
        ("once_ever", 0, 0, True, "first_entry"),
        ("once_ever", 1, 0, False, "entered_before"),
        ("once_ever", 0, 1, False, "entered_before"),
        ("once_at_a_time", 0, 0, True, "first_entry"),
        ("once_at_a_time", 1, 0, False, "already_active"),
        ("once_at_a_time", 0, 3, True, "reentry"),
        ("every_time", 0, 0, True, "first_entry"),
        ("every_time", MAX_ACTIVE_ENTRIES - 1, 5, True, "reentry"),
        ("every_time", MAX_ACTIVE_ENTRIES, 0, False, "too_many_active"),
    ],
)
def test_reentry(policy, active, finished, allowed, reason):
    decision = entry_decision(policy, EntryHistory(active=active, finished=finished))
    assert (decision.allowed, decision.reason) == (allowed, reason)


# --- A whole journey of the example, walked the way the workflow will --------------------------------------


@dataclass
class Lead:
    send_results: dict[str, str] = field(default_factory=dict)  # node id -> succeeded / skipped / failed
    events: list[tuple[datetime, JourneyEvent]] = field(default_factory=list)  # (when, what)


def walk(lead: Lead, start: datetime) -> list[JourneyStep]:
    """A tiny interpreter built only from the pure decisions: the shape JourneyWorkflow and the simulator take."""
    now, steps, sent = start, [], {}
    node_id = successor(GRAPH, "qualified", "next")
    while node_id is not None:
        node = node_by_id(GRAPH, node_id)
        if isinstance(node, WaitDurationNode | WaitForEventNode):
            if isinstance(node, WaitDurationNode):
                until, spec = duration_wake(node.config, now), None
            else:
                until, spec = event_wait_deadline(node.config, now), node.config.event
            decision = delay_decision(until) if spec is None else event_wait_decision(False)
            for when, incoming in lead.events:
                if not now < when <= until:
                    continue
                goal = goal_met_by_event(GRAPH.goals, incoming)
                if goal is not None:
                    decision, until = goal_decision(goal), when
                    break
                if spec is not None and event_satisfies(spec, incoming, sent):
                    decision, until = event_wait_decision(True), when
                    break
            step = record_step(GRAPH, node_id, decision, now)
            now = until
        else:
            result = lead.send_results.get(node_id, "succeeded")
            if isinstance(node, SendMessageNode) and result == "succeeded":
                sent[node_id] = f"msg-{node_id}"
            step = record_step(GRAPH, node_id, action_decision(GRAPH, node, result), now)
        steps.append(step)
        node_id = step.next_node
    return steps


def path(steps: list[JourneyStep]) -> list[tuple[str, str | None]]:
    return [(step.node_id, step.outcome) for step in steps]


START = utc(2026, 6, 1, 9, 0)


def message(kind: str, node_id: str, days: float) -> tuple[datetime, JourneyEvent]:
    return START + timedelta(days=days), event(kind, node_id=node_id, message_id=f"msg-{node_id}", event_id=kind)


def test_journey_opened_then_clicked():
    lead = Lead(events=[message("message_opened", "case-study", 2.5), message("message_clicked", "case-study", 3)])
    steps = walk(lead, START)
    assert path(steps) == [
        ("wait-2d", "next"),
        ("case-study", "next"),
        ("wait-open", "event"),
        ("wait-click", "event"),
        ("assign-sales", "next"),
        ("notify-owner", "next"),
    ]
    assert steps[1].at == START + timedelta(days=2)
    assert steps[-1].end == "completed" and steps[-1].at == START + timedelta(days=3)


def test_journey_not_opened_gets_the_sms_then_exits():
    steps = walk(Lead(), START)
    assert path(steps) == [
        ("wait-2d", "next"),
        ("case-study", "next"),
        ("wait-open", "timeout"),
        ("sms-nudge", "next"),
        ("wait-click", "timeout"),
        ("done", None),
    ]
    assert steps[3].at == START + timedelta(days=5)  # 2 days, then 3 days without an open
    assert steps[-1].end == "exited" and steps[-1].at == START + timedelta(days=12)


def test_journey_without_email_falls_back_to_sms():
    steps = walk(Lead(send_results={"case-study": "skipped"}), START)
    assert path(steps)[:3] == [("wait-2d", "next"), ("case-study", "fallback"), ("sms-nudge", "next")]
    # The email was never sent, so a stray open of an earlier entry's message does not count.
    stray = Lead(send_results={"case-study": "skipped"}, events=[message("message_clicked", "case-study", 3)])
    assert path(walk(stray, START))[-1] == ("done", None)


def test_journey_stops_when_the_goal_is_met():
    won = (START + timedelta(days=3), event("status_changed", to_status="won", event_id="won"))
    steps = walk(Lead(events=[won]), START)
    assert path(steps) == [("wait-2d", "next"), ("case-study", "next"), ("wait-open", None)]
    assert steps[-1].end == "goal_met" and steps[-1].reason == "goal[0]"


def test_journey_steps_are_workflow_payloads():
    steps = walk(Lead(), START)
    assert [JourneyStep.model_validate_json(s.model_dump_json()) for s in steps] == steps
