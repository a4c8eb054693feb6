"""Test sends go through the real channel (SMTP for email, the local outbox for the others) via TestSendWorkflow,
marked as tests, audited, and never recorded as deliveries."""

from __future__ import annotations

from email import message_from_string, policy

from sqlalchemy import text

from domain.permissions import Role
from tests.conftest import client_for, make_key
from tests.factories import make_leads

EMAIL = {
    "name": "Welcome",
    "subject": "Welcome {{ lead.first_name | default('there', true) }}",
    "body_html": "<p>Hi {{ lead.first_name }}, from {{ workspace.name }}</p>",
}


async def _outbox(db, channel: str) -> list:
    async with db() as session:
        rows = await session.execute(
            text("SELECT rcpt_to, subject, body_text, raw, message_id FROM outbox_messages WHERE channel = :c"),
            {"c": channel},
        )
        return list(rows)


async def test_an_email_test_send_reaches_smtp_marked_as_a_test(api, worker, db, temporal_client):
    [lead_id] = await make_leads(db, 1)
    template = (await api.post("/api/templates", json=EMAIL)).json()
    sent = await api.post(
        f"/api/templates/{template['id']}/test-send",
        json={"to": ["qa@example.com", "Boss@Example.COM"], "lead_id": lead_id},
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["workflow_id"].startswith(f"test-send-{template['id']}-")
    assert [(r["to"], r["ok"]) for r in body["results"]] == [("qa@example.com", True), ("Boss@example.com", True)]
    assert all(r["message_id"] and r["error"] is None for r in body["results"])

    rows = await _outbox(db, "email")
    assert sorted(r for row in rows for r in row.rcpt_to) == ["Boss@example.com", "qa@example.com"]
    assert {row.subject for row in rows} == {"[Test] Welcome First0"}
    message = message_from_string(rows[0].raw, policy=policy.default)
    assert message["X-Herald-Test"] == "1"
    assert "Hi First0, from Acme" in rows[0].body_text
    async with db() as session:
        assert (await session.execute(text("SELECT count(*) FROM deliveries"))).scalar_one() == 0
        audit = (
            await session.execute(text("SELECT after FROM audit_log WHERE action = 'template.test_sent'"))
        ).scalar_one()
    assert audit["to"] == ["qa@example.com", "Boss@example.com"] and audit["sent"] == 2 and audit["version"] == 1
    history = await temporal_client.get_workflow_handle(body["workflow_id"]).describe()
    assert history.workflow_type == "TestSendWorkflow"


async def test_sms_and_social_test_sends_land_in_the_local_outbox_with_a_chosen_version(api, worker, db):
    sms = (
        await api.post("/api/templates", json={"name": "S", "channel": "sms", "body_text": "v1 {{ lead.first_name }}"})
    ).json()
    await api.put(f"/api/templates/{sms['id']}", json={"body_text": "v2 {{ lead.first_name }}"})
    sent = await api.post(f"/api/templates/{sms['id']}/test-send", json={"to": ["+1 415 555 0100"], "version": 1})
    assert sent.status_code == 200, sent.text
    assert sent.json()["results"][0]["to"] == "+14155550100" and sent.json()["results"][0]["ok"]
    [row] = await _outbox(db, "sms")
    assert row.rcpt_to == ["+14155550100"] and row.body_text.startswith("v1 ")

    post = (
        await api.post(
            "/api/templates",
            json={"name": "P", "channel": "social", "body_text": "Launch day", "social_networks": ["linkedin"]},
        )
    ).json()
    assert (await api.post(f"/api/templates/{post['id']}/test-send", json={"to": ["company-page"]})).status_code == 200
    [social] = await _outbox(db, "social")
    assert social.body_text == "Launch day" and '"linkedin"' in social.raw


async def test_bad_recipients_and_roles_are_refused_before_anything_is_sent(app, api, tenant, db):
    template = (await api.post("/api/templates", json=EMAIL)).json()
    url = f"/api/templates/{template['id']}/test-send"
    bad = await api.post(url, json={"to": ["ok@example.com", "not-an-address"]})
    assert (bad.status_code, bad.json()["field"]) == (422, "to[1]")
    too_many = await api.post(url, json={"to": [f"a{n}@example.com" for n in range(6)]})
    assert (too_many.status_code, too_many.json()["field"]) == (422, "to")
    no_version = await api.post(url, json={"to": ["ok@example.com"], "version": 4})
    assert (no_version.status_code, no_version.json()["field"]) == (422, "version")
    sms = (await api.post("/api/templates", json={"name": "S", "channel": "sms", "body_text": "Hi"})).json()
    bad_phone = await api.post(f"/api/templates/{sms['id']}/test-send", json={"to": ["12"]})
    assert (bad_phone.status_code, bad_phone.json()["field"]) == (422, "to[0]")
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        assert (await client.post(url, json={"to": ["ok@example.com"]})).status_code == 403
    async with db() as session:
        assert (await session.execute(text("SELECT count(*) FROM outbox_messages"))).scalar_one() == 0
