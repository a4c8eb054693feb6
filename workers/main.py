"""`herald worker`: connects to Temporal and the database, then polls the main task queue until stopped."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor

import structlog

from activities.channels import channels_from_settings
from activities.smtp_pool import SmtpConfig, SmtpPool
from core.db import create_engine, session_factory
from core.logging import configure_logging
from core.schedules import ensure_schedules
from core.settings import Settings, get_settings
from core.temporal import connect, ensure_search_attributes
from workers.main_queue import build_worker

log = structlog.get_logger("herald.worker")


def smtp_pool_from(settings: Settings) -> SmtpPool:
    return SmtpPool(
        SmtpConfig(
            host=settings.smtp_target_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_use_tls,
            timeout=settings.smtp_timeout_seconds,
            pool_size=settings.smtp_pool_size,
        )
    )


async def run_worker(settings: Settings) -> None:
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is required for the worker (herald run sets it for the embedded database)")
    client = await connect(settings.temporal_target, settings.temporal_namespace)
    await ensure_search_attributes(client)
    await ensure_schedules(client, settings.temporal_task_queue)
    engine = create_engine(settings.database_url)
    smtp = smtp_pool_from(settings)
    sessions = session_factory(engine)
    # Built here, not in build_worker, so their HTTP clients are closed when the worker stops.
    channels = channels_from_settings(settings, smtp, sessions, mail_from=settings.mail_from)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=20) as executor:
        worker = build_worker(
            client,
            task_queue=settings.temporal_task_queue,
            sessions=sessions,
            smtp=smtp,
            mail_from=settings.mail_from,
            executor=executor,
            settings=settings,
            channels=channels,
        )
        log.info("worker started", task_queue=settings.temporal_task_queue, temporal=settings.temporal_target)
        async with worker:
            await stop.wait()
            log.info("worker stopping")
    await channels.aclose()
    await smtp.close()
    await engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
