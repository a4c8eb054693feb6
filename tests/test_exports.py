"""Lead exports: CSV/XLSX/JSON with chosen columns, formula neutralising, selections, scoping, the workflow path."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text
from temporalio.client import WorkflowFailureError

from models.payloads.imports import ExportInput
from tests.conftest import client_for, make_tenant
from tests.factories import make_leads
from tests.helpers import eventually

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@SUM(A1:A2)", "\tTab", "\rReturn"]
TODAY = datetime.now(UTC).date().isoformat()
HISTORIES = Path(__file__).parent / "histories"


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "CSV exports start with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def read_xlsx(content: bytes, tmp_path: Path) -> list[list]:
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        return [list(row) for row in workbook.get_sheet_by_index(0).iter_rows()]
    finally:
        workbook.close()


async def export(api, body: dict, status: int = 200):
    response = await api.post("/api/leads/export", json=body)
    assert response.status_code == status, response.text
    return response


async def exported_ids(api, **selection) -> list[int]:
    response = await export(api, {"format": "json", "columns": ["id"], **selection})
    return [row["id"] for row in response.json()]


async def make_rich_lead(api, owner_id: int) -> dict:
    for key, type_ in (("plan", "text"), ("seats", "number")):
        field = await api.post("/api/custom-fields", json={"key": key, "label": key.title(), "type": type_})
        assert field.status_code == 201, field.text
    created = await api.post(
        "/api/leads",
        json={
            "email": "zoe@example.com",
            "first_name": "Zoé",
            "last_name": "Lefèvre",
            "score": 42,
            "tags": ["vip", "b2b"],
            "owner_id": owner_id,
            "custom_fields": {"plan": "pro", "seats": 12},
        },
    )
    assert created.status_code == 201, created.text
    return created.json()


async def test_csv_json_and_xlsx_hold_the_chosen_columns(api, tenant, tmp_path):
    lead = await make_rich_lead(api, tenant.admin_id)
    columns = [
        "email",
        "first_name",
        "last_name",
        "tags",
        "owner",
        "score",
        "custom.plan",
        "custom.seats",
        "created_at",
    ]

    response = await export(api, {"format": "csv", "columns": columns})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="leads-{TODAY}.csv"'
    rows = read_csv(response.content)
    assert rows[0] == columns
    assert rows[1][:8] == ["zoe@example.com", "Zoé", "Lefèvre", "b2b, vip", "admin@acme.test", "42", "pro", "12"]
    assert datetime.fromisoformat(rows[1][8]) == datetime.fromisoformat(lead["created_at"])
    assert len(rows) == 2

    response = await export(api, {"format": "json", "columns": columns})
    assert response.headers["content-disposition"] == f'attachment; filename="leads-{TODAY}.json"'
    [item] = response.json()
    assert list(item) == columns
    assert item | {"created_at": None} == {
        "email": "zoe@example.com",
        "first_name": "Zoé",
        "last_name": "Lefèvre",
        "tags": "b2b, vip",
        "owner": "admin@acme.test",
        "score": 42,
        "custom.plan": "pro",
        "custom.seats": 12,
        "created_at": None,
    }

    response = await export(api, {"format": "xlsx", "columns": columns})
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == f'attachment; filename="leads-{TODAY}.xlsx"'
    sheet = read_xlsx(response.content, tmp_path)
    assert sheet[0] == columns
    assert sheet[1][:8] == ["zoe@example.com", "Zoé", "Lefèvre", "b2b, vip", "admin@acme.test", 42, "pro", 12]
    created = datetime.fromisoformat(lead["created_at"]).astimezone(UTC).replace(tzinfo=None)
    assert abs((sheet[1][8] - created).total_seconds()) < 0.01  # a real date cell, in UTC

    default = read_csv((await export(api, {"format": "csv"})).content)
    assert default[0][:3] == ["id", "email", "phone"] and default[1][0] == str(lead["id"])

    catalogue = (await api.get("/api/exports/columns")).json()
    ids = [c["id"] for c in catalogue]
    assert ids[:3] == ["id", "email", "phone"] and {"owner", "custom.plan", "custom.seats"} <= set(ids)
    # The catalogue marks the columns an export has by default: the header of the default export above.
    assert [c["id"] for c in catalogue if c["default"]] == default[0]


async def test_formula_cells_get_a_leading_apostrophe_in_csv_and_xlsx(api, db, tenant, tmp_path):
    for index, value in enumerate(FORMULAS):
        await make_leads(db, 1, prefix=f"f{index}-", company=value, job_title="-2", source=value)
    columns = ["company", "source", "score", "job_title"]
    expected = sorted("'" + value for value in FORMULAS)

    rows = read_csv((await export(api, {"format": "csv", "columns": columns})).content)
    assert sorted(row[0] for row in rows[1:]) == expected
    assert sorted(row[1] for row in rows[1:]) == expected
    assert {row[2] for row in rows[1:]} == {"0"} and {row[3] for row in rows[1:]} == {"'-2"}

    sheet = read_xlsx((await export(api, {"format": "xlsx", "columns": columns})).content, tmp_path)
    assert sorted(row[0] for row in sheet[1:]) == expected
    assert sorted(row[1] for row in sheet[1:]) == expected
    assert {row[2] for row in sheet[1:]} == {0} and {row[3] for row in sheet[1:]} == {"'-2"}

    items = (await export(api, {"format": "json", "columns": columns})).json()
    assert sorted(item["company"] for item in items) == sorted(FORMULAS)  # JSON keeps the raw values


async def test_selection_by_filter_list_ids_and_search(app, api, db, tenant):
    low = await make_leads(db, 3, prefix="low", score=10)
    high = await make_leads(db, 2, prefix="high", score=90)
    other = await make_tenant(db, "Globex", "admin@globex.test")
    theirs = await make_leads(db, 2, prefix="globex", workspace_id=other.workspace_id, score=90)

    assert sorted(await exported_ids(api)) == sorted(low + high)
    scored = {"combinator": "and", "rules": [{"field": "score", "operator": ">", "value": 50}]}
    assert await exported_ids(api, filter=scored) == high
    assert await exported_ids(api, lead_ids=[low[0], high[1], *theirs]) == [low[0], high[1]]
    assert await exported_ids(api, search="high1") == [high[1]]
    assert await exported_ids(api, filter=scored, search="high0") == [high[0]]

    static = (await api.post("/api/lists", json={"name": "Picked", "lead_ids": [low[1], high[0]]})).json()
    assert await exported_ids(api, list_id=static["id"]) == [low[1], high[0]]
    dynamic = (await api.post("/api/lists", json={"name": "Hot", "kind": "dynamic", "filter": scored})).json()
    assert await exported_ids(api, list_id=dynamic["id"]) == high
    hybrid = await api.post(
        "/api/lists",
        json={"name": "Mixed", "kind": "hybrid", "filter": scored, "lead_ids": [low[2]], "exclude_lead_ids": [high[0]]},
    )
    assert await exported_ids(api, list_id=hybrid.json()["id"]) == [low[2], high[1]]

    async with client_for(app, other.admin_key) as globex:
        response = await globex.post("/api/leads/export", json={"format": "json", "columns": ["id"]})
        assert sorted(row["id"] for row in response.json()) == sorted(theirs)
        foreign_list = await globex.post("/api/leads/export", json={"format": "csv", "list_id": static["id"]})
        assert (foreign_list.status_code, foreign_list.json()["field"]) == (422, "list_id")

    async with db() as session:
        audit = (
            await session.execute(
                text("SELECT after FROM audit_log WHERE action = 'leads.exported' AND workspace_id = :w ORDER BY id"),
                {"w": tenant.workspace_id},
            )
        ).scalars()
        entries = list(audit)
    assert entries[0]["format"] == "json" and entries[0]["count"] == 5
    assert entries[2]["lead_ids"] == 4 and entries[2]["count"] == 2  # the count of ids asked, the count exported


async def test_bad_requests_name_the_field(api, tenant):
    unknown = await export(api, {"format": "csv", "columns": ["email", "shoe_size"]}, status=422)
    assert unknown.json()["field"] == "columns[1]"
    custom = await export(api, {"format": "csv", "columns": ["custom.nope"]}, status=422)
    assert custom.json()["field"] == "columns[0]"
    twice = await export(api, {"format": "csv", "columns": ["email", "id", "email"]}, status=422)
    assert twice.json()["field"] == "columns[2]"
    empty = await export(api, {"format": "csv", "columns": []}, status=422)
    assert empty.json()["field"] == "columns"
    both = await export(api, {"format": "csv", "lead_ids": [1], "list_id": 3}, status=422)
    assert both.json()["field"] == "lead_ids"
    bad_filter = {"combinator": "and", "rules": [{"field": "shoe_size", "operator": "=", "value": 1}]}
    response = await export(api, {"format": "csv", "filter": bad_filter}, status=422)
    assert response.json()["field"].startswith("filter.rules[0]")
    fmt = await export(api, {"format": "pdf"}, status=422)
    assert fmt.json()["field"] == "format"
    missing = await export(api, {"format": "csv", "list_id": 999999}, status=422)
    assert missing.json()["field"] == "list_id"


async def test_large_export_runs_as_a_workflow_and_downloads(app, api, worker, settings, db, tenant):
    settings.export_stream_max_rows = 5
    ids = await make_leads(db, 10, prefix="big")
    other = await make_tenant(db, "Globex", "admin@globex.test")
    await make_leads(db, 3, prefix="globex", workspace_id=other.workspace_id)
    columns = ["id", "email", "first_name"]

    response = await export(api, {"format": "csv", "columns": columns}, status=202)
    queued = response.json()
    assert queued["status"] in ("queued", "running", "ready") and queued["format"] == "csv"
    assert queued["workflow_id"] == f"export-{queued['id']}"

    async def ready():
        current = (await api.get(f"/api/exports/{queued['id']}")).json()
        assert current["status"] != "failed", current
        return current if current["status"] == "ready" else None

    done = await eventually(ready, timeout=60)
    assert done["row_count"] == 10 and done["download_url"] == f"/api/exports/{queued['id']}/download"
    download = await api.get(done["download_url"])
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"] == f'attachment; filename="leads-{TODAY}.csv"'
    rows = read_csv(download.content)
    assert rows[0] == columns
    assert [int(row[0]) for row in rows[1:]] == ids
    assert [row[1] for row in rows[1:]] == [f"big{n}@example.com" for n in range(10)]
    assert (Path(settings.storage_root) / f"exports/{tenant.workspace_id}/{queued['id']}/leads.csv").is_file()

    listed = (await api.get("/api/exports")).json()
    assert [e["id"] for e in listed] == [queued["id"]]
    async with client_for(app, other.admin_key) as globex:
        assert (await globex.get(f"/api/exports/{queued['id']}")).status_code == 404
        assert (await globex.get(f"/api/exports/{queued['id']}/download")).status_code == 404
        assert (await globex.get("/api/exports")).json() == []

    # JSON through the workflow as well, for a selection (6 of the 10 leads: still more than 5).
    response = await api.post("/api/leads/export", json={"format": "json", "columns": ["id"], "lead_ids": ids[:6]})
    assert response.status_code == 202, response.text
    json_id = response.json()["id"]
    await eventually(lambda: _status_is(api, json_id, "ready"), timeout=60)
    assert [row["id"] for row in (await api.get(f"/api/exports/{json_id}/download")).json()] == ids[:6]


async def _status_is(api, export_id: int, status: str) -> bool:
    return (await api.get(f"/api/exports/{export_id}")).json()["status"] == status


async def test_download_waits_for_ready_and_failures_are_recorded(api, worker, temporal_client, settings, db, tenant):
    async with db() as session:
        export_id = (
            await session.execute(
                text(
                    "INSERT INTO exports (workspace_id, format, columns, selection, status, created_at) "
                    "VALUES (:w, 'csv', '[\"id\"]', CAST(:sel AS jsonb), 'queued', now()) RETURNING id"
                ),
                {"w": tenant.workspace_id, "sel": json.dumps({"list_id": 987654})},
            )
        ).scalar_one()
        await session.commit()
    early = await api.get(f"/api/exports/{export_id}/download")
    assert (early.status_code, early.json()["code"]) == (409, "not_ready")

    handle = await temporal_client.start_workflow(
        "ExportWorkflow",
        ExportInput(export_id=export_id, workspace_id=tenant.workspace_id),
        id=f"export-{export_id}",
        task_queue=settings.temporal_task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    failed = (await api.get(f"/api/exports/{export_id}")).json()
    assert failed["status"] == "failed" and "list 987654 no longer exists" in failed["error"]
    assert failed["download_url"] is None
    assert (await api.get(f"/api/exports/{export_id}/download")).status_code == 409


async def test_download_redirects_to_a_presigned_url_when_storage_offers_one(app, api, worker, settings, db, tenant):
    settings.export_stream_max_rows = 1
    await make_leads(db, 2, prefix="s3")
    queued = (await export(api, {"format": "xlsx", "columns": ["email"]}, status=202)).json()
    await eventually(lambda: _status_is(api, queued["id"], "ready"), timeout=60)

    storage = app.state.storage
    seen = {}

    class Presigning:
        def __getattr__(self, name):
            return getattr(storage, name)

        def presigned_get_url(self, key, expires, download_name=None):
            seen.update(key=key, name=download_name, seconds=expires.total_seconds())
            return f"https://s3.example/{key}?signature=x"

    app.state.storage = Presigning()
    try:
        response = await api.get(f"/api/exports/{queued['id']}/download")
    finally:
        app.state.storage = storage
    assert response.status_code == 307
    key = f"exports/{tenant.workspace_id}/{queued['id']}/leads.xlsx"
    assert response.headers["location"] == f"https://s3.example/{key}?signature=x"
    assert seen == {"key": key, "name": f"leads-{TODAY}.xlsx", "seconds": 900}


async def test_viewers_may_export(app, db, tenant):
    from domain.permissions import Role
    from tests.conftest import make_key

    await make_leads(db, 2, prefix="v")
    key = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, key) as viewer:
        response = await viewer.post("/api/leads/export", json={"format": "json", "columns": ["email"]})
    assert response.status_code == 200
    assert sorted(row["email"] for row in response.json()) == ["v0@example.com", "v1@example.com"]


@pytest.mark.skipif(os.environ.get("HERALD_RECORD_HISTORIES") != "1", reason="set HERALD_RECORD_HISTORIES=1 to record")
async def test_record_export_histories(api, worker, temporal_client, settings, db, tenant):
    """Writes tests/histories/ExportWorkflow-{ready,failed}.json, replayed by tests/test_replay.py."""
    settings.export_stream_max_rows = 1
    await make_leads(db, 3, prefix="h")
    queued = (await export(api, {"format": "csv", "columns": ["id", "email"]}, status=202)).json()
    await temporal_client.get_workflow_handle(queued["workflow_id"]).result()
    async with db() as session:
        missing_list = (
            await session.execute(
                text(
                    "INSERT INTO exports (workspace_id, format, columns, selection, status, created_at) "
                    "VALUES (:w, 'json', '[\"id\"]', '{\"list_id\": 987654}', 'queued', now()) RETURNING id"
                ),
                {"w": tenant.workspace_id},
            )
        ).scalar_one()
        await session.commit()
    failed = await temporal_client.start_workflow(
        "ExportWorkflow",
        ExportInput(export_id=missing_list, workspace_id=tenant.workspace_id),
        id=f"export-{missing_list}",
        task_queue=settings.temporal_task_queue,
    )
    with pytest.raises(WorkflowFailureError):
        await failed.result()
    for workflow_id, name in ((queued["workflow_id"], "ready"), (f"export-{missing_list}", "failed")):
        history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"ExportWorkflow-{name}.json").write_text(history.to_json())
