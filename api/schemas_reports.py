"""The campaign report's shapes (GET /api/campaigns/{id}/report)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class FunnelOut(BaseModel):
    sent: int
    delivered: int
    failed: int
    hard_bounces: int
    unique_opens: int
    total_opens: int
    machine_opens: int
    unique_clicks: int
    total_clicks: int
    unsubscribes: int
    bounces: int
    complaints: int
    conversions: int
    revenue: float
    delivery_rate: float | None
    open_rate: float | None
    click_rate: float | None
    click_to_open: float | None
    unsubscribe_rate: float | None
    bounce_rate: float | None
    complaint_rate: float | None
    conversion_rate: float | None
    roi: float | None = None


class VariantReport(BaseModel):
    variant: str
    funnel: FunnelOut


class StepReport(BaseModel):
    index: int
    step_id: str
    label: str
    type: str
    channel: str | None
    funnel: FunnelOut
    variants: list[VariantReport]


class AbTestOut(BaseModel):
    step_id: str
    metric: Literal["open_rate", "click_rate", "conversion_rate"]
    winner: str
    runner_up: str | None
    z: float
    p_value: float
    significant: bool
    rates: dict[str, float]


class LinkOut(BaseModel):
    url: str
    clicks: int
    unique_clicks: int


class SeriesPoint(BaseModel):
    at: datetime
    opens: int
    clicks: int


class BreakdownRow(BaseModel):
    key: str  # a channel, or a country code ("" when the lead has none)
    sent: int
    unique_opens: int
    unique_clicks: int
    open_rate: float | None
    click_rate: float | None


class DeviceRow(BaseModel):
    device: Literal["mobile", "tablet", "desktop", "other"]
    opened: int  # messages opened by a person from this kind of device
    clicked: int


class ReportOut(BaseModel):
    campaign_id: int
    run_id: int
    run_number: int
    status: str
    cost: float
    totals: FunnelOut
    steps: list[StepReport]
    ab_tests: list[AbTestOut]
    links: list[LinkOut]
    bucket: Literal["hour", "day"]
    series: list[SeriesPoint]
    by_channel: list[BreakdownRow]
    by_country: list[BreakdownRow]
    by_device: list[DeviceRow]


class DayPoint(BaseModel):
    day: str  # YYYY-MM-DD in the workspace's timezone
    sent: int
    opens: int
    clicks: int


class TopCampaign(BaseModel):
    campaign_id: int
    name: str
    sent: int
    open_rate: float | None
    click_rate: float | None


class ListGrowth(BaseModel):
    list_id: int
    name: str
    first_size: int
    last_size: int
    change: int


class OverviewOut(BaseModel):
    days: int
    since: datetime
    totals: FunnelOut
    trend: list[DayPoint]
    top_campaigns: list[TopCampaign]
    list_growth: list[ListGrowth]


class ComparedCampaign(BaseModel):
    campaign_id: int
    name: str
    run_number: int
    totals: FunnelOut
    deltas: dict[str, float | None]  # rate differences against the first campaign, in fractions (0.05 = 5 points)


class ComparisonOut(BaseModel):
    campaigns: list[ComparedCampaign]
