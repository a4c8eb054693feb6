"""HTTP API: validation errors name the field, unknown ids 404, state conflicts 409, nothing half-written."""

from __future__ import annotations

from sqlalchemy import text

from tests.factories import make_campaign, make_leads


async def _count(db, table: str) -> int:
    async with db() as session:
        return (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_health_reports_database_and_temporal(api):
    response = await api.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and "PostgreSQL" in body["database"]["detail"]
    assert body["temporal"]["ok"] and "Temporal server" in body["temporal"]["detail"]


async def test_create_and_list_leads(api, db):
    created = await api.post(
        "/api/leads", json={"email": "Ada.Lovelace@Example.COM", "first_name": "Ada", "timezone": "Europe/London"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "Ada.Lovelace@example.com"  # domain lower-cased, local part kept
    page = (await api.get("/api/leads", params={"search": "ada"})).json()
    assert page["total"] == 1 and page["items"][0]["first_name"] == "Ada"


async def test_lead_validation_names_the_field(api, db):
    bad_email = await api.post("/api/leads", json={"email": "not-an-email"})
    assert bad_email.status_code == 422
    assert bad_email.json()["field"] == "email"
    assert "email" in bad_email.json()["message"]

    bad_tz = await api.post("/api/leads", json={"email": "a@example.com", "timezone": "Mars/Olympus"})
    assert (bad_tz.status_code, bad_tz.json()["field"]) == (422, "timezone")

    unknown = await api.post("/api/leads", json={"email": "b@example.com", "shoe_size": 42})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "shoe_size")

    nothing = await api.post("/api/leads", json={"first_name": "Nobody"})
    assert (nothing.status_code, nothing.json()["field"]) == (422, "email")
    assert await _count(db, "leads") == 0


async def test_duplicate_lead_email_is_409(api, db):
    assert (await api.post("/api/leads", json={"email": "dup@example.com"})).status_code == 201
    again = await api.post("/api/leads", json={"email": "dup@EXAMPLE.com"})
    assert again.status_code == 409 and again.json()["field"] == "email"
    assert await _count(db, "leads") == 1


async def test_unknown_ids_are_404(api, db):
    for path in ("/api/campaigns/999999", "/api/leads/999999", "/api/outbox/999999"):
        response = await api.get(path)
        assert response.status_code == 404, path
        assert "999999" in response.json()["message"]
    for action in ("launch", "pause", "resume", "cancel", "progress"):
        method = api.get if action == "progress" else api.post
        assert (await method(f"/api/campaigns/999999/{action}")).status_code == 404, action
    assert (await api.get("/api/nope")).status_code == 404


async def test_campaign_create_validates_references(api, db):
    blank = await api.post("/api/campaigns", json={"name": "  ", "template_id": 1})
    assert (blank.status_code, blank.json()["field"]) == (422, "name")
    no_template = await api.post("/api/campaigns", json={"name": "X", "template_id": 424242})
    assert (no_template.status_code, no_template.json()["field"]) == (422, "template_id")
    template = await api.post(
        "/api/templates", json={"name": "T", "subject": "Hi {{ lead.first_name }}", "body_html": "<p>x</p>"}
    )
    assert template.status_code == 201
    no_list = await api.post(
        "/api/campaigns", json={"name": "X", "template_id": template.json()["id"], "list_id": 424242}
    )
    assert (no_list.status_code, no_list.json()["field"]) == (422, "list_id")
    assert await _count(db, "campaigns") == 0


async def test_template_that_does_not_compile_is_422_naming_the_part(api, db):
    response = await api.post(
        "/api/templates", json={"name": "Broken", "subject": "ok", "body_html": "<p>{% if %}</p>"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "body_html"
    assert await _count(db, "templates") == 0


async def test_launch_with_an_empty_audience_is_409_and_writes_no_run(api, db):
    campaign_id = await make_campaign(db, [])
    response = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert response.status_code == 409
    assert response.json()["code"] == "empty_audience"
    assert "audience is empty" in response.json()["message"]
    assert await _count(db, "campaign_runs") == 0
    assert (await api.get(f"/api/campaigns/{campaign_id}")).json()["status"] == "draft"


async def test_launch_twice_while_running_is_409(api, db):
    # No worker polls this test's task queue, so the first run stays running.
    campaign_id = await make_campaign(db, await make_leads(db, 3))
    first = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert first.status_code == 202
    second = await api.post(f"/api/campaigns/{campaign_id}/launch")
    assert second.status_code == 409 and second.json()["code"] == "already_running"
    assert await _count(db, "campaign_runs") == 1
    resume = await api.post(f"/api/campaigns/{campaign_id}/resume")
    assert resume.status_code == 409 and "running" in resume.json()["message"]
    assert (await api.post(f"/api/campaigns/{campaign_id}/cancel")).status_code == 200


async def test_progress_before_any_launch_is_409(api, db):
    campaign_id = await make_campaign(db, await make_leads(db, 1))
    response = await api.get(f"/api/campaigns/{campaign_id}/progress")
    assert response.status_code == 409 and response.json()["code"] == "not_launched"


async def test_campaign_list_shows_template_list_and_latest_run(api, db):
    campaign_id = await make_campaign(db, await make_leads(db, 2), name="Spring sale")
    await api.post(f"/api/campaigns/{campaign_id}/launch")
    listed = (await api.get("/api/campaigns")).json()
    assert [c["name"] for c in listed] == ["Spring sale"]
    assert listed[0]["latest_run"]["workflow_id"] == f"campaign-{campaign_id}-run-1"
    assert listed[0]["latest_run"]["temporal_url"].endswith(f"/workflows/campaign-{campaign_id}-run-1")
    await api.post(f"/api/campaigns/{campaign_id}/cancel")


async def test_outbox_shows_only_this_workspaces_mail(api, db, settings, tenant):
    import aiosmtplib

    async def send(subject: str, workspace_header: str) -> None:
        await aiosmtplib.send(
            f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n{workspace_header}\r\nHello\r\n",
            sender="a@example.com",
            recipients=["b@example.com"],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
        )

    await send("Ping", f"X-Herald-Workspace: {tenant.workspace_id}\r\n")
    await send("Not ours", "")  # mail from outside Herald belongs to no workspace
    page = (await api.get("/api/outbox", params={"search": "b@example"})).json()
    assert page["total"] == 1 and page["items"][0]["subject"] == "Ping"
    detail = (await api.get(f"/api/outbox/{page['items'][0]['id']}")).json()
    assert detail["body_text"].strip() == "Hello" and detail["rcpt_to"] == ["b@example.com"]


async def test_lists_count_members(api, db):
    lead_ids = await make_leads(db, 4)
    created = await api.post("/api/lists", json={"name": "VIP", "lead_ids": lead_ids[:3]})
    assert created.status_code == 201 and created.json()["member_count"] == 3
    missing = await api.post("/api/lists", json={"name": "Ghosts", "lead_ids": [987654]})
    assert (missing.status_code, missing.json()["field"]) == (422, "lead_ids")
    assert [(lst["name"], lst["member_count"]) for lst in (await api.get("/api/lists")).json()] == [("VIP", 3)]


async def test_duplicate_names_are_409_naming_the_field(api, db):
    for path, body, field in (
        ("/api/templates", {"name": "Same", "subject": "s", "body_html": "<p>b</p>"}, "name"),
        ("/api/lists", {"name": "Same"}, "name"),
        ("/api/custom-fields", {"key": "same", "label": "Same", "type": "text"}, "key"),
    ):
        assert (await api.post(path, json=body)).status_code == 201, path
        again = await api.post(path, json=body)
        assert (again.status_code, again.json()["field"]) == (409, field), path
    first = (await api.get("/api/lists")).json()[0]
    renamed = await api.post("/api/lists", json={"name": "Other"})
    clash = await api.patch(f"/api/lists/{renamed.json()['id']}", json={"name": first["name"]})
    assert (clash.status_code, clash.json()["field"]) == (409, "name")
