"""Report arithmetic and the A/B significance test, against values worked out by hand."""

from __future__ import annotations

import pytest

from domain.ab_split import VariantStats
from domain.metrics import EventGroup, Funnel, add_events, compare_variants, two_proportion_test


def test_rates_are_over_delivered_messages_and_none_without_a_denominator():
    funnel = Funnel(sent=1000, hard_bounces=50, unique_opens=380, total_opens=600, machine_opens=90,
                    unique_clicks=95, total_clicks=140, unsubscribes=19, complaints=1, conversions=10,
                    revenue=1500.0)  # fmt: skip
    rates = funnel.rates(cost=500.0)
    assert funnel.delivered == 950
    assert rates["delivery_rate"] == pytest.approx(0.95)
    assert rates["open_rate"] == pytest.approx(0.4)  # 380 / 950: machine opens count nowhere
    assert rates["click_rate"] == pytest.approx(0.1)
    assert rates["click_to_open"] == pytest.approx(95 / 380)
    assert rates["unsubscribe_rate"] == pytest.approx(0.02)
    assert rates["bounce_rate"] == pytest.approx(0.05)
    assert rates["conversion_rate"] == pytest.approx(10 / 950)
    assert rates["roi"] == pytest.approx(2.0)  # (1500 - 500) / 500
    empty = Funnel().rates()
    assert set(empty.values()) == {None}


def test_two_proportion_test_known_values():
    # 250/1000 against 200/1000: pooled 0.225, se = sqrt(0.225 * 0.775 * 0.002) = 0.018675, z = 2.6774,
    # two-sided p = 0.00742.
    z, p = two_proportion_test(250, 1000, 200, 1000)
    assert z == pytest.approx(2.6774, abs=1e-4)
    assert p == pytest.approx(0.00742, abs=1e-5)
    # 52/500 against 48/500: pooled 0.1, se = sqrt(0.1 * 0.9 * 0.004) = 0.018974, z = 0.008 / 0.018974 = 0.4216,
    # p = 0.673 (not significant).
    z, p = two_proportion_test(52, 500, 48, 500)
    assert z == pytest.approx(0.4216, abs=1e-4)
    assert p == pytest.approx(0.673, abs=1e-3)
    assert two_proportion_test(0, 100, 0, 100) == (0.0, 1.0)
    assert two_proportion_test(5, 0, 1, 10) == (0.0, 1.0)


def test_compare_variants_uses_the_engines_winner_and_flags_significance():
    stats = {"a": VariantStats(1000, 400, 200), "b": VariantStats(1000, 380, 250), "c": VariantStats(1000, 390, 150)}
    clicks = compare_variants(stats, "click_rate", ["a", "b", "c"])
    assert (clicks.winner, clicks.runner_up, clicks.significant) == ("b", "a", True)
    assert clicks.rates == {"a": 0.2, "b": 0.25, "c": 0.15}
    opens = compare_variants(stats, "open_rate", ["a", "b", "c"])
    assert (opens.winner, opens.runner_up, opens.significant) == ("a", "c", False)
    tie = compare_variants({"a": VariantStats(10, 5), "b": VariantStats(10, 5)}, "open_rate", ["a", "b"])
    assert (tie.winner, tie.significant, tie.p_value) == ("a", False, 1.0)
    alone = compare_variants({"a": VariantStats(10, 5)}, "open_rate", ["a"])
    assert (alone.winner, alone.runner_up, alone.significant) == ("a", None, False)


def test_event_groups_add_to_the_funnel_by_type():
    funnel = Funnel()
    for group in (
        EventGroup("open", False, n=8),
        EventGroup("open", True, n=3),  # machine opens: apart
        EventGroup("click", False, n=4),
        EventGroup("click", True, n=2),  # scanners: nowhere
        EventGroup("unsubscribe", False, n=1),
        EventGroup("bounce", False, n=3, permanent=1),  # three notices, one lead bounced for good
        EventGroup("complaint", False, n=1),
        EventGroup("conversion", False, n=3, distinct_n=2, value=150.0),  # one conversion credited to two messages
    ):
        add_events(funnel, group)
    assert (funnel.total_opens, funnel.machine_opens, funnel.total_clicks) == (8, 3, 4)
    assert (funnel.unsubscribes, funnel.bounces, funnel.hard_bounces, funnel.complaints) == (1, 3, 1, 1)
    assert (funnel.conversions, funnel.revenue) == (2, 150.0)
