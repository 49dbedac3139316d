"""Webhook receiver benchmark: signed deliveries accepted and stored per second by one
``orchestrate serve`` process, with p50/p99 response times, loaded from this (separate)
process over loopback.

    .venv/bin/python bench/webhooks.py [--deliveries 5000] [--concurrency 32]

Each delivery is the real ``push`` payload with its own ``X-GitHub-Delivery`` id and a
valid ``X-Hub-Signature-256``. Two servers are measured: ``serve --no-worker`` (the
receiver alone; teams run workers as separate processes) and ``serve`` with its
worker processing what it stores in the same process, which competes for its CPU;
for that one the table also gives how long until every delivery was processed. A third
server is the bare ASGI app issue 18 compares against (``_bare_webhook_app.py``: the
same verification, JSON parse and SQLite insert, nothing else); ``--rounds N`` measures
the bare app and ``serve --no-worker`` alternately N times and prints the medians and
their ratio. Prints Markdown tables to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, percentile

SECRET = "bench-secret"
WARM_UP = 200
PAYLOAD = (
    Path(__file__).parents[1] / "tests/fixtures/github-webhooks/push/with-new-branch.payload.json"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, port: int, *, worker: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {
        "ORCHESTRATE_HOME": str(home),
        "ORCHESTRATE_PORT": str(port),
        "ORCHESTRATE_LOG_LEVEL": "error",
        "ORCHESTRATE_LOG_FORMAT": "json",
        "ORCHESTRATE_GITHUB_WEBHOOK_SECRET": SECRET,
    }
    log = (home / "serve.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrate", "serve", "--worker" if worker else "--no-worker"],
        env=env,
        stdout=log,
        stderr=log,
    )


def start_bare(home: Path, port: int) -> subprocess.Popen[bytes]:
    log = (home / "bare.log").open("wb")
    app = Path(__file__).with_name("_bare_webhook_app.py")
    database = str(home / "bare.db")
    return subprocess.Popen(
        [sys.executable, str(app), "--port", str(port), "--database", database, "--secret", SECRET],
        stdout=log,
        stderr=log,
    )


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{base}/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("orchestrate serve did not start")


def signed_headers(body: bytes) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
    }


async def load(base: str, total: int, concurrency: int) -> tuple[float, list[float], int]:
    """Send ``total`` deliveries over ``concurrency`` keep-alive connections.

    A minimal HTTP/1.1 client on asyncio streams: httpx costs ~3 ms of CPU per request,
    so with it the load generator, not the server, was what got measured.
    """
    body = PAYLOAD.read_bytes()
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    accepted = 0
    remaining = total

    async def connection() -> None:
        nonlocal accepted, remaining
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while remaining > 0:
                remaining -= 1
                request = _request(host, body, signed_headers(body))
                started = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                accepted += status == 202
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return total / elapsed, latencies, accepted


def _request(host: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = ["POST /webhooks/github HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def processed_count(home: Path) -> int:
    with sqlite3.connect(home / "orchestrate.db") as db:
        query = "SELECT count(*) FROM webhook_deliveries WHERE status = 'processed'"
        return int(db.execute(query).fetchone()[0])


def run(args: argparse.Namespace, kind: str) -> tuple[float, list[float], int, str]:
    """One server (``bare``, ``no-worker`` or ``worker``), warmed up, then loaded: its
    rate, latencies, deliveries accepted and (with the worker) seconds until processed."""
    home = Path(tempfile.mkdtemp())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if kind == "bare":
        server = start_bare(home, port)
    else:
        server = start_server(home, port, worker=kind == "worker")
    drained = "—"
    try:
        asyncio.run(wait_ready(base))
        asyncio.run(load(base, WARM_UP, args.concurrency))
        started = time.perf_counter()
        rate, latencies, accepted = asyncio.run(load(base, args.deliveries, args.concurrency))
        if kind == "worker":  # how long until the worker has processed everything it was sent
            while processed_count(home) < WARM_UP + args.deliveries:
                time.sleep(0.2)
            drained = f"{time.perf_counter() - started:.1f}"
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rate, latencies, accepted, drained


MODES = {
    "bare": "bare Starlette app (`_bare_webhook_app.py`)",
    "no-worker": "`serve --no-worker`",
    "worker": "`serve` (worker in the process)",
}


def row(args: argparse.Namespace, kind: str) -> str:
    rate, latencies, accepted, drained = run(args, kind)
    return (
        f"| {MODES[kind]} | {rate:,.0f} | {percentile(latencies, 50):.1f} "
        f"| {percentile(latencies, 99):.1f} | {accepted:,} of {args.deliveries:,} | {drained} |"
    )


def side_by_side(args: argparse.Namespace) -> None:
    """The bare app and ``serve --no-worker`` in alternating rounds: medians and ratio."""
    rates: dict[str, list[float]] = {"bare": [], "no-worker": []}
    p99s: dict[str, list[float]] = {"bare": [], "no-worker": []}
    for round_ in range(args.rounds):
        for kind in ("bare", "no-worker") if round_ % 2 == 0 else ("no-worker", "bare"):
            rate, latencies, _, _ = run(args, kind)
            rates[kind].append(rate)
            p99s[kind].append(percentile(latencies, 99))
            print(f"  round {round_ + 1} {kind}: {rate:,.0f}/s", file=sys.stderr)
    print("| server | deliveries/s (median) | p99 ms (median) |")
    print("|---|---:|---:|")
    for kind in rates:
        print(f"| {MODES[kind]} | {median(rates[kind]):,.0f} | {median(p99s[kind]):.1f} |")
    ratio = median(rates["no-worker"]) / median(rates["bare"])
    print(f"\n`serve --no-worker` / bare: **{ratio:.2f}x** (median of {args.rounds} rounds each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="Measure the bare app and serve --no-worker alternately this many times each.",
    )
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    print(
        f"Date: {time.strftime('%Y-%m-%d')}; {args.deliveries} deliveries, "
        f"{args.concurrency} concurrent connections, SQLite"
    )
    print()
    if args.rounds:
        side_by_side(args)
        return
    rows = [row(args, kind) for kind in ("bare", "no-worker", "worker")]
    print("| server | deliveries/s | p50 (ms) | p99 (ms) | accepted (202) | processed after (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
