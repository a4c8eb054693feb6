"""The lead store API: normalisation, timeline, keyset pages, search, filters, bulk operations, upsert."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import client_for, make_tenant
from tests.factories import make_leads


async def _events(api, lead_id: int) -> list[tuple[str, dict]]:
    return [(e["type"], e["data"]) for e in (await api.get(f"/api/leads/{lead_id}/events")).json()]


async def test_create_normalises_phone_country_and_infers_timezone(api, tenant):
    await api.patch("/api/workspaces/current", json={"default_region": "FR"})
    created = await api.post(
        "/api/leads", json={"email": "Jean@Exemple.FR", "phone": "06 12 34 56 78", "first_name": "Jean"}
    )
    assert created.status_code == 201, created.text
    lead = created.json()
    assert lead["email"] == "Jean@exemple.fr"
    assert lead["phone"] == "+33612345678"
    assert lead["country"] == "FR" and lead["timezone"] == "Europe/Paris"
    assert await _events(api, lead["id"]) == [("created", {"source": "api"})]
    bad_phone = await api.post("/api/leads", json={"email": "x@example.com", "phone": "12"})
    assert (bad_phone.status_code, bad_phone.json()["field"]) == (422, "phone")
    bad_status = await api.post("/api/leads", json={"email": "y@example.com", "status": "dreaming"})
    assert (bad_status.status_code, bad_status.json()["field"]) == (422, "status")


async def test_status_change_writes_an_event_with_old_and_new(api, tenant):
    lead = (await api.post("/api/leads", json={"email": "s@example.com"})).json()
    updated = await api.patch(f"/api/leads/{lead['id']}", json={"status": "qualified", "tags": ["VIP", "vip", " b2b "]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["tags"] == ["b2b", "vip"]
    events = await _events(api, lead["id"])
    assert ("status_changed", {"from": "new", "to": "qualified"}) in events
    assert ("tagged", {"tags": ["b2b", "vip"]}) in events
    unchanged = await api.patch(f"/api/leads/{lead['id']}", json={"status": "qualified"})
    assert unchanged.status_code == 200
    assert len(await _events(api, lead["id"])) == len(events)  # no change, no event


async def test_custom_fields_are_typed_and_validated(api, tenant):
    assert (
        await api.post("/api/custom-fields", json={"key": "revenue", "label": "Revenue", "type": "number"})
    ).status_code == 201
    plan = {"key": "plan", "label": "Plan", "type": "choice", "choices": ["free", "pro"]}
    assert (await api.post("/api/custom-fields", json=plan)).status_code == 201
    ok = await api.post(
        "/api/leads", json={"email": "c@example.com", "custom_fields": {"revenue": 1200, "plan": "pro"}}
    )
    assert ok.status_code == 201 and ok.json()["custom_fields"] == {"revenue": 1200, "plan": "pro"}
    for custom, field in (
        ({"revenue": "lots"}, "custom_fields.revenue"),
        ({"plan": "enterprise"}, "custom_fields.plan"),
        ({"shoe_size": 42}, "custom_fields.shoe_size"),
    ):
        response = await api.post("/api/leads", json={"email": "d@example.com", "custom_fields": custom})
        assert (response.status_code, response.json()["field"]) == (422, field)
    lead_id = ok.json()["id"]
    merged = await api.patch(f"/api/leads/{lead_id}", json={"custom_fields": {"plan": None}})
    assert merged.json()["custom_fields"] == {"revenue": 1200}
    bad_key = await api.post("/api/custom-fields", json={"key": "Bad Key", "label": "x", "type": "text"})
    assert (bad_key.status_code, bad_key.json()["field"]) == (422, "key")


async def test_keyset_pages_walk_every_lead_once_in_order(api, db, tenant):
    await make_leads(db, 23)
    seen, cursor = [], None
    while True:
        params = {"limit": 10, "sort": "last_name", "order": "asc"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/api/leads", params=params)).json()
        assert page["total"] == 23
        seen += [lead["last_name"] for lead in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 23
    bad = await api.get("/api/leads", params={"cursor": "garbage"})
    assert (bad.status_code, bad.json()["field"]) == (422, "cursor")


async def test_full_text_search_and_filter(api, tenant):
    for email, company, score in (("ada@example.com", "Analytical Engines", 90), ("bob@example.com", "Bobcorp", 10)):
        await api.post("/api/leads", json={"email": email, "company": company, "score": score, "first_name": email[:3]})
    found = (await api.get("/api/leads", params={"search": "analyt"})).json()
    assert [lead["email"] for lead in found["items"]] == ["ada@example.com"]
    filtered = await api.post(
        "/api/leads/search",
        json={"filter": {"combinator": "and", "rules": [{"field": "score", "operator": ">", "value": 50}]}},
    )
    assert [lead["email"] for lead in filtered.json()["items"]] == ["ada@example.com"]
    bad = await api.post(
        "/api/leads/search",
        json={"filter": {"combinator": "and", "rules": [{"field": "shoe_size", "operator": "=", "value": 1}]}},
    )
    assert bad.status_code == 422 and bad.json()["field"].startswith("filter.rules[0]")


async def test_bulk_operations_answer_with_the_count_and_stay_in_the_workspace(app, api, db, tenant):
    ours = await make_leads(db, 6)
    other = await make_tenant(db, "Globex", "admin@globex.test")
    theirs = await make_leads(db, 2, prefix="globex", workspace_id=other.workspace_id)
    lst = (await api.post("/api/lists", json={"name": "Picked"})).json()

    async def bulk(action, value=None, **selection):
        response = await api.post("/api/leads/bulk", json={"selection": selection, "action": action, "value": value})
        assert response.status_code == 200, response.text
        return response.json()["affected"]

    assert await bulk("tag", ["promo"], lead_ids=ours[:4] + theirs) == 4
    assert await bulk("tag", ["promo"], lead_ids=ours[:4]) == 0  # already tagged
    tagged = {"combinator": "and", "rules": [{"field": "tags", "operator": "containsAny", "value": ["promo"]}]}
    assert await bulk("set_status", "qualified", filter=tagged) == 4
    assert await bulk("add_to_list", lst["id"], filter=tagged) == 4
    assert (await api.get(f"/api/lists/{lst['id']}")).json()["member_count"] == 4
    assert await bulk("untag", ["promo"], lead_ids=ours) == 4
    assert await bulk("remove_from_list", lst["id"], lead_ids=ours[:1]) == 1
    assert await bulk("delete", lead_ids=ours[:2] + theirs) == 2
    async with client_for(app, other.admin_key) as globex:
        their_leads = (await globex.get("/api/leads")).json()
        assert their_leads["total"] == 2 and all(lead["tags"] == [] for lead in their_leads["items"])
    async with db() as session:
        statuses = (
            await session.execute(text("SELECT count(*) FROM lead_events WHERE type = 'status_changed'"))
        ).scalar()
    assert statuses == 2  # four status changes; two of those leads were deleted with their timeline
    wrong = await api.post("/api/leads/bulk", json={"selection": {}, "action": "delete"})
    assert (wrong.status_code, wrong.json()["field"]) == (422, "selection")


async def test_upsert_by_email_phone_or_external_id(api, tenant):
    first = await api.put(
        "/api/leads/upsert", json={"key": "external_id", "lead": {"external_id": "crm-1", "email": "u@example.com"}}
    )
    assert first.status_code == 200 and first.json()["created"] is True
    again = await api.put(
        "/api/leads/upsert", json={"key": "external_id", "lead": {"external_id": "crm-1", "company": "Upco"}}
    )
    assert again.json()["created"] is False and again.json()["lead"]["company"] == "Upco"
    assert again.json()["lead"]["email"] == "u@example.com"
    by_email = await api.put("/api/leads/upsert", json={"key": "email", "lead": {"email": "u@example.com", "score": 5}})
    assert by_email.json()["created"] is False and by_email.json()["lead"]["score"] == 5
    missing = await api.put("/api/leads/upsert", json={"key": "phone", "lead": {"email": "p@example.com"}})
    assert (missing.status_code, missing.json()["field"]) == (422, "lead.phone")
    assert (await api.get("/api/leads")).json()["total"] == 1


async def test_delete_a_lead_and_its_timeline(api, tenant, db):
    lead = (await api.post("/api/leads", json={"email": "gone@example.com"})).json()
    assert (await api.delete(f"/api/leads/{lead['id']}")).status_code == 204
    assert (await api.get(f"/api/leads/{lead['id']}")).status_code == 404
    async with db() as session:
        left = (
            await session.execute(text("SELECT count(*) FROM lead_events WHERE lead_id = :l"), {"l": lead["id"]})
        ).scalar()
    assert left == 0


async def test_number_custom_fields_get_an_expression_index_used_by_range_filters(api, tenant, db):
    created = await api.post("/api/custom-fields", json={"key": "revenue", "label": "Revenue", "type": "number"})
    assert created.status_code == 201
    name = f"ix_leads_cf_{tenant.workspace_id}_revenue"
    async with db() as session:
        exists = (
            await session.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname = :n"), {"n": name})
        ).scalar()
        assert exists == 1
        await session.execute(text("SET enable_seqscan = off"))
        from datetime import UTC, datetime

        from sqlalchemy import func, select
        from sqlalchemy.dialects import postgresql

        from domain.filters import FilterContext, compile_filter, parse_filter
        from models.leads import Lead

        ctx = FilterContext(
            workspace_id=tenant.workspace_id, now=datetime.now(UTC), custom_fields={"revenue": "number"}
        )
        tree = {"combinator": "and", "rules": [{"field": "custom.revenue", "operator": "between", "value": [1, 5]}]}
        query = (
            select(func.count())
            .select_from(Lead)
            .where(Lead.workspace_id == tenant.workspace_id, compile_filter(parse_filter(tree), ctx))
        )
        sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        plan = "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {sql}")))
    assert name in plan
    assert (await api.delete(f"/api/custom-fields/{created.json()['id']}")).status_code == 204
    async with db() as session:
        gone = (
            await session.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname = :n"), {"n": name})
        ).scalar()
    assert gone == 0


async def test_bulk_set_owner_takes_only_members(api, db, tenant):
    ids = await make_leads(db, 3)
    owned = await api.post(
        "/api/leads/bulk", json={"selection": {"lead_ids": ids}, "action": "set_owner", "value": tenant.admin_id}
    )
    assert owned.json() == {"action": "set_owner", "affected": 3}
    assert {lead["owner_id"] for lead in (await api.get("/api/leads")).json()["items"]} == {tenant.admin_id}
    for value in (987654, "someone"):
        refused = await api.post(
            "/api/leads/bulk", json={"selection": {"lead_ids": ids}, "action": "set_owner", "value": value}
        )
        assert (refused.status_code, refused.json()["field"]) == (422, "value")


async def test_upsert_by_phone_normalises_the_key(api, tenant):
    first = await api.put("/api/leads/upsert", json={"key": "phone", "lead": {"phone": "+1 415 555 0101"}})
    assert first.json()["created"] is True and first.json()["lead"]["phone"] == "+14155550101"
    again = await api.put("/api/leads/upsert", json={"key": "phone", "lead": {"phone": "+14155550101", "score": 3}})
    assert again.json()["created"] is False and again.json()["lead"]["score"] == 3
    bad = await api.put("/api/leads/upsert", json={"key": "phone", "lead": {"phone": "12"}})
    assert (bad.status_code, bad.json()["field"]) == (422, "phone")
