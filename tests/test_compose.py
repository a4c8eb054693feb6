"""docker-compose.yml describes the production stack; no Docker engine runs here, so check its structure."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_describes_the_production_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"temporal", "temporal-ui", "app-db", "minio", "api", "worker", "migrate"} <= set(services)
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert [services[name]["command"] for name in ("api", "worker", "migrate")] == [
        ["herald", "api"],
        ["herald", "worker"],
        ["herald", "migrate"],
    ]
    mounted = " ".join(str(v) for v in services["temporal"].get("volumes", []))
    assert "temporal-config" in mounted
