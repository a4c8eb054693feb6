"""The metrics a scheduled report can show, each read off a domain.metrics.Funnel, and how they are written.

Over a report's period, a campaign's funnel counts the messages *sent in the period* (sent, delivered, failed, and
of those the ones a person opened or clicked at least once: unique opens and clicks), and the *events of the
period* (every open and click by a person, unsubscribes, bounces, complaints, conversions and their revenue).
Rates are domain.metrics' (over delivered messages; None when there is nothing to measure).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from domain.metrics import Funnel
from domain.report_definition import ReportConfigError

Kind = Literal["count", "rate", "money"]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: Kind
    read: Callable[[Funnel], float | None]
    description: str


def _rate(name: str) -> Callable[[Funnel], float | None]:
    return lambda funnel: funnel.rates()[name]


CATALOGUE: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric("sent", "Sent", "count", lambda f: f.sent, "Messages sent in the period"),
        Metric("delivered", "Delivered", "count", lambda f: f.delivered, "Sent minus hard bounces"),
        Metric("failed", "Failed", "count", lambda f: f.failed, "Messages that could not be sent"),
        Metric("opens", "Opens", "count", lambda f: f.total_opens, "Every open by a person in the period"),
        Metric("unique_opens", "Unique opens", "count", lambda f: f.unique_opens, "Messages opened by a person"),
        Metric("machine_opens", "Machine opens", "count", lambda f: f.machine_opens, "Proxies and scanners, apart"),
        Metric("clicks", "Clicks", "count", lambda f: f.total_clicks, "Every click by a person in the period"),
        Metric("unique_clicks", "Unique clicks", "count", lambda f: f.unique_clicks, "Messages clicked by a person"),
        Metric("open_rate", "Open rate", "rate", _rate("open_rate"), "Unique opens / delivered"),
        Metric("click_rate", "Click rate", "rate", _rate("click_rate"), "Unique clicks / delivered"),
        Metric("click_to_open", "Click-to-open", "rate", _rate("click_to_open"), "Unique clicks / unique opens"),
        Metric("unsubscribes", "Unsubscribes", "count", lambda f: f.unsubscribes, "Unsubscribes in the period"),
        Metric("unsubscribe_rate", "Unsubscribe rate", "rate", _rate("unsubscribe_rate"), "Unsubscribes / delivered"),
        Metric("bounces", "Bounces", "count", lambda f: f.bounces, "Bounce notices, soft ones included"),
        Metric("hard_bounces", "Hard bounces", "count", lambda f: f.hard_bounces, "Messages bounced for good"),
        Metric("bounce_rate", "Bounce rate", "rate", _rate("bounce_rate"), "Hard bounces / sent"),
        Metric("complaints", "Complaints", "count", lambda f: f.complaints, "Spam complaints"),
        Metric("complaint_rate", "Complaint rate", "rate", _rate("complaint_rate"), "Complaints / delivered"),
        Metric("conversions", "Conversions", "count", lambda f: f.conversions, "Conversions credited"),
        Metric("conversion_rate", "Conversion rate", "rate", _rate("conversion_rate"), "Conversions / delivered"),
        Metric("revenue", "Revenue", "money", lambda f: f.revenue, "Value of the conversions credited"),
    )
}
# In catalogue order, as the form ticks them.
DEFAULT_METRICS = ("sent", "delivered", "unique_opens", "unique_clicks", "open_rate", "click_rate", "unsubscribes")


def validate_metrics(keys: Sequence[str]) -> list[str]:
    """Known keys, distinct, in the order given (the report's column order)."""
    if not keys:
        raise ReportConfigError("metrics", "choose at least one metric")
    for index, key in enumerate(keys):
        if key not in CATALOGUE:
            raise ReportConfigError(f"metrics[{index}]", f"unknown metric {key!r}; choose from {', '.join(CATALOGUE)}")
    return list(dict.fromkeys(keys))


def value_of(key: str, funnel: Funnel) -> float | None:
    return CATALOGUE[key].read(funnel)


def format_value(key: str, value: float | None) -> str:
    """As a person reads it: `1,234`, `12.5%`, `1,234.50`; an unmeasurable rate is `–`."""
    kind = CATALOGUE[key].kind
    if value is None:
        return "–"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "money":
        return f"{value:,.2f}"
    return f"{int(value):,}"


def csv_value(key: str, value: float | None) -> str:
    """As a spreadsheet reads it: plain numbers, rates as percentages with two decimals, empty when unmeasurable."""
    kind = CATALOGUE[key].kind
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.2f}"
    if kind == "money":
        return f"{value:.2f}"
    return str(int(value))
