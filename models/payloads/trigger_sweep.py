"""Payloads of TriggerSweepWorkflow: a pass over the trigger outboxes, the committed timeline rows
(`lead_event_outbox`, migration 0015) and opens and clicks (`tracking_outbox`, migration 0017) whose delivery to the
journeys never happened or failed."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TriggerSweepInput(BaseModel):
    """What the every-minute Schedule starts the workflow with (the defaults); tests and operators may narrow it."""

    min_age_seconds: int = Field(
        default=30, ge=0, description="Rows younger than this are left to the dispatch that follows their commit"
    )
    max_age_days: int = Field(
        default=7, ge=1, description="Rows older than this are dropped undispatched (logged): too late to act on"
    )
    batch_size: int = Field(default=500, ge=1, le=5000, description="Rows read and dispatched per page")
    time_budget_seconds: int = Field(
        default=240, ge=1, description="No new page after this long; the next run goes on (`more`)"
    )


class TriggerSweepResult(BaseModel):
    scanned: int = Field(default=0, description="Pending rows read")
    dispatched: int = Field(default=0, description="Rows dispatched and taken out of the outbox")
    failed: int = Field(default=0, description="Rows whose dispatch failed: still pending, for the next run")
    expired: int = Field(default=0, description="Rows older than max_age_days, dropped undispatched")
    orphaned: int = Field(
        default=0, description="Rows whose timeline row or delivery is gone (a deleted lead), dropped"
    )
    tracked_scanned: int = Field(default=0, description="Pending opens and clicks read")
    tracked_delivered: int = Field(
        default=0, description="Opens and clicks delivered (or needing no delivery) and taken out of the outbox"
    )
    tracked_failed: int = Field(default=0, description="Opens and clicks whose delivery failed: still pending")
    tracked_expired: int = Field(default=0, description="Opens and clicks older than max_age_days, dropped")
    more: bool = Field(default=False, description="The time budget ran out before the last page")
