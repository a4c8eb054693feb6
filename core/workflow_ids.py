"""Readable workflow ids, so support can find an execution in the Temporal UI by name."""


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
