"""A YAML bomb or a 10,000-deep pipeline gets a 422 naming the problem; health keeps answering.

Before the limits, the 289-byte bomb held the event loop for 46 s: health stopped
answering and a running step's lease expired. How fast the refusal is, and how long
health waits meanwhile, is measured by bench/hostile_yaml.py (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import Server, clean_env, cli, free_port
from tests.unit.core.test_bounded_yaml import alias_bomb

pytestmark = pytest.mark.slow

TEN_THOUSAND_DEEP = "name: deep\nsteps: " + "[" * 10_000 + "]" * 10_000 + "\n"


@pytest.fixture
def server_and_token(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = clean_env(tmp_path / "home")
    server = Server(env, free_port())
    try:
        created = cli(env, "token", "create", "--name", "yaml", "--role", "operator")
        assert created.returncode == 0, created.stderr
        yield server, created.stdout.strip()
    finally:
        server.stop()


async def _ask_health(client: httpx.AsyncClient, stop: asyncio.Event) -> int:
    """Ask for health until stopped; the number of answers, each of which must be 200."""
    answers = 0
    while not stop.is_set():
        response = await client.get("/api/health", timeout=30)
        assert response.status_code == 200
        answers += 1
        await asyncio.sleep(0.02)
    return answers


@pytest.mark.parametrize(
    "document", [alias_bomb(), TEN_THOUSAND_DEEP], ids=["alias-bomb", "ten-thousand-deep"]
)
async def test_a_hostile_pipeline_is_refused_while_health_answers(
    server_and_token: tuple[Server, str], document: str
) -> None:
    server, token = server_and_token
    async with httpx.AsyncClient(base_url=server.url) as client:
        stop = asyncio.Event()
        health = asyncio.create_task(_ask_health(client, stop))
        # Without the limits the bomb took 46 s: the timeout is below that, a guard.
        response = await client.post(
            "/api/pipelines",
            content=document.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
            timeout=30,
        )
        stop.set()
        answered = await health
        after = await client.get("/api/health", timeout=30)

    assert response.status_code == 422, response.text
    assert "invalid YAML" in response.text
    assert answered >= 1
    assert after.status_code == 200
