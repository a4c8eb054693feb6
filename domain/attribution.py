"""Which campaign messages get the credit for a conversion, and how much of it (docs/tracking.md, "Conversions").

A *touch* is a person's click on a tracked link (machine clicks are never touches). Only touches within the window
count: clicked no earlier than `window_days` days before the conversion and no later than the conversion itself
(both ends included). Then, by model:

- `last_touch`: the latest touch gets everything (share 1); of touches at the same instant, the higher delivery id
  (the later message) wins;
- `first_touch`: the earliest touch gets everything; of touches at the same instant, the lower delivery id wins;
- `linear`: each distinct clicked message (delivery) gets an equal share, 1/n, however often it was clicked; in
  the order of each message's first click in the window.

No touch in the window: no credit (the conversion is recorded unattributed). Shares are exact fractions; the
value is split in cents with `split_value`, whose parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

Model = Literal["last_touch", "first_touch", "linear"]
MODELS: tuple[Model, ...] = ("last_touch", "first_touch", "linear")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Touch:
    """A person's click: the message (delivery) it came from and where that message sits in its campaign run.
    `delivery_id` is None once the delivery was deleted (its run with it); the run and step still say which message
    it was."""

    delivery_id: int | None
    campaign_id: int | None
    run_id: int | None
    step: int | None
    variant: str | None
    clicked_at: datetime
    channel: str | None = None

    @property
    def message(self) -> tuple[int | None, int | None, int | None]:
        """What identifies the clicked message (two clicks on one message are one message)."""
        return (self.delivery_id, self.run_id, self.step)


@dataclass(frozen=True)
class Credit:
    touch: Touch
    share: Fraction


def window_start(converted_at: datetime, window_days: int) -> datetime:
    return converted_at - timedelta(days=window_days)


def attribute(converted_at: datetime, touches: Iterable[Touch], model: Model, window_days: int) -> list[Credit]:
    """The credited touches and their shares (adding up to 1), or [] when no touch is within the window."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    if window_days < 1:
        raise ValueError("the window is at least one day")
    start = window_start(converted_at, window_days)
    inside = sorted(
        (t for t in touches if start <= t.clicked_at <= converted_at),
        key=lambda t: (t.clicked_at, t.delivery_id or 0),
    )
    if not inside:
        return []
    if model == "last_touch":
        return [Credit(inside[-1], Fraction(1))]
    if model == "first_touch":
        return [Credit(inside[0], Fraction(1))]
    firsts: dict[tuple[int | None, int | None, int | None], Touch] = {}
    for touch in inside:
        firsts.setdefault(touch.message, touch)
    share = Fraction(1, len(firsts))
    return [Credit(touch, share) for touch in firsts.values()]


def to_cents(value: Decimal) -> Decimal:
    """A value kept to the cent (half up)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split_value(value: Decimal, shares: Sequence[Fraction]) -> list[Decimal]:
    """`value` (to the cent) split by `shares`, each part in whole cents, the parts adding up to `value` exactly:
    every part is rounded down, then the cents left over go one each to the parts that lost the most in rounding
    (the earlier part on a tie). 100 over three equal shares: 33.34, 33.33, 33.33."""
    cents = int(to_cents(value) / CENT)
    exact = [Fraction(cents) * share for share in shares]
    parts = [int(part) for part in exact]  # exact parts are >= 0: int() rounds down
    left = cents - sum(parts)
    by_loss = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_loss[:left]:
        parts[i] += 1
    return [Decimal(part) * CENT for part in parts]
