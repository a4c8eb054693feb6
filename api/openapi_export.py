"""Writes the OpenAPI schema to a file; the UI generates its typed client from it."""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import Settings


def export_openapi(path: Path) -> None:
    from api.main import create_app

    settings = Settings(database_url="postgresql://unused@127.0.0.1/unused")
    schema = create_app(settings).openapi()
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
