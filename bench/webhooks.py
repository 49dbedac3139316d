"""Webhook receiver benchmark: signed deliveries accepted and stored per second by one
``orchestrate serve`` process, with p50/p99 response times, loaded from this (separate)
process over loopback.

    .venv/bin/python bench/webhooks.py [--deliveries 5000] [--concurrency 32]

Each delivery is the real ``push`` payload with its own ``X-GitHub-Delivery`` id and a
valid ``X-Hub-Signature-256``. Two servers are measured: ``serve --no-worker`` (the
receiver alone; teams run workers as separate processes) and ``serve`` with its
worker processing what it stores in the same process, which competes for its CPU;
for that one the table also gives how long until every delivery was processed.
Prints a Markdown table to paste into docs/benchmarks.md.
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


def measure(args: argparse.Namespace, *, worker: bool) -> str:
    """One server, warmed up, then loaded; a Markdown table row."""
    home = Path(tempfile.mkdtemp())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(home, port, worker=worker)
    drained = "—"
    try:
        asyncio.run(wait_ready(base))
        asyncio.run(load(base, WARM_UP, args.concurrency))
        started = time.perf_counter()
        rate, latencies, accepted = asyncio.run(load(base, args.deliveries, args.concurrency))
        if worker:  # how long until the worker has processed everything it was sent
            while processed_count(home) < WARM_UP + args.deliveries:
                time.sleep(0.2)
            drained = f"{time.perf_counter() - started:.1f}"
    finally:
        server.terminate()
        server.wait(timeout=60)
    mode = "`serve` (worker in the process)" if worker else "`serve --no-worker`"
    return (
        f"| {mode} | {rate:,.0f} | {percentile(latencies, 50):.1f} "
        f"| {percentile(latencies, 99):.1f} | {accepted:,} of {args.deliveries:,} | {drained} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    rows = [measure(args, worker=False), measure(args, worker=True)]
    print(f"Machine: {machine()}")
    print(
        f"Date: {time.strftime('%Y-%m-%d')}; {args.deliveries} deliveries, "
        f"{args.concurrency} concurrent connections, SQLite"
    )
    print()
    print("| server | deliveries/s | p50 (ms) | p99 (ms) | accepted (202) | processed after (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
