"""The figures of a scheduled report: per campaign and per day over the period, read from deliveries and events.

What is counted is domain.report_metrics' rule: the messages *sent in the period* (deliveries by `sent_at`, failed
ones by when they were marked) with whether a person ever opened or clicked them, and the *events of the period*
(by `occurred_at`). Campaigns chosen by id are always listed; campaigns chosen by tag are those carrying the tag
when the report runs, listed when they have anything in the period.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.metrics import EventGroup, Funnel, add_events
from domain.report_files import CampaignFigures, DayFigures, ReportFigures
from domain.report_schedule import Window

CAMPAIGNS_BY_ID = text("SELECT id, name FROM campaigns WHERE workspace_id = :w AND id = ANY(:ids)")
CAMPAIGNS_BY_TAG = text("SELECT id, name FROM campaigns WHERE workspace_id = :w AND :tag = ANY(tags) ORDER BY id")
# Through the campaigns' runs, so the deliveries' (run_id, ...) key serves the scan.
DELIVERIES = text(
    """
    SELECT r.campaign_id,
           count(*) FILTER (WHERE d.status = 'sent' AND d.sent_at >= :start AND d.sent_at < :end) AS sent,
           count(*) FILTER (WHERE d.status = 'failed' AND d.updated_at >= :start AND d.updated_at < :end) AS failed,
           count(*) FILTER (WHERE d.status = 'sent' AND d.sent_at >= :start AND d.sent_at < :end
                            AND d.opened_at IS NOT NULL) AS opened,
           count(*) FILTER (WHERE d.status = 'sent' AND d.sent_at >= :start AND d.sent_at < :end
                            AND d.clicked_at IS NOT NULL) AS clicked
    FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id
    WHERE r.workspace_id = :w AND r.campaign_id = ANY(:ids) AND r.started_at < :end
      AND ((d.status = 'sent' AND d.sent_at >= :start AND d.sent_at < :end)
           OR (d.status = 'failed' AND d.updated_at >= :start AND d.updated_at < :end))
    GROUP BY r.campaign_id
    """
)
# Conversions are counted once per conversion id (a conversion credited to several messages is one), hard bounces
# once per lead, the value summed over the credited rows (each holds its share).
EVENT_COLUMNS = """
    count(*) AS n,
    count(DISTINCT coalesce(metadata->>'conversion_id', id::text)) AS distinct_n,
    count(DISTINCT lead_id) FILTER (WHERE metadata->>'permanent' = 'true') AS permanent,
    coalesce(sum(CASE WHEN metadata->>'value' ~ '^-?[0-9]+(\\.[0-9]+)?$'
                      THEN (metadata->>'value')::numeric END), 0) AS value
"""
PERIOD_EVENTS = "workspace_id = :w AND campaign_id = ANY(:ids) AND occurred_at >= :start AND occurred_at < :end"
EVENTS = text(
    f"SELECT campaign_id, type, machine, {EVENT_COLUMNS} FROM events WHERE {PERIOD_EVENTS} "
    "GROUP BY campaign_id, type, machine"
)
TOTAL_EVENTS = text(f"SELECT type, machine, {EVENT_COLUMNS} FROM events WHERE {PERIOD_EVENTS} GROUP BY type, machine")
DAILY_SENT = text(
    """
    SELECT CAST(date_trunc('day', d.sent_at AT TIME ZONE :tz) AS date) AS day, count(*) AS n
    FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id
    WHERE r.workspace_id = :w AND r.campaign_id = ANY(:ids) AND r.started_at < :end
      AND d.status = 'sent' AND d.sent_at >= :start AND d.sent_at < :end
    GROUP BY 1
    """
)
DAILY_EVENTS = text(
    f"""
    SELECT CAST(date_trunc('day', occurred_at AT TIME ZONE :tz) AS date) AS day,
           count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks
    FROM events WHERE {PERIOD_EVENTS} AND NOT machine AND type IN ('open', 'click')
    GROUP BY 1
    """
)


async def campaigns_of(
    session: AsyncSession, workspace_id: int, campaign_ids: list[int], tag: str | None
) -> list[tuple[int, str]]:
    """(id, name) of the campaigns reported on, in the definition's order (deleted ones are left out)."""
    if campaign_ids:
        rows = await session.execute(CAMPAIGNS_BY_ID, {"w": workspace_id, "ids": campaign_ids})
        names = {row.id: row.name for row in rows}
        return [(campaign_id, names[campaign_id]) for campaign_id in campaign_ids if campaign_id in names]
    rows = await session.execute(CAMPAIGNS_BY_TAG, {"w": workspace_id, "tag": tag})
    return [(row.id, row.name) for row in rows]


async def load_figures(
    session: AsyncSession,
    workspace_id: int,
    campaigns: list[tuple[int, str]],
    window: Window,
    timezone: str,
    *,
    only_active: bool,
) -> ReportFigures:
    ids = [campaign_id for campaign_id, _ in campaigns]
    params = {"w": workspace_id, "ids": ids, "start": window.start, "end": window.end}
    funnels: dict[int, Funnel] = defaultdict(Funnel)
    total = Funnel()
    for row in await session.execute(DELIVERIES, params):
        funnel = funnels[row.campaign_id]
        funnel.sent, funnel.failed = row.sent, row.failed
        funnel.unique_opens, funnel.unique_clicks = row.opened, row.clicked
        total.sent += row.sent
        total.failed += row.failed
        total.unique_opens += row.opened
        total.unique_clicks += row.clicked
    for row in await session.execute(EVENTS, params):
        add_events(funnels[row.campaign_id], _event_group(row))
    # Over all the campaigns at once: a conversion credited to two of them counts once in the total.
    for row in await session.execute(TOTAL_EVENTS, params):
        add_events(total, _event_group(row))
    days = {day: DayFigures(day) for day in window.days}
    tz_params = {**params, "tz": timezone}
    for row in await session.execute(DAILY_SENT, tz_params):
        _day(days, row.day).sent = row.n
    for row in await session.execute(DAILY_EVENTS, tz_params):
        figures = _day(days, row.day)
        figures.opens, figures.clicks = row.opens, row.clicks
    listed = [
        CampaignFigures(campaign_id, name, funnels.get(campaign_id, Funnel()))
        for campaign_id, name in campaigns
        if not only_active or campaign_id in funnels
    ]
    return ReportFigures(campaigns=listed, total=total, days=list(days.values()))


def _day(days: dict[date, DayFigures], day: date) -> DayFigures:
    # A day outside the window cannot come back from these queries; kept defensive for odd timezone data.
    return days.setdefault(day, DayFigures(day))


def _event_group(row: Any) -> EventGroup:
    return EventGroup(row.type, row.machine, row.n, row.distinct_n, row.permanent, float(row.value))
