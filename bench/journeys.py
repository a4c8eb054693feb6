"""Journey speed: journeys started and completed per second through the trigger dispatcher, beside bare Temporal.

On the embedded stack (Temporal's dev server as `herald run` starts it: SQLite in a file with the WAL pragmas; a
fresh database), each loop with a worker process of its own, `--leads` items each:
  1. bare: a trivial workflow of one activity (BareWorkflow below: the activity returns its input) on a worker of
     this module (`--serve-bare`: the pydantic converter, 20 activity slots and the workflow task pollers, as
     `herald worker` has them): what Temporal alone does on this machine;
  2. journeys: one active automation, published and checked as the API checks it (trigger: the lead's status
     becomes `qualified` → `add_tag` → the journey completes), and for each lead what the API does once a status
     change is committed (api/journey_dispatch.py): `core.journey_intake.dispatch_events` with a `status_changed`
     JourneyEvent, which reads the workspace's active automations and the lead's history and running journeys and
     calls `core.journeys.dispatch` with them (signal-with-start). The journeys run on `herald worker`; afterwards
     every `journeys` row must be `completed` and every lead tagged.
Both loops start with `--concurrency` starters (the dispatch calls, for journeys), and as many waiters await each
workflow's result as soon as it is started; a loop's time runs from its first start to its last result. The loops
alternate in `--rounds` rounds (bare, journeys, bare...), so that other work on the machine weighs on both alike,
after `--warmup` untimed items each (a worker's first workflow imports its module).
Printed: bare workflows/s, journeys dispatched/s and completed/s, the ratio completed journeys / bare (target, issue
#10: >= 75%), the CPU time per workflow of the worker, the Temporal server, this database's PostgreSQL backends and
this process (the API's part for journeys), the machine's, and the history of one workflow of each loop. On a
shared machine the rates move with others' work; the CPU times per workflow much less.

    .venv/bin/python bench/journeys.py [--leads 2000] [--concurrency 32] [--rounds 4] [--warmup 20] [--timeline]
Uses DATABASE_URL's server when set (a new database on it, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

# The sandbox re-imports this module for every BareWorkflow run: everything else passes through, as in workflows/.
with workflow.unsafe.imports_passed_through():
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client
    from temporalio.worker import Worker

    from api.accounts import create_workspace
    from core.db import async_url, create_engine, drop_database, run_migrations, session_factory
    from core.embedded import start_embedded_postgres, start_temporal_dev_server, wait_for_port
    from core.journey_intake import dispatch_events
    from core.logging import configure_logging
    from core.temporal import connect, pydantic_data_converter
    from domain.automation_graph import GraphContext, check_graph
    from domain.lists import filter_context_from
    from models.payloads.automation import JourneyEvent
    from workers.main_queue import POLLING

TARGET = 0.75
TAG = "bench-qualified"
GRAPH: dict[str, Any] = {
    "nodes": [
        {"id": "qualified", "type": "lead_status_changed", "config": {"to_status": "qualified"}},
        {"id": "tag", "type": "add_tag", "config": {"tag": TAG}},  # no `next`: the journey completes after it
    ],
    "edges": [{"id": "e1", "source": "qualified", "outcome": "next", "target": "tag"}],
    "reentry": "once_ever",
}


# --- Bare Temporal ----------------------------------------------------------------------------------------------------


@activity.defn
async def bare_step(n: int) -> int:
    return n


@workflow.defn
class BareWorkflow:
    """The trivial workflow: one activity, its result returned."""

    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(bare_step, n, start_to_close_timeout=timedelta(minutes=1))


def serve_bare(address: str, queue: str) -> None:
    """The bare loop's worker process: BareWorkflow with the settings `herald worker` has that matter here (the
    pydantic converter, 20 concurrent activities, workers.main_queue.POLLING), until SIGTERM."""

    async def run() -> None:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[BareWorkflow],
            activities=[bare_step],
            max_concurrent_activities=20,
            **POLLING,
        )
        async with worker:
            await stop.wait()

    asyncio.run(run())


# --- Setup ------------------------------------------------------------------------------------------------------------


async def setup(url: str, leads: int) -> tuple[int, int, list[int]]:
    """A workspace with `leads` leads (status `contacted`) and the automation, published and active, its graph
    checked as the API checks a publication: (workspace, automation, lead ids)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            workspace = await create_workspace(session, "Bench")
            await session.flush()
            workspace_id = workspace.id
            context = GraphContext(
                filter_context=filter_context_from(workspace_id, datetime.now(UTC), workspace.lead_statuses, [])
            )
            _graph, problems = check_graph(GRAPH, context)
            errors = [problem for problem in problems if problem.severity == "error"]
            if errors:
                raise SystemExit(f"the bench's automation is invalid: {errors}")
            rows = await session.execute(
                text(
                    "INSERT INTO leads (workspace_id, email, first_name, last_name, status, timezone, consent_email, "
                    "consent_sms, consent_whatsapp, created_at, updated_at) SELECT :w, 'lead' || n || '@example.com', "
                    "'First' || n, 'Last' || n, 'contacted', 'UTC', 'granted', 'unknown', 'unknown', now(), now() "
                    "FROM generate_series(1, :n) AS n RETURNING id"
                ),
                {"w": workspace_id, "n": leads},
            )
            lead_ids = sorted(row.id for row in rows)
            automation_id = (
                await session.execute(
                    text(
                        "INSERT INTO automations (workspace_id, name, status, published_version, draft, counters) "
                        "VALUES (:w, 'Qualified', 'active', 1, CAST(:g AS jsonb), '{}') RETURNING id"
                    ),
                    {"w": workspace_id, "g": json.dumps(GRAPH)},
                )
            ).scalar_one()
            await session.execute(
                text(
                    "INSERT INTO automation_versions (workspace_id, automation_id, version, graph) "
                    "VALUES (:w, :a, 1, CAST(:g AS jsonb))"
                ),
                {"w": workspace_id, "a": automation_id, "g": json.dumps(GRAPH)},
            )
            await session.commit()
            return workspace_id, automation_id, lead_ids
    finally:
        await engine.dispose()


# --- Measuring --------------------------------------------------------------------------------------------------------


async def pipeline(
    items: Sequence[Any],
    start: Callable[[Any], Awaitable[str]],
    finish: Callable[[str], Awaitable[None]],
    concurrency: int,
) -> tuple[float, float]:
    """`concurrency` starters take the items in turn and `concurrency` waiters await what they started, as it is
    started; (seconds until the last start, seconds until the last finish)."""
    todo = list(reversed(items))
    started: asyncio.Queue[str | None] = asyncio.Queue()
    began = time.perf_counter()
    last_start = 0.0

    async def starter() -> None:
        nonlocal last_start
        while todo:
            await started.put(await start(todo.pop()))
        last_start = max(last_start, time.perf_counter() - began)

    async def waiter() -> None:
        while (workflow_id := await started.get()) is not None:
            await finish(workflow_id)

    waiters = [asyncio.create_task(waiter()) for _ in range(concurrency)]
    await asyncio.gather(*(starter() for _ in range(concurrency)))
    for _ in waiters:
        await started.put(None)
    await asyncio.gather(*waiters)
    return last_start, time.perf_counter() - began


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (all cores; idle and iowait excluded)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds spent during a loop's rounds by its worker, the Temporal server, this process, this database's
    PostgreSQL backends (when the server runs on this machine; a backend that ends mid-round is missed) and the whole
    machine."""

    NAMES = ("worker", "temporal", "postgres", "bench")

    def __init__(self, worker: int, temporal: int, sessions: async_sessionmaker) -> None:
        self.pids = {"worker": worker, "temporal": temporal, "bench": os.getpid()}
        self.sessions = sessions
        self.spent = dict.fromkeys([*self.NAMES, "machine"], 0.0)
        self._at: dict[str, float] = {}
        self._backends: dict[int, float] = {}

    async def _now(self) -> tuple[dict[str, float], dict[int, float]]:
        async with self.sessions() as session:
            pids = (
                await session.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
            ).scalars()
            backends = {}
            for pid in pids:
                try:
                    backends[pid] = cpu_seconds(pid)
                except OSError:  # another machine's, or gone
                    pass
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        now["machine"] = machine_busy_seconds()
        return now, backends

    async def start(self) -> None:
        self._at, self._backends = await self._now()

    async def stop(self) -> None:
        now, backends = await self._now()
        for name, value in now.items():
            self.spent[name] += value - self._at[name]
        self.spent["postgres"] += sum(value - self._backends.get(pid, 0.0) for pid, value in backends.items())

    def ours(self) -> float:
        return sum(self.spent[name] for name in self.NAMES)

    def per_item(self, count: int) -> str:
        return "".join(f"{self.spent[name] / count * 1000:>9.1f}" for name in (*self.NAMES, "machine"))


async def history_of(client: Client, workflow_id: str) -> tuple[int, dict[str, int]]:
    """(events, count per event type) of a workflow's history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds: dict[str, int] = {}
    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        kinds[name] = kinds.get(name, 0) + 1
    return len(history.events), kinds


def summary(kinds: dict[str, int]) -> str:
    names = {
        "WORKFLOW_TASK_COMPLETED": "workflow tasks",
        "WORKFLOW_TASK_FAILED": "failed workflow tasks",
        "ACTIVITY_TASK_COMPLETED": "activities",
        "MARKER_RECORDED": "markers (patches, local activities)",
        "WORKFLOW_EXECUTION_SIGNALED": "signals",
    }
    return ", ".join(f"{kinds[kind]} {name}" for kind, name in names.items() if kinds.get(kind))


async def check_journeys(sessions: async_sessionmaker, workspace_id: int, automation_id: int, count: int) -> None:
    """Every journey completed, every lead tagged."""
    async with sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    text("SELECT status, count(*) FROM journeys WHERE automation_id = :a GROUP BY status"),
                    {"a": automation_id},
                )
            ).all()
        )
        tagged = (
            await session.execute(
                text("SELECT count(*) FROM leads WHERE workspace_id = :w AND :tag = ANY(tags)"),
                {"w": workspace_id, "tag": TAG},
            )
        ).scalar_one()
    if statuses != {"completed": count} or tagged != count:
        raise SystemExit(f"journeys not all completed: {statuses}, {tagged} leads tagged")


class WorkerProcess:
    """A worker process of the bench."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(command, env=env)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


async def main(args: argparse.Namespace) -> None:
    warnings.filterwarnings("ignore", message=r"(?s).*session\.exec", category=DeprecationWarning)
    configure_logging("WARNING")  # the intake logs each journey started
    count, warmup, concurrency, rounds = args.leads, args.warmup, args.concurrency, args.rounds
    tmp = tempfile.TemporaryDirectory(prefix="herald-bench-journeys-")
    work = Path(tmp.name)
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        server, base = start_embedded_postgres(work, "postgres")
    url = async_url(base).set(database=f"herald_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    # The embedded stack's Temporal, as `herald run` starts it: SQLite in a file, WAL, synchronous=normal.
    port, ui_port = free_port(), free_port()
    temporal = start_temporal_dev_server(work, port, ui_port, "default", work / "temporal.log")
    address = f"127.0.0.1:{port}"
    engine = create_engine(url, pool_size=concurrency)
    sessions = session_factory(engine)
    workers: list[WorkerProcess] = []
    try:
        await run_migrations(url)
        started = time.perf_counter()
        workspace_id, automation_id, lead_ids = await setup(url, count + warmup)
        print(f"{count + warmup:,} leads and the automation ready in {time.perf_counter() - started:.1f}s")
        await wait_for_port("127.0.0.1", port, 60, temporal)
        client = await connect(address)
        bare_queue, queue = f"bench-bare-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:6]}"
        bare = WorkerProcess([sys.executable, __file__, "--serve-bare", address, bare_queue], dict(os.environ))
        workers.append(bare)
        worker_env = {
            **os.environ,
            "DATABASE_URL": url,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_TASK_QUEUE": queue,
            "DATA_DIR": str(work),
            "LOG_LEVEL": "WARNING",
        }
        worker = WorkerProcess([str(Path(sys.executable).parent / "herald"), "worker"], worker_env)
        workers.append(worker)
        await asyncio.sleep(4)  # the workers connect (and `herald worker` ensures its schedules)

        async def start_bare(n: int) -> str:
            workflow_id = f"bare-{n}"
            await client.start_workflow("BareWorkflow", n, id=workflow_id, task_queue=bare_queue)
            return workflow_id

        async def start_journey(lead_id: int) -> str:
            """What the API does once a lead's status change is committed (api/journey_dispatch.py)."""
            event = JourneyEvent(
                kind="status_changed",
                event_id=f"status-{lead_id}-qualified",
                lead_id=lead_id,
                from_status="contacted",
                to_status="qualified",
            )
            [outcome] = await dispatch_events(client, sessions, workspace_id, [event], queue)
            entered = [result for result in outcome.results if result.action == "started"]
            if len(entered) != 1 or entered[0].workflow_id is None:
                raise RuntimeError(f"lead {lead_id}: the dispatcher did {outcome}")
            return entered[0].workflow_id

        async def finish(workflow_id: str) -> None:
            await client.get_workflow_handle(workflow_id).result()

        await pipeline(range(-warmup, 0), start_bare, finish, concurrency)
        await pipeline(lead_ids[:warmup], start_journey, finish, concurrency)
        bare_cpu = Cpu(bare.process.pid, temporal.pid, sessions)
        journey_cpu = Cpu(worker.process.pid, temporal.pid, sessions)
        bare_seconds = dispatch_seconds = journey_seconds = 0.0
        measured = lead_ids[warmup:]
        for round_ in range(rounds):  # alternating: other work on the machine weighs on both loops alike
            part = slice(round_ * count // rounds, (round_ + 1) * count // rounds)
            await bare_cpu.start()
            bare_seconds += (await pipeline(range(count)[part], start_bare, finish, concurrency))[1]
            await bare_cpu.stop()
            await journey_cpu.start()
            dispatched, completed = await pipeline(measured[part], start_journey, finish, concurrency)
            await journey_cpu.stop()
            dispatch_seconds, journey_seconds = dispatch_seconds + dispatched, journey_seconds + completed
        for process in workers:
            process.stop()

        await check_journeys(sessions, workspace_id, automation_id, count + warmup)
        async with sessions() as session:
            workflow_id = (
                await session.execute(text("SELECT workflow_id FROM journeys WHERE lead_id = :l"), {"l": measured[0]})
            ).scalar_one()
        bare_events, bare_kinds = await history_of(client, "bare-0")
        journey_events, journey_kinds = await history_of(client, workflow_id)

        bare_rate = count / bare_seconds
        dispatch_rate = count / dispatch_seconds
        journey_rate = count / journey_seconds
        ratio = journey_rate / bare_rate
        print(
            f"\n{count:,} of each in {rounds} alternating rounds (after {warmup} untimed), {concurrency} starters "
            f"and {concurrency} waiters"
        )
        print(f"{'':<42}{'seconds':>8}{'per s':>8}")
        print(f"{'bare: one-activity workflows completed':<42}{bare_seconds:>8.1f}{bare_rate:>8.1f}")
        print(f"{'journeys dispatched (intake + dispatch)':<42}{dispatch_seconds:>8.1f}{dispatch_rate:>8.1f}")
        print(f"{'journeys completed':<42}{journey_seconds:>8.1f}{journey_rate:>8.1f}")
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(f"completed journeys / bare: {ratio:.0%}   (target >= {TARGET:.0%}: {verdict})")
        print(f"\nCPU ms per workflow{'':<10}{'worker':>9}{'temporal':>9}{'postgres':>9}{'bench':>9}{'machine':>9}")
        print(f"{'  bare':<29}{bare_cpu.per_item(count)}")
        print(f"{'  journey':<29}{journey_cpu.per_item(count)}")
        print(
            f"machine busy: {bare_cpu.spent['machine'] / bare_seconds:.2f} cores in the bare loop, "
            f"{journey_cpu.spent['machine'] / journey_seconds:.2f} in the journeys' (of {os.cpu_count()}); "
            "beyond the four columns, it is someone else's work"
        )
        print(
            f"CPU per workflow (the four columns), bare / journey: {bare_cpu.ours() / journey_cpu.ours():.0%}: "
            "about the ratio of the rates on a CPU-bound machine running nothing else"
        )
        print(f"history: bare workflow {bare_events} events ({summary(bare_kinds)})")
        print(f"         one journey   {journey_events} events ({summary(journey_kinds)})")
        if args.timeline:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            first = history.events[0].event_time.ToMicroseconds()
            for event in history.events:
                at = (event.event_time.ToMicroseconds() - first) / 1000
                print(f"{at:>10.1f} ms  {EventType.Name(event.event_type).removeprefix('EVENT_TYPE_')}")
    finally:
        for process in workers:
            process.stop()
        await engine.dispose()
        temporal.terminate()
        temporal.wait(timeout=30)
        await drop_database(url)
        if server is not None:
            server.cleanup()
        tmp.cleanup()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=2000, help="journeys, and bare workflows, measured")
    parser.add_argument("--concurrency", type=int, default=32, help="starters (dispatch calls) and waiters")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each loop, alternating")
    parser.add_argument("--warmup", type=int, default=20, help="untimed items through each loop first")
    parser.add_argument("--timeline", action="store_true", help="print one journey's history with its times")
    parser.add_argument("--serve-bare", nargs=2, metavar=("ADDRESS", "QUEUE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(*args.serve_bare)
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
