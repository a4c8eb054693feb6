"""Every change is on record, in the same transaction as the change; the record cannot be altered."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import client_for
from tests.factories import make_campaign, make_leads


async def _actions(db) -> list[tuple[str, str, str | None]]:
    async with db() as session:
        rows = await session.execute(text("SELECT action, entity_type, entity_id FROM audit_log ORDER BY id"))
        return [tuple(row) for row in rows]


async def test_every_mutating_route_writes_an_audit_row(app, api, tenant, db, temporal_client):
    lead = (await api.post("/api/leads", json={"email": "a@example.com"})).json()
    lst = (await api.post("/api/lists", json={"name": "L", "lead_ids": [lead["id"]]})).json()
    template = (await api.post("/api/templates", json={"name": "T", "subject": "s", "body_html": "<p>b</p>"})).json()
    campaign = (
        await api.post("/api/campaigns", json={"name": "C", "template_id": template["id"], "list_id": lst["id"]})
    ).json()
    cid = campaign["id"]
    assert (await api.post(f"/api/campaigns/{cid}/launch")).status_code == 202
    assert (await api.post(f"/api/campaigns/{cid}/pause")).status_code == 200
    assert (await api.post(f"/api/campaigns/{cid}/resume")).status_code == 200
    assert (await api.post(f"/api/campaigns/{cid}/cancel")).status_code == 200
    member = (await api.post("/api/members", json={"email": "m@example.com", "role": "viewer"})).json()["member"]
    assert (await api.patch(f"/api/members/{member['user_id']}", json={"role": "marketer"})).status_code == 200
    assert (await api.delete(f"/api/members/{member['user_id']}")).status_code == 204
    key = (await api.post("/api/api-keys", json={"name": "k", "role": "viewer"})).json()["api_key"]
    assert (await api.delete(f"/api/api-keys/{key['id']}")).status_code == 204
    assert (await api.patch("/api/workspaces/current", json={"requires_approval": True})).status_code == 200
    async with client_for(app) as browser:
        me = (
            await browser.post(
                "/api/auth/login", json={"email": "admin@acme.test", "password": "correct horse battery"}
            )
        ).json()
        headers = {"X-CSRF-Token": me["csrf_token"]}
        assert (await browser.post("/api/workspaces", json={"name": "Other"}, headers=headers)).status_code == 201
        new_password = {"current_password": "correct horse battery", "new_password": "another long password"}
        changed = await browser.post("/api/auth/password", json=new_password, headers=headers)
        headers = {"X-CSRF-Token": changed.json()["csrf_token"]}
        assert (await browser.post("/api/auth/logout", headers=headers)).status_code == 204

    actions = await _actions(db)
    expected = [
        ("lead.created", "lead", str(lead["id"])),
        ("list.created", "list", str(lst["id"])),
        ("template.created", "template", str(template["id"])),
        ("campaign.created", "campaign", str(cid)),
        ("campaign.launched", "campaign", str(cid)),
        ("campaign.paused", "campaign", str(cid)),
        ("campaign.resumed", "campaign", str(cid)),
        ("campaign.cancelled", "campaign", str(cid)),
        ("member.added", "user", str(member["user_id"])),
        ("member.role_changed", "user", str(member["user_id"])),
        ("member.removed", "user", str(member["user_id"])),
        ("api_key.created", "api_key", str(key["id"])),
        ("api_key.revoked", "api_key", str(key["id"])),
        ("workspace.updated", "workspace", str(tenant.workspace_id)),
        ("auth.login", "user", str(tenant.admin_id)),
        ("auth.password_changed", "user", str(tenant.admin_id)),
        ("auth.logout", "user", str(tenant.admin_id)),
    ]
    for row in expected:
        assert row in actions, f"missing audit row {row}"
    assert any(action == "workspace.created" for action, _, _ in actions)

    page = (await api.get("/api/audit", params={"action": "campaign."})).json()
    assert [e["action"] for e in page["items"]] == [
        "campaign.cancelled",
        "campaign.resumed",
        "campaign.paused",
        "campaign.launched",
        "campaign.created",
    ]
    entry = page["items"][-2]
    assert (
        entry["actor"] == "api key tests"
        and entry["request_id"]
        and entry["after"]
        == {
            "run": 1,
            "total": 1,
            "status": "running",
            "requires_approval": False,
        }
    )
    by_entity = (await api.get("/api/audit", params={"entity_type": "user", "user_id": tenant.admin_id})).json()
    assert {e["action"] for e in by_entity["items"]} >= {"auth.login", "auth.logout"}
    future = (await api.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"})).json()
    assert future["total"] == 0


async def test_a_failed_change_leaves_no_audit_row(api, tenant, db, temporal_client, settings):
    assert (await api.post("/api/leads", json={"email": "dup@example.com"})).status_code == 201
    assert (await api.post("/api/leads", json={"email": "dup@example.com"})).status_code == 409
    campaign_id = await make_campaign(db, await make_leads(db, 2))
    # A workflow already holds the id the launch would use: the start fails, and neither run nor audit row stays.
    await temporal_client.start_workflow(
        "CampaignWorkflow", id=f"campaign-{campaign_id}-run-1", task_queue="nobody-polls-this", args=[]
    )
    refused = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert refused.status_code == 409
    await temporal_client.get_workflow_handle(f"campaign-{campaign_id}-run-1").terminate()

    actions = await _actions(db)
    assert [a for a, _, _ in actions].count("lead.created") == 1
    assert "campaign.launched" not in [a for a, _, _ in actions]
    async with db() as session:
        assert (await session.execute(text("SELECT count(*) FROM campaign_runs"))).scalar_one() == 0
        status = (
            await session.execute(text("SELECT status FROM campaigns WHERE id = :c"), {"c": campaign_id})
        ).scalar()
    assert status == "draft"


async def test_the_audit_log_cannot_be_changed(api, tenant, db):
    await api.post("/api/leads", json={"email": "a@example.com"})
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        async with db() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
    schema = (await api.get("/api/openapi.json")).json()
    assert set(schema["paths"]["/api/audit"]) == {"get"}


async def test_only_managers_and_admins_read_the_audit_log(app, tenant, db):
    from domain.permissions import Role
    from tests.conftest import make_key

    for role, allowed in ((Role.viewer, False), (Role.marketer, False), (Role.manager, True)):
        async with client_for(app, await make_key(db, tenant.workspace_id, role)) as client:
            assert ((await client.get("/api/audit")).status_code == 200) is allowed, role
