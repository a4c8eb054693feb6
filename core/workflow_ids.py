"""Readable workflow ids, so support can find an execution in the Temporal UI by name."""

import hashlib
import re
from datetime import UTC, datetime

_PLAIN_SUFFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def campaign_run_workflow_id(campaign_id: int, run_number: int) -> str:
    return f"campaign-{campaign_id}-run-{run_number}"


def journey_workflow_id(automation_id: int, lead_id: int) -> str:
    """A lead's journey in an automation whose re-entry policy is "once ever" or "once at a time": one id, so that
    Temporal runs at most one at a time (core/journeys.py)."""
    return f"journey-{automation_id}-{lead_id}"


def journey_entry_workflow_id(automation_id: int, lead_id: int, entry_key: str) -> str:
    """One entry of an "every time" automation (and a test run): `journey-<automation>-<lead>-e<key>`, the key being
    the trigger event's id (a long or unusual one hashed), so a repeated event enters nothing new."""
    key = entry_key if _PLAIN_SUFFIX.match(entry_key) else hashlib.sha256(entry_key.encode()).hexdigest()[:24]
    return f"{journey_workflow_id(automation_id, lead_id)}-e{key}"


def automation_simulation_workflow_id(simulation_id: int) -> str:
    """A run of the automation simulator (an `automation_simulations` row)."""
    return f"simulation-{simulation_id}"


def import_workflow_id(import_id: int) -> str:
    return f"import-{import_id}"


def media_workflow_id(media_id: int) -> str:
    return f"media-{media_id}"


def export_workflow_id(export_id: int) -> str:
    return f"export-{export_id}"


def test_send_workflow_id(template_id: int, unique: str) -> str:
    return f"test-send-{template_id}-{unique}"


def report_schedule_id(definition_id: int) -> str:
    """The Temporal Schedule of a report definition; each workflow it starts is this id plus `-<scheduled time>`."""
    return f"report-{definition_id}"


def report_manual_workflow_id(definition_id: int, at: datetime) -> str:
    """A run started by hand: `report-<definition>-manual-2026-11-02T08:00:00Z`, in the schedule's time format."""
    return f"report-{definition_id}-manual-{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"
