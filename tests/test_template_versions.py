"""Versions: every save is an immutable version with author, time and note; rollback makes a new version; a
campaign sends the version it pinned whatever happens to the template afterwards; launch refuses problems."""

from __future__ import annotations

from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from activities.campaign_activities import CampaignActivities
from models.payloads.campaign import SendBatchInput, SnapshotAudienceInput
from tests.conftest import client_for, make_smtp_pool
from tests.factories import make_campaign, make_leads
from tests.helpers import delivery_counts, outbox_rows, wait_for_status

FOOTER = '<p>{{ workspace.postal_address }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
V1 = {"subject": "Version one for {{ lead.first_name }}", "body_html": "<p>One</p>" + FOOTER}
V2 = {"subject": "Version two for {{ lead.first_name }}", "body_html": "<p>Two</p>" + FOOTER}


async def _template(api, name: str = "Newsletter", **content) -> dict:
    response = await api.post("/api/templates", json={"name": name, **V1, **content, "note": "First"})
    assert response.status_code == 201, response.text
    return response.json()


async def test_each_save_is_a_version_with_author_time_and_note(app, tenant, db):
    async with client_for(app) as browser:
        me = (
            await browser.post(
                "/api/auth/login", json={"email": "admin@acme.test", "password": "correct horse battery"}
            )
        ).json()
        browser.headers["X-CSRF-Token"] = me["csrf_token"]
        template = await _template(browser)
        assert template["updated_by"] == "Admin"
        saved = await browser.put(f"/api/templates/{template['id']}", json={**V2, "note": "Second"})
        assert saved.status_code == 200 and saved.json()["version"] == 2
        same = await browser.put(f"/api/templates/{template['id']}", json={**V2, "note": "No change"})
        assert same.json()["version"] == 2  # identical content makes no version

        history = (await browser.get(f"/api/templates/{template['id']}/versions")).json()
        assert [(v["number"], v["note"], v["author"]) for v in history] == [
            (2, "Second", "Admin"),
            (1, "First", "Admin"),
        ]
        assert history[0]["created_at"] >= history[1]["created_at"]
        first = (await browser.get(f"/api/templates/{template['id']}/versions/1")).json()
        assert first["subject"] == V1["subject"] and first["body_html"] == V1["body_html"]
        assert (await browser.get(f"/api/templates/{template['id']}/versions/9")).status_code == 404

        rolled = await browser.post(f"/api/templates/{template['id']}/versions/1/restore")
        assert rolled.status_code == 200, rolled.text
        assert (rolled.json()["version"], rolled.json()["subject"]) == (3, V1["subject"])
        history = (await browser.get(f"/api/templates/{template['id']}/versions")).json()
        assert (history[0]["number"], history[0]["note"]) == (3, "Rolled back to version 1")
        # Older versions are untouched by the rollback.
        second = (await browser.get(f"/api/templates/{template['id']}/versions/2")).json()
        assert second["subject"] == V2["subject"]

        broken = await browser.put(f"/api/templates/{template['id']}", json={**V2, "body_html": "{{ lead. }}"})
        assert (broken.status_code, broken.json()["field"]) == (422, "body_html")
        assert (await browser.get(f"/api/templates/{template['id']}")).json()["version"] == 3
    async with db() as session:
        actions = (
            await session.execute(text("SELECT action FROM audit_log WHERE entity_type = 'template' ORDER BY id"))
        ).scalars()
        assert list(actions) == ["template.created", *["template.version_saved"] * 2]


async def test_a_running_campaign_keeps_sending_the_version_it_pinned(api, worker, db):
    await make_leads(db, 30)
    template = await _template(api)
    campaign = await api.post("/api/campaigns", json={"name": "Pinned", "template_id": template["id"]})
    assert campaign.status_code == 201 and campaign.json()["template_version"] == 1
    campaign_id = campaign.json()["id"]

    run = (await api.post(f"/api/campaigns/{campaign_id}/launch")).json()
    edited = await api.put(f"/api/templates/{template['id']}", json={**V2, "note": "Edited while sending"})
    assert edited.json()["version"] == 2
    await wait_for_status(api, campaign_id, "completed")

    subjects = {row.subject for row in await outbox_rows(db, run["id"])}
    assert len(subjects) == 30 and all(s.startswith("Version one for First") for s in subjects)
    assert (await api.get(f"/api/campaigns/{campaign_id}")).json()["template_version"] == 1
    # A new campaign pins the current version; an explicit number pins that one.
    later = await api.post("/api/campaigns", json={"name": "Later", "template_id": template["id"]})
    assert later.json()["template_version"] == 2
    explicit = await api.post(
        "/api/campaigns", json={"name": "Old", "template_id": template["id"], "template_version": 1}
    )
    assert explicit.json()["template_version"] == 1
    missing = await api.post(
        "/api/campaigns", json={"name": "None", "template_id": template["id"], "template_version": 7}
    )
    assert (missing.status_code, missing.json()["field"]) == (422, "template_version")


async def test_launch_is_refused_while_the_pinned_version_breaks_brand_rules(api, db):
    await make_leads(db, 2)
    template = await _template(api, body_html="<p>No footer, free money</p>")
    campaign_id = (await api.post("/api/campaigns", json={"name": "C", "template_id": template["id"]})).json()["id"]
    brand = await api.put(
        "/api/brand", json={"postal_address": "1 Main St, Springfield", "banned_phrases": ["free money"]}
    )
    assert brand.status_code == 200, brand.text

    refused = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "flow.steps[0].template_id" and "version 1" in refused.json()["message"]
    async with db() as session:
        assert (await session.execute(text("SELECT count(*) FROM campaign_runs"))).scalar_one() == 0
    detail = (await api.get(f"/api/templates/{template['id']}")).json()
    assert {p["rule"] for p in detail["problems"] if p["severity"] == "error"} >= {"banned_phrase"}

    # Fixing the template does not fix the campaign: it pinned version 1. A new campaign with version 2 launches.
    fixed = await api.put(f"/api/templates/{template['id']}", json=V2)
    assert fixed.json()["problems"] == [] or all(p["severity"] == "warning" for p in fixed.json()["problems"])
    assert (await api.post(f"/api/campaigns/{campaign_id}/launch")).status_code == 422
    fresh = (await api.post("/api/campaigns", json={"name": "C2", "template_id": template["id"]})).json()
    launched = await api.post(f"/api/campaigns/{fresh['id']}/launch")
    assert launched.status_code == 202, launched.text
    await api.post(f"/api/campaigns/{fresh['id']}/cancel")


async def test_a_render_failure_fails_that_delivery_and_the_batch_goes_on(db, settings, tenant):
    """`range()` past the loop cap only for leads with a high score: those deliveries fail with the reason."""
    lead_ids = await make_leads(db, 4) + await make_leads(db, 1, prefix="big", score=90)
    campaign_id = await make_campaign(
        db, lead_ids, body_text="{% for i in range(lead.score * 10000) %}.{% endfor %}Hi {{ lead.first_name }}"
    )
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent,"
                    " failed, skipped) SELECT workspace_id, id, 1, :w, 'running', 0, 0, 0, 0 FROM campaigns"
                    " WHERE id = :c RETURNING id"
                ),
                {"c": campaign_id, "w": f"render-fail-{campaign_id}"},
            )
        ).scalar_one()
        await session.commit()
    smtp = make_smtp_pool(settings)
    activities = CampaignActivities(db, smtp, settings.mail_from, settings)
    env = ActivityEnvironment()
    await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))
    result = await env.run(activities.send_batch, SendBatchInput(campaign_id=campaign_id, run_id=run_id))
    await smtp.close()

    assert (result.sent, result.failed) == (4, 1)
    assert await delivery_counts(db, run_id) == {"sent": 4, "failed": 1}
    async with db() as session:
        error = (
            await session.execute(
                text("SELECT error FROM deliveries WHERE run_id = :r AND status = 'failed'"), {"r": run_id}
            )
        ).scalar_one()
    assert error.startswith("text") and "loops over more than" in error
    assert len(await outbox_rows(db, run_id)) == 4
