"""Static, dynamic and hybrid lists, the live preview, statistics, and campaigns snapshotting them."""

from __future__ import annotations

from tests.factories import make_leads
from tests.helpers import outbox_rows, wait_for_status

HIGH_SCORE = {"combinator": "and", "rules": [{"field": "score", "operator": ">=", "value": 50}]}


async def _lead(api, email: str, **fields) -> int:
    response = await api.post("/api/leads", json={"email": email, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_dynamic_and_hybrid_lists_follow_their_filter(api, tenant):
    hi = await _lead(api, "hi@example.com", score=80, consent_email="granted")
    lo = await _lead(api, "lo@example.com", score=10, consent_email="granted")
    mid = await _lead(api, "mid@example.com", score=60, consent_email="denied")
    dynamic = (await api.post("/api/lists", json={"name": "High", "kind": "dynamic", "filter": HIGH_SCORE})).json()
    assert dynamic["member_count"] == 2
    hybrid = await api.post(
        "/api/lists",
        json={"name": "Mixed", "kind": "hybrid", "filter": HIGH_SCORE, "lead_ids": [lo], "exclude_lead_ids": [mid]},
    )
    assert hybrid.status_code == 201, hybrid.text
    assert hybrid.json()["member_count"] == 2  # hi (filter) + lo (always in) − mid (never in)
    members = (await api.get(f"/api/lists/{hybrid.json()['id']}/leads")).json()
    assert {lead["id"] for lead in members["items"]} == {hi, lo}
    # The filter is evaluated when used: a score change moves the lead in.
    await api.patch(f"/api/leads/{lo}", json={"score": 99})
    assert (await api.get(f"/api/lists/{dynamic['id']}")).json()["member_count"] == 3


async def test_preview_counts_samples_and_reachability(api, tenant):
    await _lead(api, "a@example.com", score=70, consent_email="granted", phone="+14155550101", consent_sms="granted")
    await _lead(api, "b@example.com", score=70, consent_email="granted", suppressed_email="bounced")
    await _lead(api, "c@example.com", score=70, consent_email="unknown")
    await _lead(api, "d@example.com", score=5, consent_email="granted")
    preview = await api.post("/api/lists/preview", json={"filter": HIGH_SCORE})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["total"] == 3 and len(body["sample"]) == 3
    assert body["reachable"] == {"email": 1, "sms": 1, "whatsapp": 0}
    bad = await api.post(
        "/api/lists/preview",
        json={
            "filter": {
                "combinator": "and",
                "rules": [{"combinator": "or", "rules": [{"field": "score", "operator": "like", "value": 1}]}],
            }
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "filter.rules[0].rules[0].operator"


async def test_list_validation(api, tenant):
    static_with_filter = await api.post("/api/lists", json={"name": "S", "kind": "static", "filter": HIGH_SCORE})
    assert (static_with_filter.status_code, static_with_filter.json()["field"]) == (422, "filter")
    dynamic_with_members = await api.post(
        "/api/lists", json={"name": "D", "kind": "dynamic", "filter": HIGH_SCORE, "lead_ids": [1]}
    )
    assert (dynamic_with_members.status_code, dynamic_with_members.json()["field"]) == (422, "lead_ids")
    unknown = await api.post("/api/lists", json={"name": "U", "lead_ids": [987654]})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "lead_ids")


async def test_static_list_members_and_stats(api, db, tenant):
    ids = await make_leads(db, 5)
    lst = (await api.post("/api/lists", json={"name": "Static", "lead_ids": ids[:2]})).json()
    grown = await api.post(f"/api/lists/{lst['id']}/members", json={"lead_ids": ids[2:4]})
    assert grown.json()["member_count"] == 4
    shrunk = await api.post(f"/api/lists/{lst['id']}/members/remove", json={"lead_ids": ids[:1]})
    assert shrunk.json()["member_count"] == 3
    lists_of_lead = (await api.get(f"/api/leads/{ids[2]}/lists")).json()
    assert lists_of_lead == [{"id": lst["id"], "name": "Static", "kind": "static"}]
    events = [e["type"] for e in (await api.get(f"/api/leads/{ids[2]}/events")).json()]
    assert "added_to_list" in events
    stats = (await api.get(f"/api/lists/{lst['id']}/stats")).json()
    assert stats["size"] == 3 and stats["by_status"] == [{"key": "new", "count": 3}]
    assert stats["reachable"]["email"] == 3


async def test_a_campaign_to_a_dynamic_list_reaches_who_matches_at_launch(api, worker, db, tenant):
    for n in range(6):
        await _lead(api, f"lead{n}@example.com", score=n * 20, consent_email="granted", first_name=f"L{n}")
    lst = (await api.post("/api/lists", json={"name": "Scored", "kind": "dynamic", "filter": HIGH_SCORE})).json()
    template = (
        await api.post(
            "/api/templates", json={"name": "T", "subject": "Hi {{ lead.first_name }}", "body_html": "<p>x</p>"}
        )
    ).json()
    campaign = (
        await api.post("/api/campaigns", json={"name": "C", "template_id": template["id"], "list_id": lst["id"]})
    ).json()
    run = (await api.post(f"/api/campaigns/{campaign['id']}/launch")).json()
    assert run["total"] == 3
    progress = await wait_for_status(api, campaign["id"], "completed")
    assert progress["sent"] == 3
    subjects = sorted(row.subject for row in await outbox_rows(db, run["id"]))
    assert subjects == ["Hi L3", "Hi L4", "Hi L5"]


async def test_hybrid_lists_show_who_is_always_in_and_who_is_kept_out(api, db, tenant):
    ids = await make_leads(db, 4)
    hybrid = (
        await api.post(
            "/api/lists",
            json={
                "name": "H",
                "kind": "hybrid",
                "filter": HIGH_SCORE,
                "lead_ids": ids[:2],
                "exclude_lead_ids": ids[2:3],
            },
        )
    ).json()
    included = (await api.get(f"/api/lists/{hybrid['id']}/members", params={"mode": "include"})).json()
    excluded = (await api.get(f"/api/lists/{hybrid['id']}/members", params={"mode": "exclude"})).json()
    assert {lead["id"] for lead in included["items"]} == set(ids[:2])
    assert [lead["id"] for lead in excluded["items"]] == [ids[2]]
