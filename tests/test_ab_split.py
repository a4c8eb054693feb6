"""A/B assignment: deterministic, proportional, independent per step, and the same in PostgreSQL as in Python."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from core.db import async_url
from domain.ab_split import (
    BUCKETS,
    VariantStats,
    assign_variant,
    bucket,
    bucket_expression,
    in_test_group,
    in_test_group_expression,
    pick_winner,
    rate,
    trial_key,
    variant_expression,
    variant_for_bucket,
)

MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LEADS = range(1, 100_001)
SEED = "campaign:1"


def shares(assigned: Counter, total: int) -> dict[str, float]:
    return {variant: 100 * count / total for variant, count in assigned.items()}


def test_buckets_are_pinned_to_sha256():
    # sha256("campaign:1:split:42") starts with 39ac0e94a2308f8: int(that, 16) % 10000 == 7832 (checked with sha256sum)
    assert [bucket(lead, "split", SEED) for lead in (1, 2, 3, 42, 10**12)] == [1916, 4382, 9646, 7832, 6107]
    variants = [("a", 50), ("b", 30), ("c", 20)]
    assigned = [assign_variant(lead, "split", variants, SEED) for lead in range(1, 11)]
    assert assigned == ["a", "a", "c", "b", "a", "b", "c", "a", "b", "a"]
    assert [lead for lead in range(1, 11) if in_test_group(lead, "split", 20, SEED)] == [2, 5]


def test_assignment_is_the_same_in_another_process():
    code = (
        "from domain.ab_split import assign_variant\n"
        "print(''.join(assign_variant(i, 'split', [('a', 50), ('b', 50)], 'campaign:1') for i in range(200)))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        outputs.add(result.stdout.strip())
    here = "".join(assign_variant(i, "split", [("a", 50), ("b", 50)], SEED) for i in range(200))
    assert outputs == {here}


@pytest.mark.parametrize(
    "variants",
    [
        [("a", 50), ("b", 50)],
        [("a", 10), ("b", 20), ("c", 30), ("d", 40)],
        [("a", 33), ("b", 33), ("c", 34)],
        [("a", 1), ("b", 99)],
        [("a", 5), ("b", 95)],
    ],
)
def test_proportions_within_one_percent_on_100k_leads(variants):
    assigned = Counter(assign_variant(lead, "split-1", variants, SEED) for lead in LEADS)
    observed = shares(assigned, len(LEADS))
    for variant, percent in variants:
        assert abs(observed[variant] - percent) <= 1, (variant, observed)


def test_a_zero_percent_variant_gets_nobody():
    assigned = Counter(assign_variant(lead, "split", [("a", 0), ("b", 100)], SEED) for lead in range(1, 5001))
    assert assigned == {"b": 5000}


def test_each_step_and_seed_shuffles_independently():
    variants = [("a", 50), ("b", 50)]
    for other_step, other_seed in (("split-2", SEED), ("split-1", "campaign:2")):
        same = sum(
            assign_variant(lead, "split-1", variants, SEED) == assign_variant(lead, other_step, variants, other_seed)
            for lead in range(1, 20_001)
        )
        assert abs(100 * same / 20_000 - 50) <= 2  # unrelated assignments agree half of the time


@pytest.mark.parametrize("test_percent", [5, 20, 50])
def test_the_test_group_is_test_percent_and_split_like_the_variants(test_percent):
    variants = [("a", 70), ("b", 30)]
    testers = [lead for lead in LEADS if in_test_group(lead, "split", test_percent, SEED)]
    assert abs(100 * len(testers) / len(LEADS) - test_percent) <= 1
    # A separate hash: inside the test group, the variants keep their proportions (with the same hash, a 20% test
    # group would be all variant a).
    observed = shares(Counter(assign_variant(lead, "split", variants, SEED) for lead in testers), len(testers))
    assert abs(observed["a"] - 70) <= 2 and abs(observed["b"] - 30) <= 2


def test_the_test_group_grows_with_its_percent():
    small = {lead for lead in range(1, 10_001) if in_test_group(lead, "split", 10, SEED)}
    large = {lead for lead in range(1, 10_001) if in_test_group(lead, "split", 30, SEED)}
    assert small < large  # raising test_percent keeps everyone already in the test group


def test_bucket_boundaries():
    variants = [("a", 50), ("b", 25), ("c", 25)]
    assert [variant_for_bucket(value, variants) for value in (0, 4999, 5000, 7499, 7500, 9999)] == [
        "a",
        "a",
        "b",
        "b",
        "c",
        "c",
    ]
    with pytest.raises(ValueError):
        variant_for_bucket(BUCKETS, variants)
    assert all(0 <= bucket(lead, "s", SEED) < BUCKETS for lead in range(-50, 5000))


@pytest.mark.parametrize("variants", [[], [("a", 50), ("b", 49)], [("a", 60), ("b", 50)], [("a", -10), ("b", 110)]])
def test_percents_must_add_up_to_100(variants):
    with pytest.raises(ValueError):
        assign_variant(1, "split", variants, SEED)


def test_in_test_group_checks_its_percent():
    with pytest.raises(ValueError):
        in_test_group(1, "split", 101, SEED)
    assert not any(in_test_group(lead, "split", 0, SEED) for lead in range(1000))
    assert all(in_test_group(lead, "split", 100, SEED) for lead in range(1000))


# --- The winner -----------------------------------------------------------------------------------------------------


def test_rates():
    stats = VariantStats(sent=200, opened=50, clicked=10, converted=3)
    assert rate(stats, "open_rate") == Fraction(1, 4)
    assert rate(stats, "click_rate") == Fraction(1, 20)
    assert rate(stats, "conversion_rate") == Fraction(3, 200)
    assert rate((0, 0, 0, 0), "open_rate") == 0
    with pytest.raises(ValueError):
        rate(stats, "revenue")


@pytest.mark.parametrize(("metric", "winner"), [("open_rate", "b"), ("click_rate", "a"), ("conversion_rate", "c")])
def test_the_best_rate_wins(metric, winner):
    stats = {"a": (100, 20, 9, 1), "b": (100, 40, 2, 1), "c": (50, 5, 1, 2)}
    assert pick_winner(stats, metric) == winner


def test_rates_not_counts_decide():
    stats = {"a": (1000, 100, 0, 0), "b": (100, 11, 0, 0)}
    assert pick_winner(stats, "open_rate") == "b"


def test_ties_go_to_the_first_variant():
    stats = {"a": (300, 100, 0, 0), "b": (600, 200, 0, 0), "c": (30, 10, 0, 0)}  # 1/3 each, exactly
    assert pick_winner(stats, "open_rate") == "a"
    assert pick_winner(stats, "open_rate", order=["c", "b", "a"]) == "c"
    assert pick_winner({"b": (0, 0, 0, 0), "a": (0, 0, 0, 0)}, "click_rate") == "b"
    assert pick_winner({"b": (0, 0, 0, 0), "a": (0, 0, 0, 0)}, "click_rate", order=["a", "b"]) == "a"


def test_a_variant_without_stats_has_sent_nothing():
    assert pick_winner({"b": (10, 1, 0, 0)}, "open_rate", order=["a", "b"]) == "b"
    assert pick_winner({"b": (10, 0, 0, 0)}, "open_rate", order=["a", "b"]) == "a"
    with pytest.raises(ValueError):
        pick_winner({}, "open_rate")


# --- PostgreSQL -----------------------------------------------------------------------------------------------------


def _reachable(url: str) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url(request) -> str:
    """The machine's PostgreSQL (or DATABASE_URL's); else the suite's embedded one. No table is needed."""
    url = os.environ.get("DATABASE_URL") or MACHINE_POSTGRES
    if _reachable(url):
        return async_url(url).render_as_string(hide_password=False)
    return request.getfixturevalue("database_url")


@pytest.mark.parametrize("seed", [SEED, "campagne 'été' : 2", ""])
async def test_postgresql_computes_the_same_buckets_and_variants(postgres_url, seed):
    engine = create_async_engine(postgres_url)
    variants = [("a", 10), ("b", 20), ("c", 30), ("d", 40)]
    ids = func.generate_series(1, 20_000).table_valued("g").render_derived()
    big = func.generate_series(10**12, 10**12 + 500).table_valued("g").render_derived()
    try:
        async with engine.connect() as connection:
            rows = []
            for source in (ids, big):
                lead = source.c.g
                query = select(
                    lead,
                    bucket_expression(lead, "split-1", seed),
                    variant_expression(lead, "split-1", variants, seed),
                    in_test_group_expression(lead, "split-1", 20, seed),
                    bucket_expression(lead, trial_key("split-1"), seed),
                ).order_by(lead)
                rows += (await connection.execute(query)).all()
    finally:
        await engine.dispose()
    assert len(rows) == 20_501
    for lead, in_sql, variant, tester, trial in rows:
        assert in_sql == bucket(lead, "split-1", seed), lead
        assert variant == assign_variant(lead, "split-1", variants, seed), lead
        assert tester == in_test_group(lead, "split-1", 20, seed), lead
        assert trial == bucket(lead, trial_key("split-1"), seed), lead


async def test_a_single_variant_expression_is_a_constant(postgres_url):
    engine = create_async_engine(postgres_url)
    source = func.generate_series(1, 10).table_valued("g").render_derived()
    query = select(variant_expression(source.c.g, "s", [("only", 100)], SEED)).select_from(source)
    try:
        async with engine.connect() as connection:
            assert list((await connection.execute(query)).scalars()) == ["only"] * 10
    finally:
        await engine.dispose()
