"""huey's side of bench/peers/jobs_sqlite.py, run by huey's own venv's python.

    python _huey_driver.py measure --database DIR/huey.db --jobs 20000
        --latency-samples 300 [--worker-type thread] [--delay 0.001]

starts one consumer process (this script again, ``consume``) on a fresh ``SqliteHuey``
file, measures as bench/jobs.py measures ours, and prints one JSON line:
jobs_per_second, p50_ms, p99_ms.

- Throughput: ``--jobs`` empty tasks go into huey's ``task`` table in one transaction
  while the consumer idles. huey has no batch enqueue, so the rows are written through
  its storage's own connection with its own serializer, as ``Huey.enqueue`` writes them
  one at a time. The last one sends a stamp when it runs; with one worker taking tasks
  in order, all are done by then, and the clock runs from just before the commit to it.
  (huey deletes a task when it dequeues it and records nothing when an empty task ends.)
- Latency: on an idle queue one task at a time is enqueued (committed on return); it
  sends ``time.time()`` back first thing (bench/peers/_latency.py); 20 ms pass before
  the next, as with ours.

Settings, huey's fastest documented ones for one worker: the ``Consumer`` API (what
``huey_consumer`` runs) with ``workers=1`` and ``worker_type`` ``thread`` (``process``
was not faster here; ``greenlet`` needs gevent); no periodic tasks. huey's worker polls
the queue: ``--delay`` is its polling interval (``-d``), kept there by a ``backoff`` of
1 and ``max_delay`` equal to it, so an idle consumer polls 1,000 times a second at the
default; huey's own defaults (0.1 s, growing by 1.15 up to 10 s) would cost it tens of
milliseconds to seconds of latency. ``SqliteHuey(fsync=False)``, its documented fast
mode: WAL (its default) with ``synchronous=OFF``, where ours runs WAL with
``synchronous=NORMAL`` — neither syncs on commit.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from _latency import StampReceiver, StampSender, percentile
from huey import SqliteHuey


@dataclass
class Queue:
    huey: Any
    noop: Any
    stamp: Any
    last: Any


def make_queue(database: str, stamp_port: int) -> Queue:
    """The same huey and tasks in the driver and in the consumer (task names must agree)."""
    huey = SqliteHuey("bench", filename=database, fsync=False)
    stamps = StampSender(stamp_port)

    def noop() -> None:
        return None

    def stamp(tag: str) -> None:
        started = time.time()
        stamps.send(tag, started)

    def last() -> None:
        stamps.send("last", time.time())

    return Queue(huey, huey.task()(noop), huey.task()(stamp), huey.task()(last))


def consume(args: argparse.Namespace) -> None:
    queue = make_queue(args.database, args.stamp_port)
    consumer = queue.huey.create_consumer(
        workers=1,
        worker_type=args.worker_type,
        initial_delay=args.delay,
        backoff=1.0,
        max_delay=args.delay,
        periodic=False,
    )
    print("ready", flush=True)
    consumer.run()  # SIGTERM stops it at once


def start_consumer(args: argparse.Namespace, stamp_port: int) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "consume", "--database", args.database]
    command += ["--worker-type", args.worker_type, "--delay", str(args.delay)]
    process = subprocess.Popen(
        [*command, "--stamp-port", str(stamp_port)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError("the huey consumer exited before it started")
    time.sleep(0.5)  # let its worker reach its idle polling, as bench/jobs.py does
    return process


def throughput(queue: Queue, receiver: StampReceiver, total: int) -> float:
    huey = queue.huey
    messages = [huey.serialize_task(queue.noop.s()) for _ in range(total - 1)]
    messages.append(huey.serialize_task(queue.last.s()))
    rows = [(huey.storage.name, message, 0) for message in messages]
    with huey.storage.db(commit=True) as cursor:
        cursor.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)
        started = time.perf_counter()  # the commit follows as the block ends
    tag, _ = receiver.receive(timeout=600)
    elapsed = time.perf_counter() - started
    assert tag == "last", tag
    assert not huey.storage.sql("select 1 from task", results=True), "tasks left behind"
    return total / elapsed


def latency(queue: Queue, receiver: StampReceiver, samples: int) -> tuple[float, float]:
    delays = []
    for sample in range(samples):
        queue.stamp(str(sample))
        committed = time.time()
        tag, started = receiver.receive()
        assert tag == str(sample), (tag, sample)
        delays.append((started - committed) * 1000)
        time.sleep(0.02)  # idle again before the next sample
    return percentile(delays, 50), percentile(delays, 99)


def measure(args: argparse.Namespace) -> dict[str, float]:
    receiver = StampReceiver()
    queue = make_queue(args.database, 0)
    consumer = start_consumer(args, receiver.port)
    try:
        rate = throughput(queue, receiver, args.jobs)
        p50, p99 = latency(queue, receiver, args.latency_samples)
    finally:
        consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            consumer.kill()
        receiver.close()
    return {"jobs_per_second": rate, "p50_ms": p50, "p99_ms": p99}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["measure", "consume"])
    parser.add_argument("--database", required=True, help="the SqliteHuey file")
    parser.add_argument("--worker-type", choices=["thread", "process"], default="thread")
    parser.add_argument("--delay", type=float, default=0.001, help="polling interval (s)")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--stamp-port", type=int, default=0)
    args = parser.parse_args()
    if args.command == "consume":
        consume(args)
    else:
        print(json.dumps(measure(args)))


if __name__ == "__main__":
    main()
