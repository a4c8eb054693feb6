"""The decisions a journey takes at each node: pure and deterministic given their inputs, so that JourneyWorkflow and
the simulator take the same ones. `now` comes in as an aware datetime (workflow.now()), randomness as a float in
[0, 1), lead facts (a date field, whether a message was opened) as values an activity read.

A decision says which outcome the journey takes and, for a delay, until when it waits; `record_step` turns it into
the `JourneyStep` the journey logs, with the next node and why the journey ends, if it does.

Times follow domain/send_timing.py: a local time is the first instant the local clock shows it or later (in a
daylight-saving gap, the jump; in an overlap, the first occurrence). Results are UTC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from domain.automation_graph import node_by_id, successor
from domain.send_timing import Zone, local_send_instant, zone
from models.payloads.automation import (
    ActionNode,
    AutomationGraph,
    DateFieldConfig,
    EngagementConditionConfig,
    EventGoal,
    EventSpec,
    ExitNode,
    FilterGoal,
    Goal,
    JourneyEnd,
    JourneyEvent,
    JourneyStep,
    MessageEvent,
    RandomSplitConfig,
    Reentry,
    StatusChangedEvent,
    TagAddedEvent,
    WaitDurationConfig,
    WaitForEventConfig,
    WaitUntilDateFieldConfig,
    WaitUntilTimeOfDayConfig,
)

ActionResult = Literal["succeeded", "skipped", "failed"]
MAX_ACTIVE_ENTRIES = 10  # every_time: journeys of one lead in one automation running at once


@dataclass(frozen=True)
class Decision:
    """The outcome taken (None: the journey ends here, `end` says why), a short reason for the log, and for a
    delay the instant it ends."""

    outcome: str | None
    reason: str
    wake_at: datetime | None = None
    end: JourneyEnd | None = None


def record_step(graph: AutomationGraph, node_id: str, decision: Decision, at: datetime) -> JourneyStep:
    """The decision as the journey logs it. An outcome with no edge ends the journey as completed (a terminal
    action's `next`, an unconnected `skipped`)."""
    node = node_by_id(graph, node_id)
    if node is None:
        raise ValueError(f"no node '{node_id}'")
    following = successor(graph, node_id, decision.outcome) if decision.outcome is not None else None
    end = decision.end
    if end is None and following is None:
        end = "completed"
    return JourneyStep(
        node_id=node_id,
        node_type=node.type,
        at=_utc(at),
        outcome=decision.outcome,
        next_node=following,
        wake_at=decision.wake_at,
        reason=decision.reason,
        end=end,
    )


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


# --- Conditions -------------------------------------------------------------------------------------------------------


def filter_decision(matched: bool) -> Decision:
    """A filter condition: the activity evaluated the tree on the lead at this moment."""
    return Decision("yes", "matched") if matched else Decision("no", "not_matched")


def engagement_decision(config: EngagementConditionConfig, *, opened: bool, clicked: bool) -> Decision:
    """Did the lead open / click this journey's message of node `config.node`? A click counts as an open: images
    are often blocked, so a click may come without a recorded open."""
    happened = clicked if config.event == "clicked" else opened or clicked
    return Decision("yes", config.event) if happened else Decision("no", f"not_{config.event}")


def split_branch(config: RandomSplitConfig, draw: float) -> str:
    """The branch a draw in [0, 1) falls in: branch i owns [sum of earlier percents, that + its percent) / 100.

    Compared with the percents divided by 100 (not the draw multiplied), so that a draw of exactly 0.29 belongs to
    the branch starting at 29 %, as written.
    """
    if not 0.0 <= draw < 1.0:  # also refuses NaN
        raise ValueError(f"a split draw must be in [0, 1), not {draw!r}")
    cumulative = 0
    for branch in config.branches:
        cumulative += branch.percent
        if draw < cumulative / 100:
            return branch.key
    return config.branches[-1].key  # percents short of 100 (refused by validate_graph): the rest goes last


def split_decision(config: RandomSplitConfig, draw: float) -> Decision:
    return Decision(split_branch(config, draw), "random_split")


def stable_draw(*parts: object) -> float:
    """A draw in [0, 1) from a hash of the parts (e.g. automation, node, lead, entry): the same lead gets the same
    branch in a simulation and in the real run, which workflow.random() cannot promise."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:7], "big") / 2**56


# --- Actions ----------------------------------------------------------------------------------------------------------


def action_decision(graph: AutomationGraph, node: ActionNode, result: ActionResult) -> Decision:
    """Where an action leads once its activity is done.

    - succeeded: `next`;
    - skipped (impossible for this lead: no address, no consent or suppressed for a send, no owner to notify):
      `fallback` when connected, else `next`, as a campaign records a skipped delivery and goes on;
    - failed (retries exhausted, or a non-retryable error): `fallback` when connected, else the journey fails.
    `exit` ends the journey whatever the result.
    """
    if isinstance(node, ExitNode):
        return exit_decision()
    has_fallback = successor(graph, node.id, "fallback") is not None
    if result == "succeeded":
        return Decision("next", "succeeded")
    if result == "skipped":
        return Decision("fallback", "skipped") if has_fallback else Decision("next", "skipped")
    return Decision("fallback", "failed") if has_fallback else Decision(None, "failed", end="failed")


def exit_decision() -> Decision:
    return Decision(None, "exit", end="exited")


def round_robin_pick(user_ids: Sequence[int], turn: int) -> int:
    """The owner for this turn of a round robin; `turn` is a counter an activity increments per assignment (a
    shared counter, so that concurrent journeys spread evenly)."""
    if not user_ids:
        raise ValueError("a round robin needs users")
    return user_ids[turn % len(user_ids)]


# --- Delays -----------------------------------------------------------------------------------------------------------


def lead_zone(name: str | None, workspace_zone: Zone) -> ZoneInfo:
    """The lead's timezone; an empty or unknown name falls back to the workspace's."""
    return zone(name or "", workspace_zone)


def duration_wake(config: WaitDurationConfig, now: datetime) -> datetime:
    """A day is 24 hours: a durable timer, not a calendar rule (use a time-of-day wait for "tomorrow at 9")."""
    return _utc(now) + config.duration.as_timedelta()


def time_of_day_wake(config: WaitUntilTimeOfDayConfig, now: datetime, tz: Zone) -> datetime:
    """The next `config.time` on an allowed weekday in the lead's zone, at or after `now` (now itself when the clock
    shows exactly that time). Each candidate day's instant is computed on its own, so a daylight-saving change in
    between shifts nothing."""
    tz, now = zone(tz), _utc(now)
    today = now.astimezone(tz).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.weekday() in config.weekdays:
            instant = local_send_instant(day, config.time, tz)
            if instant >= now:
                return instant
    raise ValueError("no allowed weekday in the next 8 days")  # unreachable: weekdays is never empty


def date_field_wake(config: WaitUntilDateFieldConfig, value: Any, now: datetime, tz: Zone) -> Decision:
    """Until the lead's date (+ offset days) at `config.time` in its zone.

    - no date, or not a valid one: `skipped`;
    - every_year: the next anniversary at or after now (29 February is the 28th in other years);
    - a date already past: go on at once (`next`, waking now) with when_past "continue", else `skipped`.
    """
    day = field_date(value)
    if day is None:
        return Decision("skipped", "no_date")
    now = _utc(now)
    if config.every_year:
        return Decision("next", "anniversary", wake_at=anniversary_instant(day, config, now, tz))
    target = local_send_instant(day + timedelta(days=config.offset_days), config.time, zone(tz))
    if target >= now:
        return Decision("next", "date", wake_at=target)
    if config.when_past == "continue":
        return Decision("next", "date_past", wake_at=now)
    return Decision("skipped", "date_past")


def field_date(value: Any) -> date | None:
    """A custom date value as stored (ISO text, its first 10 characters) or a date; anything else is no date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def anniversary_instant(
    day: date, config: DateFieldConfig | WaitUntilDateFieldConfig, now: datetime, tz: Zone
) -> datetime:
    """The first instant at or after `now` that is an anniversary of `day` + offset_days at config.time (local)."""
    tz, now = zone(tz), _utc(now)
    offset = timedelta(days=config.offset_days)
    base = (now.astimezone(tz).date() - offset).year
    for year in range(base - 1, base + 3):
        instant = local_send_instant(_in_year(day, year) + offset, config.time, tz)
        if instant >= now:
            return instant
    raise ValueError("no anniversary found")  # unreachable: one of four consecutive years is ahead


def _in_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def date_trigger_instant(day: date, config: DateFieldConfig, now: datetime, tz: Zone) -> datetime | None:
    """When a date_field trigger fires for a lead whose field holds `day`, if that is on the lead's local today:
    the date (its anniversary with every_year) + offset_days, at config.time. None on any other day.

    The instant may already be past (the Schedule ran after it): the journey then starts at once, late rather than
    never. Run the Schedule at least hourly, and name the event `date:<node>:<local date>` so that a second run on
    the same day does not enter the lead twice.
    """
    tz, now = zone(tz), _utc(now)
    today = now.astimezone(tz).date()
    offset = timedelta(days=config.offset_days)
    occurrence = (_in_year(day, (today - offset).year) if config.every_year else day) + offset
    if occurrence != today:
        return None
    return local_send_instant(occurrence, config.time, tz)


def delay_decision(wake_at: datetime) -> Decision:
    """A duration or time-of-day wait: continue with `next` at wake_at."""
    return Decision("next", "waited", wake_at=_utc(wake_at))


def event_wait_deadline(config: WaitForEventConfig, now: datetime) -> datetime:
    return _utc(now) + config.timeout.as_timedelta()


def event_wait_decision(received: bool) -> Decision:
    return Decision("event", "event") if received else Decision("timeout", "timeout")


def shortened(wake_at: datetime, now: datetime, max_delay: timedelta | None) -> datetime:
    """Test mode: a delay or timeout cut to at most `max_delay` (None: unchanged)."""
    if max_delay is None:
        return wake_at
    return min(_utc(wake_at), _utc(now) + max_delay)


# --- Events and goals -------------------------------------------------------------------------------------------------


def event_satisfies(spec: EventSpec, event: JourneyEvent, sent_messages: Mapping[str, str] | None = None) -> bool:
    """Whether an event is the one a wait or a goal is looking for. Automated (machine) opens and clicks never are.

    For a message event (opened / clicked of node N), give `sent_messages` (node id -> message id of what this
    journey sent): the event must then be about that very message, not about an earlier entry's.
    """
    if event.machine:
        return False
    if isinstance(spec, MessageEvent):
        kinds = ("message_clicked",) if spec.kind == "clicked" else ("message_opened", "message_clicked")
        if event.kind not in kinds or event.node_id != spec.node:
            return False
        if sent_messages is None:
            return True
        sent = sent_messages.get(spec.node)
        return sent is not None and event.message_id in (None, sent)
    if isinstance(spec, StatusChangedEvent):
        return event.kind == "status_changed" and (spec.to_status is None or event.to_status == spec.to_status)
    if isinstance(spec, TagAddedEvent):
        return event.kind == "tag_added" and spec.tag in event.tags
    if spec.kind == "external_event":
        return event.kind == "external_event" and event.name == spec.name
    return event.kind == "converted"


def goal_met_by_event(goals: Sequence[Goal], event: JourneyEvent) -> int | None:
    """The index of the first event goal this event meets (checked on every event a journey receives)."""
    for index, goal in enumerate(goals):
        if isinstance(goal, EventGoal) and event_satisfies(goal.event, event):
            return index
    return None


def filter_goals(goals: Sequence[Goal]) -> list[tuple[int, dict[str, Any]]]:
    """(index, filter) of the filter goals: the activity evaluates them on the lead before each action."""
    return [(index, goal.filter) for index, goal in enumerate(goals) if isinstance(goal, FilterGoal)]


def goal_decision(index: int) -> Decision:
    return Decision(None, f"goal[{index}]", end="goal_met")


# --- Re-entry ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryHistory:
    """The lead's journeys in this automation, all versions counted: running now, and finished (any end)."""

    active: int = 0
    finished: int = 0


@dataclass(frozen=True)
class EntryDecision:
    allowed: bool
    reason: str


def entry_decision(policy: Reentry, history: EntryHistory) -> EntryDecision:
    """Whether a trigger may start a new journey for the lead.

    once_ever: never again after a first entry; once_at_a_time: again once the previous journey ended; every_time:
    on every trigger, even while others run, up to MAX_ACTIVE_ENTRIES at once (a runaway event source must not
    start thousands). A refused trigger is still delivered to the running journey (it may meet a goal or a wait).
    """
    if policy == "once_ever" and (history.active or history.finished):
        return EntryDecision(False, "entered_before")
    if policy == "once_at_a_time" and history.active:
        return EntryDecision(False, "already_active")
    if policy == "every_time" and history.active >= MAX_ACTIVE_ENTRIES:
        return EntryDecision(False, "too_many_active")
    return EntryDecision(True, "first_entry" if not (history.active or history.finished) else "reentry")
