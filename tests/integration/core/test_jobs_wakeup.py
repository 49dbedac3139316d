"""Idle workers hear of work enqueued by another process, without polling.

The job is enqueued by a separate Python process, so only LISTEN/NOTIFY (PostgreSQL)
or the named-pipe wake-up (SQLite) can reach the worker's wake event: the watcher test
shows the notice arrives with no polling involved at all. How soon a worker starts
such a job is a latency, measured by bench/jobs.py (and, for jobs queued for later, the
fire lateness of bench/schedules.py), not asserted here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text

from orchestrate.core.events import record_event
from orchestrate.core.events.log import NOTIFY_CHANNEL as EVENTS_CHANNEL
from orchestrate.core.jobs import (
    JobContext,
    JobKind,
    JobRegistry,
    JobRunner,
    NoPayload,
    RunnerConfig,
    enqueue,
)
from orchestrate.core.jobs.events import JobDeadLettered
from orchestrate.core.jobs.fifo import FifoListener, notify_listeners
from orchestrate.core.jobs.signals import NOTIFY_CHANNEL as JOBS_CHANNEL
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


WAKE = JobKind("test.wake", NoPayload)


@contextlib.asynccontextmanager
async def worker_of_wake_jobs(
    runtime: Runtime, config: RunnerConfig | None = None
) -> AsyncIterator[asyncio.Event]:
    """A runner of ``test.wake`` jobs in this process; the event is set once one ran."""
    started = asyncio.Event()

    async def handler(context: JobContext[Any]) -> None:
        started.set()

    registry = JobRegistry()
    registry.register(WAKE, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(JobRunner(runtime, registry, config or RunnerConfig()).run(stop))
    try:
        yield started
    finally:
        stop.set()
        await task


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
    async with worker_of_wake_jobs(runtime) as started:
        await enqueue_from_another_process(runtime)
        await asyncio.wait_for(started.wait(), HANG_GUARD)


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


def test_an_enqueuer_does_not_write_into_its_own_processes_pipes(tmp_path: Path) -> None:
    """Its own runners were woken directly; a byte in their pipe would only make them
    claim a second time and find nothing."""
    directory = tmp_path / "db.wake"
    own = FifoListener(directory)
    other = directory / "1-other.fifo"  # pid 1 is never this test's process
    os.mkfifo(other)
    reader = os.open(other, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert notify_listeners(directory, skip_own=True) == 1
        assert os.read(reader, 10) == b"!"
        with pytest.raises(BlockingIOError):
            os.read(own.fileno(), 10)
    finally:
        os.close(reader)
        own.close()


class ClaimCounter:
    """Counts the claim statements a database runs (the runner's ``UPDATE jobs ...
    attempts + ...`` that leases jobs), as the database sees them."""

    def __init__(self, runtime: Runtime) -> None:
        self.claims = 0
        self._engine = runtime.database.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        statement = args[2]
        if statement.startswith("UPDATE jobs SET status=") and "attempts=(jobs.attempts" in (
            statement
        ):
            self.claims += 1

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


async def test_an_idle_worker_with_a_live_watcher_waits_for_work_instead_of_polling(
    runtime: Runtime,
) -> None:
    """Every enqueue wakes it, so after a turn that found nothing it does not re-poll
    at 5, 10, 20 ms…: within half a second it claims at most once (its safety poll is
    ``poll_max``), and a job enqueued in its own process starts at once."""
    config = RunnerConfig(poll_max=timedelta(seconds=5))
    counter = ClaimCounter(runtime)
    try:
        async with worker_of_wake_jobs(runtime, config) as started:
            await asyncio.sleep(0.3)  # its first turn (nothing queued) is over
            before = counter.claims
            await asyncio.sleep(0.5)
            assert counter.claims - before == 0, "an idle worker re-polled the queue"

            async with runtime.uow() as uow:
                await enqueue(uow, WAKE, NoPayload())
                await uow.commit()
            await asyncio.wait_for(started.wait(), HANG_GUARD)
            await asyncio.sleep(0.3)
            # One claim took the job; its own NOTIFY (PostgreSQL) or pipe byte (SQLite)
            # came back to this process and was ignored, so no second, empty claim.
            assert counter.claims - before == 1
    finally:
        counter.close()


async def test_a_worker_whose_listen_connection_dropped_still_runs_other_processes_jobs(
    runtime: Runtime,
) -> None:
    """PostgreSQL only: the watcher's connection is killed on the server; the runner
    polls again (and reopens it), so a job enqueued elsewhere still runs."""
    if runtime.database.dialect != "postgresql":
        pytest.skip("SQLite's wake-ups are pipes of this process: nothing to drop")
    config = RunnerConfig(poll_max=timedelta(seconds=1))
    async with worker_of_wake_jobs(runtime, config) as started:
        await asyncio.sleep(0.3)
        async with runtime.uow() as uow:
            killed = await uow.session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %orchestrate_jobs%' AND pid <> pg_backend_pid()"
                    " AND datname = current_database()"
                )
            )
        assert killed is not None
        assert killed >= 1
        await enqueue_from_another_process(runtime)
        await asyncio.wait_for(started.wait(), HANG_GUARD)


async def test_a_transaction_notifies_jobs_once_and_events_from_the_tables_trigger(
    runtime: Runtime,
) -> None:
    """PostgreSQL: a transaction that queues jobs and records an event sends one
    ``pg_notify`` statement (the jobs'), just before its commit; the events' comes from
    the table's trigger, and a listener hears both once the transaction commits."""
    if runtime.database.dialect != "postgresql":
        pytest.skip("SQLite has no NOTIFY")
    heard: list[str] = []
    listener = await asyncpg.connect(
        runtime.database.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
    )
    for channel in (JOBS_CHANNEL, EVENTS_CHANNEL):
        await listener.add_listener(channel, lambda _c, _p, name, _payload: heard.append(name))
    statements: list[str] = []
    engine = runtime.database.engine.sync_engine

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with runtime.uow() as uow:
            await enqueue(uow, WAKE, NoPayload())
            await enqueue(uow, WAKE, NoPayload())
            record_event(uow, JobDeadLettered(subject="job_x", kind="test.wake", error="x"))
            await asyncio.sleep(0.2)
            assert heard == [], "heard before the commit"
            await uow.commit()
        for _ in range(100):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        await listener.close()
    notifies = [s for s in statements if "pg_notify" in s]
    assert len(notifies) == 1
    assert notifies[0].count("pg_notify") == 1
    assert statements.index(notifies[0]) == len(statements) - 1, "not sent last"
    assert sorted(heard) == sorted([JOBS_CHANNEL, EVENTS_CHANNEL])
