"""Two workspaces side by side: nothing of one is visible, changeable or launchable from the other."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import client_for, make_tenant
from tests.factories import make_campaign, make_leads


async def test_nothing_crosses_workspaces(app, api, tenant, db):
    other = await make_tenant(db, "Globex", "admin@globex.test")
    their_leads = await make_leads(db, 3, prefix="globex", workspace_id=other.workspace_id)
    their_campaign = await make_campaign(db, their_leads, workspace_id=other.workspace_id, name="Theirs")
    async with db() as session:
        ids = (
            await session.execute(
                text(
                    "SELECT (SELECT id FROM templates WHERE workspace_id = :w) AS template,"
                    " (SELECT id FROM lists WHERE workspace_id = :w) AS list"
                ),
                {"w": other.workspace_id},
            )
        ).one()
    our_leads = await make_leads(db, 2, prefix="acme")
    await make_campaign(db, our_leads, name="Ours")

    # Reads: lists show only ours, direct ids of theirs are 404.
    assert {lead["email"] for lead in (await api.get("/api/leads")).json()["items"]} == {
        "acme0@example.com",
        "acme1@example.com",
    }
    assert [c["name"] for c in (await api.get("/api/campaigns")).json()] == ["Ours"]
    assert all(t["id"] != ids.template for t in (await api.get("/api/templates")).json()["items"])
    assert (await api.get(f"/api/templates/{ids.template}")).status_code == 404
    assert (await api.get(f"/api/templates/{ids.template}/versions/1")).status_code == 404
    assert all(lst["id"] != ids.list for lst in (await api.get("/api/lists")).json())
    for path in (f"/api/leads/{their_leads[0]}", f"/api/campaigns/{their_campaign}"):
        assert (await api.get(path)).status_code == 404, path
    assert (await api.get(f"/api/campaigns/{their_campaign}/progress")).status_code == 404

    # Writes that point at their objects: 404 or a 422 naming the field, never a change.
    for action in ("launch", "pause", "resume", "cancel"):
        assert (await api.post(f"/api/campaigns/{their_campaign}/{action}")).status_code == 404, action
    borrowed = await api.post("/api/campaigns", json={"name": "X", "template_id": ids.template})
    assert (borrowed.status_code, borrowed.json()["field"]) == (422, "template_id")
    their_list = await api.post("/api/campaigns", json={"name": "X", "template_id": ids.template, "list_id": ids.list})
    assert their_list.status_code == 422
    stolen_members = await api.post("/api/lists", json={"name": "Stolen", "lead_ids": their_leads})
    assert (stolen_members.status_code, stolen_members.json()["field"]) == (422, "lead_ids")
    assert (await api.delete(f"/api/members/{other.admin_id}")).status_code == 404
    assert (await api.patch(f"/api/members/{other.admin_id}", json={"role": "viewer"})).status_code == 404
    async with db() as session:
        their_key = (
            await session.execute(text("SELECT id FROM api_keys WHERE workspace_id = :w"), {"w": other.workspace_id})
        ).scalar_one()
    assert (await api.delete(f"/api/api-keys/{their_key}")).status_code == 404

    # And from their side, the same walls.
    async with client_for(app, other.admin_key) as theirs:
        assert [c["name"] for c in (await theirs.get("/api/campaigns")).json()] == ["Theirs"]
        assert (await theirs.get(f"/api/leads/{our_leads[0]}")).status_code == 404

    async with db() as session:
        runs = (await session.execute(text("SELECT count(*) FROM campaign_runs"))).scalar_one()
        revoked = (
            await session.execute(text("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"))
        ).scalar_one()
    assert runs == 0 and revoked == 0


async def test_audit_log_is_per_workspace(app, api, tenant, db):
    other = await make_tenant(db, "Globex", "admin@globex.test")
    await api.post("/api/templates", json={"name": "Ours", "subject": "s", "body_html": "<p>b</p>"})
    async with client_for(app, other.admin_key) as theirs:
        await theirs.post("/api/templates", json={"name": "Theirs", "subject": "s", "body_html": "<p>b</p>"})
        their_entries = (await theirs.get("/api/audit")).json()["items"]
    our_entries = (await api.get("/api/audit")).json()["items"]
    assert [e["after"]["name"] for e in our_entries if e["action"] == "template.created"] == ["Ours"]
    assert [e["after"]["name"] for e in their_entries if e["action"] == "template.created"] == ["Theirs"]


async def test_mass_assignment_fields_are_rejected(api, tenant, db):
    for path, body in (
        ("/api/leads", {"email": "m@example.com", "workspace_id": 999}),
        ("/api/leads", {"email": "m@example.com", "id": 5}),
        ("/api/templates", {"name": "T", "subject": "s", "body_html": "<p>b</p>", "workspace_id": 999}),
        ("/api/campaigns", {"name": "C", "template_id": 1, "status": "completed"}),
        ("/api/lists", {"name": "L", "workspace_id": 999}),
        ("/api/members", {"email": "x@example.com", "role": "viewer", "workspace_id": 999}),
        ("/api/api-keys", {"name": "k", "role": "viewer", "workspace_id": 999}),
        ("/api/workspaces/current", {"name": "W", "id": 7}),
    ):
        method = "PATCH" if path.endswith("current") else "POST"
        response = await api.request(method, path, json=body)
        extra = next(k for k in body if k in ("workspace_id", "id", "status"))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == extra, (path, response.json())
    async with db() as session:
        assert (await session.execute(text("SELECT count(*) FROM leads"))).scalar_one() == 0
