"""The platform's health by component: database, workers, queue, scheduler.

Read by ``GET /api/monitoring/health`` and the dashboard's Monitoring page through
``monitoring.service``. One read-only transaction; a database that cannot be reached
is ``down`` and nothing else is read.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from orchestrate import __version__
from orchestrate.core import jobs
from orchestrate.core.health import SchedulerReading, scheduler_probe
from orchestrate.core.jobs import JobStatus, QueueStats, WorkerHeartbeat
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring import _store as store
from orchestrate.monitoring.models import (
    DatabaseHealth,
    QueueHealth,
    SchedulerHealth,
    Status,
    SystemHealth,
    WorkerHealth,
    WorkersHealth,
    overall,
    queue_status,
    scheduler_status,
)


async def check_system_health(runtime: Runtime) -> SystemHealth:
    """Every component's status, and the whole's; never raises for a database that is down.

    One read-only transaction: the round trip first (timed: the database's latency),
    then the registry, the queue and the scheduler. Only a failure before the round
    trip answered means the database is down; a later one is raised like any error.
    """
    uow = runtime.uow(read_only=True, urgent=True)
    dialect = uow.database.dialect
    latency_ms: float | None = None
    started = time.perf_counter()
    try:
        async with uow:
            await store.ping(uow)
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            now = uow.now()
            beats = await jobs.worker_heartbeats(uow)
            stats = await jobs.queue_stats(uow)
            reading = await scheduler_probe.read(uow)
    except Exception as error:
        if latency_ms is not None:
            raise
        database = DatabaseHealth(Status.DOWN, False, dialect, None, type(error).__name__)
        return SystemHealth(
            Status.DOWN, __version__, runtime.clock.now(), database, None, None, None
        )
    database = DatabaseHealth(Status.OK, True, dialect, latency_ms)
    interval = timedelta(seconds=runtime.settings.worker_heartbeat_seconds)
    workers = _workers(beats, now, interval)
    queue = queue_health(stats)
    scheduler = None if reading is None else _scheduler(reading, now)
    parts = (workers.status, queue.status) + (() if scheduler is None else (scheduler.status,))
    whole = overall(database, parts)
    return SystemHealth(whole, __version__, now, database, workers, queue, scheduler)


def _workers(beats: list[WorkerHeartbeat], now: datetime, interval: timedelta) -> WorkersHealth:
    found = tuple(
        WorkerHealth(
            id=beat.id,
            hostname=beat.hostname,
            pid=beat.pid,
            version=beat.version,
            started_at=beat.started_at,
            last_heartbeat_at=beat.last_heartbeat_at,
            heartbeat_age=beat.age_at(now),
            running_jobs=beat.running_jobs,
            status=Status.STALE if jobs.is_stale(beat, now, interval) else Status.OK,
        )
        for beat in beats
    )
    alive = any(worker.status is Status.OK for worker in found)
    return WorkersHealth(Status.OK if alive else Status.DEGRADED, interval, found)


def _scheduler(reading: SchedulerReading, now: datetime) -> SchedulerHealth:
    status, overdue = scheduler_status(reading.next_due_at, now)
    return SchedulerHealth(
        status,
        reading.schedules,
        reading.active,
        reading.next_due_at,
        reading.last_fired_at,
        overdue,
    )


def queue_health(stats: QueueStats) -> QueueHealth:
    """The queue's totals over every kind, with its status."""
    depth = running = dead = 0
    for (_kind, status), count in stats.counts.items():
        if status is JobStatus.QUEUED:
            depth += count
        elif status is JobStatus.RUNNING:
            running += count
        elif status is JobStatus.DEAD:
            dead += count
    return QueueHealth(
        queue_status(depth, stats.oldest_due_age), depth, stats.oldest_due_age, running, dead
    )
