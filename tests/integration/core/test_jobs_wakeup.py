"""Idle workers start new work in milliseconds, even when it was enqueued elsewhere.

Here the job is inserted behind the runner's back (raw SQL on another connection, as a
different process would), so only LISTEN/NOTIFY on PostgreSQL or the SQLite data
version check can wake the runner before its (deliberately long) poll interval.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import text

from orchestrate.core.db import create_database
from orchestrate.core.jobs import JobContext, JobRegistry, JobRunner, RunnerConfig
from orchestrate.core.jobs.queue import NOTIFY_CHANNEL
from orchestrate.core.runtime import Runtime

INSERT = text(
    "INSERT INTO jobs (id, kind, payload, status, priority, attempts, max_attempts, run_at,"
    " created_at, updated_at) VALUES ('job_external', 'test.wake', '{}', 'queued', 0, 0, 1,"
    " :now, :now, :now)"
)


async def test_an_idle_worker_wakes_for_a_job_committed_by_another_process(
    runtime: Runtime, engine_name: str
) -> None:
    started = asyncio.Event()

    async def handler(context: JobContext) -> None:
        started.set()

    registry = JobRegistry()
    registry.register("test.wake", handler)
    config = RunnerConfig(poll_max=timedelta(seconds=30))
    stop = asyncio.Event()
    task = asyncio.create_task(JobRunner(runtime, registry, config).run(stop))
    await asyncio.sleep(3.0)  # back-off doubles from 5 ms: the next poll is due only at ~5.1 s

    outsider = create_database(runtime.settings.database_url_value)
    try:
        async with outsider.engine.begin() as connection:
            now = runtime.clock.now()
            if engine_name == "sqlite":
                await connection.execute(INSERT, {"now": now.replace(tzinfo=None).isoformat(" ")})
            else:
                await connection.execute(INSERT, {"now": now})
                await connection.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        committed = time.monotonic()
        await asyncio.wait_for(started.wait(), 5)
        waited = time.monotonic() - committed
    finally:
        stop.set()
        await task
        await outsider.dispose()
    assert waited < 1.0, f"the worker needed {waited:.2f}s to notice the new job"
