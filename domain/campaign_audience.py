"""A campaign's audience and who on it can be reached per channel: SQL conditions on `leads`, shared by the API
(reachability counts, launch) and the engine (audience snapshot, skip reasons), so both say the same thing.

Audience: the union of the campaign's lists (none: every lead of the workspace), minus the leads of the excluded
lists, minus the leads matching the exclusion filter. A legacy campaign's single `list_id` counts as `list_ids`.

Per channel, a lead is skipped for the first of these reasons (`SkipReason` values, recorded on deliveries); the
same rules as the engine's per-lead `domain.campaign_tracks.channel_skip_reason`, here as SQL for counting:
1. invalid_address: no address of the channel's kind, or not shaped like one (email: x@y.z; phone: 6 to 15 digits);
2. no_consent: email consent denied (email is opt-out: granted and unknown both send); SMS and WhatsApp consent not
   granted (opt-in);
3. suppressed: the lead's status is unsubscribed, or the address is suppressed (unsubscribed, bounced, complained).
Frequency cap: a lead is capped when it already received `max_messages` marketing messages (sent deliveries with
`marketing` true, any campaign) in the last `days` days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, not_, or_, select, true

from domain.filters import FilterContext, compile_filter, parse_filter
from domain.lists import saved_list_membership
from models.deliveries import Delivery, DeliveryStatus, SkipReason
from models.leads import CHANNELS, Consent, Lead

LEADS = Lead.__table__
DELIVERIES = Delivery.__table__
REASONS = (SkipReason.invalid_address.value, SkipReason.no_consent.value, SkipReason.suppressed.value)


@dataclass(frozen=True)
class ListRef:
    """What a list's membership condition needs (a row of `lists`)."""

    id: int
    kind: str
    filter: Mapping[str, Any] | None = None


def effective_list_ids(list_ids: Sequence[int] | None, legacy_list_id: int | None) -> list[int]:
    """The lists a campaign targets: its `list_ids`, else its legacy `list_id`, else none (every lead)."""
    if list_ids:
        return list(dict.fromkeys(list_ids))
    return [legacy_list_id] if legacy_list_id is not None else []


def audience_condition(
    workspace_id: int,
    lists: Iterable[ListRef],
    exclude_lists: Iterable[ListRef],
    exclude_filter: Mapping[str, Any] | None,
    ctx: FilterContext,
) -> ColumnElement[bool]:
    """The leads of the audience (raises domain.filters.FilterError for a bad exclusion filter or list filter)."""
    parts: list[ColumnElement[bool]] = [LEADS.c.workspace_id == workspace_id]
    included = [saved_list_membership(ref.id, ref.kind, ref.filter, ctx) for ref in lists]
    if included:
        parts.append(or_(*included))
    parts.extend(not_(saved_list_membership(ref.id, ref.kind, ref.filter, ctx)) for ref in exclude_lists)
    if exclude_filter:
        parts.append(not_(compile_filter(parse_filter(exclude_filter), ctx)))
    return and_(*parts)


EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_SHAPE = r"^\+?[0-9]{6,15}$"


def _address_problem(channel: str) -> ColumnElement[bool]:
    column = LEADS.c.email if channel == "email" else LEADS.c.phone
    shape = EMAIL_SHAPE if channel == "email" else PHONE_SHAPE
    trimmed = func.btrim(column)
    return or_(column.is_(None), trimmed == "", not_(func.replace(trimmed, " ", "").regexp_match(shape)))


def _no_consent(channel: str) -> ColumnElement[bool]:
    consent = func.coalesce(LEADS.c[f"consent_{channel}"], Consent.unknown.value)
    if channel == "email":
        return consent == Consent.denied.value
    return consent != Consent.granted.value


def _suppressed(channel: str) -> ColumnElement[bool]:
    return or_(LEADS.c.status == "unsubscribed", func.coalesce(LEADS.c[f"suppressed_{channel}"], "") != "")


def _check(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")


def skip_reason(channel: str) -> ColumnElement[str | None]:
    """Why a lead cannot get a message on this channel (a SkipReason value), NULL when it can."""
    _check(channel)
    return case(
        (_address_problem(channel), literal(SkipReason.invalid_address.value)),
        (_no_consent(channel), literal(SkipReason.no_consent.value)),
        (_suppressed(channel), literal(SkipReason.suppressed.value)),
        else_=None,
    )


def reachable_on(channel: str) -> ColumnElement[bool]:
    """Leads that may get a message on this channel (the complement of every skip reason)."""
    _check(channel)
    return and_(not_(_address_problem(channel)), not_(_no_consent(channel)), not_(_suppressed(channel)))


def capped_lead_ids(workspace_id: int, max_messages: int, days: int, now: datetime) -> Select:
    """The ids of the workspace's leads already at the frequency cap at `now`."""
    return (
        select(DELIVERIES.c.lead_id)
        .where(
            DELIVERIES.c.workspace_id == workspace_id,
            DELIVERIES.c.marketing.is_(True),
            DELIVERIES.c.status == DeliveryStatus.sent.value,
            DELIVERIES.c.sent_at >= now - timedelta(days=days),
        )
        .group_by(DELIVERIES.c.lead_id)
        .having(func.count() >= max_messages)
    )


def capped(workspace_id: int, max_messages: int | None, days: int, now: datetime) -> ColumnElement[bool]:
    """Leads at the cap; nobody when there is no cap."""
    if max_messages is None:
        return not_(true())
    return LEADS.c.id.in_(capped_lead_ids(workspace_id, max_messages, days, now))
