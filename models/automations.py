"""Automations (#10): the definitions, their published versions, and the journeys that run them.

- `automations`: one per workspace and name; `draft` is what the builder saves (any JSON, valid or not), and
  `published_version` the version new journeys enter (NULL: never published; drafts never run). `counters` holds
  the shared round-robin turns of its `assign_owner` nodes ({node id: turns taken}).
- `automation_versions`: each publication, the graph frozen (an `AutomationGraph` as JSON). A journey carries its
  version's graph as workflow input, so this table is for the builder, the monitoring and the dispatcher's loader.
- `journeys`: one row per JourneyWorkflow execution chain (the workflow id and its first run id: a "once at a time"
  journey id is reused by the lead's next entry). `entry` numbers a lead's entries in the automation (live and test
  share the sequence; simulations count apart), `status` mirrors the workflow at its waits and at its end.
- `journey_steps`: every decision a journey took (the per-node log, a lead's path, the error log with retries and
  fallbacks in `detail`), numbered per journey (`seq`): a retried write of the same steps changes nothing.
- `journey_actions`: the side effects a journey did (field updates, round-robin turns, notifications...), one per
  journey step, so a retried action activity does not do them twice (sends are guarded by `deliveries`).
- `automation_simulations`: the simulator's runs (a graph, the leads chosen, the results); migration 0014.

A journey's messages are `deliveries` rows of a per-automation, per-entry pseudo run (`campaign_runs` with
`automation_id` set and `campaign_id` NULL, `number` = the entry): see migration 0013.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, jsonb_field, optional_timestamp_field, updated_at_field, workspace_id_field


class AutomationStatus(StrEnum):
    draft = "draft"  # never published: nothing runs
    active = "active"  # triggers start journeys of the published version
    paused = "paused"  # triggers start nothing; running journeys go on
    archived = "archived"


class JourneyStatus(StrEnum):
    active = "active"  # between waits
    waiting = "waiting"  # in a delay or a wait for an event (waiting_until)
    completed = "completed"
    exited = "exited"
    failed = "failed"
    goal_met = "goal_met"


RUNNING_JOURNEY_STATUSES = (JourneyStatus.active.value, JourneyStatus.waiting.value)


class JourneyMode(StrEnum):
    live = "live"
    test = "test"  # for real, delays shortened
    simulation = "simulation"  # dry-run activities (the simulator)


class Automation(SQLModel, table=True):
    __tablename__ = "automations"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_automations_workspace_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    name: str = Field(max_length=200)
    status: str = Field(default=AutomationStatus.draft.value, max_length=16)
    published_version: int | None = None
    draft: dict[str, Any] = jsonb_field()
    counters: dict[str, Any] = jsonb_field()
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AutomationVersion(SQLModel, table=True):
    __tablename__ = "automation_versions"
    __table_args__ = (UniqueConstraint("automation_id", "version", name="uq_automation_versions_version"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    automation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("automations.id", ondelete="CASCADE"), nullable=False)
    )
    version: int
    graph: dict[str, Any] = jsonb_field()
    published_at: datetime = created_at_field()
    published_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )


class Journey(SQLModel, table=True):
    __tablename__ = "journeys"
    __table_args__ = (
        UniqueConstraint("workflow_id", "first_run_id", name="uq_journeys_execution"),
        # A lead's entries in an automation: the re-entry policy's history, and the pseudo run of its messages.
        Index(
            "ux_journeys_entry",
            "automation_id",
            "lead_id",
            "entry",
            unique=True,
            postgresql_where=text("mode <> 'simulation'"),
        ),
        # A trigger event enters a lead once per automation (a duplicate event after the journey ended included).
        Index(
            "ux_journeys_trigger_event",
            "automation_id",
            "lead_id",
            "trigger_event_id",
            unique=True,
            postgresql_where=text("mode = 'live'"),
        ),
        # The running journeys of a lead (the dispatcher's signals), per automation.
        Index(
            "ix_journeys_lead_running",
            "lead_id",
            "automation_id",
            postgresql_where=text("status IN ('active', 'waiting')"),
        ),
        # The monitoring's counts of leads per node and status.
        Index("ix_journeys_automation_node", "automation_id", "status", "current_node"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    workspace_id: int = workspace_id_field()
    automation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("automations.id", ondelete="CASCADE"), nullable=False)
    )
    version: int
    lead_id: int = Field(sa_column=Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False))
    entry: int
    workflow_id: str = Field(max_length=300)
    first_run_id: str = Field(max_length=64)
    mode: str = Field(default=JourneyMode.live.value, max_length=16)
    status: str = Field(default=JourneyStatus.active.value, max_length=16)
    trigger_node: str = Field(sa_column=Column(Text, nullable=False))
    trigger_event_id: str = Field(sa_column=Column(Text, nullable=False))
    current_node: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    waiting_until: datetime | None = optional_timestamp_field()
    end_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    entered_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    finished_at: datetime | None = optional_timestamp_field()


class JourneyStepRow(SQLModel, table=True):
    """One `JourneyStep` of a journey (models/payloads/automation.py)."""

    __tablename__ = "journey_steps"
    __table_args__ = (
        UniqueConstraint("journey_id", "seq", name="uq_journey_steps_seq"),
        Index("ix_journey_steps_node", "automation_id", "node_id", "id"),
        # The monitoring's error log (api/automation_monitoring.py ERROR_STEP), migration 0015.
        Index(
            "ix_journey_steps_errors",
            "automation_id",
            "id",
            postgresql_where=text("detail ? 'error' OR end_status = 'failed'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    journey_id: int = Field(sa_column=Column(BigInteger, ForeignKey("journeys.id", ondelete="CASCADE"), nullable=False))
    automation_id: int = Field(sa_column=Column(Integer, nullable=False))
    seq: int
    node_id: str = Field(sa_column=Column(Text, nullable=False))
    node_type: str = Field(max_length=32)
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_node: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    wake_at: datetime | None = optional_timestamp_field()
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    end_status: str | None = Field(default=None, max_length=16, description="JourneyStep.end")
    detail: dict[str, Any] = jsonb_field()


class JourneyAction(SQLModel, table=True):
    """A side effect done (or under way: `sending`) at one step of a journey, and what it returned."""

    __tablename__ = "journey_actions"

    journey_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True)
    )
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    node_id: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="done", max_length=16)
    result: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class SimulationStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class AutomationSimulation(SQLModel, table=True):
    """A run of the simulator (#10): a graph (the draft, normalised) run for chosen leads on Temporal's time-skipping
    test server with dry-run actions. `selection` is `{"lead_ids": [...]}` or `{"filter": {...}, "limit": n}`;
    `results` is models/payloads/simulation.py's `SimulationResults` once done."""

    __tablename__ = "automation_simulations"
    __table_args__ = (Index("ix_automation_simulations_automation", "automation_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = workspace_id_field()
    automation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("automations.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = Field(default=0, description="The published version simulated; 0: an unpublished draft")
    graph: dict[str, Any] = jsonb_field()
    selection: dict[str, Any] = jsonb_field()
    trigger_node: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default=SimulationStatus.queued.value, max_length=16)
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = created_at_field()
    finished_at: datetime | None = optional_timestamp_field()
