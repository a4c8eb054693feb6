"""Bulk operations from a file: suppress, unsubscribe, tag and delete by email or phone, with counts and scoping."""

from __future__ import annotations

import hashlib
from pathlib import Path

import xlsxwriter
from sqlalchemy import select, text

from domain.permissions import Role
from models.leads import Lead
from tests.conftest import client_for, make_key, make_tenant
from tests.factories import make_leads
from tests.helpers import eventually


def sha(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


async def bulk_file(api, content: bytes, name: str = "list.csv", status: int = 200, **form) -> dict:
    response = await api.post(
        "/api/leads/bulk-file", files={"file": (name, content, "application/octet-stream")}, data=form
    )
    assert response.status_code == status, response.text
    return response.json()


async def leads_of(db, workspace_id: int) -> dict[str, Lead]:
    async with db() as session:
        rows = (await session.execute(select(Lead).where(Lead.workspace_id == workspace_id))).scalars().all()
        return {lead.email or lead.phone: lead for lead in rows}


async def suppressions(db, workspace_id: int) -> set[tuple[str, str, str]]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT channel, address_hash, reason FROM suppressions WHERE workspace_id = :w"), {"w": workspace_id}
        )
        return {tuple(row) for row in rows}


async def events(db, lead_id: int) -> list[tuple[str, dict]]:
    async with db() as session:
        rows = await session.execute(
            text("SELECT type, data FROM lead_events WHERE lead_id = :l ORDER BY id"), {"l": lead_id}
        )
        return [tuple(row) for row in rows]


async def test_suppress_by_email_column_counts_rows_and_remembers_every_address(app, api, db, tenant):
    await make_leads(db, 3, prefix="s")
    other = await make_tenant(db, "Globex", "admin@globex.test")
    await make_leads(db, 1, prefix="s", workspace_id=other.workspace_id)
    content = (
        b"name,Email\n"
        b"Zero,s0@example.com\n"
        b"One,s1@EXAMPLE.com\n"  # the domain is normalised to lower case
        b",\n"  # a blank row is not counted
        b"Nobody,ghost@example.com\n"
        b"Broken,not-an-email\n"
        b"Again,s0@example.com\n"
    )
    result = await bulk_file(api, content, action="suppress", channel="email", reason="bounced")
    assert result == {"action": "suppress", "rows": 5, "matched": 3, "not_found": 1, "invalid": 1, "affected": 2}
    leads = await leads_of(db, tenant.workspace_id)
    assert [leads[f"s{n}@example.com"].suppressed_email for n in range(3)] == ["bounced", "bounced", None]
    assert leads["s0@example.com"].consent_email == "granted"  # suppress leaves consent alone
    assert await suppressions(db, tenant.workspace_id) == {
        ("email", sha("s0@example.com"), "bounced"),
        ("email", sha("s1@example.com"), "bounced"),
        ("email", sha("ghost@example.com"), "bounced"),
    }
    assert ("field_changed", {"field": "suppressed_email", "from": None, "to": "bounced"}) in await events(
        db, leads["s0@example.com"].id
    )
    theirs = await leads_of(db, other.workspace_id)
    assert theirs["s0@example.com"].suppressed_email is None
    assert await suppressions(db, other.workspace_id) == set()

    again = await bulk_file(api, content, action="suppress", channel="email", reason="bounced")
    assert again["affected"] == 0 and again["matched"] == 3  # nothing left to change, no duplicate entries
    assert len(await suppressions(db, tenant.workspace_id)) == 3

    async with db() as session:
        audit = (
            await session.execute(
                text("SELECT after FROM audit_log WHERE action = 'lead.bulk_file_suppress' ORDER BY id")
            )
        ).scalars()
        first = next(iter(audit))
    assert first["affected"] == 2 and first["channel"] == "email" and first["reason"] == "bounced"
    assert first["filename"] == "list.csv"


async def test_unsubscribe_sms_from_a_plain_list_of_local_phones(api, db, tenant):
    await api.patch("/api/workspaces/current", json={"default_region": "FR"})
    lead = (await api.post("/api/leads", json={"phone": "+33612345678", "consent_sms": "granted"})).json()
    emailed = (await api.post("/api/leads", json={"email": "mail@example.com", "phone": "+33699887766"})).json()
    content = b"06 12 34 56 78\n\n+33 6 99 88 77 66\n06 50 12 34 56\n12\nmail@example.com\n"
    result = await bulk_file(api, content, name="phones.txt", action="unsubscribe", channel="sms")
    # Rows: 2 phones of leads, 1 valid phone of nobody, 1 not a phone, and an email matched by its email column.
    assert result == {"action": "unsubscribe", "rows": 5, "matched": 3, "not_found": 1, "invalid": 1, "affected": 2}
    leads = await leads_of(db, tenant.workspace_id)
    first = leads["+33612345678"]
    assert (first.suppressed_sms, first.consent_sms) == ("unsubscribed", "denied")
    assert first.suppressed_email is None and first.consent_email == "unknown"
    assert (leads["mail@example.com"].suppressed_sms, leads["mail@example.com"].consent_sms) == (
        "unsubscribed",
        "denied",
    )
    assert await suppressions(db, tenant.workspace_id) == {
        ("sms", sha("+33612345678"), "unsubscribed"),
        ("sms", sha("+33699887766"), "unsubscribed"),  # listed and the phone of the lead found by email
        ("sms", sha("+33650123456"), "unsubscribed"),
    }
    assert [e for e in await events(db, lead["id"]) if e[0] == "field_changed"] == [
        ("field_changed", {"field": "suppressed_sms", "from": None, "to": "unsubscribed"}),
        ("field_changed", {"field": "consent_sms", "from": "granted", "to": "denied"}),
    ]
    assert emailed["id"] == leads["mail@example.com"].id


async def test_tag_from_an_xlsx_with_the_email_in_the_second_column(api, db, tenant, tmp_path: Path):
    await make_leads(db, 4, prefix="t")
    other = await make_tenant(db, "Globex", "admin@globex.test")
    await make_leads(db, 2, prefix="t", workspace_id=other.workspace_id)
    path = tmp_path / "tag.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for row, cells in enumerate([["Name", "E-mail"], ["a", "t0@example.com"], ["b", "t1@example.com"], ["c", "x"]]):
        for column, value in enumerate(cells):
            sheet.write_string(row, column, value)
    book.close()
    result = await bulk_file(api, path.read_bytes(), name="tag.xlsx", action="tag", tag=" VIP ")
    assert result == {"action": "tag", "rows": 3, "matched": 2, "not_found": 0, "invalid": 1, "affected": 2}
    leads = await leads_of(db, tenant.workspace_id)
    assert [leads[f"t{n}@example.com"].tags for n in range(4)] == [["vip"], ["vip"], [], []]
    assert ("tagged", {"tags": ["vip"]}) in await events(db, leads["t0@example.com"].id)
    assert all(lead.tags == [] for lead in (await leads_of(db, other.workspace_id)).values())
    again = await bulk_file(api, path.read_bytes(), name="tag.xlsx", action="tag", tag="vip")
    assert again["affected"] == 0
    assert await suppressions(db, tenant.workspace_id) == set()


async def test_delete_keeps_the_suppression_of_a_suppressed_lead_for_later_imports(app, api, worker, db, tenant):
    [kept_out] = await make_leads(db, 1, prefix="quiet", suppressed_email="complained", consent_email="denied")
    await make_leads(db, 2, prefix="d")
    other = await make_tenant(db, "Globex", "admin@globex.test")
    await make_leads(db, 1, prefix="quiet", workspace_id=other.workspace_id)
    content = b"email\nquiet0@example.com\nd0@example.com\nunknown@example.com\n"
    result = await bulk_file(api, content, action="delete")
    assert result == {"action": "delete", "rows": 3, "matched": 2, "not_found": 1, "invalid": 0, "affected": 2}
    assert set(await leads_of(db, tenant.workspace_id)) == {"d1@example.com"}
    assert set(await leads_of(db, other.workspace_id)) == {"quiet0@example.com"}
    assert await suppressions(db, tenant.workspace_id) == {("email", sha("quiet0@example.com"), "complained")}
    assert await events(db, kept_out) == []

    # The import code finds the entry: the address comes back suppressed.
    upload = await api.post("/api/imports", files={"file": ("back.csv", b"email\nquiet0@example.com\n", "text/csv")})
    assert upload.status_code == 201, upload.text
    started = await api.post(f"/api/imports/{upload.json()['id']}/start", json={"mapping": ["email"]})
    assert started.status_code == 202, started.text

    async def imported():
        return (await leads_of(db, tenant.workspace_id)).get("quiet0@example.com")

    lead = await eventually(imported, timeout=60)
    assert lead.suppressed_email == "complained"


async def test_bad_input_is_refused_with_the_field(app, api, settings, tenant, db):
    missing_tag = await bulk_file(api, b"a@example.com\n", action="tag", status=422)
    assert missing_tag["field"] == "tag"
    bad_action = await bulk_file(api, b"a@example.com\n", action="explode", status=422)
    assert bad_action["field"] == "action"
    bad_channel = await bulk_file(api, b"a@example.com\n", action="suppress", channel="fax", status=422)
    assert bad_channel["field"] == "channel"
    empty = await bulk_file(api, b"", action="delete", status=422)
    assert empty["field"] == "file"
    binary = await bulk_file(api, b"\x00\x01\x02garbage\x00" * 50, action="delete", status=422)
    assert binary["field"] == "file"
    broken_xlsx = await bulk_file(api, b"PK\x03\x04not really a zip", name="x.xlsx", action="delete", status=422)
    assert broken_xlsx["field"] == "file"
    no_file = await api.post("/api/leads/bulk-file", data={"action": "delete"})
    assert (no_file.status_code, no_file.json()["field"]) == (422, "file")
    settings.import_max_bytes = 10
    too_big = await bulk_file(api, b"someone@example.com\n", action="delete", status=413)
    assert too_big["field"] == "file"

    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        response = await client.post(
            "/api/leads/bulk-file", files={"file": ("a.csv", b"a@example.com\n")}, data={"action": "delete"}
        )
    assert response.status_code == 403
