"""Keeping the queue table small: finished jobs are deleted after a retention period.

Workers enqueue one ``core.prune_jobs`` job per hour (an idempotency key per hour makes
that one job however many workers run); it deletes succeeded and cancelled jobs that
finished more than the retention period ago, in batches so no transaction holds the
table for long. Dead jobs are kept until an operator retries or inspects them.
Idempotency keys are remembered as long as their job row exists, so a key can be
reused once its job has been pruned.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from orchestrate.core.jobs.kinds import JobKind, NoPayload
from orchestrate.core.jobs.models import JobStatus
from orchestrate.core.jobs.queue import enqueue
from orchestrate.core.jobs.registry import JobContext, JobRegistry
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

PRUNE_KIND = JobKind("core.prune_jobs", NoPayload)
PRUNE_BATCH = 1000
PRUNE_EVERY = timedelta(hours=1)


async def prune_finished_jobs(uow: UnitOfWork, *, older_than: timedelta, limit: int) -> int:
    """Delete up to ``limit`` succeeded or cancelled jobs finished before ``older_than`` ago."""
    cutoff = uow.now() - older_than
    doomed = (
        select(JobRow.id)
        .where(
            JobRow.status.in_([JobStatus.SUCCEEDED.value, JobStatus.CANCELLED.value]),
            JobRow.finished_at < cutoff,
        )
        .limit(limit)
        .scalar_subquery()
    )
    result = await uow.session.execute(delete(JobRow).where(JobRow.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)


def register_maintenance(registry: JobRegistry, *, retention: timedelta) -> None:
    async def prune(context: JobContext[NoPayload]) -> dict[str, int]:
        deleted = 0
        while True:
            async with context.uow() as uow:
                batch = await prune_finished_jobs(uow, older_than=retention, limit=PRUNE_BATCH)
                await uow.commit()
            deleted += batch
            if batch < PRUNE_BATCH:
                return {"deleted": deleted}

    registry.register(PRUNE_KIND, prune, timeout=timedelta(minutes=30))


async def schedule_maintenance(runtime: Runtime) -> None:
    """Enqueue this hour's prune job unless some worker already did."""
    async with runtime.uow() as uow:
        hour = uow.now().strftime("%Y-%m-%dT%H")
        key = f"{PRUNE_KIND.name}:{hour}"
        await enqueue(uow, PRUNE_KIND, NoPayload(), key=key, max_attempts=3)
        await uow.commit()
