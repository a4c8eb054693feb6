"""Deterministic A/B assignment: a lead's variant depends only on (seed, step id, lead id), in Python and in SQL.

bucket = int(first 15 hex digits of sha256("<seed>:<key>:<lead id>")) mod 10000, where key is the step id (variant
assignment) or "<step id>#test" (membership of the winner test group; a separate hash, so the test group is itself
split in the variants' proportions). Step ids never contain ':' or '#', so two different inputs never hash the same
text. Variant i owns the buckets [100 * (p0 + ... + p(i-1)), 100 * (p0 + ... + pi)).

The seed should stay the same for a campaign (e.g. "campaign:<id>") so a lead keeps its variant when the run is
retried or resumed; changing it reshuffles everyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, ColumnElement, Integer, String, Text, case, cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import BIT

BUCKETS = 10_000
PER_PERCENT = BUCKETS // 100
HEX_DIGITS = 15  # 60 bits: a positive bigint in PostgreSQL
TEST_SUFFIX = "#test"


class VariantStats(NamedTuple):
    sent: int
    opened: int = 0
    clicked: int = 0
    converted: int = 0


METRICS = {"open_rate": "opened", "click_rate": "clicked", "conversion_rate": "converted"}


def bucket(lead_id: int, key: str, seed: str) -> int:
    """The lead's bucket, 0..9999, for this key (a step id, or trial_key(step id))."""
    digest = hashlib.sha256(f"{seed}:{key}:{lead_id}".encode()).hexdigest()
    return int(digest[:HEX_DIGITS], 16) % BUCKETS


def trial_key(step_id: str) -> str:
    return step_id + TEST_SUFFIX


def _bounds(variants: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """(variant id, first bucket above it), checking the percents."""
    if not variants:
        raise ValueError("an A/B split needs variants")
    if sum(percent for _, percent in variants) != 100 or any(percent < 0 for _, percent in variants):
        raise ValueError("the variants' percents must be positive and add up to 100")
    bounds, upper = [], 0
    for variant_id, percent in variants:
        upper += percent * PER_PERCENT
        bounds.append((variant_id, upper))
    return bounds


def variant_for_bucket(value: int, variants: Sequence[tuple[str, int]]) -> str:
    for variant_id, upper in _bounds(variants):
        if value < upper:
            return variant_id
    raise ValueError(f"bucket {value} is outside 0..{BUCKETS - 1}")


def assign_variant(lead_id: int, step_id: str, variants: Sequence[tuple[str, int]], seed: str) -> str:
    """The lead's variant; `variants` is [(variant id, percent)] in the split's order, percents adding up to 100."""
    return variant_for_bucket(bucket(lead_id, step_id, seed), variants)


def in_test_group(lead_id: int, step_id: str, test_percent: int, seed: str) -> bool:
    """Whether the lead is among the `test_percent` percent who get a variant before the winner is known."""
    if not 0 <= test_percent <= 100:
        raise ValueError("test_percent must be between 0 and 100")
    return bucket(lead_id, trial_key(step_id), seed) < test_percent * PER_PERCENT


def rate(stats: VariantStats | Sequence[int], metric: str) -> Fraction:
    """opened, clicked or converted over sent (0 when nothing was sent), exact so that ties are real ties."""
    stats = VariantStats(*stats)
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}'")
    return Fraction(getattr(stats, METRICS[metric]), stats.sent) if stats.sent > 0 else Fraction(0)


def pick_winner(
    stats: Mapping[str, VariantStats | Sequence[int]], metric: str, order: Sequence[str] | None = None
) -> str:
    """The variant with the best rate; ties go to the variant listed first (`order`, else the mapping's order).

    stats: variant id -> (sent, opened, clicked, converted). A variant missing from `stats` counts as nothing sent.
    """
    ranking = list(order) if order is not None else list(stats)
    if not ranking:
        raise ValueError("no variants to pick from")
    best, best_rate = ranking[0], Fraction(-1)
    for variant_id in ranking:
        value = rate(stats.get(variant_id, VariantStats(0)), metric)
        if value > best_rate:
            best, best_rate = variant_id, value
    return best


# --- The same in SQL --------------------------------------------------------------------------------------------------


def bucket_expression(lead_id: ColumnElement[Any], key: str, seed: str) -> ColumnElement[int]:
    """PostgreSQL's version of `bucket` for a lead id column (key and seed are bound parameters)."""
    text = func.concat(
        literal(seed, String), literal_column("':'"), literal(key, String), literal_column("':'"), cast(lead_id, Text)
    )
    digest = func.encode(func.sha256(func.convert_to(text, literal_column("'UTF8'"))), literal_column("'hex'"))
    hex_digits = literal_column("'x'", Text) + func.substr(digest, literal_column("1"), literal_column(str(HEX_DIGITS)))
    bits = cast(hex_digits, BIT(HEX_DIGITS * 4))
    return cast(cast(bits, BigInteger) % literal_column(str(BUCKETS)), Integer)


def variant_expression(
    lead_id: ColumnElement[Any], step_id: str, variants: Sequence[tuple[str, int]], seed: str
) -> ColumnElement[str]:
    """PostgreSQL's version of `assign_variant`: a CASE over the lead's bucket giving the variant id."""
    value = bucket_expression(lead_id, step_id, seed)
    bounds = _bounds(variants)
    whens = [(value < upper, literal(variant_id, String)) for variant_id, upper in bounds[:-1]]
    last = literal(bounds[-1][0], String)
    return case(*whens, else_=last) if whens else last


def in_test_group_expression(
    lead_id: ColumnElement[Any], step_id: str, test_percent: int, seed: str
) -> ColumnElement[bool]:
    """PostgreSQL's version of `in_test_group`."""
    return bucket_expression(lead_id, trial_key(step_id), seed) < test_percent * PER_PERCENT
