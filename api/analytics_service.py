"""Workspace analytics: the last N days at a glance, and campaigns side by side.

The overview counts messages sent in the period (deliveries by `sent_at`), the first human open/click of those
messages, and the period's events (unsubscribes, bounces, complaints, conversions); the trend is per day in the
workspace's timezone; top campaigns are by messages sent in the period; list growth compares each list's first and
last nightly snapshot in the period. The comparison puts each campaign's latest run report side by side, with the
differences of its rates from the first campaign's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from api.campaign_report import EVENT_COUNT_COLUMNS, add_events, campaign_report, funnel_out
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
from domain.metrics import Funnel, ratio
from models.campaigns import Campaign

SENT = text(
    """
    SELECT count(*) AS sent, count(opened_at) AS opened, count(clicked_at) AS clicked
    FROM deliveries WHERE workspace_id = :w AND status = 'sent' AND sent_at >= :since
    """
)
EVENTS = text(
    f"SELECT type, machine, {EVENT_COUNT_COLUMNS} "
    "FROM events WHERE workspace_id = :w AND occurred_at >= :since GROUP BY type, machine"
)
TREND = text(
    """
    WITH days AS (
        SELECT generate_series(date_trunc('day', :since AT TIME ZONE :tz), date_trunc('day', now() AT TIME ZONE :tz),
                               interval '1 day') AS day
    ), sent AS (
        SELECT date_trunc('day', sent_at AT TIME ZONE :tz) AS day, count(*) AS n FROM deliveries
        WHERE workspace_id = :w AND status = 'sent' AND sent_at >= :since GROUP BY 1
    ), engaged AS (
        SELECT date_trunc('day', occurred_at AT TIME ZONE :tz) AS day,
               count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks
        FROM events WHERE workspace_id = :w AND occurred_at >= :since AND NOT machine GROUP BY 1
    )
    SELECT to_char(days.day, 'YYYY-MM-DD') AS day, coalesce(sent.n, 0) AS sent,
           coalesce(engaged.opens, 0) AS opens, coalesce(engaged.clicks, 0) AS clicks
    FROM days LEFT JOIN sent ON sent.day = days.day LEFT JOIN engaged ON engaged.day = days.day ORDER BY days.day
    """
)
TOP = text(
    """
    SELECT c.id AS campaign_id, c.name, count(*) AS sent, count(d.opened_at) AS opened, count(d.clicked_at) AS clicked
    FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id JOIN campaigns c ON c.id = r.campaign_id
    WHERE d.workspace_id = :w AND d.status = 'sent' AND d.sent_at >= :since
    GROUP BY c.id, c.name ORDER BY sent DESC, c.id LIMIT 5
    """
)
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
    since = now - timedelta(days=days)
    params = {"w": scope.workspace_id, "since": since}
    timezone = (await workspace_of(scope)).timezone
    sent = (await scope.session.execute(SENT, params)).one()
    funnel = Funnel(sent=sent.sent, unique_opens=sent.opened, unique_clicks=sent.clicked)
    for row in await scope.session.execute(EVENTS, params):
        add_events(funnel, row)
    trend = [DayPoint(**row._mapping) for row in await scope.session.execute(TREND, {**params, "tz": timezone})]
    top = [
        TopCampaign(
            campaign_id=row.campaign_id,
            name=row.name,
            sent=row.sent,
            open_rate=ratio(row.opened, row.sent),
            click_rate=ratio(row.clicked, row.sent),
        )
        for row in await scope.session.execute(TOP, params)
    ]
    growth = [
        ListGrowth(**row._mapping, change=row.last_size - row.first_size)
        for row in await scope.session.execute(GROWTH, params)
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
