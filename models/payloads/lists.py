"""Payloads of the daily list statistics."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ListStatsInput(BaseModel):
    day: str | None = Field(default=None, description="ISO date to record; default: the workflow's start date (UTC)")


class ListStatsResult(BaseModel):
    day: str
    lists: int
    failed: list[int] = Field(default_factory=list, description="Lists whose filter no longer compiles")
