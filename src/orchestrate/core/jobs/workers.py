"""The worker registry: every worker process says it is alive every few seconds.

A worker (``orchestrate worker``, and the one ``serve`` runs) upserts one
``worker_heartbeats`` row under its job runner's id every
``ORCHESTRATE_WORKER_HEARTBEAT_SECONDS``: its host, pid, version, when it started and
how many jobs it runs. It deletes its row when it stops cleanly; a worker that died
leaves its row behind, which health reads as stale (no heartbeat for three intervals)
and which any worker's heartbeat deletes once it has been silent for
:data:`FORGET_SILENT_AFTER`. Leases, not this table, decide who runs a job: the
registry only tells operators (and alert rules) which workers are there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orchestrate.core.jobs.models import WorkerHeartbeat
from orchestrate.core.jobs.tables import WorkerRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)

FORGET_SILENT_AFTER = timedelta(days=1)
"""A worker silent this long is deleted from the registry (it died without stopping)."""
STALE_AFTER_BEATS = 3
"""Heartbeat intervals without one after which a worker counts as stale."""

_WORKERS: Table = WorkerRow.__table__  # type: ignore[assignment]


async def record_heartbeat(uow: UnitOfWork, beat: WorkerHeartbeat) -> None:
    """Insert or refresh a worker's row (one upsert on both engines)."""
    values = {
        "id": beat.id,
        "hostname": beat.hostname,
        "pid": beat.pid,
        "version": beat.version,
        "started_at": beat.started_at,
        "last_heartbeat_at": beat.last_heartbeat_at,
        "running_jobs": beat.running_jobs,
    }
    dialect = uow.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = dialect_insert(_WORKERS).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "last_heartbeat_at": statement.excluded.last_heartbeat_at,
            "running_jobs": statement.excluded.running_jobs,
        },
    )
    await uow.session.execute(statement)


async def forget_worker(uow: UnitOfWork, worker_id: str) -> None:
    """Delete a worker's row: it stopped cleanly."""
    await uow.session.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))


async def forget_silent_workers(uow: UnitOfWork, before: datetime) -> int:
    """Delete workers whose last heartbeat is older than ``before``; how many went."""
    result = await uow.session.execute(
        delete(WorkerRow).where(WorkerRow.last_heartbeat_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def worker_heartbeats(uow: UnitOfWork) -> list[WorkerHeartbeat]:
    """Every registered worker, the longest running first."""
    rows = await uow.session.scalars(select(WorkerRow).order_by(WorkerRow.started_at, WorkerRow.id))
    return [
        WorkerHeartbeat(
            id=row.id,
            hostname=row.hostname,
            pid=row.pid,
            version=row.version,
            started_at=row.started_at,
            last_heartbeat_at=row.last_heartbeat_at,
            running_jobs=row.running_jobs,
        )
        for row in rows
    ]


def is_stale(beat: WorkerHeartbeat, now: datetime, interval: timedelta) -> bool:
    """No heartbeat for :data:`STALE_AFTER_BEATS` intervals: the worker is likely gone."""
    return beat.age_at(now) > interval * STALE_AFTER_BEATS


async def keep_heartbeat(
    runtime: Runtime, worker_id: str, running_jobs: Callable[[], int], stop: asyncio.Event
) -> None:
    """Record this worker's heartbeat until ``stop`` is set, then remove its row.

    A failed beat (the database is briefly away) is logged and tried again at the next
    interval; the worker keeps working meanwhile.
    """
    from orchestrate import __version__

    interval = timedelta(seconds=runtime.settings.worker_heartbeat_seconds)
    started_at = runtime.clock.now()
    while not stop.is_set():
        try:
            async with runtime.uow() as uow:
                now = uow.now()
                beat = WorkerHeartbeat(
                    worker_id,
                    socket.gethostname(),
                    os.getpid(),
                    __version__,
                    started_at,
                    now,
                    running_jobs(),
                )
                await record_heartbeat(uow, beat)
                await forget_silent_workers(uow, now - FORGET_SILENT_AFTER)
                await uow.commit()
        except Exception:
            log.exception("worker_heartbeat_failed", worker_id=worker_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
    try:
        async with runtime.uow() as uow:
            await forget_worker(uow, worker_id)
            await uow.commit()
    except Exception:
        log.exception("worker_unregister_failed", worker_id=worker_id)
