"""Idle workers start work enqueued by another process within milliseconds, without polling.

The job is enqueued by a separate Python process, so only LISTEN/NOTIFY (PostgreSQL)
or the named-pipe wake-up (SQLite) can wake the runner before its deliberately long
poll interval.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrate.core.jobs import (
    JobContext,
    JobKind,
    JobRegistry,
    JobRunner,
    NoPayload,
    RunnerConfig,
    enqueue,
)
from orchestrate.core.jobs.fifo import FifoListener, notify_listeners
from orchestrate.core.runtime import Runtime

LATER = JobKind("test.later", NoPayload)

ENQUEUE_ONE = """
import asyncio
from orchestrate.core.jobs import JobKind, NoPayload, enqueue
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import load_settings

async def main():
    runtime = Runtime.open(load_settings())
    async with runtime.uow() as uow:
        await enqueue(uow, JobKind("test.wake", NoPayload), NoPayload())
        await uow.commit()
    await runtime.close()

asyncio.run(main())
"""


async def test_an_idle_worker_wakes_for_a_job_enqueued_by_another_process(
    runtime: Runtime,
) -> None:
    started = asyncio.Event()

    async def handler(context: JobContext) -> None:
        started.set()

    registry = JobRegistry()
    registry.register(JobKind("test.wake", NoPayload), handler)
    config = RunnerConfig(poll_max=timedelta(seconds=30))
    stop = asyncio.Event()
    task = asyncio.create_task(JobRunner(runtime, registry, config).run(stop))
    await asyncio.sleep(3.0)  # back-off doubles from 5 ms: the next poll is due only at ~5.1 s

    env = {
        **os.environ,
        "ORCHESTRATE_DATABASE_URL": runtime.settings.database_url_value,
        "ORCHESTRATE_HOME": str(runtime.settings.home),
    }
    try:
        enqueuer = await asyncio.create_subprocess_exec(sys.executable, "-c", ENQUEUE_ONE, env=env)
        assert await enqueuer.wait() == 0
        finished = time.monotonic()
        await asyncio.wait_for(started.wait(), 5)
        waited = time.monotonic() - finished
    finally:
        stop.set()
        await task
    assert waited < 1.0, f"the worker needed {waited:.2f}s to notice the new job"


async def test_an_idle_worker_wakes_when_a_job_queued_for_later_becomes_due(
    runtime: Runtime,
) -> None:
    """No notice comes when a job's ``run_at`` arrives: the runner sleeps until then."""
    started_at: list[datetime] = []

    async def handler(context: JobContext) -> None:
        started_at.append(datetime.now(UTC))

    registry = JobRegistry()
    registry.register(LATER, handler)
    config = RunnerConfig(poll_max=timedelta(seconds=30))
    stop = asyncio.Event()
    due = datetime.now(UTC) + timedelta(seconds=4)
    async with runtime.uow() as uow:
        await enqueue(uow, LATER, NoPayload(), run_at=due)
        await uow.commit()
    task = asyncio.create_task(JobRunner(runtime, registry, config).run(stop))
    try:
        while not started_at and datetime.now(UTC) < due + timedelta(seconds=10):
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    # the idle backoff alone would have slept 5.1 s, then 10.2 s between polls
    assert started_at, "the job never started"
    late = (started_at[0] - due).total_seconds()
    assert 0 <= late < 2.0, f"the job started {late:.2f}s after it was due"


def test_a_pipe_left_by_a_dead_worker_is_removed_by_the_next_enqueue(tmp_path: Path) -> None:
    directory = tmp_path / "db.wake"
    live = FifoListener(directory)
    stale = directory / "99999-dead.fifo"
    os.mkfifo(stale)
    try:
        assert notify_listeners(directory) == 1
        assert not stale.exists()
        assert os.read(live.fileno(), 10) == b"!"
    finally:
        live.close()
    assert list(directory.iterdir()) == []
