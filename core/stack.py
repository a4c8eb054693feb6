"""`herald run`: the whole embedded stack in one command, stopped cleanly by Ctrl-C.

Starts what is not configured externally (PostgreSQL, Temporal, the SMTP sink), migrates, loads the demo data the
first time, then runs the worker and the API as child processes and prints the URLs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import structlog

from core.db import create_engine, run_migrations, session_factory
from core.demo import has_any_data, load_demo
from core.embedded import port_open, start_embedded_postgres, start_temporal_dev_server, wait_for_port
from core.settings import Settings
from core.smtp_sink import start_smtp_sink

log = structlog.get_logger("herald.stack")


async def run_stack(settings: Settings) -> int:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    children: list[tuple[str, subprocess.Popen]] = []
    pg_server = None
    sink = None
    engine = None
    if port_open(settings.api_host, settings.api_port):
        print(f"port {settings.api_port} is taken: is Herald already running? (set API_PORT to use another)")
        return 1
    try:
        database_url = settings.database_url
        if not database_url:
            pg_server, database_url = await asyncio.to_thread(start_embedded_postgres, data_dir)
            log.info("embedded postgres started", path=str(data_dir / "postgres"))
        env["DATABASE_URL"] = database_url
        env["DATA_DIR"] = str(data_dir)  # the API and the worker share the storage under it (uploads, exports)
        await run_migrations(database_url)

        if not settings.temporal_address:
            temporal = start_temporal_dev_server(
                data_dir,
                settings.temporal_port,
                settings.temporal_ui_port,
                settings.temporal_namespace,
                data_dir / "temporal.log",
            )
            children.append(("temporal", temporal))
            await wait_for_port("127.0.0.1", settings.temporal_port, 60, temporal)
            env["TEMPORAL_ADDRESS"] = settings.temporal_target
            env.setdefault("TEMPORAL_UI_URL", f"http://127.0.0.1:{settings.temporal_ui_port}")

        engine = create_engine(database_url, pool_size=5)
        sessions = session_factory(engine)
        if not settings.smtp_host:
            sink = await start_smtp_sink(sessions, "127.0.0.1", settings.smtp_port)
            env["SMTP_HOST"] = "127.0.0.1"
            env["SMTP_PORT"] = str(settings.smtp_port)
        login_line, workspace_id = await _ensure_admin(sessions, settings)
        async with sessions() as session:
            if not await has_any_data(session, workspace_id):
                await load_demo(session, workspace_id)
                print("Loaded the demo data: 1,000 leads, a list, a template and a draft campaign.")

        for name in ("worker", "api"):
            children.append((name, subprocess.Popen([sys.executable, "-m", "core.cli", name], env=env)))
        await _wait_for_api(settings, children)
        _print_urls(settings, env, login_line)
        return await _supervise(children)
    finally:
        await _stop_children(children)
        if sink is not None:
            sink.close()
        if engine is not None:
            await engine.dispose()
        if pg_server is not None:
            await asyncio.to_thread(pg_server.cleanup)
        print("Herald stopped.")


async def _wait_for_api(settings: Settings, children: list[tuple[str, subprocess.Popen]]) -> None:
    url = f"{settings.app_url}/api/health"
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(300):
            for name, child in children:
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {child.returncode} during start-up")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise TimeoutError(f"the API did not answer on {url}")


async def _ensure_admin(sessions, settings: Settings) -> tuple[str, int]:
    """Creates the first admin on an empty database; returns the login line to print and the admin's workspace."""
    from api.accounts import ensure_first_admin, find_user, first_workspace_of

    async with sessions() as session:
        created = await ensure_first_admin(session, settings.admin_email, settings.admin_password)
        user = await find_user(session, settings.admin_email)
        workspace_id = await first_workspace_of(session, user.id) if user else None
    if workspace_id is None:
        raise RuntimeError(f"{settings.admin_email} belongs to no workspace: `herald user create` to fix it")
    if created and created[2]:
        line = f"{settings.admin_email} / {created[2]}   (shown once: change it on the Account page)"
    elif created:
        line = f"{settings.admin_email} / the password in ADMIN_PASSWORD"
    else:
        line = f"{settings.admin_email}   (password shown at first start; reset: herald user password)"
    return line, workspace_id


def _print_urls(settings: Settings, env: dict[str, str], login_line: str) -> None:
    temporal_ui = env.get("TEMPORAL_UI_URL", settings.temporal_ui_url)
    print(
        "\n"
        "  Herald is running.\n"
        f"  App:          {settings.app_url}\n"
        f"  API docs:     {settings.app_url}/api/docs\n"
        f"  Temporal UI:  {temporal_ui}\n"
        f"  SMTP:         {env.get('SMTP_HOST')}:{env.get('SMTP_PORT', settings.smtp_port)}"
        f"{' (embedded sink: mail appears on the Outbox page)' if not settings.smtp_host else ''}\n"
        f"  Login:        {login_line}\n"
        "  Press Ctrl-C to stop.\n",
        flush=True,
    )


async def _supervise(children: list[tuple[str, subprocess.Popen]]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        for name, child in children:
            if child.poll() is not None:
                print(f"{name} exited with code {child.returncode}; stopping Herald.")
                return 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except TimeoutError:
            pass
    return 0


async def _stop_children(children: list[tuple[str, subprocess.Popen]]) -> None:
    for _, child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for _, child in reversed(children):
        try:
            await asyncio.to_thread(child.wait, 15)
        except subprocess.TimeoutExpired:
            child.kill()
