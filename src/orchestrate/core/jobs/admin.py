"""Inspecting and steering the queue: list, show, retry dead jobs, cancel, statistics.

Like ``enqueue``, these work inside a unit of work the caller has entered and commits,
so a capability can add its audit record to the same transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from orchestrate.core.clock import ensure_utc
from orchestrate.core.errors import Conflict, NotFound
from orchestrate.core.events import record_event
from orchestrate.core.jobs.events import JobCancelled, JobRetried
from orchestrate.core.jobs.models import JobInfo, JobStatus, QueueStats
from orchestrate.core.jobs.queue import QUEUED, RUNNING
from orchestrate.core.jobs.signals import announce_new_jobs
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.pagination import Page, check_page_size, newest_first, page_of
from orchestrate.core.uow import UnitOfWork


async def get_job(uow: UnitOfWork, job_id: str) -> JobInfo:
    row = await uow.session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"No job {job_id!r}; see 'orchestrate job list'", job_id=job_id)
    return _info(row)


async def find_job_by_key(uow: UnitOfWork, key: str) -> JobInfo | None:
    """The job enqueued with this idempotency key, if it is still stored."""
    row = await uow.session.scalar(select(JobRow).where(JobRow.idempotency_key == key))
    return None if row is None else _info(row)


async def list_jobs(
    uow: UnitOfWork,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[JobInfo]:
    """Jobs newest first, optionally of one status or kind."""
    check_page_size(limit)
    query = newest_first(select(JobRow), JobRow, limit, cursor)
    if status is not None:
        query = query.where(JobRow.status == status.value)
    if kind is not None:
        query = query.where(JobRow.kind == kind)
    rows, next_cursor = page_of(list(await uow.session.scalars(query)), limit)
    return Page(items=[_info(row) for row in rows], next_cursor=next_cursor)


async def retry_job(uow: UnitOfWork, job_id: str) -> JobInfo:
    """Put a dead or cancelled job back in the queue with a fresh set of attempts."""
    row = await uow.session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"No job {job_id!r}", job_id=job_id)
    if row.status not in (JobStatus.DEAD.value, JobStatus.CANCELLED.value):
        raise Conflict(
            f"Job {job_id} is {row.status}; only dead or cancelled jobs can be retried",
            job_id=job_id,
            status=row.status,
        )
    now = uow.now()
    row.status = JobStatus.QUEUED.value
    row.attempts = 0
    row.run_at = now
    row.finished_at = None
    row.updated_at = now
    record_event(uow, JobRetried(subject=job_id, kind=row.kind))
    await announce_new_jobs(uow)
    return _info(row)


async def cancel_job(uow: UnitOfWork, job_id: str) -> JobInfo:
    """Cancel a job that has not started; a running job is left to finish."""
    now = uow.now()
    changed = await uow.session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
        .values(status=JobStatus.CANCELLED.value, finished_at=now, updated_at=now)
    )
    row = await uow.session.get(JobRow, job_id, populate_existing=True)
    if row is None:
        raise NotFound(f"No job {job_id!r}", job_id=job_id)
    if getattr(changed, "rowcount", 0) != 1:
        raise Conflict(
            f"Job {job_id} is {row.status}; only queued jobs can be cancelled",
            job_id=job_id,
            status=row.status,
        )
    record_event(uow, JobCancelled(subject=job_id, kind=row.kind))
    return _info(row)


async def queue_stats(uow: UnitOfWork) -> QueueStats:
    """Counts of unfinished and dead jobs by kind, and how long the oldest due job waited."""
    now = uow.now()
    counted = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.DEAD.value)
    rows = (
        await uow.session.execute(
            select(JobRow.kind, JobRow.status, func.count())
            .where(JobRow.status.in_(counted))
            .group_by(JobRow.kind, JobRow.status)
        )
    ).all()
    oldest_by_kind = (
        await uow.session.execute(
            select(JobRow.kind, func.min(JobRow.run_at))
            .where(JobRow.status == QUEUED, JobRow.run_at <= now)
            .group_by(JobRow.kind)
        )
    ).all()
    counts = {(kind, JobStatus(status)): int(count) for kind, status, count in rows}
    ages = {kind: now - ensure_utc(oldest) for kind, oldest in oldest_by_kind}
    age = max(ages.values()) if ages else None
    return QueueStats(counts=counts, oldest_due_age=age, oldest_due_age_by_kind=ages)


async def busy_workers(uow: UnitOfWork) -> dict[str, int]:
    """The workers holding a live lease right now, with how many jobs each is running.

    A worker that is up but idle holds no lease and is not seen here: the queue's depth
    and the age of its oldest due job are what tell whether idle workers are missing.
    """
    rows = (
        await uow.session.execute(
            select(JobRow.lease_owner, func.count())
            .where(
                JobRow.status == RUNNING,
                JobRow.lease_owner.is_not(None),
                JobRow.lease_expires_at > uow.now(),
            )
            .group_by(JobRow.lease_owner)
        )
    ).all()
    return {str(owner): int(count) for owner, count in rows}


def _info(row: JobRow) -> JobInfo:
    return JobInfo(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        status=JobStatus(row.status),
        priority=row.priority,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        run_at=row.run_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        idempotency_key=row.idempotency_key,
        last_error=row.last_error,
        result=row.result,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
