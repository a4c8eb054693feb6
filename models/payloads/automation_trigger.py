"""Payloads of AutomationTriggerWorkflow: one run of a scheduled trigger (`date_field` or `recurring_schedule`) of an
automation, started by the trigger's Temporal Schedule (core/automation_schedules.py) with ids only."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field


class TriggerCounts(BaseModel):
    """What a run did with the leads it read (see core.journeys.Dispatched for the actions)."""

    examined: int = Field(default=0, description="Leads read (the audience, or the leads with that date field)")
    due: int = Field(default=0, description="Leads the trigger fires for at this run")
    started: int = Field(default=0, description="Journeys started")
    signalled: int = Field(default=0, description="Running journeys that received the event instead")
    refused: int = Field(default=0, description="Refused by the re-entry policy")
    duplicate: int = Field(default=0, description="Already entered by this very event (an earlier run the same day)")

    def plus(self, other: TriggerCounts) -> TriggerCounts:
        names = TriggerCounts.model_fields
        return TriggerCounts(**{name: getattr(self, name) + getattr(other, name) for name in names})


class AutomationTriggerInput(BaseModel):
    """What the Schedule starts the workflow with (`at` and the cursor are only set when it continues as new, or by a
    test or an operator running it for a given instant)."""

    workspace_id: int
    automation_id: int
    node_id: str = Field(description="The date_field or recurring_schedule trigger node")
    at: AwareDatetime | None = Field(
        default=None, description="The run's instant; default: the Schedule's scheduled time, else the start time"
    )
    after_lead_id: int = Field(default=0, ge=0, description="Continue after this lead id (continue-as-new)")
    counts: TriggerCounts = Field(default_factory=TriggerCounts, description="Carried across continue-as-new")


class TriggerBatchInput(BaseModel):
    """One page of leads, by id, after `after_lead_id`."""

    workspace_id: int
    automation_id: int
    node_id: str
    at: AwareDatetime
    after_lead_id: int = 0


class TriggerBatchResult(BaseModel):
    counts: TriggerCounts
    next_lead_id: int | None = Field(description="The cursor of the next page; None: every lead was read")
    skipped: str | None = Field(
        default=None, description="Why nobody was read: not_active (paused, deleted), no_trigger (not in the version)"
    )
    version: int | None = Field(default=None, description="The published version the leads entered")


class AutomationTriggerResult(BaseModel):
    automation_id: int
    node_id: str
    at: AwareDatetime
    version: int | None = None
    counts: TriggerCounts
    skipped: str | None = None
