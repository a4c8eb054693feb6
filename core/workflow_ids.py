"""Readable workflow ids, so support can find an execution in the Temporal UI by name."""

from datetime import UTC, datetime


def campaign_run_workflow_id(campaign_id: int, run_number: int) -> str:
    return f"campaign-{campaign_id}-run-{run_number}"


def journey_workflow_id(flow_id: int, lead_id: int) -> str:
    return f"journey-{flow_id}-{lead_id}"


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
