"""The template library API: channels, save-time checks with line and column, the live check, tokens, previews,
folders, content blocks, deletion and permissions."""

from __future__ import annotations

from sqlalchemy import text

from domain.permissions import Role
from tests.conftest import client_for, make_key
from tests.factories import make_campaign, make_leads

EMAIL = {
    "name": "Welcome",
    "channel": "email",
    "subject": "Welcome {{ lead.first_name | default('there', true) }}",
    "preheader": "Glad you are here",
    "body_html": "<p>Hi {{ lead.first_name }},</p>\n<p>Welcome to {{ workspace.name }}.</p>",
    "body_text": "",
}


async def _count(db, table: str) -> int:
    async with db() as session:
        return (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_an_email_template_is_created_with_its_first_version(api, db):
    created = await api.post("/api/templates", json={**EMAIL, "note": "First draft", "description": "Onboarding"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["version"], body["channel"], body["description"]) == (1, "email", "Onboarding")
    assert body["preheader"] == "Glad you are here"
    assert body["snippet"].startswith("Hi {{ lead.first_name }}")
    assert body["problems"] == []
    versions = (await api.get(f"/api/templates/{body['id']}/versions")).json()
    assert [(v["number"], v["note"]) for v in versions] == [(1, "First draft")]
    assert (await api.get(f"/api/templates/{body['id']}")).json()["body_html"] == EMAIL["body_html"]


async def test_syntax_errors_are_422_with_the_field_line_and_column_and_write_nothing(api, db):
    broken = await api.post("/api/templates", json={**EMAIL, "body_html": "<p>Hello</p>\n<p>{% if %}</p>"})
    assert broken.status_code == 422, broken.text
    assert broken.json()["field"] == "body_html"
    assert "line 2" in broken.json()["message"] and "column" in broken.json()["message"]
    unknown = await api.post("/api/templates", json={**EMAIL, "subject": "Hi {{ lead.nope }}"})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "subject")
    assert "lead.nope" in unknown.json()["message"] and "line 1, column" in unknown.json()["message"]
    internals = await api.post("/api/templates", json={**EMAIL, "subject": "{{ ''.__class__.__mro__ }}"})
    assert (internals.status_code, internals.json()["field"]) == (422, "subject")
    assert await _count(db, "templates") == 0 and await _count(db, "template_versions") == 0


async def test_each_channel_has_its_own_required_fields(api, db):
    sms = await api.post(
        "/api/templates", json={"name": "S", "channel": "sms", "body_text": "Hi {{ lead.first_name }}"}
    )
    assert sms.status_code == 201, sms.text
    empty_sms = await api.post("/api/templates", json={"name": "S2", "channel": "sms", "body_text": ""})
    assert (empty_sms.status_code, empty_sms.json()["field"]) == (422, "body_text")
    no_networks = await api.post("/api/templates", json={"name": "P", "channel": "social", "body_text": "Hello"})
    assert (no_networks.status_code, no_networks.json()["field"]) == (422, "social_networks")
    post = await api.post(
        "/api/templates", json={"name": "P", "channel": "social", "body_text": "Hello", "social_networks": ["x"]}
    )
    assert post.status_code == 201, post.text
    bad_name = await api.post(
        "/api/templates",
        json={"name": "W", "channel": "whatsapp", "body_text": "Hello", "whatsapp_template": "Not Valid!"},
    )
    assert (bad_name.status_code, bad_name.json()["field"]) == (422, "whatsapp_template")
    missing_media = await api.post(
        "/api/templates", json={"name": "W", "channel": "whatsapp", "body_text": "Hi", "media_ids": [987654]}
    )
    assert (missing_media.status_code, missing_media.json()["field"]) == (422, "media_ids")
    unknown_channel = await api.post("/api/templates", json={"name": "F", "channel": "fax", "body_text": "x"})
    assert (unknown_channel.status_code, unknown_channel.json()["field"]) == (422, "channel")
    assert await _count(db, "templates") == 2


async def test_the_library_filters_by_channel_folder_and_search(api, db):
    folder = (await api.post("/api/template-folders", json={"name": "Onboarding"})).json()
    await api.post("/api/templates", json={**EMAIL, "folder_id": folder["id"]})
    await api.post("/api/templates", json={"name": "Reminder", "channel": "sms", "body_text": "Your demo is today"})
    page = (await api.get("/api/templates")).json()
    assert page["total"] == 2 and {t["name"] for t in page["items"]} == {"Welcome", "Reminder"}
    assert [t["name"] for t in (await api.get("/api/templates", params={"channel": "sms"})).json()["items"]] == [
        "Reminder"
    ]
    in_folder = (await api.get("/api/templates", params={"folder_id": folder["id"]})).json()["items"]
    assert [t["name"] for t in in_folder] == ["Welcome"]
    loose = (await api.get("/api/templates", params={"folder_id": 0})).json()["items"]
    assert [t["name"] for t in loose] == ["Reminder"]
    found = (await api.get("/api/templates", params={"search": "demo is"})).json()["items"]
    assert [t["name"] for t in found] == ["Reminder"]
    folders = (await api.get("/api/template-folders")).json()
    assert [(f["name"], f["template_count"]) for f in folders] == [("Onboarding", 1)]

    clash = await api.post("/api/template-folders", json={"name": "Onboarding"})
    assert (clash.status_code, clash.json()["field"]) == (409, "name")
    assert (await api.delete(f"/api/template-folders/{folder['id']}")).status_code == 204
    assert all(t["folder_id"] is None for t in (await api.get("/api/templates")).json()["items"])


async def test_patch_changes_details_without_a_version_and_delete_is_refused_while_a_campaign_uses_it(api, db):
    template = (await api.post("/api/templates", json=EMAIL)).json()
    renamed = await api.patch(f"/api/templates/{template['id']}", json={"name": "Hello", "description": "New"})
    assert renamed.status_code == 200 and (renamed.json()["name"], renamed.json()["version"]) == ("Hello", 1)
    bad_folder = await api.patch(f"/api/templates/{template['id']}", json={"folder_id": 424242})
    assert (bad_folder.status_code, bad_folder.json()["field"]) == (422, "folder_id")

    await make_leads(db, 1)
    campaign = await api.post("/api/campaigns", json={"name": "C", "template_id": template["id"]})
    assert campaign.status_code == 201, campaign.text
    refused = await api.delete(f"/api/templates/{template['id']}")
    assert refused.status_code == 409 and "'C'" in refused.json()["message"]

    other = (await api.post("/api/templates", json={**EMAIL, "name": "Spare"})).json()
    assert (await api.delete(f"/api/templates/{other['id']}")).status_code == 204
    assert (await api.get(f"/api/templates/{other['id']}")).status_code == 404
    assert await _count(db, "template_versions") == 1


async def test_the_token_menu_lists_standard_and_custom_fields(api, db):
    await api.post("/api/custom-fields", json={"key": "plan", "label": "Plan", "type": "text"})
    tokens = (await api.get("/api/templates/tokens")).json()
    by_token = {t["token"]: t for t in tokens}
    assert "{{ lead.first_name }}" in by_token and "{{ unsubscribe_url }}" in by_token
    assert by_token["{{ lead.custom.plan }}"]["group"] == "Custom fields"
    assert {"Lead", "Custom fields", "Workspace", "Campaign", "Links"} <= {t["group"] for t in tokens}


async def test_the_live_check_reports_problems_and_counters_without_refusing(api, db):
    check = await api.post(
        "/api/templates/check", json={"channel": "email", "subject": "Hi {{ lead.nope }}", "body_html": "<p>x</p>"}
    )
    assert check.status_code == 200, check.text
    [problem] = [p for p in check.json()["problems"] if p["rule"] == "unknown_token"]
    assert (problem["field"], problem["line"], problem["severity"]) == ("subject", 1, "error")
    assert check.json()["sms"] is None

    sms = (await api.post("/api/templates/check", json={"channel": "sms", "body_text": "é" * 161})).json()
    assert sms["sms"]["encoding"] == "GSM-7" and sms["sms"]["segments"] == 2
    ucs = (await api.post("/api/templates/check", json={"channel": "sms", "body_text": "Привет"})).json()
    assert (ucs["sms"]["encoding"], ucs["sms"]["segments"]) == ("UCS-2", 1)

    social = await api.post(
        "/api/templates/check",
        json={"channel": "social", "body_text": "x" * 300, "social_networks": ["x", "linkedin"]},
    )
    lengths = {s["network"]: (s["limit"], s["over"]) for s in social.json()["social"]}
    assert lengths == {"x": (280, True), "linkedin": (3000, False)}


async def test_preview_renders_for_a_chosen_lead_or_the_sample_lead_with_lead_data_inert(api, db):
    [lead_id] = await make_leads(db, 1)
    async with db() as session:
        await session.execute(text("UPDATE leads SET first_name = '{{7*7}} <b>Eve</b>' WHERE id = :i"), {"i": lead_id})
        await session.commit()
    template = (await api.post("/api/templates", json=EMAIL)).json()
    preview = await api.post(f"/api/templates/{template['id']}/preview", json={"lead_id": lead_id})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["lead"]["id"] == lead_id and body["channel"] == "email"
    assert body["subject"] == "Welcome {{7*7}} <b>Eve</b>"
    assert "{{7*7}} &lt;b&gt;Eve&lt;/b&gt;" in body["html"] and "49" not in body["html"]
    assert "<html" in body["html"].lower() and "Welcome to Acme" in body["text"]

    sample = (await api.post(f"/api/templates/{template['id']}/preview", json={})).json()
    assert sample["lead"] is None and sample["subject"].startswith("Welcome ")

    unsaved = await api.post(
        "/api/templates/preview", json={"channel": "sms", "body_text": "Hi {{ lead.first_name }}", "lead_id": lead_id}
    )
    assert unsaved.status_code == 200 and unsaved.json()["text"] == "Hi {{7*7}} <b>Eve</b>"
    assert unsaved.json()["sms"]["segments"] == 1 and unsaved.json()["html"] == ""

    broken = await api.post("/api/templates/preview", json={"channel": "sms", "body_text": "{% for %}"})
    assert (broken.status_code, broken.json()["field"]) == (422, "body_text")
    other_lead = await api.post(f"/api/templates/{template['id']}/preview", json={"lead_id": 987654})
    assert (other_lead.status_code, other_lead.json()["field"]) == (422, "lead_id")


async def test_content_blocks_are_checked_and_kept_per_workspace(api, db):
    footer = await api.post(
        "/api/content-blocks",
        json={
            "name": "Footer",
            "kind": "footer",
            "body_html": '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        },
    )
    assert footer.status_code == 201, footer.text
    broken = await api.post("/api/content-blocks", json={"name": "Bad", "body_html": "{{ lead.nope }}"})
    assert (broken.status_code, broken.json()["field"]) == (422, "body_html")
    block_id = footer.json()["id"]
    updated = await api.put(
        f"/api/content-blocks/{block_id}", json={"name": "Footer", "kind": "footer", "body_text": "Bye"}
    )
    assert updated.status_code == 200 and updated.json()["body_text"] == "Bye"
    assert [b["name"] for b in (await api.get("/api/content-blocks")).json()] == ["Footer"]
    clash = await api.post("/api/content-blocks", json={"name": "Footer"})
    assert (clash.status_code, clash.json()["field"]) == (409, "name")
    assert (await api.delete(f"/api/content-blocks/{block_id}")).status_code == 204
    assert (await api.get(f"/api/content-blocks/{block_id}")).status_code == 404


async def test_viewers_read_and_preview_but_do_not_write(app, api, tenant, db):
    template = (await api.post("/api/templates", json=EMAIL)).json()
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        assert (await client.get("/api/templates")).status_code == 200
        assert (await client.post(f"/api/templates/{template['id']}/preview", json={})).status_code == 200
        assert (await client.post("/api/templates/check", json={"channel": "sms", "body_text": "x"})).status_code == 200
        assert (await client.post("/api/templates", json={**EMAIL, "name": "V"})).status_code == 403
        content = {key: EMAIL[key] for key in ("subject", "body_html")}
        assert (await client.put(f"/api/templates/{template['id']}", json=content)).status_code == 403
        assert (await client.post("/api/template-folders", json={"name": "F"})).status_code == 403
        assert (await client.post("/api/content-blocks", json={"name": "B"})).status_code == 403


async def test_campaigns_only_take_email_templates(api, db):
    sms = (await api.post("/api/templates", json={"name": "S", "channel": "sms", "body_text": "Hi"})).json()
    refused = await api.post("/api/campaigns", json={"name": "C", "template_id": sms["id"]})
    assert (refused.status_code, refused.json()["field"]) == (422, "template_id")
    assert await make_campaign(db, None)  # the factory still builds email campaigns


async def test_the_demo_templates_follow_the_demo_brand_rules(api, db, tenant):
    from core.demo import load_demo

    async with db() as session:
        assert await load_demo(session, tenant.workspace_id, lead_count=20)
    page = (await api.get("/api/templates")).json()
    assert {t["channel"] for t in page["items"]} == {"email", "sms", "whatsapp", "social"}
    for summary in page["items"]:
        template = (await api.get(f"/api/templates/{summary['id']}")).json()
        assert [p for p in template["problems"] if p["severity"] == "error"] == [], template["name"]
        preview = await api.post(f"/api/templates/{summary['id']}/preview", json={})
        assert preview.status_code == 200, preview.text
    [campaign] = (await api.get("/api/campaigns")).json()
    newsletter = next(t for t in page["items"] if t["id"] == campaign["template_id"])
    assert campaign["template_version"] == newsletter["version"] == 2
    assert (await api.get("/api/brand")).json()["configured"] is True
    assert [b["kind"] for b in (await api.get("/api/content-blocks")).json()] == ["footer"]
