"""A campaign from launch to the last lead, through the API, a real worker, Temporal, PostgreSQL and the sink."""

from __future__ import annotations

from collections import Counter

from temporalio.api.enums.v1 import EventType

from tests.factories import make_campaign, make_leads
from tests.helpers import delivery_counts, outbox_rows, wait_for_status


async def test_campaign_to_200_leads_delivers_200_distinct_rendered_messages(api, worker, db, temporal_client):
    lead_ids = await make_leads(db, 200)
    campaign_id = await make_campaign(db, lead_ids)

    launch = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert launch.status_code == 202, launch.text
    run = launch.json()
    assert run["workflow_id"] == f"campaign-{campaign_id}-run-1"

    progress = await wait_for_status(api, campaign_id, "completed")
    assert (progress["total"], progress["sent"], progress["failed"], progress["skipped"]) == (200, 200, 0, 0)
    assert progress["percent"] == 100.0

    messages = await outbox_rows(db, run["id"])
    recipients = Counter(rcpt for row in messages for rcpt in row.rcpt_to)
    assert len(messages) == 200
    assert set(recipients) == {f"lead{n}@example.com" for n in range(200)}
    assert max(recipients.values()) == 1
    subjects = {row.subject for row in messages}
    assert subjects == {f"Hello First{n}" for n in range(200)}
    assert all(row.body_text.strip().startswith("Hi First") for row in messages)
    assert await delivery_counts(db, run["id"]) == {"sent": 200}

    detail = (await api.get(f"/api/campaigns/{campaign_id}")).json()
    assert detail["status"] == "completed"
    assert detail["runs"][0]["sent"] == 200

    # The run is visible under its readable id, searchable by campaign id, and continued-as-new on the way.
    handle = temporal_client.get_workflow_handle(run["workflow_id"])
    found = [w.id async for w in temporal_client.list_workflows(f"CampaignId = {campaign_id}")]
    assert run["workflow_id"] in found
    first_run_id = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
    first_history = await temporal_client.get_workflow_handle(run["workflow_id"], run_id=first_run_id).fetch_history()
    assert first_history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def test_skipped_leads_are_recorded_with_their_reason(api, worker, db):
    granted = await make_leads(db, 5, prefix="ok")
    denied = await make_leads(db, 3, prefix="no", consent_email="denied")
    campaign_id = await make_campaign(db, granted + denied)

    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
    progress = await wait_for_status(api, campaign_id, "completed")

    assert (progress["sent"], progress["skipped"], progress["percent"]) == (5, 3, 100.0)
    assert await delivery_counts(db, run["id"]) == {"sent": 5, "skipped": 3}
    assert len(await outbox_rows(db, run["id"])) == 5
