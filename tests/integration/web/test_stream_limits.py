"""One token holds at most ``max_streams_per_token`` live streams; the next gets a 429.

The app runs under a real uvicorn server on a free loopback port (an in-process ASGI
transport buffers whole responses, so it cannot hold a stream open), and real clients
open real streams: the event stream and a run's followed logs share one allowance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
import uvicorn

from orchestrate.app.http import create_app
from orchestrate.app.serve import listen
from orchestrate.auth.models import Role
from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.support import bearer, issue_token

LIMIT = 2


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[Runtime]:
    capped = settings.model_copy(update={"max_streams_per_token": LIMIT})
    runtime = Runtime(settings=capped, database=create_database(capped.database_url_value))
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def base_url(limited: Runtime) -> AsyncIterator[str]:
    listener = listen("127.0.0.1", 0)
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(limited), log_config=None, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


async def open_stream(
    stack: AsyncExitStack, client: httpx.AsyncClient, path: str, token: str
) -> httpx.Response:
    """A stream left open on ``stack``; its first line read when it was accepted.

    The line iterator is kept on the stack too: an abandoned one is finalised by the
    garbage collector, which closes the connection under the test's feet.
    """
    response = await stack.enter_async_context(
        client.stream("GET", path, headers=bearer(token), timeout=10)
    )
    if response.status_code == 200:
        lines = response.aiter_lines()
        stack.push_async_callback(lines.aclose)  # type: ignore[attr-defined]
        assert await anext(lines)  # the server is streaming (a retry: or id: line)
    else:
        await response.aread()
    return response


async def test_a_token_over_its_stream_allowance_gets_a_429_and_others_are_unaffected(
    limited: Runtime, base_url: str
) -> None:
    alice = await issue_token(limited, "alice", Role.VIEWER)
    bob = await issue_token(limited, "bob", Role.VIEWER)

    async with AsyncExitStack() as stack, httpx.AsyncClient(base_url=base_url) as client:
        held = [await open_stream(stack, client, "/api/events/stream", alice) for _ in range(2)]
        assert [r.status_code for r in held] == [200, 200]

        refused = await open_stream(stack, client, "/api/events/stream", alice)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "5"
        assert "max_streams_per_token" in refused.json()["detail"]

        other = await open_stream(stack, client, "/api/events/stream", bob)
        assert other.status_code == 200
        # A plain request is no stream: the allowance does not touch it.
        listed = await client.get("/api/events", headers=bearer(alice))
        assert listed.status_code == 200


async def test_a_closed_stream_gives_its_slot_back(limited: Runtime, base_url: str) -> None:
    alice = await issue_token(limited, "alice", Role.VIEWER)
    async with httpx.AsyncClient(base_url=base_url) as client:
        async with AsyncExitStack() as first:
            for _ in range(LIMIT):
                await open_stream(first, client, "/api/events/stream", alice)
        # Both closed by the client: the server sees the disconnects and frees the slots.
        deadline = time.monotonic() + 10
        statuses: list[int] = []
        while time.monotonic() < deadline:
            async with AsyncExitStack() as again:
                statuses = [
                    (await open_stream(again, client, "/api/events/stream", alice)).status_code
                    for _ in range(LIMIT)
                ]
            if statuses == [200] * LIMIT:
                break
            await asyncio.sleep(0.1)
        assert statuses == [200] * LIMIT


async def test_followed_run_logs_count_toward_the_same_allowance(
    limited: Runtime, base_url: str
) -> None:
    alice = await issue_token(limited, "alice", Role.OPERATOR)
    pipeline = "name: wait\nsteps:\n  - id: gate\n    approval: {approvers: [alice]}\n"
    async with AsyncExitStack() as stack, httpx.AsyncClient(base_url=base_url) as client:
        created = await client.post(
            "/api/pipelines",
            content=pipeline,
            headers={**bearer(alice), "Content-Type": "application/yaml"},
        )
        assert created.status_code == 201, created.text
        run = await client.post("/api/pipelines/wait/trigger", headers=bearer(alice))
        assert run.status_code in (200, 201, 202), run.text
        logs = f"/api/pipeline-runs/{run.json()['id']}/logs?follow=true"

        assert (await open_stream(stack, client, logs, alice)).status_code == 200
        assert (await open_stream(stack, client, "/api/events/stream", alice)).status_code == 200
        assert (await open_stream(stack, client, logs, alice)).status_code == 429
        # Not following is a plain answer, not a stream.
        plain = await client.get(logs.removesuffix("?follow=true"), headers=bearer(alice))
        assert plain.status_code == 200


async def test_a_refused_route_takes_no_slot(limited: Runtime, base_url: str) -> None:
    alice = await issue_token(limited, "alice", Role.VIEWER)
    async with AsyncExitStack() as stack, httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(LIMIT + 3):
            missing = await client.get(
                "/api/pipeline-runs/run_nope/logs?follow=true", headers=bearer(alice)
            )
            assert missing.status_code == 404
        held = [await open_stream(stack, client, "/api/events/stream", alice) for _ in range(2)]
        assert [r.status_code for r in held] == [200, 200]
