"""The flow engine's bookkeeping, pure: step indexes, which track runs next, throttling, who a send step may reach,
timezone grouping and the dry run's estimate.

A run's audience is split into *tracks*: cohorts that walk the flow together (campaign_run_audience.track). A branch,
an A/B split or a timezone bucket splits a track into new ones; the workflow keeps only the list of tracks (position,
ready time, cursor), never lead data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.campaign_flow import Position, after, iter_steps
from models.payloads.campaign_flow import BranchStep, FlowDefinition, SendStep, SplitStep, Step

# Why a send step did not send a lead (deliveries.skip_reason).
NO_CONSENT = "no_consent"
SUPPRESSED = "suppressed"
INVALID_ADDRESS = "invalid_address"
CAPPED = "capped"
EXITED = "exited"
NO_TEMPLATE = "no_template"
SKIP_REASONS = (NO_CONSENT, SUPPRESSED, INVALID_ADDRESS, CAPPED, EXITED, NO_TEMPLATE)

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_SHAPE = re.compile(r"^\+?[0-9]{6,15}$")
HOLDOUT = "holdout"


# --- Step indexes -----------------------------------------------------------------------------------------------------


def step_indexes(flow: FlowDefinition) -> dict[Position, int]:
    """Position -> the step's index in iter_steps order (0-based over all steps): deliveries.step."""
    return {position: index for index, (position, _) in enumerate(iter_steps(flow))}


def step_index(flow: FlowDefinition, position: Sequence[int | str]) -> int:
    return step_indexes(flow)[tuple(position)]


def step_at_index(flow: FlowDefinition, index: int) -> tuple[Position, Step]:
    for found, (position, step) in enumerate(iter_steps(flow)):
        if found == index:
            return position, step
    raise ValueError(f"the flow has no step {index}")


def send_indexes_within(flow: FlowDefinition, position: Sequence[int | str], arm: str) -> list[int]:
    """The indexes of the send steps inside one arm (variant) of the branch or split at `position`."""
    prefix = (*tuple(position), arm)
    return [
        index
        for index, (found, step) in enumerate(iter_steps(flow))
        if isinstance(step, SendStep) and found[: len(prefix)] == prefix
    ]


def continuation(flow: FlowDefinition, position: Sequence[int | str]) -> Position | None:
    """Where a track goes once a send or wait step is done."""
    return after(flow, position)


# --- Which track runs next --------------------------------------------------------------------------------------------


class TrackLike(Protocol):
    id: int
    position: list[int | str] | None
    ready_at: datetime | None


def next_ready(tracks: Iterable[TrackLike], now: datetime) -> TrackLike | None:
    """The ready track (ready_at reached) that has waited longest, the lowest id first on a tie."""
    ready = [t for t in tracks if t.position is not None and (t.ready_at is None or t.ready_at <= now)]
    if not ready:
        return None
    return min(ready, key=lambda t: (t.ready_at or datetime.min.replace(tzinfo=now.tzinfo), t.id))


def earliest_ready_at(tracks: Iterable[TrackLike]) -> datetime | None:
    times = [t.ready_at for t in tracks if t.position is not None and t.ready_at is not None]
    return min(times) if times else None


# --- Throttling -------------------------------------------------------------------------------------------------------


def throttle_limit(batch_size: int, per_minute: int | None) -> int:
    """A batch never holds more than a minute's worth of a throttled channel."""
    return batch_size if per_minute is None else max(1, min(batch_size, per_minute))


def paid_until(previous: datetime | None, started: datetime, messages: int, per_minute: int) -> datetime:
    """After `messages` more messages at `per_minute`: the instant before which the channel must not send again, so
    that messages sent ÷ rate never runs ahead of the time elapsed. Idle time is not banked."""
    base = started if previous is None or previous < started else previous
    return base + timedelta(minutes=messages / per_minute)


# --- Who a send step may reach ----------------------------------------------------------------------------------------


def address_of(lead: Mapping[str, Any], channel: str) -> str:
    return str(lead.get("email") if channel == "email" else lead.get("phone") or "").strip()


def channel_skip_reason(lead: Mapping[str, Any], channel: str) -> str | None:
    """Why this channel cannot be used for the lead, or None.

    Consent policy: email goes to leads who did not refuse it (granted or unknown, as the single-step engine always
    did); SMS and WhatsApp need consent granted. Unsubscribed leads and suppressed addresses are never sent to.
    """
    address = address_of(lead, channel)
    if not address:
        return INVALID_ADDRESS
    shape = EMAIL_SHAPE if channel == "email" else PHONE_SHAPE
    if not shape.match(address.replace(" ", "")):
        return INVALID_ADDRESS
    consent = lead.get(f"consent_{channel}") or "unknown"
    if consent == "denied" or (channel != "email" and consent != "granted"):
        return NO_CONSENT
    if lead.get("status") == "unsubscribed" or lead.get(f"suppressed_{channel}"):
        return SUPPRESSED
    return None


@dataclass(frozen=True)
class SendDecision:
    """What a send step does for one lead: the primary delivery's status and reason, and the fallback's (None: no
    fallback delivery now; a permanent failure of the primary may still try it)."""

    primary: str  # "sending" or "skipped"
    reason: str | None = None
    fallback: str | None = None  # "sending", "skipped" or None
    fallback_reason: str | None = None
    exit_status: str | None = None  # the goal status that made the lead leave the campaign


def decide_send(
    lead: Mapping[str, Any],
    *,
    channel: str,
    fallback_channel: str | None,
    exit_statuses: Iterable[str],
    sent_in_window: int = 0,
    cap: int | None = None,
    template_missing: bool = False,
) -> SendDecision:
    status = lead.get("status")
    if status in set(exit_statuses):
        return SendDecision("skipped", EXITED, exit_status=str(status))
    if cap is not None and sent_in_window >= cap:
        return SendDecision("skipped", CAPPED)
    if template_missing:
        return SendDecision("skipped", NO_TEMPLATE)
    reason = channel_skip_reason(lead, channel)
    if reason is None:
        return SendDecision("sending")
    if fallback_channel is None:
        return SendDecision("skipped", reason)
    fallback_reason = channel_skip_reason(lead, fallback_channel)
    return SendDecision("skipped", reason, "skipped" if fallback_reason else "sending", fallback_reason)


# --- Timezone groups --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneGroup:
    ready_at: datetime
    zones: list[str]
    leads: int


def group_zones(zone_counts: Mapping[str, int], instant_of: Callable[[str], datetime]) -> list[ZoneGroup]:
    """Zones grouped by the instant their leads become ready, earliest first (zone names sorted in a group)."""
    groups: dict[datetime, tuple[list[str], int]] = {}
    for name, leads in zone_counts.items():
        if leads <= 0:
            continue
        at = instant_of(name)
        names, total = groups.get(at, ([], 0))
        groups[at] = ([*names, name], total + leads)
    return [ZoneGroup(at, sorted(names), total) for at, (names, total) in sorted(groups.items())]


# --- Dry run ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    index: int
    step: SendStep
    reach: int
    exact: bool


def estimate_reach(flow: FlowDefinition, audience: int) -> list[Reach]:
    """How many leads reach each send step: the whole audience before any branch or split (exact); inside a branch
    arm, at most the leads reaching the branch; inside a split variant, its percent of them; after an exit-free
    branch or split, all of them again (no longer exact: some may have left at an exit step)."""
    indexes = step_indexes(flow)
    found: list[Reach] = []

    def walk(steps: list[Step], prefix: Position, reach: int, exact: bool) -> None:
        for index, step in enumerate(steps):
            position = (*prefix, index)
            if isinstance(step, SendStep):
                found.append(Reach(indexes[position], step, reach, exact))
            elif isinstance(step, BranchStep):
                walk(step.yes, (*position, "yes"), reach, False)
                walk(step.no, (*position, "no"), reach, False)
                exact = False
            elif isinstance(step, SplitStep):
                for variant in step.variants:
                    walk(variant.steps, (*position, variant.id), reach * variant.percent // 100, False)
                exact = False
            elif step.type == "exit":
                return

    walk(flow.steps, (), audience, True)
    return sorted(found, key=lambda r: r.index)
