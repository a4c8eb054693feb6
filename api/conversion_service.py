"""Recording a conversion (docs/tracking.md, "Conversions"): the credited touches, the `events` rows, the timeline.

One conversion is one or more `conversion` events sharing `metadata.conversion_id`: one per credited touch (its
delivery, campaign, run, step, variant and channel, `metadata.value` its part of the value), or a single
unattributed one (no campaign, the whole value) when no click is within the window. A conversion with a dedupe key
is recorded once: a repeat finds the rows of the first (under a transaction-scoped advisory lock on the key, so two
requests at once cannot both write) and writes nothing. The caller commits: one transaction per request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from api.lead_service import note_on_timeline
from api.schemas_conversions import ConversionOut, CreditOut
from domain.attribution import Credit, Model, Touch, attribute, split_value, to_cents, window_start

SHARE_DIGITS = 6
WON_STATUS = "won"
DEAL_VALUE_FIELD = "deal_value"
CLICKS_SQL = text(
    "SELECT delivery_id, campaign_id, run_id, step, variant, channel, occurred_at FROM events "
    "WHERE lead_id = :lead_id AND workspace_id = :w AND type = 'click' AND NOT machine "
    "AND occurred_at >= :start AND occurred_at <= :at"
)
LOCK_SQL = text("SELECT pg_advisory_xact_lock(:w, hashtext(:key))")
# The rows of an earlier conversion with this dedupe key: the key itself, or the key plus ":<touch>".
EXISTING_SQL = text(
    "SELECT delivery_id, campaign_id, run_id, step, variant, metadata, occurred_at FROM events "
    "WHERE workspace_id = :w AND type = 'conversion' AND (dedupe_key = :key OR "
    "(dedupe_key >= CAST(:key AS text) || ':' AND dedupe_key < CAST(:key AS text) || ';')) "
    "AND metadata->>'dedupe' = :key ORDER BY id"
)
INSERT_SQL = text(
    "INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
    "machine, occurred_at, metadata, dedupe_key) VALUES (:w, :delivery_id, :lead_id, :campaign_id, :run_id, :step, "
    ":variant, :channel, 'conversion', false, :at, CAST(:metadata AS jsonb), :dedupe_key) "
    "ON CONFLICT (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING"
)


@dataclass(frozen=True)
class ConversionInput:
    workspace_id: int
    lead_id: int
    occurred_at: datetime
    model: Model = "last_touch"
    window_days: int = 30
    value: Decimal | None = None
    currency: str | None = None
    name: str | None = None
    source: str = "api"  # api, snippet, lead_status
    dedupe: str | None = None  # e.g. conversion:<id>, won:<lead>:<date>
    per_touch_keys: bool = True  # dedupe_key = <dedupe>:<delivery> per row (else <dedupe>, for one row at most)


@dataclass(frozen=True)
class CreditedRow:
    delivery_id: int | None
    campaign_id: int | None
    run_id: int | None
    step: int | None
    variant: str | None
    share: float
    value: str | None


@dataclass(frozen=True)
class Recorded:
    conversion_id: str
    duplicate: bool
    occurred_at: datetime
    rows: list[CreditedRow]


async def lead_touches(session: AsyncSession, conversion: ConversionInput) -> list[Touch]:
    """The lead's human clicks within the window before the conversion."""
    params = {
        "lead_id": conversion.lead_id,
        "w": conversion.workspace_id,
        "start": window_start(conversion.occurred_at, conversion.window_days),
        "at": conversion.occurred_at,
    }
    return [
        Touch(r.delivery_id, r.campaign_id, r.run_id, r.step, r.variant, r.occurred_at, r.channel)
        for r in await session.execute(CLICKS_SQL, params)
    ]


async def record_conversion(
    session: AsyncSession, conversion: ConversionInput, actor: str, touches: list[Touch] | None = None
) -> Recorded:
    """Attributes the conversion (to `touches` when given, else to the lead's clicks) and writes its events and a
    timeline row; a repeat of a dedupe key answers the first recording, with `duplicate` set."""
    if conversion.dedupe is not None:
        await session.execute(LOCK_SQL, {"w": conversion.workspace_id, "key": conversion.dedupe})
        existing = await _existing(session, conversion)
        if existing is not None:
            return existing
    if touches is None:
        credits = attribute(
            conversion.occurred_at,
            await lead_touches(session, conversion),
            conversion.model,
            conversion.window_days,
        )
    else:
        credits = [Credit(touch, Fraction(1, len(touches))) for touch in touches]
    conversion_id = str(uuid.uuid4())
    shares = [credit.share for credit in credits] or [Fraction(1)]
    values = split_value(conversion.value, shares) if conversion.value is not None else [None] * len(shares)
    rows: list[CreditedRow] = []
    for credit, share, value in zip(credits or [None], shares, values, strict=True):
        touch = credit.touch if credit is not None else None
        row = CreditedRow(
            delivery_id=touch.delivery_id if touch else None,
            campaign_id=touch.campaign_id if touch else None,
            run_id=touch.run_id if touch else None,
            step=touch.step if touch else None,
            variant=touch.variant if touch else None,
            share=round(float(share), SHARE_DIGITS),
            value=None if value is None else str(value),
        )
        await _insert(session, conversion, conversion_id, row, touch)
        rows.append(row)
    timeline: dict[str, Any] = {
        "conversion_id": conversion_id,
        "value": None if conversion.value is None else str(to_cents(conversion.value)),
        "currency": conversion.currency,
        "name": conversion.name,
        "source": conversion.source,
        "campaign_ids": sorted({row.campaign_id for row in rows if row.campaign_id is not None}),
    }
    await note_on_timeline(session, conversion.workspace_id, conversion.lead_id, "converted", timeline, actor)
    return Recorded(conversion_id, False, conversion.occurred_at, rows)


async def _insert(
    session: AsyncSession, conversion: ConversionInput, conversion_id: str, row: CreditedRow, touch: Touch | None
) -> None:
    metadata: dict[str, Any] = {
        "conversion_id": conversion_id,
        "value": row.value,
        "share": row.share,
        "model": conversion.model,
        "currency": conversion.currency,
        "name": conversion.name,
        "source": conversion.source,
    }
    dedupe_key = None
    if conversion.dedupe is not None:
        metadata["dedupe"] = conversion.dedupe
        dedupe_key = f"{conversion.dedupe}:{_touch_label(touch)}" if conversion.per_touch_keys else conversion.dedupe
    params = {
        "w": conversion.workspace_id,
        "lead_id": conversion.lead_id,
        "delivery_id": row.delivery_id,
        "campaign_id": row.campaign_id,
        "run_id": row.run_id,
        "step": row.step,
        "variant": row.variant,
        "channel": touch.channel if touch else None,
        "at": conversion.occurred_at,
        "metadata": json.dumps({k: v for k, v in metadata.items() if v is not None}),
        "dedupe_key": dedupe_key,
    }
    await session.execute(INSERT_SQL, params)


def _touch_label(touch: Touch | None) -> str:
    if touch is None:
        return "none"
    if touch.delivery_id is not None:
        return str(touch.delivery_id)
    return f"r{touch.run_id}s{touch.step}"


async def _existing(session: AsyncSession, conversion: ConversionInput) -> Recorded | None:
    found = (await session.execute(EXISTING_SQL, {"w": conversion.workspace_id, "key": conversion.dedupe})).all()
    if not found:
        return None
    rows = [
        CreditedRow(
            delivery_id=r.delivery_id,
            campaign_id=r.campaign_id,
            run_id=r.run_id,
            step=r.step,
            variant=r.variant,
            share=float(r.metadata.get("share", 1)),
            value=r.metadata.get("value"),
        )
        for r in found
    ]
    return Recorded(str(found[0].metadata.get("conversion_id", "")), True, found[0].occurred_at, rows)


def conversion_out(lead_id: int, recorded: Recorded) -> ConversionOut:
    credited = [row for row in recorded.rows if row.run_id is not None or row.delivery_id is not None]
    values = [Decimal(row.value) for row in recorded.rows if row.value is not None]
    return ConversionOut(
        conversion_id=recorded.conversion_id,
        duplicate=recorded.duplicate,
        lead_id=lead_id,
        occurred_at=recorded.occurred_at,
        value=str(sum(values, Decimal("0.00"))) if values else None,
        credits=[CreditOut(**row.__dict__) for row in credited],
    )


def deal_value(custom_fields: dict[str, Any] | None) -> Decimal | None:
    """The lead's `deal_value` custom field when it is a number >= 0 (else no value)."""
    raw = (custom_fields or {}).get(DEAL_VALUE_FIELD)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = Decimal(str(raw))
    return value if value.is_finite() and value >= 0 else None


async def record_won(
    session: AsyncSession, workspace_id: int, lead_id: int, custom_fields: dict[str, Any] | None, actor: str
) -> Recorded:
    """A lead whose status became `won` converted: last touch, 30 days, valued at its `deal_value`; once per lead and
    UTC day (`won:<lead>:<date>`), so a status flapping back and forth the same day counts once."""
    now = datetime.now(UTC)
    conversion = ConversionInput(
        workspace_id=workspace_id,
        lead_id=lead_id,
        occurred_at=now,
        value=deal_value(custom_fields),
        name="won",
        source="lead_status",
        dedupe=f"won:{lead_id}:{now.date().isoformat()}",
        per_touch_keys=False,
    )
    return await record_conversion(session, conversion, actor)
