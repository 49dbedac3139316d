"""A YAML bomb or a 10,000-deep pipeline gets a 4xx within a second; health keeps answering.

Before the limits, the 289-byte bomb held the event loop for 46 s: health stopped
answering and a running step's lease expired.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import Server, cli, free_port
from tests.unit.core.test_bounded_yaml import alias_bomb

pytestmark = pytest.mark.slow

TEN_THOUSAND_DEEP = "name: deep\nsteps: " + "[" * 10_000 + "]" * 10_000 + "\n"


@pytest.fixture
def server_and_token(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env["ORCHESTRATE_HOME"] = str(tmp_path / "home")
    server = Server(env, free_port())
    try:
        created = cli(env, "token", "create", "--name", "yaml", "--role", "operator")
        assert created.returncode == 0, created.stderr
        yield server, created.stdout.strip()
    finally:
        server.stop()


async def _health_latencies(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        started = time.monotonic()
        response = await client.get("/api/health", timeout=5)
        assert response.status_code == 200
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.02)
    return latencies


@pytest.mark.parametrize(
    "document", [alias_bomb(), TEN_THOUSAND_DEEP], ids=["alias-bomb", "ten-thousand-deep"]
)
async def test_a_hostile_pipeline_is_refused_within_a_second_while_health_answers(
    server_and_token: tuple[Server, str], document: str
) -> None:
    server, token = server_and_token
    async with httpx.AsyncClient(base_url=server.url) as client:
        stop = asyncio.Event()
        health = asyncio.create_task(_health_latencies(client, stop))
        await asyncio.sleep(0.1)

        started = time.monotonic()
        response = await client.post(
            "/api/pipelines",
            content=document.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
            timeout=60,
        )
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.1)
        stop.set()
        latencies = await health

    assert response.status_code == 422, response.text
    assert "invalid YAML" in response.text
    assert elapsed < 1.0
    assert max(latencies) < 1.0
