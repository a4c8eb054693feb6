"""A campaign run's report: the funnel per step and A/B variant, the A/B tests, the links, opens and clicks over time.

Deliveries give what was sent and failed and, per message, whether a person opened or clicked it (the first human
open/click is stamped on the delivery); the events give every open and click (machine ones apart), unsubscribes,
bounces, complaints and conversions. Arithmetic and significance are domain.metrics'.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from sqlalchemy import text

from api.campaign_runs import _run_flow, latest_run
from api.errors import ApiError
from api.lead_service import workspace_of
from api.schemas_reports import (
    AbTestOut,
    BreakdownRow,
    DeviceRow,
    FunnelOut,
    LinkOut,
    ReportOut,
    SeriesPoint,
    StepReport,
    VariantReport,
)
from api.scoping import Scope
from domain.ab_split import VariantStats
from domain.campaign_flow import iter_steps, path_label
from domain.campaign_tracks import send_indexes_within
from domain.devices import DEVICES, device_sql
from domain.metrics import Funnel, compare_variants, ratio
from models.campaigns import Campaign, CampaignRun
from models.payloads.campaign_flow import SendStep, SplitStep

DELIVERY_COUNTS = text(
    """
    SELECT step, variant, count(*) FILTER (WHERE status = 'sent') AS sent,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'sent' AND opened_at IS NOT NULL) AS opened,
           count(*) FILTER (WHERE status = 'sent' AND clicked_at IS NOT NULL) AS clicked
    FROM deliveries WHERE run_id = :run_id GROUP BY step, variant
    """
)
# What add_events reads from a group of events: every row, conversions (one per conversion_id), hard bounces (one
# per lead), the conversions' value.
EVENT_COUNT_COLUMNS = """
    count(*) AS n,
    count(DISTINCT coalesce(metadata->>'conversion_id', id::text)) AS distinct_n,
    count(DISTINCT lead_id) FILTER (WHERE metadata->>'permanent' = 'true') AS permanent,
    coalesce(sum(CASE WHEN metadata->>'value' ~ '^-?[0-9]+(\\.[0-9]+)?$'
                      THEN (metadata->>'value')::numeric END), 0) AS value
"""
EVENT_COUNTS = text(
    f"SELECT step, variant, type, machine, {EVENT_COUNT_COLUMNS} "
    "FROM events WHERE run_id = :run_id GROUP BY step, variant, type, machine"
)
RUN_CONVERSIONS = text(
    "SELECT count(DISTINCT coalesce(metadata->>'conversion_id', id::text)) FROM events "
    "WHERE run_id = :run_id AND type = 'conversion'"
)
LINKS = text(
    """
    SELECT url, count(*) AS clicks, count(DISTINCT delivery_id) AS unique_clicks
    FROM events WHERE run_id = :run_id AND type = 'click' AND NOT machine AND url IS NOT NULL
    GROUP BY url ORDER BY clicks DESC, url LIMIT 200
    """
)
BY_CHANNEL = text(
    """
    SELECT channel AS key, count(*) AS sent, count(opened_at) AS opened, count(clicked_at) AS clicked
    FROM deliveries WHERE run_id = :run_id AND status = 'sent' GROUP BY channel ORDER BY sent DESC, channel
    """
)
BY_COUNTRY = text(
    """
    SELECT coalesce(l.country, '') AS key, count(*) AS sent, count(d.opened_at) AS opened,
           count(d.clicked_at) AS clicked
    FROM deliveries d JOIN leads l ON l.id = d.lead_id
    WHERE d.run_id = :run_id AND d.status = 'sent' GROUP BY 1 ORDER BY sent DESC, key LIMIT 50
    """
)
BY_DEVICE = text(
    f"""
    SELECT {device_sql("metadata->>'user_agent'")} AS device,
           count(DISTINCT delivery_id) FILTER (WHERE type = 'open') AS opened,
           count(DISTINCT delivery_id) FILTER (WHERE type = 'click') AS clicked
    FROM events WHERE run_id = :run_id AND NOT machine AND type IN ('open', 'click') GROUP BY 1
    """
)
SERIES = text(
    """
    SELECT date_trunc(:bucket, occurred_at AT TIME ZONE :tz) AS at,
           count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks
    FROM events WHERE run_id = :run_id AND NOT machine AND type IN ('open', 'click')
    GROUP BY 1 ORDER BY 1
    """
)


async def campaign_report(
    scope: Scope, campaign_id: int, run_number: int | None, bucket: Literal["hour", "day"]
) -> ReportOut:
    """The report of run `run_number` (default: the latest); the series in the workspace's timezone."""
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    timezone = (await workspace_of(scope)).timezone
    run = await _run(scope, campaign_id, run_number)
    flow = _run_flow(run, campaign)
    steps = list(iter_steps(flow))
    funnels: dict[tuple[int, str | None], Funnel] = defaultdict(Funnel)
    params = {"run_id": run.id}
    for row in await scope.session.execute(DELIVERY_COUNTS, params):
        funnel = funnels[(row.step, row.variant)]
        funnel.sent += row.sent
        funnel.failed += row.failed
        funnel.unique_opens += row.opened
        funnel.unique_clicks += row.clicked
    for row in await scope.session.execute(EVENT_COUNTS, params):
        add_events(funnels[(row.step if row.step is not None else -1, row.variant)], row)
    cost = float(campaign.cost or 0)
    totals = Funnel()
    per_step: dict[int, Funnel] = defaultdict(Funnel)
    per_variant: dict[int, dict[str, Funnel]] = defaultdict(lambda: defaultdict(Funnel))
    for (step, variant), funnel in funnels.items():
        totals.add(funnel)
        per_step[step].add(funnel)
        if variant:
            per_variant[step][variant].add(funnel)
    # Over the run, a conversion split between steps counts once.
    totals.conversions = (await scope.session.execute(RUN_CONVERSIONS, params)).scalar_one()
    step_reports = [
        StepReport(
            index=index,
            step_id=step.id,
            label=path_label(flow, position),
            type=step.type,
            channel=step.channel if isinstance(step, SendStep) else None,
            funnel=funnel_out(per_step.get(index, Funnel())),
            variants=[
                VariantReport(variant=variant, funnel=funnel_out(funnel))
                for variant, funnel in sorted(per_variant.get(index, {}).items())
            ],
        )
        for index, (position, step) in enumerate(steps)
    ]
    ab_tests = []
    for position, step in steps:
        if not isinstance(step, SplitStep):
            continue
        stats = {}
        for variant in step.variants:
            inside = send_indexes_within(flow, position, variant.id)
            merged = Funnel()
            for index in inside:
                merged.add(per_variant.get(index, {}).get(variant.id, Funnel()))
            stats[variant.id] = VariantStats(merged.sent, merged.unique_opens, merged.unique_clicks, merged.conversions)
        metric = step.winner.metric if step.winner is not None else "click_rate"
        comparison = compare_variants(stats, metric, [variant.id for variant in step.variants])
        ab_tests.append(AbTestOut(step_id=step.id, **comparison.__dict__))
    links = [LinkOut(**row._mapping) for row in await scope.session.execute(LINKS, params)]
    series = [
        SeriesPoint(at=row.at, opens=row.opens, clicks=row.clicks)
        for row in await scope.session.execute(SERIES, {**params, "bucket": bucket, "tz": timezone})
    ]
    by_channel = [_breakdown(row) for row in await scope.session.execute(BY_CHANNEL, params)]
    by_country = [_breakdown(row) for row in await scope.session.execute(BY_COUNTRY, params)]
    devices = {row.device: row for row in await scope.session.execute(BY_DEVICE, params)}
    by_device = [
        DeviceRow(device=device, opened=devices[device].opened, clicked=devices[device].clicked)
        for device in DEVICES
        if device in devices
    ]
    return ReportOut(
        campaign_id=campaign_id,
        run_id=run.id,
        run_number=run.number,
        status=run.status,
        cost=cost,
        totals=funnel_out(totals, cost),
        steps=step_reports,
        ab_tests=ab_tests,
        links=links,
        bucket=bucket,
        series=series,
        by_channel=by_channel,
        by_country=by_country,
        by_device=by_device,
    )


def _breakdown(row) -> BreakdownRow:
    return BreakdownRow(
        key=row.key,
        sent=row.sent,
        unique_opens=row.opened,
        unique_clicks=row.clicked,
        open_rate=ratio(row.opened, row.sent),
        click_rate=ratio(row.clicked, row.sent),
    )


async def _run(scope: Scope, campaign_id: int, number: int | None) -> CampaignRun:
    if number is None:
        return await latest_run(scope, campaign_id)
    run = (
        await scope.session.exec(
            scope.select(CampaignRun).where(CampaignRun.campaign_id == campaign_id, CampaignRun.number == number)
        )
    ).first()
    if run is None:
        raise ApiError(404, f"campaign {campaign_id} has no run {number}", field="run")
    return run


def add_events(funnel: Funnel, row) -> None:
    if row.type == "open":
        if row.machine:
            funnel.machine_opens += row.n
        else:
            funnel.total_opens += row.n
    elif row.type == "click" and not row.machine:
        funnel.total_clicks += row.n
    elif row.type == "unsubscribe":
        funnel.unsubscribes += row.n
    elif row.type == "bounce":
        funnel.bounces += row.n
        funnel.hard_bounces += row.permanent
    elif row.type == "complaint":
        funnel.complaints += row.n
    elif row.type == "conversion":
        # A conversion credited to several messages (linear attribution) is one row per message, one conversion.
        funnel.conversions += row.distinct_n
        funnel.revenue += float(row.value)


def funnel_out(funnel: Funnel, cost: float = 0.0) -> FunnelOut:
    values = {name: getattr(funnel, name) for name in funnel.__dataclass_fields__}
    return FunnelOut(**values, delivered=funnel.delivered, **funnel.rates(cost))
