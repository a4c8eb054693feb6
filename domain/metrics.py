"""Campaign report arithmetic: rates from counts, and the A/B comparison with its significance.

Counts come from the deliveries (sent, failed, the first human open and click stamped on each) and from the events
(every open and click, machine ones apart, unsubscribes, bounces, complaints, conversions). Rates are over delivered
messages (sent minus hard bounces); a rate whose denominator is 0 is None, not 0, so a report never shows "0%" for
"nothing to measure". The A/B winner is the engine's own (domain.ab_split.pick_winner, the same metric and tie rule);
the report adds whether the winner's lead over the runner-up is significant (two-proportion z-test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.ab_split import VariantStats, pick_winner, rate

SIGNIFICANCE = 0.05  # two-sided


@dataclass
class Funnel:
    sent: int = 0
    failed: int = 0
    hard_bounces: int = 0
    unique_opens: int = 0  # messages opened by a person at least once
    total_opens: int = 0  # every open by a person
    machine_opens: int = 0  # proxies, scanners, prefetch: shown apart, in no rate
    unique_clicks: int = 0
    total_clicks: int = 0
    unsubscribes: int = 0
    bounces: int = 0  # every bounce notice, soft ones included
    complaints: int = 0
    conversions: int = 0
    revenue: float = 0.0

    @property
    def delivered(self) -> int:
        return max(self.sent - self.hard_bounces, 0)

    def rates(self, cost: float = 0.0) -> dict[str, float | None]:
        delivered = self.delivered
        return {
            "delivery_rate": ratio(delivered, self.sent),
            "open_rate": ratio(self.unique_opens, delivered),
            "click_rate": ratio(self.unique_clicks, delivered),
            "click_to_open": ratio(self.unique_clicks, self.unique_opens),
            "unsubscribe_rate": ratio(self.unsubscribes, delivered),
            "bounce_rate": ratio(self.hard_bounces, self.sent),
            "complaint_rate": ratio(self.complaints, delivered),
            "conversion_rate": ratio(self.conversions, delivered),
            "roi": ratio(self.revenue - cost, cost) if cost > 0 else None,
        }

    def add(self, other: Funnel) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> tuple[float, float]:
    """(z, two-sided p-value) of "A's rate differs from B's", with the pooled standard error. No data, or no
    variance (both rates 0 or both 1): z 0, p 1."""
    if trials_a <= 0 or trials_b <= 0:
        return 0.0, 1.0
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return 0.0, 1.0
    z = (successes_a / trials_a - successes_b / trials_b) / math.sqrt(variance)
    return z, 2 * (1 - normal_cdf(abs(z)))


@dataclass
class AbComparison:
    metric: str
    winner: str
    runner_up: str | None
    z: float
    p_value: float
    significant: bool
    rates: dict[str, float] = field(default_factory=dict)


def compare_variants(stats: Mapping[str, VariantStats], metric: str, order: Sequence[str]) -> AbComparison:
    """The engine's winner (best rate, ties to the first variant) against the best of the others."""
    winner = pick_winner(stats, metric, order)
    others = [variant for variant in order if variant != winner]
    runner_up = pick_winner(stats, metric, others) if others else None
    rates = {variant: float(rate(stats.get(variant, VariantStats(0)), metric)) for variant in order}
    if runner_up is None:
        return AbComparison(metric, winner, None, 0.0, 1.0, False, rates)
    field_name = {"open_rate": "opened", "click_rate": "clicked", "conversion_rate": "converted"}[metric]
    a, b = stats.get(winner, VariantStats(0)), stats.get(runner_up, VariantStats(0))
    z, p = two_proportion_test(getattr(a, field_name), a.sent, getattr(b, field_name), b.sent)
    return AbComparison(metric, winner, runner_up, z, p, p < SIGNIFICANCE and z > 0, rates)


@dataclass
class EventGroup:
    """What the report knows of a group of events of one type (and machine flag): rows, distinct conversions (one per
    conversion id), distinct leads with a permanent bounce, the conversions' value."""

    type: str
    machine: bool
    n: int = 0
    distinct_n: int = 0
    permanent: int = 0
    value: float = 0.0


def add_events(funnel: Funnel, group: EventGroup) -> None:
    if group.type == "open":
        if group.machine:
            funnel.machine_opens += group.n
        else:
            funnel.total_opens += group.n
    elif group.type == "click" and not group.machine:
        funnel.total_clicks += group.n
    elif group.type == "unsubscribe":
        funnel.unsubscribes += group.n
    elif group.type == "bounce":
        funnel.bounces += group.n
        funnel.hard_bounces += group.permanent
    elif group.type == "complaint":
        funnel.complaints += group.n
    elif group.type == "conversion":
        # A conversion credited to several messages (linear attribution) is one row per message, one conversion.
        funnel.conversions += group.distinct_n
        funnel.revenue += group.value
