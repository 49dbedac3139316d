"""The SQL of the durable job queue: enqueue, claim with a lease, renew, complete, fail.

Claiming is one ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)
RETURNING …``: on PostgreSQL concurrent workers skip each other's rows; on SQLite the
surrounding ``BEGIN IMMEDIATE`` transaction serialises claimers. Every write that
finishes an attempt is fenced by ``(lease_owner, attempts)``: a worker whose lease
expired and whose job was taken over can no longer record anything for it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Row,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.ids import new_id
from orchestrate.core.jobs.kinds import JobKind, NewJob, P
from orchestrate.core.jobs.models import DEFAULT_MAX_ATTEMPTS, Job, JobStatus, LeaseLost
from orchestrate.core.jobs.signals import announce_new_jobs
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.uow import UnitOfWork

QUEUED: Any = literal_column(f"'{JobStatus.QUEUED.value}'")
RUNNING: Any = literal_column(f"'{JobStatus.RUNNING.value}'")
"""The statuses the claim, next-due and reclaim queries filter on, written into the SQL
rather than bound: only a literal lets the planner use the partial indexes on queued and
running jobs (``tables.JobRow``), on SQLite at all and on PostgreSQL in generic plans."""

MAX_ERROR_LENGTH = 8_000

jobs: Table = JobRow.__table__  # type: ignore[assignment]


async def enqueue(
    uow: UnitOfWork,
    kind: JobKind[P],
    payload: P,
    *,
    key: str | None = None,
    run_at: datetime | None = None,
    priority: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str:
    """Add a job to the caller's transaction; returns its id (the existing one for a known key).

    The job becomes visible to workers when the transaction commits, together with
    the change that asked for it.
    """
    ids = await enqueue_many(uow, [NewJob(kind, payload, key, run_at, priority, max_attempts)])
    return ids[0]


async def enqueue_many(uow: UnitOfWork, new_jobs: Sequence[NewJob[Any]]) -> list[str]:
    """Enqueue several jobs in one round trip where possible; ids in the input's order."""
    if not new_jobs:
        return []  # and no wake-up: there is nothing to wake anyone for
    now = uow.now()
    session = uow.session
    rows: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    keyed: list[dict[str, Any]] = []
    for item in new_jobs:
        _check(item)
        values = _row_values(item, new_id("job", now), now)
        rows.append(values)
        (plain if item.key is None else keyed).append(values)
    if plain:
        await session.execute(insert(jobs), plain)
    known = await _insert_unless_known(session, keyed) if keyed else {}
    await announce_new_jobs(uow)
    return [
        row["id"] if row["idempotency_key"] is None else known[row["idempotency_key"]]
        for row in rows
    ]


async def enqueue_leased(
    session: AsyncSession, item: NewJob[Any], *, owner: str, now: datetime, lease: timedelta
) -> Job | None:
    """Insert a job already claimed by ``owner`` (first attempt running); None if its key exists.

    For a worker that will run the follow-up of the job it is finishing itself: the
    follow-up then costs no claim transaction, and no other worker is told about it.
    """
    _check(item)
    values = _row_values(item, new_id("job", now), now) | {
        "status": JobStatus.RUNNING.value,
        "attempts": 1,
        "lease_owner": owner,
        "lease_expires_at": now + lease,
        "started_at": now,
    }
    statement: Any = insert(jobs).values(values)
    if item.key is not None:
        statement = _dialect_insert(session)(jobs).values(values)
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    with session.no_autoflush:  # the caller's row changes go out in one flush at commit
        inserted = await session.scalar(statement.returning(jobs.c.id))
    if inserted is None:
        return None
    return Job(
        id=values["id"],
        kind=item.kind.name,
        payload=dict(values["payload"]),
        attempt=1,
        max_attempts=item.max_attempts,
        created_at=now,
    )


def _dialect_insert(session: AsyncSession) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _check(item: NewJob[Any]) -> None:
    if item.max_attempts < 1:
        raise ValidationFailed(f"max_attempts must be at least 1, got {item.max_attempts}")


def _row_values(item: NewJob[Any], job_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": job_id,
        "kind": item.kind.name,
        "payload": item.kind.dump(item.payload),
        "status": JobStatus.QUEUED.value,
        "priority": item.priority,
        "attempts": 0,
        "max_attempts": item.max_attempts,
        "run_at": item.run_at or now,
        "idempotency_key": item.key,
        "created_at": now,
        "updated_at": now,
    }


async def _insert_unless_known(
    session: AsyncSession, keyed: list[dict[str, Any]]
) -> dict[str, str]:
    """Insert the jobs whose key is new, in one statement; the job id of every key."""
    dialect = session.get_bind().dialect.name
    inserted = await session.execute(_INSERT_UNLESS_KNOWN[dialect], keyed)
    ids = {str(key): str(job_id) for job_id, key in inserted.all()}
    missing = {row["idempotency_key"] for row in keyed} - ids.keys()
    if missing:
        existing = await session.execute(
            select(jobs.c.id, jobs.c.idempotency_key).where(jobs.c.idempotency_key.in_(missing))
        )
        ids |= {str(key): str(job_id) for job_id, key in existing.all()}
    return ids


# Built once per dialect: an ``INSERT … ON CONFLICT DO NOTHING RETURNING`` that SQLAlchemy
# runs for many rows at once (its "insertmanyvalues"), the new rows' ids coming back.
_INSERT_UNLESS_KNOWN = {
    name: make(jobs)
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(jobs.c.id, jobs.c.idempotency_key)
    for name, make in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


_CLAIMED_COLUMNS = (
    jobs.c.id,
    jobs.c.kind,
    jobs.c.payload,
    jobs.c.attempts,
    jobs.c.max_attempts,
    jobs.c.created_at,
    jobs.c.run_at,
    jobs.c.priority,
)


async def claim_due_jobs(
    session: AsyncSession,
    *,
    owner: str,
    kinds: Iterable[str],
    limit: int,
    now: datetime,
    lease: timedelta,
    only: Iterable[str] | None = None,
) -> list[tuple[Job, datetime]]:
    """Lease up to ``limit`` due jobs of the given kinds; returns each with its due time.

    ``only`` restricts the claim to these job ids (to run one specific job inline).
    """
    parameters: dict[str, Any] = {
        "b_kinds": list(kinds),
        "b_now": now,
        "b_limit": limit,
        "b_owner": owner,
        "b_expires": now + lease,
    }
    if only is not None:
        parameters["b_only"] = list(only)
    statement = _claim_statement(filtered=only is not None)
    # RETURNING gives no order; start them in the order they were chosen.
    rows = sorted(
        (await session.execute(statement, parameters)).all(),
        key=lambda row: (-row.priority, row.run_at, row.id),
    )
    return [(_to_job(row), row.run_at) for row in rows]


async def bring_forward(uow: UnitOfWork, job_ids: Sequence[str]) -> None:
    """Make queued jobs due now (they were queued for later as a fallback) and say so."""
    now = uow.now()
    for start in range(0, len(job_ids), 500):
        chunk = list(job_ids[start : start + 500])
        await uow.session.execute(
            update(jobs)
            .where(jobs.c.id.in_(chunk), jobs.c.status == JobStatus.QUEUED.value)
            .values(run_at=now, updated_at=now)
        )
    if job_ids:
        await announce_new_jobs(uow)


async def next_due_at(
    session: AsyncSession, *, kinds: Iterable[str], only: Iterable[str] | None = None
) -> datetime | None:
    """When the earliest queued job of these kinds is due; None when none is queued.

    An idle runner sleeps until then instead of polling blindly, so a job queued for a
    moment (a schedule's tick, a retry's backoff) starts at that moment.
    """
    parameters: dict[str, Any] = {"b_kinds": list(kinds)}
    if only is not None:
        parameters["b_only"] = list(only)
    due: datetime | None = await session.scalar(
        _next_due_statement(filtered=only is not None), parameters
    )
    return due


@functools.cache
def _claim_statement(*, filtered: bool) -> Any:
    """The claim's ``UPDATE … RETURNING``, built once: a runner claims on every turn, and
    building the statement cost more CPU than the database spent running it."""
    conditions = [
        jobs.c.status == QUEUED,
        jobs.c.kind.in_(bindparam("b_kinds", expanding=True)),
        jobs.c.run_at <= bindparam("b_now"),
    ]
    if filtered:
        conditions.append(jobs.c.id.in_(bindparam("b_only", expanding=True)))
    due = (
        select(jobs.c.id)
        .where(*conditions)
        .order_by(jobs.c.priority.desc(), jobs.c.run_at, jobs.c.id)
        .limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    now: Any = bindparam("b_now")
    return (
        update(jobs)
        .where(jobs.c.id.in_(due))
        .values(
            status=JobStatus.RUNNING.value,
            lease_owner=bindparam("b_owner"),
            lease_expires_at=bindparam("b_expires"),
            attempts=jobs.c.attempts + 1,
            started_at=func.coalesce(jobs.c.started_at, now),
            updated_at=now,
        )
        .returning(*_CLAIMED_COLUMNS)
    )


@functools.cache
def _next_due_statement(*, filtered: bool) -> Any:
    """``next_due_at``'s query, built once (see ``_claim_statement``)."""
    conditions = [
        jobs.c.status == QUEUED,
        jobs.c.kind.in_(bindparam("b_kinds", expanding=True)),
    ]
    if filtered:
        conditions.append(jobs.c.id.in_(bindparam("b_only", expanding=True)))
    return select(func.min(jobs.c.run_at)).where(*conditions)


def _to_job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        created_at=row.created_at,
    )


def _owned(owner: str) -> Any:
    return and_(
        jobs.c.id == bindparam("b_id"),
        jobs.c.status == JobStatus.RUNNING.value,
        jobs.c.lease_owner == owner,
        jobs.c.attempts == bindparam("b_attempt"),
    )


async def complete_job(
    session: AsyncSession, job: Job, *, owner: str, result: Any, now: datetime
) -> None:
    """Mark one attempt succeeded inside the caller's transaction, or raise ``LeaseLost``."""
    statement = (
        update(jobs)
        .where(_owned(owner))
        .values(
            status=JobStatus.SUCCEEDED.value,
            result=result,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )
    outcome = await session.execute(statement, {"b_id": job.id, "b_attempt": job.attempt})
    if getattr(outcome, "rowcount", 0) != 1:
        raise LeaseLost(f"Job {job.id} attempt {job.attempt} is no longer owned by {owner}")


async def complete_jobs(
    session: AsyncSession, results: Sequence[tuple[Job, Any]], *, owner: str, now: datetime
) -> None:
    """Batch form of ``complete_job`` for handlers without database effects of their own."""
    if not results:
        return
    statement = (
        update(jobs)
        .where(_owned(owner))
        .values(
            status=JobStatus.SUCCEEDED.value,
            result=bindparam("b_result", type_=jobs.c.result.type),
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )
    params = [{"b_id": j.id, "b_attempt": j.attempt, "b_result": r} for j, r in results]
    await session.execute(statement, params)


async def fail_job(
    session: AsyncSession,
    job: Job,
    *,
    owner: str,
    error: str,
    now: datetime,
    retry_at: datetime | None,
) -> JobStatus | None:
    """Record a failed attempt: back to ``queued`` at ``retry_at``, or ``dead`` when None.

    Returns the new status, or None when the lease was lost meanwhile.
    """
    status = JobStatus.QUEUED if retry_at is not None else JobStatus.DEAD
    statement = (
        update(jobs)
        .where(_owned(owner))
        .values(
            status=status.value,
            run_at=retry_at or jobs.c.run_at,
            last_error=error[:MAX_ERROR_LENGTH],
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now if status is JobStatus.DEAD else None,
            updated_at=now,
        )
    )
    outcome = await session.execute(statement, {"b_id": job.id, "b_attempt": job.attempt})
    return status if getattr(outcome, "rowcount", 0) == 1 else None


async def renew_leases(
    session: AsyncSession, jobs_held: Sequence[Job], *, owner: str, now: datetime, lease: timedelta
) -> set[str]:
    """Extend the leases of jobs still running here; returns the ids this worker still owns."""
    if not jobs_held:
        return set()
    statement = (
        update(jobs)
        .where(
            jobs.c.id.in_([j.id for j in jobs_held]),
            jobs.c.status == JobStatus.RUNNING.value,
            jobs.c.lease_owner == owner,
        )
        .values(lease_expires_at=now + lease)
        .returning(jobs.c.id, jobs.c.attempts)
    )
    rows = (await session.execute(statement)).all()
    attempts = {job.id: job.attempt for job in jobs_held}
    return {row.id for row in rows if attempts.get(row.id) == row.attempts}


async def reclaim_expired_leases(session: AsyncSession, *, now: datetime) -> int:
    """Return jobs of dead workers to the queue (or the dead letters when out of attempts)."""
    out_of_attempts = jobs.c.attempts >= jobs.c.max_attempts
    message = (
        literal("lease of worker ")
        + func.coalesce(jobs.c.lease_owner, "?")
        + literal(" expired: the worker stopped or lost contact with the database")
    )
    statement = (
        update(jobs)
        .where(jobs.c.status == RUNNING, jobs.c.lease_expires_at < now)
        .values(
            status=case((out_of_attempts, JobStatus.DEAD.value), else_=JobStatus.QUEUED.value),
            finished_at=case((out_of_attempts, now), else_=None),
            last_error=message,
            lease_owner=None,
            lease_expires_at=None,
            run_at=now,
            updated_at=now,
        )
        .returning(jobs.c.id)
    )
    return len((await session.execute(statement)).all())


async def release_jobs(
    session: AsyncSession, held: Sequence[Job], *, owner: str, now: datetime
) -> None:
    """Give unfinished jobs back on shutdown without spending one of their attempts."""
    if not held:
        return
    statement = (
        update(jobs)
        .where(_owned(owner))
        .values(
            status=JobStatus.QUEUED.value,
            attempts=jobs.c.attempts - 1,
            lease_owner=None,
            lease_expires_at=None,
            run_at=now,
            updated_at=now,
        )
    )
    await session.execute(statement, [{"b_id": j.id, "b_attempt": j.attempt} for j in held])
