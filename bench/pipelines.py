"""Pipeline engine benchmark: trigger→completion latency and step-transition throughput.

(a) Latency: a 3-step chain of trivial ``run: "true"`` steps, triggered one at a time
on an idle worker; the figure is the run's ``finished_at - created_at`` as stored.
(b) Throughput: 1,000 runs of a 5-step chain created while no worker runs, then
workers started; step transitions (queued, running, success…) per second until the
last run ends. Scenarios: SQLite with 1 worker, PostgreSQL with 4 workers. Workers are
real ``orchestrate worker`` processes.

    .venv/bin/python bench/pipelines.py [--runs 1000] [--latency-samples 100]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))
from _common import Database, machine, percentile
from orchestrate.auth.service import Actor
from orchestrate.core.events import EventRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service
from orchestrate.pipelines.tables import PipelineRunRow

ACTOR = Actor.system("bench")


def chain(name: str, length: int) -> str:
    steps = []
    for index in range(length):
        needs = f"\n    needs: s{index - 1}" if index else ""
        steps.append(f'  - id: s{index}{needs}\n    run: "true"')
    return f"name: {name}\nsteps:\n" + "\n".join(steps) + "\n"


@dataclass
class Result:
    scenario: str
    p50_ms: float
    p99_ms: float
    transitions_per_second: float
    runs_per_second: float


def start_workers(url: str, count: int, home: str) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {
        "ORCHESTRATE_DATABASE_URL": url,
        "ORCHESTRATE_HOME": home,
        "ORCHESTRATE_LOG_LEVEL": "error",
        "ORCHESTRATE_LOG_FORMAT": "json",
    }
    logs = [Path(home) / f"worker-{n}.log" for n in range(count)]
    processes = []
    for log in logs:
        with log.open("wb") as output:
            command = [sys.executable, "-m", "orchestrate", "worker"]
            processes.append(subprocess.Popen(command, env=env, stdout=output, stderr=output))
    for process, log in zip(processes, logs, strict=True):
        while "worker started" not in log.read_text():  # said on stderr once it runs
            if process.poll() is not None:
                raise RuntimeError(f"a worker exited before it started: {log.read_text()}")
            time.sleep(0.05)
    time.sleep(0.5)  # let every worker reach its idle wait
    return processes


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


async def trigger(runtime: Runtime, name: str) -> str:
    request = service.TriggerRequest(name)
    run = await service.trigger_pipeline(runtime.uow(), runtime.settings, request, ACTOR)
    return run.id


async def latency(runtime: Runtime, samples: int) -> list[float]:
    """Trigger the 3-step chain on an idle worker, one run at a time."""
    durations = []
    for _ in range(samples):
        run_id = await trigger(runtime, "chain3")
        while True:
            async with runtime.uow(read_only=True) as uow:
                run = await uow.session.get(PipelineRunRow, run_id)
            if run is not None and run.finished_at is not None:
                assert run.status == "success", run.status
                durations.append((run.finished_at - run.created_at).total_seconds() * 1000)
                break
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)
    return durations


async def unfinished(runtime: Runtime) -> int:
    async with runtime.uow(read_only=True) as uow:
        query = select(func.count()).select_from(PipelineRunRow)
        query = query.where(PipelineRunRow.finished_at.is_(None))
        return int(await uow.session.scalar(query) or 0)


async def step_transitions(runtime: Runtime) -> int:
    async with runtime.uow(read_only=True) as uow:
        query = select(func.count()).select_from(EventRow)
        query = query.where(
            EventRow.type.in_(
                ["pipeline.step.queued", "pipeline.step.running", "pipeline.step.success"]
            )
        )
        return int(await uow.session.scalar(query) or 0)


def scenario(kind: str, workers: int, args: argparse.Namespace) -> Result:
    database = Database(kind, args.postgres)
    try:
        return asyncio.run(_measure(database, kind, workers, args))
    finally:
        database.drop()


async def _measure(database: Database, kind: str, workers: int, args: argparse.Namespace) -> Result:
    """One event loop for the whole scenario: the runtime's connections belong to it."""
    home = tempfile.mkdtemp()
    runtime = Runtime.open(Settings(database_url=database.url, home=Path(home)))
    try:
        for name, length in (("chain3", 3), ("chain5", 5)):
            source = service.PipelineSource(chain(name, length))
            await service.register_pipeline(runtime.uow(), source, ACTOR)
        processes = await asyncio.to_thread(start_workers, database.url, 1, home)
        try:
            durations = await latency(runtime, args.latency_samples)
        finally:
            await asyncio.to_thread(stop_workers, processes)
        for _ in range(args.runs):
            await trigger(runtime, "chain5")
        before = await step_transitions(runtime)
        processes = await asyncio.to_thread(start_workers, database.url, workers, home)
        started = time.perf_counter()
        try:
            while await unfinished(runtime):  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            after = await step_transitions(runtime)
        finally:
            await asyncio.to_thread(stop_workers, processes)
    finally:
        await runtime.close()
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    return Result(
        f"{label}, {workers} worker process(es)",
        percentile(durations, 50),
        percentile(durations, 99),
        (after - before) / elapsed,
        args.runs / elapsed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"),
        help="server URL; the PostgreSQL scenario is skipped without it",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--workers", type=int, default=4, help="PostgreSQL worker processes")
    args = parser.parse_args()

    results = []
    if args.only in (None, "sqlite"):
        results.append(scenario("sqlite", 1, args))
    if args.postgres and args.only in (None, "postgresql"):
        results.append(scenario("postgresql", args.workers, args))

    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; {args.runs} runs, {args.latency_samples} samples")
    print()
    print("| scenario | 3-step chain p50 (ms) | p99 (ms) | step transitions/s | runs/s (5 steps) |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.scenario} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.transitions_per_second:,.0f} | {r.runs_per_second:,.1f} |"
        )


if __name__ == "__main__":
    main()
