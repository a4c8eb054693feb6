"""GET /api/leads/{id}/interactions: the lead's events with their campaign, newest first, scoped to the workspace."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.conftest import make_tenant
from tests.factories import make_campaign, make_leads


async def test_interactions_list_the_leads_events_with_their_campaign(api, db, tenant):
    ws = tenant.workspace_id
    lead, other_lead = await make_leads(db, 2, prefix="int", workspace_id=ws)
    campaign_id = await make_campaign(db, None, workspace_id=ws, name="Spring")
    foreign = await make_tenant(db, "Hooli", "admin@hooli.test")
    async with db() as session:
        rows = [
            (ws, lead, campaign_id, "open", False, None, {}),
            (ws, lead, campaign_id, "open", True, None, {"machine_reason": "apple_mail_privacy"}),
            (ws, lead, campaign_id, "click", False, "https://example.com/a", {}),
            (ws, lead, None, "bounce", False, None, {"permanent": True, "diagnostic": "550 5.1.1 user unknown"}),
            (ws, lead, campaign_id, "conversion", False, None, {"value": "42.50"}),
            (ws, other_lead, campaign_id, "open", False, None, {}),  # another lead's
            (foreign.workspace_id, lead, None, "open", False, None, {}),  # another workspace naming our lead's id
        ]
        for w, lead_id, campaign, kind, machine, url, meta in rows:
            await session.execute(
                text(
                    "INSERT INTO events (workspace_id, lead_id, campaign_id, type, machine, url, metadata) "
                    "VALUES (:w, :l, :c, :t, :m, :u, CAST(:meta AS jsonb))"
                ),
                {"w": w, "l": lead_id, "c": campaign, "t": kind, "m": machine, "u": url, "meta": json.dumps(meta)},
            )
        await session.commit()

    answer = await api.get(f"/api/leads/{lead}/interactions")
    assert answer.status_code == 200, answer.text
    items = answer.json()
    assert [(i["type"], i["machine"]) for i in items] == [
        ("conversion", False), ("bounce", False), ("click", False), ("open", True), ("open", False)
    ]  # fmt: skip
    conversion, bounce, click, machine_open, _ = items
    assert conversion["value"] == "42.50" and conversion["campaign_name"] == "Spring"
    assert (bounce["permanent"], bounce["detail"], bounce["campaign_id"]) == (True, "550 5.1.1 user unknown", None)
    assert click["url"] == "https://example.com/a"
    assert machine_open["detail"] == "apple_mail_privacy"

    page = (await api.get(f"/api/leads/{lead}/interactions", params={"limit": 2})).json()
    rest = (await api.get(f"/api/leads/{lead}/interactions", params={"before": page[-1]["id"]})).json()
    assert [i["id"] for i in page + rest] == [i["id"] for i in items]
    assert (await api.get("/api/leads/999999/interactions")).status_code == 404
