"""Every workflow replays its committed histories: a change that breaks determinism fails here.

Regenerate the files with `HERALD_RECORD_HISTORIES=1 pytest tests/test_replay.py` only when a change is
deliberately incompatible (and guarded by workflow.patched for running executions).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from models.payloads.lists import ListStatsInput
from tests.factories import make_campaign, make_leads
from tests.helpers import wait_for_status
from workers.main_queue import WORKFLOWS
from workflows.campaign import CampaignWorkflow
from workflows.list_stats import ListStatsWorkflow

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("HERALD_RECORD_HISTORIES") == "1"


def _history_files(workflow: type) -> list[Path]:
    return sorted(HISTORIES.glob(f"{workflow.__name__}-*.json"))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.__name__)
async def test_every_workflow_has_saved_histories(workflow):
    assert _history_files(workflow), f"no saved history for {workflow.__name__} under {HISTORIES}"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_campaign_histories(api, worker, db, temporal_client):
    """Records a completed run (with pause/resume and a query) and a cancelled one."""
    lead_ids = await make_leads(db, 60)
    completed = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{completed}/launch")).json()
    await api.post(f"/api/campaigns/{completed}/pause")
    await api.get(f"/api/campaigns/{completed}/progress")
    await api.post(f"/api/campaigns/{completed}/resume")
    await wait_for_status(api, completed, "completed")
    await _save(temporal_client, run["workflow_id"], "completed-with-pause")

    cancelled = await make_campaign(db, lead_ids)
    run = (await api.post(f"/api/campaigns/{cancelled}/launch")).json()
    await api.post(f"/api/campaigns/{cancelled}/pause")
    await api.post(f"/api/campaigns/{cancelled}/cancel")
    await wait_for_status(api, cancelled, "cancelled")
    await _save(temporal_client, run["workflow_id"], "cancelled")


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_list_stats_history(api, worker, db, temporal_client, settings):
    await api.post(
        "/api/lists", json={"name": "Everyone", "kind": "dynamic", "filter": {"combinator": "and", "rules": []}}
    )
    await temporal_client.execute_workflow(
        "ListStatsWorkflow", ListStatsInput(), id="list-stats-record", task_queue=settings.temporal_task_queue
    )
    await _save(temporal_client, "list-stats-record", "daily", ListStatsWorkflow)


async def _save(client, workflow_id: str, name: str, workflow: type = CampaignWorkflow) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (HISTORIES / f"{workflow.__name__}-{name}.json").write_text(history.to_json())


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_import_histories(api, worker, db, temporal_client):
    from workflows.imports import ImportWorkflow

    content = b"email,first_name\na@example.com,A\nnot-an-email,B\na@example.com,C\nd@example.com,D\n"
    upload = await api.post("/api/imports", files={"file": ("people.csv", content, "text/csv")})
    import_id = upload.json()["id"]
    await api.post(f"/api/imports/{import_id}/start", json={"mapping": ["email", "first_name"]})
    handle = temporal_client.get_workflow_handle(f"import-{import_id}")
    await handle.query("progress")
    await handle.result()
    await _save(temporal_client, f"import-{import_id}", "completed", ImportWorkflow)

    upload = await api.post("/api/imports", files={"file": ("gone.csv", content, "text/csv")})
    import_id = upload.json()["id"]
    async with db() as session:
        key = (await session.execute(text("SELECT storage_key FROM imports WHERE id = :i"), {"i": import_id})).scalar()
    app_storage = api._transport.app.state.storage  # the file disappears: the import fails, non-retryable
    app_storage.delete(key)
    await api.post(f"/api/imports/{import_id}/start", json={"mapping": ["email", "first_name"]})
    handle = temporal_client.get_workflow_handle(f"import-{import_id}")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    await _save(temporal_client, f"import-{import_id}", "failed", ImportWorkflow)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_media_histories(api, worker, temporal_client, settings):
    from models.payloads.media import CleanupInput
    from tests import media_samples
    from workflows.media_processing import MediaProcessingWorkflow
    from workflows.storage_cleanup import StorageCleanupWorkflow

    image = await api.post("/api/media", files={"file": ("a.png", media_samples.png_bytes(), "image/png")})
    handle = temporal_client.get_workflow_handle(image.json()["workflow_id"])
    await handle.result()
    await _save(temporal_client, handle.id, "image-ready", MediaProcessingWorkflow)
    broken = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x01" * 4000
    video = await api.post("/api/media", files={"file": ("b.mp4", broken, "video/mp4")})
    handle = temporal_client.get_workflow_handle(video.json()["workflow_id"])
    await handle.result()
    await _save(temporal_client, handle.id, "corrupt-failed", MediaProcessingWorkflow)
    await temporal_client.execute_workflow(
        StorageCleanupWorkflow.run,
        CleanupInput(grace_hours=0),
        id="cleanup-record",
        task_queue=settings.temporal_task_queue,
    )
    await _save(temporal_client, "cleanup-record", "daily", StorageCleanupWorkflow)


@pytest.mark.skipif(not RECORD, reason="set HERALD_RECORD_HISTORIES=1 to record new histories")
async def test_record_test_send_history(api, worker, temporal_client):
    from workflows.test_send import TestSendWorkflow

    body = {"name": "Welcome", "subject": "Hi {{ lead.first_name }}", "body_html": "<p>Hello</p>"}
    template = (await api.post("/api/templates", json=body)).json()
    sent = await api.post(f"/api/templates/{template['id']}/test-send", json={"to": ["qa@example.com"]})
    assert sent.status_code == 200, sent.text
    await _save(temporal_client, sent.json()["workflow_id"], "sent", TestSendWorkflow)
