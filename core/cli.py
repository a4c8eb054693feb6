"""The `herald` command: run | api | worker | migrate | demo | openapi."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from core.logging import configure_logging
from core.settings import get_settings


def _cmd_run(_: argparse.Namespace) -> int:
    from core.stack import run_stack

    try:
        return asyncio.run(run_stack(get_settings()))
    except KeyboardInterrupt:
        return 0


def _cmd_api(_: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning")
    return 0


def _cmd_worker(_: argparse.Namespace) -> int:
    from workers.main import run_worker

    asyncio.run(run_worker(get_settings()))
    return 0


def _cmd_migrate(_: argparse.Namespace) -> int:
    from core.db import run_migrations
    from core.embedded import database_url_or_embedded

    settings = get_settings()
    with database_url_or_embedded(settings.database_url, settings.data_dir) as url:
        asyncio.run(run_migrations(url))
    print("database schema is up to date")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.db import create_engine, run_migrations, session_factory
    from core.demo import load_demo
    from core.embedded import database_url_or_embedded

    async def load(url: str) -> bool:
        await run_migrations(url)
        engine = create_engine(url, pool_size=2)
        try:
            return await load_demo(session_factory(engine), lead_count=args.leads)
        finally:
            await engine.dispose()

    settings = get_settings()
    with database_url_or_embedded(settings.database_url, settings.data_dir) as url:
        loaded = asyncio.run(load(url))
    print("demo data loaded" if loaded else "demo data is already there; nothing changed")
    return 0


def _cmd_openapi(args: argparse.Namespace) -> int:
    from api.openapi_export import export_openapi

    export_openapi(Path(args.output))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="herald", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole embedded stack (what `make run` calls)").set_defaults(
        func=_cmd_run
    )
    commands.add_parser("api", help="serve the API and the built UI").set_defaults(func=_cmd_api)
    commands.add_parser("worker", help="run the Temporal worker").set_defaults(func=_cmd_worker)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)
    demo = commands.add_parser("demo", help="load the demo data (once)")
    demo.add_argument("--leads", type=int, default=1000)
    demo.set_defaults(func=_cmd_demo)
    openapi = commands.add_parser("openapi", help="write the OpenAPI schema")
    openapi.add_argument("output", nargs="?", default="ui/openapi.json")
    openapi.set_defaults(func=_cmd_openapi)
    args = parser.parse_args(argv)
    configure_logging(get_settings().log_level)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
