"""pgqueuer's side of bench/peers/jobs_postgres.py, run by pgqueuer's own venv's python.

    python _pgqueuer_driver.py measure --dsn postgresql://… --workers 4 --jobs 20000
        --latency-samples 300 --batch-size 250

installs pgqueuer's schema into the empty database it is given (a fresh one per round),
starts ``--workers`` consumer processes (this script again, ``consume``), measures as
bench/jobs.py measures ours, and prints one JSON line: jobs_per_second, p50_ms, p99_ms.

- Throughput: ``--jobs`` jobs for an empty ``async`` entrypoint are inserted in one
  transaction (``Queries.enqueue`` with lists, its batch form) while the consumers idle;
  the clock runs from just before that commit until pgqueuer has recorded every job as
  done (its queue table holds none of them: finished jobs move to its log table).
- Latency: on an idle queue one job at a time is enqueued (committed on return); its
  handler sends ``time.time()`` back first thing (bench/peers/_latency.py); then the
  driver waits for the job's completion to be recorded and 20 ms more, as ours does.

Settings, pgqueuer's best documented ones: each consumer is what ``pgq run`` starts —
``pgqueuer.run(factory)`` on uvloop with ``PgQueuer.from_asyncpg_connection`` — woken by
its LISTEN/NOTIFY trigger; ``--batch-size`` is its dequeue batch, 250 by default: ``pgq
run``'s default of 10 gave 10.5-11.3k jobs/s here, 32 gave 18-20k, 100 25k, 250 26k,
1,000 25-27k (4 workers, 20,000 jobs, two tries each on a quiet moment). No
per-entrypoint or global concurrency limit. Its tables keep the default durability
(logged, as our ``jobs`` table is).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import asyncpg
import pgqueuer
import uvloop
from _latency import StampReceiver, StampSender, percentile
from pgqueuer import Job, PgQueuer, Queries


def consume(args: argparse.Namespace) -> None:
    stamps = StampSender(args.stamp_port)

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[PgQueuer]:
        connection = await asyncpg.connect(args.dsn)
        queue = PgQueuer.from_asyncpg_connection(connection)

        async def noop(job: Job) -> None:
            return None

        async def stamp(job: Job) -> None:
            started = time.time()
            stamps.send(bytes(job.payload or b"").decode(), started)

        queue.entrypoint("noop")(noop)
        queue.entrypoint("stamp")(stamp)
        print("ready", flush=True)
        try:
            yield queue
        finally:
            await connection.close()

    # pgqueuer.run stops on SIGTERM, as `pgq run` does.
    uvloop.run(pgqueuer.run(factory, batch_size=args.batch_size))


def start_workers(args: argparse.Namespace, stamp_port: int) -> list[subprocess.Popen[str]]:
    command = [sys.executable, __file__, "consume", "--dsn", args.dsn]
    command += ["--batch-size", str(args.batch_size), "--stamp-port", str(stamp_port)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.workers)
    ]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("a pgqueuer consumer exited before it started")
    time.sleep(1.0)  # each checks its tables and starts listening after its factory returns
    return processes


def stop_workers(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def unfinished(connection: asyncpg.Connection, table: str, entrypoint: str) -> int:
    query = f"SELECT count(*) FROM {table} WHERE entrypoint = $1"  # the table: pgqueuer's name
    return int(await connection.fetchval(query, entrypoint))


async def throughput(connection: asyncpg.Connection, queries: Queries, total: int) -> float:
    table = queries.qbe.settings.queue_table
    transaction = connection.transaction()
    await transaction.start()
    await queries.enqueue(["noop"] * total, [None] * total, [0] * total)
    started = time.perf_counter()
    await transaction.commit()
    while await unfinished(connection, table, "noop"):  # noqa: ASYNC110 - polls the database
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    log = queries.qbe.settings.queue_table_log
    query = f"SELECT count(*) FROM {log} WHERE entrypoint = 'noop' AND status = 'successful'"
    assert await connection.fetchval(query) == total, "pgqueuer did not log every job as done"
    return total / elapsed


async def latency(
    connection: asyncpg.Connection, queries: Queries, receiver: StampReceiver, samples: int
) -> tuple[float, float]:
    table = queries.qbe.settings.queue_table
    delays = []
    for sample in range(samples):
        await queries.enqueue("stamp", str(sample).encode())
        committed = time.time()
        tag, started = receiver.receive()
        assert tag == str(sample), (tag, sample)
        delays.append((started - committed) * 1000)
        while await unfinished(connection, table, "stamp"):  # noqa: ASYNC110 - polls
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)  # idle again before the next sample
    return percentile(delays, 50), percentile(delays, 99)


async def measure(args: argparse.Namespace) -> dict[str, float]:
    connection = await asyncpg.connect(args.dsn)
    queries = Queries.from_asyncpg_connection(connection)
    await queries.install()
    receiver = StampReceiver()
    workers = start_workers(args, receiver.port)
    try:
        rate = await throughput(connection, queries, args.jobs)
        p50, p99 = await latency(connection, queries, receiver, args.latency_samples)
    finally:
        stop_workers(workers)
        receiver.close()
        await connection.close()
    return {"jobs_per_second": rate, "p50_ms": p50, "p99_ms": p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["measure", "consume"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--stamp-port", type=int, default=0)
    args = parser.parse_args()
    if args.command == "consume":
        consume(args)
    else:
        print(json.dumps(asyncio.run(measure(args))))


if __name__ == "__main__":
    main()
