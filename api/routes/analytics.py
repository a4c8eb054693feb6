"""Workspace analytics: the overview of the last days and the comparison of campaigns (api/analytics_service.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from api import analytics_service
from api.context import guard
from api.schemas_reports import ComparisonOut, OverviewOut
from api.scoping import ScopeDep
from domain.permissions import Permission

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


@router.get("/overview", response_model=OverviewOut, **guard(Permission.analytics_read))
async def overview(scope: ScopeDep, days: int = Query(30, ge=1, le=365)) -> OverviewOut:
    """Messages, rates, the daily trend, top campaigns and list growth over the last `days` days."""
    return await analytics_service.overview(scope, days, datetime.now(UTC))


@router.get("/compare", response_model=ComparisonOut, **guard(Permission.analytics_read))
async def compare(scope: ScopeDep, campaign_ids: list[int] = Query(...)) -> ComparisonOut:
    """2 to 5 campaigns side by side (each one's latest run), with their rates' differences from the first."""
    return await analytics_service.compare(scope, campaign_ids)
