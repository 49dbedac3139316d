"""Job queue benchmark: throughput with an empty handler, and enqueue→start latency.

Scenarios: SQLite with 1 worker process; PostgreSQL with 1 and 4 worker processes;
plus the in-process case of ``orchestrate serve`` (enqueue and worker in one process).

    .venv/bin/python bench/jobs.py [--jobs 20000] [--latency-samples 300]
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

from orchestrate.core.jobs import JobRunner, JobStatus, NewJob, NoPayload, enqueue, enqueue_many
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from _common import Database, machine, percentile
from _job_worker import NOOP, STAMP, Numbered, registry

WORKER = Path(__file__).with_name("_job_worker.py")


@dataclass
class Result:
    scenario: str
    jobs_per_second: float
    p50_ms: float
    p99_ms: float


def start_workers(url: str, count: int, home: str) -> list[subprocess.Popen[str]]:
    env = {
        **os.environ,
        "ORCHESTRATE_DATABASE_URL": url,
        "ORCHESTRATE_HOME": home,
        "ORCHESTRATE_LOG_LEVEL": "error",
    }
    processes = [
        subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # let every worker reach its idle wait
    return processes


def stop_workers(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)


def runtime_for(url: str, home: str) -> Runtime:
    return Runtime.open(Settings(database_url=url, home=Path(home)))


async def count_unfinished(runtime: Runtime, kind: str) -> int:
    async with runtime.uow(read_only=True) as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(JobRow.kind == kind, JobRow.status != JobStatus.SUCCEEDED.value)
            )
            or 0
        )


async def throughput(runtime: Runtime, total: int) -> float:
    """Enqueue ``total`` empty jobs in one commit; time until every one has succeeded."""
    batch = [NewJob(NOOP, Numbered(n=n)) for n in range(total)]
    async with runtime.uow() as uow:
        await enqueue_many(uow, batch)
        started = time.perf_counter()
        await uow.commit()
    while await count_unfinished(runtime, "bench.noop"):  # noqa: ASYNC110 - polls the database
        await asyncio.sleep(0.02)
    return total / (time.perf_counter() - started)


async def latency(runtime: Runtime, samples: int) -> tuple[float, float]:
    """Enqueue one job at a time on an idle queue; the handler returns its start time."""
    delays = []
    for _ in range(samples):
        async with runtime.uow() as uow:
            job_id = await enqueue(uow, STAMP, NoPayload())
            await uow.commit()
            committed = time.time()
        while True:
            async with runtime.uow(read_only=True) as uow:
                row = await uow.session.get(JobRow, job_id)
            if row is not None and row.status == JobStatus.SUCCEEDED.value:
                assert row.result is not None  # the handler's start time
                delays.append((float(row.result) - committed) * 1000)
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)  # idle again before the next sample
    return percentile(delays, 50), percentile(delays, 99)


def run_out_of_process(kind: str, workers: int, args: argparse.Namespace) -> Result:
    database = Database(kind, args.postgres)
    home = tempfile.mkdtemp()
    processes = start_workers(database.url, workers, home)
    try:

        async def measure() -> tuple[float, tuple[float, float]]:
            runtime = runtime_for(database.url, home)
            try:
                rate = await throughput(runtime, args.jobs)
                return rate, await latency(runtime, args.latency_samples)
            finally:
                await runtime.close()

        rate, (p50, p99) = asyncio.run(measure())
    finally:
        stop_workers(processes)
        database.drop()
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    return Result(f"{label}, {workers} worker process(es)", rate, p50, p99)


def run_in_process(kind: str, args: argparse.Namespace) -> Result:
    """``orchestrate serve``: the enqueuer wakes the worker of its own process directly."""
    database = Database(kind, args.postgres)
    home = tempfile.mkdtemp()

    async def measure() -> tuple[float, tuple[float, float]]:
        runtime = runtime_for(database.url, home)
        stop = asyncio.Event()
        worker = asyncio.create_task(JobRunner(runtime, registry()).run(stop))
        await asyncio.sleep(0.5)
        try:
            rate = await throughput(runtime, args.jobs)
            return rate, await latency(runtime, args.latency_samples)
        finally:
            stop.set()
            await worker
            await runtime.close()

    try:
        rate, (p50, p99) = asyncio.run(measure())
    finally:
        database.drop()
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    return Result(f"{label}, worker inside the enqueuing process (serve)", rate, p50, p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"),
        help="server URL; PostgreSQL scenarios are skipped without it",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()

    results = []
    if args.only in (None, "sqlite"):
        results.append(run_out_of_process("sqlite", 1, args))
        results.append(run_in_process("sqlite", args))
    if args.postgres and args.only in (None, "postgresql"):
        results.append(run_out_of_process("postgresql", 1, args))
        results.append(run_out_of_process("postgresql", 4, args))
        results.append(run_in_process("postgresql", args))

    print(f"Machine: {machine()}")
    date = time.strftime("%Y-%m-%d")
    print(f"Date: {date}; {args.jobs} jobs, {args.latency_samples} latency samples")
    print()
    print("| scenario | throughput (jobs/s) | latency p50 (ms) | latency p99 (ms) |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r.scenario} | {r.jobs_per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} |")


if __name__ == "__main__":
    main()
