"""A campaign run's report: the funnel per step and A/B variant, the A/B tests, the links, opens and clicks over time.

Deliveries give what was sent and failed and, per message, whether a person opened or clicked it (the first human
open/click is stamped on the delivery); the events give every open and click (machine ones apart), unsubscribes,
bounces, complaints and conversions. Both are read through their rollups (api/report_rollups.py: exact, and a few
thousand rows whatever the size of the run). Arithmetic and significance are domain.metrics'.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from api import report_rollups as rollups
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
from domain.devices import DEVICES
from domain.metrics import EventGroup, Funnel, add_events, compare_variants, ratio
from models.campaigns import Campaign, CampaignRun
from models.payloads.campaign_flow import SendStep, SplitStep

COUNTRIES = 50  # rows of by_country


async def campaign_report(
    scope: Scope, campaign_id: int, run_number: int | None, bucket: Literal["hour", "day"]
) -> ReportOut:
    """The report of run `run_number` (default: the latest); the series in the workspace's timezone."""
    campaign = await scope.get(Campaign, campaign_id, "campaign")
    timezone = (await workspace_of(scope)).timezone
    run = await _run(scope, campaign_id, run_number)
    flow = _run_flow(run, campaign)
    steps = list(iter_steps(flow))
    params = {"r": run.id}
    async with rollups.reading_for(scope) as read:
        deliveries = (await read.execute(rollups.DELIVERIES, params)).all()
        groups, run_conversions = await _event_groups(read, params)
        link_rows = (await read.execute(rollups.LINKS, params)).all()
        series_rows = (await read.execute(rollups.SERIES, {**params, "bucket": bucket, "tz": timezone})).all()
        devices = {row.device: row for row in await read.execute(rollups.DEVICES, params)}
    funnels: dict[tuple[int, str | None], Funnel] = defaultdict(Funnel)
    by_channel: dict[str, Breakdown] = defaultdict(Breakdown)
    by_country: dict[str, Breakdown] = defaultdict(Breakdown)
    for row in deliveries:
        funnel = funnels[(row.step, row.variant)]
        if row.status == "failed":
            funnel.failed += row.n
        elif row.status == "sent":
            funnel.sent += row.n
            funnel.unique_opens += row.opened
            funnel.unique_clicks += row.clicked
            for breakdown in (by_channel[row.channel], by_country[row.country]):
                breakdown.add(row.n, row.opened, row.clicked)
    for (step, variant, _type, _machine), group in groups.items():
        add_events(funnels[(step if step is not None else -1, variant)], group)
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
    totals.conversions = run_conversions
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
    links = [LinkOut(**row._mapping) for row in link_rows]
    series = [SeriesPoint(at=row.at, opens=row.opens, clicks=row.clicks) for row in series_rows]
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
        by_channel=_breakdowns(by_channel),
        by_country=_breakdowns(by_country)[:COUNTRIES],
        by_device=by_device,
    )


async def _event_groups(
    read: rollups.Reading, params: dict
) -> tuple[dict[tuple[int | None, str | None, str, bool], EventGroup], int]:
    """The run's events per step, variant, type and machine flag, and the run's distinct conversions."""
    groups: dict[tuple[int | None, str | None, str, bool], EventGroup] = {}
    for row in await read.execute(rollups.EVENT_COUNTS, params):
        groups[(row.step, row.variant, row.type, row.machine)] = EventGroup(
            row.type, row.machine, n=row.n, value=float(row.value or 0)
        )
    run_conversions = 0
    for row in await read.execute(rollups.EVENT_KEYS, params):
        if row.whole_run:
            run_conversions += row.n if row.type == "conversion" else 0
            continue
        key = (row.step, row.variant, row.type, row.machine)
        group = groups.setdefault(key, EventGroup(row.type, row.machine))
        if row.type == "conversion":
            group.distinct_n = row.n
        else:
            group.permanent = row.n
    return groups, run_conversions


@dataclass
class Breakdown:
    sent: int = 0
    opened: int = 0
    clicked: int = 0

    def add(self, n: int, opened: int, clicked: int) -> None:
        self.sent += n
        self.opened += opened
        self.clicked += clicked


def _breakdowns(rows: dict[str, Breakdown]) -> list[BreakdownRow]:
    """Biggest first, then by key (the order the report always had)."""
    return [
        BreakdownRow(
            key=key,
            sent=row.sent,
            unique_opens=row.opened,
            unique_clicks=row.clicked,
            open_rate=ratio(row.opened, row.sent),
            click_rate=ratio(row.clicked, row.sent),
        )
        for key, row in sorted(rows.items(), key=lambda item: (-item[1].sent, item[0]))
        if row.sent
    ]


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


def funnel_out(funnel: Funnel, cost: float = 0.0) -> FunnelOut:
    values = {name: getattr(funnel, name) for name in funnel.__dataclass_fields__}
    return FunnelOut(**values, delivered=funnel.delivered, **funnel.rates(cost))
