"""Idle workers hear of work enqueued by another process, without polling.

The job is enqueued by a separate Python process, so only LISTEN/NOTIFY (PostgreSQL)
or the named-pipe wake-up (SQLite) can reach the worker's wake event: the watcher test
shows the notice arrives with no polling involved at all. How soon a worker starts
such a job is a latency, measured by bench/jobs.py (and, for jobs queued for later, the
fire lateness of bench/schedules.py), not asserted here.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from orchestrate.core.jobs.watchers import NullWatcher, open_watcher
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


HANG_GUARD = 30
"""Seconds before a wait fails instead of hanging; it measures nothing."""


async def enqueue_from_another_process(runtime: Runtime) -> None:
    env = {
        **os.environ,
        "ORCHESTRATE_DATABASE_URL": runtime.settings.database_url_value,
        "ORCHESTRATE_HOME": str(runtime.settings.home),
    }
    enqueuer = await asyncio.create_subprocess_exec(sys.executable, "-c", ENQUEUE_ONE, env=env)
    assert await enqueuer.wait() == 0


async def test_a_job_enqueued_by_another_process_sets_the_watchers_wake_event(
    runtime: Runtime,
) -> None:
    wake = asyncio.Event()
    watcher = await open_watcher(runtime.database.engine.url, wake)
    try:
        assert not isinstance(watcher, NullWatcher), "no watcher: workers would only poll"
        assert not wake.is_set()

        await enqueue_from_another_process(runtime)

        await asyncio.wait_for(wake.wait(), HANG_GUARD)
    finally:
        await watcher.close()


async def test_an_idle_worker_runs_a_job_enqueued_by_another_process(runtime: Runtime) -> None:
    started = asyncio.Event()

    async def handler(context: JobContext[Any]) -> None:
        started.set()

    registry = JobRegistry()
    registry.register(JobKind("test.wake", NoPayload), handler)
    stop = asyncio.Event()
    task = asyncio.create_task(JobRunner(runtime, registry, RunnerConfig()).run(stop))
    try:
        await enqueue_from_another_process(runtime)
        await asyncio.wait_for(started.wait(), HANG_GUARD)
    finally:
        stop.set()
        await task


async def test_an_idle_worker_runs_a_job_queued_for_later_once_it_is_due(
    runtime: Runtime,
) -> None:
    """No notice comes when a job's ``run_at`` arrives: the runner sleeps until then."""
    started_at: list[datetime] = []
    ran = asyncio.Event()

    async def handler(context: JobContext[Any]) -> None:
        started_at.append(datetime.now(UTC))
        ran.set()

    registry = JobRegistry()
    registry.register(LATER, handler)
    config = RunnerConfig(poll_max=timedelta(seconds=30))
    stop = asyncio.Event()
    due = datetime.now(UTC) + timedelta(seconds=1)
    async with runtime.uow() as uow:
        await enqueue(uow, LATER, NoPayload(), run_at=due)
        await uow.commit()
    task = asyncio.create_task(JobRunner(runtime, registry, config).run(stop))
    try:
        await asyncio.wait_for(ran.wait(), HANG_GUARD)
    finally:
        stop.set()
        await task
    assert started_at[0] >= due, "the job ran before it was due"


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
