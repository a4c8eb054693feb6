"""Workspace analytics: the last N days at a glance, and campaigns side by side.

The overview counts messages sent in the period (deliveries by `sent_at`), the first human open/click of those
messages, and the period's events (unsubscribes, bounces, complaints, conversions); the trend is per day in the
workspace's timezone; top campaigns are by messages sent in the period; list growth compares each list's first and
last nightly snapshot in the period. The period starts at the quarter-hour at or before now minus the days (the
rollups count per quarter-hour: api/report_rollups.py), and `since` says so. The comparison puts each campaign's
latest run report side by side, with the differences of its rates from the first campaign's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from api import report_rollups as rollups
from api.campaign_report import campaign_report, funnel_out
from api.errors import ApiError
from api.lead_service import workspace_of
from api.schemas_reports import (
    ComparedCampaign,
    ComparisonOut,
    DayPoint,
    ListGrowth,
    OverviewOut,
    TopCampaign,
)
from api.scoping import Scope
from domain.metrics import EventGroup, Funnel, add_events, ratio
from models.campaigns import Campaign

GROWTH = text(
    """
    SELECT list_id, name, first_size, last_size FROM (
        SELECT l.id AS list_id, l.name, (array_agg(s.size ORDER BY s.day))[1] AS first_size,
               (array_agg(s.size ORDER BY s.day DESC))[1] AS last_size
        FROM list_snapshots s JOIN lists l ON l.id = s.list_id
        WHERE s.workspace_id = :w AND s.day >= CAST(:since AS date)
        GROUP BY l.id, l.name
    ) sizes ORDER BY last_size - first_size DESC, name LIMIT 10
    """
)
RATES = ("open_rate", "click_rate", "click_to_open", "unsubscribe_rate", "bounce_rate", "complaint_rate",
         "conversion_rate")  # fmt: skip


async def overview(scope: Scope, days: int, now: datetime) -> OverviewOut:
    since = rollups.period_start(now, days)
    params = {"since": since}
    timezone = (await workspace_of(scope)).timezone
    async with rollups.reading_for(scope) as read:
        sent = (await read.execute(rollups.PERIOD_SENT, params)).one()
        count_rows = (await read.execute(rollups.PERIOD_EVENT_COUNTS, params)).all()
        key_rows = (await read.execute(rollups.PERIOD_EVENT_KEYS, params)).all()
        trend_rows = (await read.execute(rollups.PERIOD_TREND, {**params, "tz": timezone})).all()
        top_rows = (await read.execute(rollups.PERIOD_TOP, params)).all()
    funnel = Funnel(sent=sent.sent, unique_opens=sent.opened, unique_clicks=sent.clicked)
    groups = {
        (row.type, row.machine): EventGroup(row.type, row.machine, n=row.n, value=float(row.value or 0))
        for row in count_rows
    }
    for row in key_rows:
        group = groups.setdefault((row.type, row.machine), EventGroup(row.type, row.machine))
        if row.type == "conversion":
            group.distinct_n = row.n
        else:
            group.permanent = row.n
    for group in groups.values():
        add_events(funnel, group)
    trend = [DayPoint(**row._mapping) for row in trend_rows]
    top = [
        TopCampaign(
            campaign_id=row.campaign_id,
            name=row.name,
            sent=row.sent,
            open_rate=ratio(row.opened, row.sent),
            click_rate=ratio(row.clicked, row.sent),
        )
        for row in top_rows
    ]
    growth = [
        ListGrowth(**row._mapping, change=row.last_size - row.first_size)
        for row in await scope.session.execute(GROWTH, {"w": scope.workspace_id, "since": since})
    ]
    return OverviewOut(
        days=days, since=since, totals=funnel_out(funnel), trend=trend, top_campaigns=top, list_growth=growth
    )


async def compare(scope: Scope, campaign_ids: list[int]) -> ComparisonOut:
    if not 2 <= len(campaign_ids) <= 5 or len(set(campaign_ids)) != len(campaign_ids):
        raise ApiError(422, "campaign_ids: give 2 to 5 different campaigns", field="campaign_ids")
    compared = []
    for campaign_id in campaign_ids:
        report = await campaign_report(scope, campaign_id, None, "day")
        # campaign_report loaded it: the session hands the same object back, without a query.
        name = (await scope.get(Campaign, campaign_id, "campaign")).name
        compared.append((campaign_id, name, report))
    first = compared[0][2].totals
    return ComparisonOut(
        campaigns=[
            ComparedCampaign(
                campaign_id=campaign_id,
                name=name,
                run_number=report.run_number,
                totals=report.totals,
                deltas={rate: _delta(getattr(report.totals, rate), getattr(first, rate)) for rate in RATES},
            )
            for campaign_id, name, report in compared
        ]
    )


def _delta(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else value - base
