"""The worker registry: a running worker's heartbeat row, refreshed, removed on a clean
stop, read as stale when it goes silent, forgotten after a day; both databases."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta

from orchestrate import __version__
from orchestrate.app.worker import run_worker
from orchestrate.core.clock import FrozenClock
from orchestrate.core.jobs import JobRegistry, WorkerHeartbeat, is_stale, worker_heartbeats
from orchestrate.core.jobs.workers import FORGET_SILENT_AFTER, record_heartbeat
from orchestrate.core.runtime import Runtime


async def registered(runtime: Runtime) -> list[WorkerHeartbeat]:
    async with runtime.uow(read_only=True) as uow:
        return await worker_heartbeats(uow)


async def wait_for(runtime: Runtime, check: object, seconds: float = 10) -> list[WorkerHeartbeat]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await registered(runtime)
        if check(found):  # type: ignore[operator]
            return found
        assert asyncio.get_running_loop().time() < deadline, f"registry stayed {found}"
        await asyncio.sleep(0.05)


def beat(worker_id: str, at: datetime) -> WorkerHeartbeat:
    return WorkerHeartbeat(worker_id, "elsewhere", 42, "0.0.1", at, at, 0)


async def test_a_running_worker_is_registered_refreshed_and_removed_when_it_stops(
    runtime: Runtime,
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"worker_heartbeat_seconds": 0.1})
    stop = asyncio.Event()
    working = asyncio.create_task(run_worker(runtime, stop, JobRegistry(), consumers=[]))
    try:
        first = (await wait_for(runtime, lambda found: len(found) == 1))[0]
        assert (first.hostname, first.pid, first.version) == (
            socket.gethostname(),
            os.getpid(),
            __version__,
        )
        assert first.running_jobs == 0
        later = await wait_for(
            runtime, lambda found: found and found[0].last_heartbeat_at > first.last_heartbeat_at
        )
        assert later[0].id == first.id
        assert later[0].started_at == first.started_at
    finally:
        stop.set()
        await asyncio.wait_for(working, 30)

    assert await registered(runtime) == []


async def test_a_worker_silent_for_three_intervals_is_stale() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    interval = timedelta(seconds=5)

    assert not is_stale(beat("w", now - timedelta(seconds=15)), now, interval)
    assert is_stale(beat("w", now - timedelta(seconds=16)), now, interval)


async def test_a_worker_silent_for_a_day_is_forgotten_by_the_next_heartbeat(
    frozen_runtime: Runtime, clock: FrozenClock
) -> None:
    async with frozen_runtime.uow() as uow:
        now = uow.now()
        await record_heartbeat(uow, beat("dead-a-day", now - FORGET_SILENT_AFTER - timedelta(1)))
        await record_heartbeat(uow, beat("dead-an-hour", now - timedelta(hours=1)))
        await uow.commit()
    frozen_runtime.settings = frozen_runtime.settings.model_copy(
        update={"worker_heartbeat_seconds": 0.05}
    )
    stop = asyncio.Event()
    working = asyncio.create_task(run_worker(frozen_runtime, stop, JobRegistry(), consumers=[]))
    try:
        found = await wait_for(
            frozen_runtime, lambda found: "dead-a-day" not in {w.id for w in found}
        )
    finally:
        stop.set()
        await asyncio.wait_for(working, 30)

    assert "dead-an-hour" in {w.id for w in found}
    assert len(found) == 2  # the dead-an-hour worker and the live one
