"""Payloads of ReportWorkflow: ids and times in, ids and keys out (the files themselves stay in storage)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ReportInput(BaseModel):
    """What the definition's Temporal Schedule (or "run now") starts the workflow with."""

    definition_id: int
    workspace_id: int
    run_at: datetime | None = Field(
        default=None,
        description="The time reported on; default: the schedule's scheduled time, else the workflow's start",
    )
    manual: bool = Field(default=False, description="Started by hand: runs even while the definition is paused")


class StartReportRun(BaseModel):
    definition_id: int
    workspace_id: int
    workflow_id: str
    run_at: datetime
    manual: bool = False


class ReportRunRef(BaseModel):
    run_id: int
    workspace_id: int


class ReportFiles(BaseModel):
    run_id: int
    csv_key: str
    html_key: str
    campaigns: int


class ReportEmailResult(BaseModel):
    run_id: int
    emailed_to: list[str]
    failures: dict[str, str] = Field(default_factory=dict, description="Recipient → why it was refused for good")


class ReportRunOutcome(BaseModel):
    run_id: int
    workspace_id: int
    status: Literal["ready", "failed"]
    error: str | None = None


class ReportResult(BaseModel):
    run_id: int | None = Field(description="None when the run was skipped (definition deleted or paused)")
    status: Literal["ready", "skipped"]
    emailed_to: list[str] = Field(default_factory=list)
