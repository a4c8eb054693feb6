"""The `herald` command: run | api | worker | migrate | demo | openapi."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from core.logging import configure_logging
from core.settings import get_settings
from domain.permissions import Role


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
    # uvloop and httptools (uvicorn[standard]); no access log: its lines are below the level anyway, and the open
    # pixel and click redirects are the app's hottest path (bench/tracking.py starts the API this same way).
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning", access_log=False
    )
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


async def _with_session(work):
    """Runs `work(session)` against the configured (or embedded) database, migrated first."""
    from core.db import create_engine, run_migrations, session_factory
    from core.embedded import database_url_or_embedded

    settings = get_settings()
    with database_url_or_embedded(settings.database_url, settings.data_dir) as url:

        async def run():
            await run_migrations(url)
            engine = create_engine(url, pool_size=2)
            try:
                async with session_factory(engine)() as session:
                    return await work(session)
            finally:
                await engine.dispose()

        return await run()


async def _workspace_or_exit(session, ref: str | None):
    from sqlmodel import col, select

    from api.accounts import create_workspace, find_workspace
    from models.workspaces import Workspace

    if ref:
        workspace = await find_workspace(session, ref)
        if workspace is None:
            raise SystemExit(f"no workspace {ref!r} (give its id or slug)")
        return workspace
    workspace = (await session.exec(select(Workspace).order_by(col(Workspace.id)))).first()
    return workspace or await create_workspace(session, "Default")


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import load_demo

    async def work(session):
        workspace = await _workspace_or_exit(session, args.workspace)
        await session.commit()
        return await load_demo(session, workspace.id, lead_count=args.leads)

    loaded = asyncio.run(_with_session(work))
    print("demo data loaded" if loaded else "demo data is already there; nothing changed")
    return 0


def _cmd_user_create(args: argparse.Namespace) -> int:
    from api.accounts import create_user, find_user, set_membership
    from api.security import generate_password

    async def work(session):
        workspace = await _workspace_or_exit(session, args.workspace)
        user = await find_user(session, args.email)
        password = None
        if user is None:
            password = args.password or generate_password()
            user = await create_user(session, args.email, password, args.name)
        await set_membership(session, user.id, workspace.id, args.role)
        await session.commit()
        return user.email, workspace.slug, None if args.password else password

    email, slug, password = asyncio.run(_with_session(work))
    print(f"{email} is {args.role} of workspace {slug}")
    if password:
        print(f"password: {password}   (shown once)")
    return 0


def _cmd_user_password(args: argparse.Namespace) -> int:
    from api.accounts import find_user, set_password
    from api.security import generate_password

    async def work(session):
        user = await find_user(session, args.email)
        if user is None:
            raise SystemExit(f"no user {args.email}")
        password = args.password or generate_password()
        await set_password(session, user, password)
        await session.commit()
        return password

    password = asyncio.run(_with_session(work))
    print(f"password of {args.email} changed; every session of the user has ended")
    if not args.password:
        print(f"new password: {password}   (shown once)")
    return 0


def _cmd_apikey_create(args: argparse.Namespace) -> int:
    from api.accounts import create_api_key

    async def work(session):
        workspace = await _workspace_or_exit(session, args.workspace)
        _key, secret = await create_api_key(session, workspace.id, args.name, args.role)
        await session.commit()
        return secret

    print(asyncio.run(_with_session(work)))
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
    commands.add_parser("up", help="same as run").set_defaults(func=_cmd_run)
    demo = commands.add_parser("demo", help="load the demo data into a workspace (once)")
    demo.add_argument("--leads", type=int, default=1000)
    demo.add_argument("--workspace", help="id or slug; default: the first workspace")
    demo.set_defaults(func=_cmd_demo)
    roles = [role.value for role in Role]
    user = commands.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a user (or add an existing one) with a role in a workspace")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--password", help="default: generated and printed once")
    create.add_argument("--workspace", help="id or slug; default: the first workspace")
    create.add_argument("--role", choices=roles, default="marketer")
    create.set_defaults(func=_cmd_user_create)
    password = user.add_parser("password", help="set a user's password (ends their sessions)")
    password.add_argument("--email", required=True)
    password.add_argument("--password", help="default: generated and printed once")
    password.set_defaults(func=_cmd_user_password)
    apikey = commands.add_parser("apikey", help="manage API keys").add_subparsers(dest="key_command", required=True)
    key = apikey.add_parser("create", help="print a new API key for scripts and CI")
    key.add_argument("--workspace", required=True, help="id or slug")
    key.add_argument("--role", choices=roles, required=True)
    key.add_argument("--name", default="cli")
    key.set_defaults(func=_cmd_apikey_create)
    openapi = commands.add_parser("openapi", help="write the OpenAPI schema")
    openapi.add_argument("output", nargs="?", default="ui/openapi.json")
    openapi.set_defaults(func=_cmd_openapi)
    args = parser.parse_args(argv)
    configure_logging(get_settings().log_level)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
