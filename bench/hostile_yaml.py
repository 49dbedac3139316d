"""Hostile YAML benchmark: how long refusing a YAML bomb takes, and whether health waits.

Before the limits in ``core/bounded_yaml.py`` the 289-byte alias bomb held the event
loop for 46 s. The tests check that such documents are refused with their position;
this measures how fast, in two places:

- *parse*: ``check_pipeline`` in this process, what ``pipeline validate`` and the API do;
- *API*: ``POST /api/pipelines`` to an ``orchestrate serve`` on SQLite until its 422,
  while a second connection asks ``/api/health`` every 20 ms; the slowest health answer
  during the posts shows whether the refusal held the event loop.

    .venv/bin/python bench/hostile_yaml.py [--runs 20]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine
from orchestrate.pipelines.spec.loader import check_pipeline
from webhooks import free_port, start_server, wait_ready

WARM_UP = 2


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": each level lists the previous one nine times."""
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for level in range(1, levels):
        previous, current = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{current}: &{current} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


DOCUMENTS = {
    "alias bomb (9 levels, 289 bytes)": alias_bomb(),
    "10,000-deep flow sequences": "name: deep\nsteps: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "10,000-deep block sequences": "name: deep\nsteps:\n" + "- " * 10_000 + "x\n",
}


def parse_times(document: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        problems = check_pipeline(document, "hostile.yml")
        times.append(time.perf_counter() - started)
        assert problems, "the document was accepted"
    return times


async def api_times(base: str, token: str, document: str, runs: int) -> tuple[list[float], float]:
    """Seconds to each 422, and the slowest health answer meanwhile."""
    stop = asyncio.Event()
    health: list[float] = []

    async def ask_health(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            (await client.get("/api/health", timeout=120)).raise_for_status()
            health.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}
    times = []
    async with (
        httpx.AsyncClient(base_url=base) as client,
        httpx.AsyncClient(base_url=base) as prober,
    ):
        for _ in range(WARM_UP):  # the server's first request imports the pipelines code
            await client.post("/api/pipelines", content=document.encode(), headers=headers)
        probing = asyncio.create_task(ask_health(prober))
        for _ in range(runs):
            started = time.perf_counter()
            response = await client.post(
                "/api/pipelines", content=document.encode(), headers=headers, timeout=120
            )
            times.append(time.perf_counter() - started)
            assert response.status_code == 422, response.text
        stop.set()
        await probing
    return times, max(health)


def create_token(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env["ORCHESTRATE_HOME"] = str(home)
    command = ["token", "create", "--name", "bench", "--role", "operator"]
    created = subprocess.run(
        [sys.executable, "-m", "orchestrate", *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(home, port, worker=False)
    rows = []
    try:
        asyncio.run(wait_ready(base))
        token = create_token(home)
        for name, document in DOCUMENTS.items():
            parsed = parse_times(document, args.runs)
            posted, slowest_health = asyncio.run(api_times(base, token, document, args.runs))
            rows.append(
                f"| {name} | {ms(statistics.median(parsed))} | {ms(max(parsed))} "
                f"| {ms(statistics.median(posted))} | {ms(max(posted))} | {ms(slowest_health)} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; {args.runs} runs per document, SQLite")
    print()
    print(
        "| document | parse p50 (ms) | parse max (ms) | API 422 p50 (ms) | API 422 max (ms) "
        "| slowest health (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
