"""The UI's typed client is generated from ui/openapi.json: it must match what the API serves."""

import json
from pathlib import Path

from api.openapi_export import export_openapi

COMMITTED = Path(__file__).resolve().parent.parent / "ui" / "openapi.json"


def test_committed_openapi_schema_is_current(tmp_path):
    fresh = tmp_path / "openapi.json"
    export_openapi(fresh)
    assert json.loads(fresh.read_text()) == json.loads(COMMITTED.read_text()), (
        "ui/openapi.json is stale: run `.venv/bin/herald openapi` and rebuild the UI"
    )
