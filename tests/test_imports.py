"""Lead imports end to end: upload → preview → mapping → ImportWorkflow on a real worker → leads, counts, report."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select, text

from models.leads import Lead, LeadEvent
from tests.factories import make_leads
from tests.helpers import eventually

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


async def upload(api, name: str, content: bytes | None = None):
    data = content if content is not None else (FIXTURES / name).read_bytes()
    return await api.post("/api/imports", files={"file": (name, data, "application/octet-stream")})


async def run_import(api, import_id: int, body: dict, *, expect: str = "completed", timeout: float = 60) -> dict:
    started = await api.post(f"/api/imports/{import_id}/start", json=body)
    assert started.status_code == 202, started.text

    async def finished():
        progress = (await api.get(f"/api/imports/{import_id}/progress")).json()
        return progress if progress["status"] in ("completed", "failed", "cancelled") else None

    progress = await eventually(finished, timeout=timeout)
    assert progress["status"] == expect, progress
    return progress


async def leads_by_email(db, workspace_id: int) -> dict[str, Lead]:
    async with db() as session:
        rows = (await session.execute(select(Lead).where(Lead.workspace_id == workspace_id))).scalars().all()
        return {lead.email: lead for lead in rows}


def simple_csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


async def test_messy_csv_is_previewed_mapped_imported_and_reported(api, worker, db, tenant):
    response = await upload(api, "messy_semicolon_bom.csv")
    assert response.status_code == 201, response.text
    preview = response.json()
    assert (preview["kind"], preview["encoding"], preview["delimiter"]) == ("csv", "utf-8-sig", ";")
    # BOM gone, repeated header renamed, trailing empty columns dropped.
    assert preview["headers"] == [
        "E-mail", "First name", "Last name", "Company", "Signup date", "Score", "Phone", "Notes", "E-mail (2)",
    ]  # fmt: skip
    assert len(preview["rows"]) == 20
    assert preview["rows"][4][7] == "first line\nsecond line"  # a quoted newline stays inside its cell
    targets = [s["target"] for s in preview["suggestions"]]
    assert targets[:4] == ["email", "first_name", "last_name", "company"]
    assert targets[5:7] == ["score", "phone"]
    assert preview["suggestions"][4]["new_custom_field"]["type"] == "date"

    mapping = targets[:]
    body = {
        "mapping": mapping,
        "new_custom_fields": [
            {"column": 4, "key": "signup_date", "label": "Signup date", "type": "date"},
            {"column": 7, "key": "notes", "label": "Notes", "type": "text"},
        ],
        "options": {"dedupe_key": "email", "tags": ["fair-2024"], "default_region": "FR"},
    }
    progress = await run_import(api, preview["id"], body)
    counts = progress["counts"]
    # 40 data rows (blank lines are not rows): row 7 bad email, row 19 bad score, row 33 repeats row 3's email.
    assert counts == {
        "total_rows": 44, "rows_read": 40, "imported": 37, "updated": 0, "skipped": 1, "rejected": 2, "reported": 3,
    }  # fmt: skip
    leads = await leads_by_email(db, tenant.workspace_id)
    assert len(leads) == 37
    person5 = leads["person5@example.org"]  # domain lower-cased
    assert person5.first_name == "Zoë5" and person5.last_name == "Müller"
    assert person5.custom_fields["notes"] == "first line\nsecond line"
    assert person5.phone == "+33612345605" and person5.country == "FR" and person5.timezone == "Europe/Paris"
    assert person5.tags == ["fair-2024"]
    # Mixed date formats, day first (the file has 25/12/2023): ISO, d/m/Y, "5 Mar 2024", "March 5, 2024".
    assert leads["person1@example.org"].custom_fields["signup_date"] == "2023-12-25"
    assert leads["person2@example.org"].custom_fields["signup_date"] == "2024-03-05"
    assert leads["person3@example.org"].custom_fields["signup_date"] == "2024-03-05"
    assert leads["person4@example.org"].custom_fields["signup_date"] == "2024-02-01"
    assert leads["person5@example.org"].custom_fields["signup_date"] == "2024-03-05"
    async with db() as session:
        created = (
            await session.execute(select(LeadEvent).where(LeadEvent.lead_id == person5.id, LeadEvent.type == "created"))
        ).scalar_one()
        assert created.data == {"source": "import", "import_id": preview["id"]}

    report = await api.get(f"/api/imports/{preview['id']}/errors.csv")
    assert report.status_code == 200
    assert "attachment" in report.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["row", "fields", "reasons", "E-mail"]
    by_row = {int(r[0]): r for r in rows[1:]}
    # Row numbers are the file's own (header = 1; the blank lines after rows 10 and 20 count).
    assert set(by_row) == {8, 22, 38}
    assert by_row[8][1] == "email" and "not an email address" in by_row[8][2]
    assert by_row[22][1] == "score" and by_row[22][3] == "person19@Example.org"
    assert by_row[38][1] == "email" and "duplicate of row 4" in by_row[38][2]


async def test_cp1252_utf16_and_xlsx_second_sheet(api, worker, db, tenant):
    cp = (await upload(api, "cp1252_accents.csv")).json()
    assert cp["encoding"] == "cp1252"
    await run_import(api, cp["id"], {"mapping": [s["target"] for s in cp["suggestions"]]})
    utf16 = (await upload(api, "utf16_tabs.csv")).json()
    assert (utf16["encoding"], utf16["delimiter"]) == ("utf-16", "\t")
    await run_import(api, utf16["id"], {"mapping": ["email", "first_name", "ignore"]})

    book = (await upload(api, "two_sheets.xlsx")).json()
    assert book["kind"] == "xlsx" and book["sheets"] == ["Notes", "Leads"]
    assert book["headers"] == ["This sheet is not the leads"]
    second = await api.get(f"/api/imports/{book['id']}/preview", params={"sheet": "Leads"})
    assert second.status_code == 200, second.text
    sheet = second.json()
    assert sheet["sheet"] == "Leads" and sheet["rows"][0][:4] == ["kim@example.kr", "Kim", "1250.5", "2024-01-31"]
    types = [(s["new_custom_field"] or {}).get("type") for s in sheet["suggestions"]]
    assert types[2:5] == ["number", "date", "boolean"]
    progress = await run_import(
        api,
        book["id"],
        {
            "mapping": ["email", "first_name", "ignore", "ignore", "ignore", "phone"],
            "new_custom_fields": [
                {"column": 2, "key": "revenue", "label": "Revenue", "type": "number"},
                {"column": 3, "key": "signed", "label": "Signed", "type": "date"},
                {"column": 4, "key": "active", "label": "Active", "type": "boolean"},
            ],
        },
    )
    assert progress["counts"]["imported"] == 2 and progress["counts"]["rejected"] == 1  # park@example
    leads = await leads_by_email(db, tenant.workspace_id)
    assert leads["rene@example.fr"].company == "Café Crème"
    assert leads["jurgen@example.de"].company == "Bäckerei €uro" and leads["jurgen@example.de"].last_name == "Größe"
    assert leads["ødegaard@example.no"].first_name == "Martin"
    kim = leads["kim@example.kr"]
    assert kim.custom_fields == {"revenue": 1250.5, "signed": "2024-01-31", "active": True}
    assert kim.phone == "+8223123456" and kim.timezone == "Asia/Seoul"
    assert leads["lee@example.kr"].custom_fields == {"revenue": 99, "signed": "2023-07-04", "active": False}


@pytest.mark.parametrize(
    ("policy", "expected_company", "expected_first", "expected_status", "counts"),
    [
        ("skip", "Old Co", "", "new", {"imported": 1, "updated": 0, "skipped": 1, "rejected": 0, "reported": 0}),
        ("update_empty", "Old Co", "Filled", "new", {"imported": 1, "updated": 1, "skipped": 0, "rejected": 0}),
        ("overwrite", "New Co", "Filled", "qualified", {"imported": 1, "updated": 1, "skipped": 0, "rejected": 0}),
    ],
)
async def test_duplicate_policies(api, worker, db, tenant, policy, expected_company, expected_first, expected_status,
                                  counts):  # fmt: skip
    [lead_id] = await make_leads(db, 1, prefix="known", workspace_id=tenant.workspace_id, company="Old Co")
    async with db() as session:
        await session.execute(text("UPDATE leads SET first_name = '' WHERE id = :id"), {"id": lead_id})
        await session.commit()
    content = simple_csv(
        ["email,first_name,company,status", "known0@EXAMPLE.com,Filled,New Co,qualified", "fresh@example.com,F,C,new"]
    )
    preview = (await upload(api, "dupes.csv", content)).json()
    progress = await run_import(
        api, preview["id"], {"mapping": ["email", "first_name", "company", "status"],
                             "options": {"on_duplicate": policy}}
    )  # fmt: skip
    assert {k: progress["counts"][k] for k in counts} == counts
    async with db() as session:
        lead = await session.get(Lead, lead_id)
        assert (lead.company, lead.first_name, lead.status) == (expected_company, expected_first, expected_status)
        status_events = (
            (
                await session.execute(
                    select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.type == "status_changed")
                )
            )
            .scalars()
            .all()
        )
        assert [e.data for e in status_events] == (
            [{"from": "new", "to": "qualified"}] if policy == "overwrite" else []
        )
        total = (await session.execute(text("SELECT count(*) FROM leads WHERE workspace_id = :w"),
                                       {"w": tenant.workspace_id})).scalar_one()  # fmt: skip
        assert total == 2


async def test_phone_key_and_list_and_consent(api, worker, db, tenant):
    lst = (await api.post("/api/lists", json={"name": "Fair visitors", "kind": "static"})).json()
    content = simple_csv(
        ["phone,email", "+33 6 11 22 33 44,a@example.com", "06 11 22 33 44,b@example.com", "123,c@x.io"]
    )
    preview = (await upload(api, "phones.csv", content)).json()
    consent = {"channels": ["sms"], "source": "fair stand", "wording": "Yes, text me offers"}
    progress = await run_import(
        api,
        preview["id"],
        {
            "mapping": ["phone", "email"],
            "options": {"dedupe_key": "phone", "default_region": "FR", "list_id": lst["id"], "consent": consent},
        },
    )
    # Both spellings are the same number once normalised: the second row is a duplicate; 123 is no phone.
    assert progress["counts"] | {} == progress["counts"] and progress["counts"]["imported"] == 1
    assert (progress["counts"]["skipped"], progress["counts"]["rejected"]) == (1, 1)
    leads = await leads_by_email(db, tenant.workspace_id)
    lead = leads["a@example.com"]
    assert lead.phone == "+33611223344" and lead.consent_sms == "granted" and lead.consent_email == "unknown"
    assert lead.consent_details["sms"]["wording"] == "Yes, text me offers"
    members = (await api.get(f"/api/lists/{lst['id']}/members")).json()
    assert [m["id"] for m in members["items"]] == [lead.id]


async def test_suppressed_leads_are_never_resubscribed(api, worker, db, tenant):
    [known] = await make_leads(
        db, 1, prefix="gone", workspace_id=tenant.workspace_id, suppressed_email="unsubscribed", consent_email="denied"
    )
    erased = "erased@example.com"
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO suppressions (workspace_id, channel, address_hash, reason, created_at) "
                "VALUES (:w, 'email', :h, 'complained', now())"
            ),
            {"w": tenant.workspace_id, "h": hashlib.sha256(erased.encode()).hexdigest()},
        )
        await session.commit()
    content = simple_csv(["email,first_name", "gone0@example.com,Back", f"{erased},Again", "new@example.com,New"])
    preview = (await upload(api, "resub.csv", content)).json()
    consent = {"channels": ["email"], "source": "webinar", "wording": "Send me the newsletter"}
    await run_import(
        api, preview["id"],
        {"mapping": ["email", "first_name"], "options": {"on_duplicate": "overwrite", "consent": consent}},
    )  # fmt: skip
    leads = await leads_by_email(db, tenant.workspace_id)
    assert leads["gone0@example.com"].suppressed_email == "unsubscribed"
    assert leads["gone0@example.com"].consent_email == "denied"
    assert leads["gone0@example.com"].first_name == "Back"  # the data updates, the suppression stays
    assert leads[erased].suppressed_email == "complained" and leads[erased].consent_email == "unknown"
    assert leads["new@example.com"].consent_email == "granted" and leads["new@example.com"].suppressed_email is None
    assert known == leads["gone0@example.com"].id


async def test_mapping_and_options_are_validated(api, tenant):
    preview = (await upload(api, "v.csv", simple_csv(["email,name", "a@b.co,A"]))).json()
    url = f"/api/imports/{preview['id']}/start"
    cases = [
        ({"mapping": ["email"]}, "mapping"),
        ({"mapping": ["email", "shoe_size"]}, "mapping[1]"),
        ({"mapping": ["email", "email"]}, "mapping[1]"),
        ({"mapping": ["email", "custom.nope"]}, "mapping[1]"),
        ({"mapping": ["ignore", "first_name"]}, "options.dedupe_key"),
        ({"mapping": ["email", "ignore"], "options": {"on_duplicate": "merge"}}, "options.on_duplicate"),
        ({"mapping": ["email", "ignore"], "options": {"list_id": 999999}}, "options.list_id"),
        ({"mapping": ["email", "ignore"], "options": {"default_status": "hot"}}, "options.default_status"),
        (
            {
                "mapping": ["email", "ignore"],
                "new_custom_fields": [{"column": 1, "key": "Bad Key", "label": "x", "type": "text"}],
            },
            "new_custom_fields[0].key",
        ),
    ]
    for body, field in cases:
        response = await api.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, (body, response.json())
    assert (await api.get(f"/api/imports/{preview['id']}")).json()["status"] == "uploaded"


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("empty.csv", b"", 422, "empty"),
        ("elf.csv", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, 422, "binary"),
        ("php.xlsx", b"<?php system($_GET['c']); ?>\x00\x00", 422, "binary"),
        ("fake.xlsx", b"PK\x03\x04not really a zip", 422, "zip"),
        ("headers-only.csv", b"\n\n", 422, "header"),
    ],
)
async def test_hostile_or_broken_files_are_refused_and_nothing_is_stored(api, settings, name, content, status,
                                                                           message):  # fmt: skip
    response = await upload(api, name, content)
    assert response.status_code == status, response.text
    assert message in response.json()["message"].lower() and response.json()["field"] == "file"
    assert (await api.get("/api/imports")).json() == []
    stored = settings.storage_root / "imports"
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


def zip_bomb_xlsx(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + "0" * (600 << 20) + "</a>")


def entity_xlsx(path: Path) -> None:
    import zipfile

    lol = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", lol + "<sst>&lol2;</sst>")


async def test_zip_bomb_and_entity_expansion_are_refused(api, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    zip_bomb_xlsx(bomb)
    assert bomb.stat().st_size < 2 << 20
    response = await upload(api, "bomb.xlsx", bomb.read_bytes())
    assert response.status_code == 422 and "limit" in response.json()["message"]
    entities = tmp_path / "entities.xlsx"
    entity_xlsx(entities)
    response = await upload(api, "entities.xlsx", entities.read_bytes())
    assert response.status_code == 422 and "DTD" in response.json()["message"]


async def test_size_row_and_column_limits(app, api, worker, settings, db, tenant):
    settings.import_max_bytes = 2000
    response = await upload(api, "big.csv", b"email\n" + b"a@example.com\n" * 200)
    assert response.status_code == 413 and response.json()["field"] == "file"
    settings.import_max_bytes = 200 << 20
    wide = ",".join(f"c{i}" for i in range(settings.import_max_columns + 1)).encode() + b"\n"
    response = await upload(api, "wide.csv", wide + b"1\n")
    assert response.status_code == 422 and "columns" in response.json()["message"]


async def test_too_many_rows_fails_before_writing_anything(api, db, tenant, temporal_client, settings):
    from tests.conftest import running_worker

    limited = settings.model_copy(update={"import_max_rows": 5})
    async with running_worker(temporal_client, limited, db):
        content = simple_csv(["email"] + [f"r{i}@example.com" for i in range(6)])
        preview = (await upload(api, "rows.csv", content)).json()
        progress = await run_import(api, preview["id"], {"mapping": ["email"]}, expect="failed")
    assert "over the limit of 5" in progress["error"]
    assert await leads_by_email(db, tenant.workspace_id) == {}


async def test_error_report_neutralises_formula_cells(api, worker):
    content = simple_csv(["email,company", '=HYPERLINK("http://evil.example"),Acme', "+cmd|' /C calc'!A0,Acme"])
    preview = (await upload(api, "formula.csv", content)).json()
    await run_import(api, preview["id"], {"mapping": ["email", "company"]})
    report = (await api.get(f"/api/imports/{preview['id']}/errors.csv")).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(report)))[1:]
    assert [r[3] for r in rows] == ['\'=HYPERLINK("http://evil.example")', "'+cmd|' /C calc'!A0"]


async def test_upload_needs_leads_write(app, tenant, db):
    from domain.permissions import Role
    from tests.conftest import client_for, make_key

    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        response = await upload(client, "v.csv", simple_csv(["email", "a@b.co"]))
        assert response.status_code == 403


async def test_imports_are_scoped_to_the_workspace(app, api, db):
    from tests.conftest import client_for, make_tenant

    preview = (await upload(api, "mine.csv", simple_csv(["email", "a@b.co"]))).json()
    other = await make_tenant(db, "Globex", "admin@globex.test")
    async with client_for(app, other.admin_key) as client:
        assert (await client.get(f"/api/imports/{preview['id']}")).status_code == 404
        assert (await client.get(f"/api/imports/{preview['id']}/errors.csv")).status_code == 404
        assert (
            await client.post(f"/api/imports/{preview['id']}/start", json={"mapping": ["email"]})
        ).status_code == 404


class _HeartbeatThatDies:
    """Stands in for `temporalio.activity` in the import module: the N-th heartbeat raises, like a worker killed
    right after a chunk committed and before Temporal heard about it."""

    def __init__(self, real, die_at: int) -> None:
        self.real, self.die_at, self.calls = real, die_at, 0

    def heartbeat(self, *details):
        self.calls += 1
        if self.calls == self.die_at:
            raise RuntimeError("worker killed after the commit, before the heartbeat")
        return self.real.heartbeat(*details)

    def __getattr__(self, name):
        return getattr(self.real, name)


def crash_file() -> tuple[bytes, int]:
    """95 rows: 5 bad emails, 5 repeats of earlier rows; 85 distinct good leads."""
    rows = ["email,first_name,score"]
    for i in range(95):
        if i % 19 == 7:
            rows.append(f"broken-{i},Bad,{i}")
        elif i % 19 == 11:
            rows.append(f"lead{i - 5}@example.com,Again,{i}")
        else:
            rows.append(f"lead{i}@example.com,Lead {i},{i}")
    return simple_csv(rows), 85


async def test_crash_mid_import_resumes_after_the_last_committed_chunk(
    api, db, tenant, temporal_client, settings, monkeypatch
):
    from activities import import_activities
    from tests.conftest import running_worker

    dying = _HeartbeatThatDies(import_activities.activity, die_at=4)
    monkeypatch.setattr(import_activities, "activity", dying)
    small_chunks = settings.model_copy(update={"import_chunk_rows": 10})
    content, distinct = crash_file()
    async with running_worker(temporal_client, small_chunks, db):
        preview = (await upload(api, "crash.csv", content)).json()
        progress = await run_import(api, preview["id"], {"mapping": ["email", "first_name", "score"]})
    assert dying.calls > 4  # the attempt died, a second attempt finished the file
    history = await temporal_client.get_workflow_handle(f"import-{preview['id']}").fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert 2 in attempts
    assert progress["counts"] == {
        "total_rows": 95, "rows_read": 95, "imported": distinct, "updated": 0, "skipped": 5, "rejected": 5,
        "reported": 10,
    }  # fmt: skip
    leads = await leads_by_email(db, tenant.workspace_id)
    assert len(leads) == distinct
    async with db() as session:
        created_events = (
            await session.execute(text("SELECT count(*) FROM lead_events WHERE type = 'created'"))
        ).scalar_one()
        rejections = (await session.execute(text("SELECT count(*) FROM import_rejections"))).scalar_one()
    assert created_events == distinct and rejections == 10


async def test_cancel_stops_after_the_chunk_in_flight_with_exact_counts(api, db, tenant, temporal_client, settings):
    from tests.conftest import running_worker

    tiny_chunks = settings.model_copy(update={"import_chunk_rows": 10})
    content = simple_csv(["email"] + [f"c{i}@example.com" for i in range(6000)])
    async with running_worker(temporal_client, tiny_chunks, db):
        preview = (await upload(api, "long.csv", content)).json()
        assert (await api.post(f"/api/imports/{preview['id']}/start", json={"mapping": ["email"]})).status_code == 202

        async def some_rows_in():
            progress = (await api.get(f"/api/imports/{preview['id']}/progress")).json()
            return progress if progress["counts"]["rows_read"] > 0 else None

        await eventually(some_rows_in, interval=0.05)
        cancelled = await api.post(f"/api/imports/{preview['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        async def ended():
            progress = (await api.get(f"/api/imports/{preview['id']}/progress")).json()
            return progress if progress["status"] != "running" else None

        progress = await eventually(ended)
    assert progress["status"] == "cancelled"
    counts = progress["counts"]
    assert 0 < counts["rows_read"] < 6000
    assert counts["imported"] == counts["rows_read"] == len(await leads_by_email(db, tenant.workspace_id))
    again = await api.post(f"/api/imports/{preview['id']}/cancel")
    assert again.status_code == 409


async def test_schema_errors_name_list_positions_like_route_errors(api):
    preview = (await upload(api, "p.csv", simple_csv(["email", "a@b.co"]))).json()
    response = await api.post(
        f"/api/imports/{preview['id']}/start",
        json={"mapping": ["email"], "new_custom_fields": [{"column": 0, "key": "k", "label": "K", "type": "colour"}]},
    )
    assert response.status_code == 422 and response.json()["field"] == "new_custom_fields[0].type"
