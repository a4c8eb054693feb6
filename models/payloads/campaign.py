"""Workflow and activity payloads of a campaign run: ids and counters only, never lead data."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RunCounters(BaseModel):
    total: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0


class CampaignRunState(RunCounters):
    """What a run carries across continue-as-new."""

    cursor: int = Field(default=0, description="Highest lead id already processed; the next batch starts after it.")
    batches: int = 0
    paused: bool = False


class CampaignRunInput(BaseModel):
    campaign_id: int
    run_id: int
    run_number: int
    batch_size: int = Field(default=500, ge=1, le=2000)
    state: CampaignRunState | None = None


class CampaignProgress(RunCounters):
    campaign_id: int
    run_id: int
    run_number: int
    status: str
    paused: bool = False
    batches: int = 0


class SnapshotAudienceInput(BaseModel):
    campaign_id: int
    run_id: int


class AudienceSnapshot(BaseModel):
    total: int


class SendBatchInput(BaseModel):
    campaign_id: int
    run_id: int
    step: int = 0
    after_lead_id: int = 0
    limit: int = 500


class SendBatchResult(BaseModel):
    processed: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    last_lead_id: int = 0


class FinishRunInput(BaseModel):
    run_id: int
    status: str
    error: str | None = None
