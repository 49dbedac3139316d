"""Webhook receiver benchmark: signed deliveries accepted and stored per second by one
``orchestrate serve`` process, with p50/p99 response times, loaded from this (separate)
process over loopback.

    .venv/bin/python bench/webhooks.py [--deliveries 5000] [--concurrency 32]

Each delivery is the real ``push`` payload with its own ``X-GitHub-Delivery`` id and a
valid ``X-Hub-Signature-256``. The server's worker also processes what it stores (as in
production), so the figure includes that competition for the CPU.
Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import socket
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
PAYLOAD = (
    Path(__file__).parents[1] / "tests/fixtures/github-webhooks/push/with-new-branch.payload.json"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
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
        [sys.executable, "-m", "orchestrate", "serve"], env=env, stdout=log, stderr=log
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
    body = PAYLOAD.read_bytes()
    latencies: list[float] = []
    accepted = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while not queue.empty():
            queue.get_nowait()
            headers = signed_headers(body)
            started = time.perf_counter()
            response = await client.post(f"{base}/webhooks/github", content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            accepted += response.status_code == 202

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(home, port)
    try:
        asyncio.run(wait_ready(base))
        asyncio.run(load(base, 200, args.concurrency))  # warm up
        rate, latencies, accepted = asyncio.run(load(base, args.deliveries, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"Machine: {machine()}")
    print(
        f"Date: {time.strftime('%Y-%m-%d')}; {args.deliveries} deliveries, "
        f"{args.concurrency} concurrent connections, SQLite"
    )
    print()
    print("| deliveries/s | p50 (ms) | p99 (ms) | accepted (202) |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {rate:,.0f} | {percentile(latencies, 50):.1f} | {percentile(latencies, 99):.1f} "
        f"| {accepted:,} of {args.deliveries:,} |"
    )


if __name__ == "__main__":
    main()
