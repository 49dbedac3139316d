"""The hourly retention job: every rule of the application's plan, one run at a time.

Workers enqueue one ``core.prune`` job per hour (an idempotency key per hour makes that
one job however many workers run). It runs every retention rule in batches
(``core.retention``) and logs what each removed. Should one run outlast the hour, the
next finds it still running and steps aside, so two never prune side by side (they
could do no harm — pruning is idempotent — but would only compete for the database).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import structlog
from sqlalchemy import func, select

from orchestrate.core.jobs.kinds import JobKind, NoPayload
from orchestrate.core.jobs.models import JobStatus
from orchestrate.core.jobs.queue import enqueue
from orchestrate.core.jobs.registry import JobContext, JobRegistry
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.retention.pruning import RetentionPlan, prune
from orchestrate.core.runtime import Runtime

log = structlog.get_logger(__name__)

PRUNE_KIND = JobKind("core.prune", NoPayload)
LEGACY_PRUNE_KIND = JobKind("core.prune_jobs", NoPayload)
"""The job's name before it ran every rule; one may still be queued in an older database."""
PRUNE_EVERY = timedelta(hours=1)
PRUNE_TIMEOUT = timedelta(minutes=50)


def register_maintenance(registry: JobRegistry, plan: Callable[[], RetentionPlan]) -> None:
    """Register the hourly job; ``plan`` gives the rules (built when the job runs)."""

    async def run(context: JobContext[NoPayload]) -> dict[str, object]:
        if await _another_is_running(context):
            log.info("retention_skipped", reason="another prune job is running")
            return {"skipped": "another prune job is running"}
        outcomes = await prune(context.runtime, plan())
        failed = [f"{o.rule}: {o.error}" for o in outcomes if o.error is not None]
        if failed:  # retried (pruning is idempotent); dead with this message at the last
            raise RuntimeError(f"retention rules failed: {'; '.join(failed)}")
        return {
            outcome.rule: {"rows": outcome.rows, "files": outcome.files}
            for outcome in outcomes
            if not outcome.is_off
        }

    registry.register(PRUNE_KIND, run, timeout=PRUNE_TIMEOUT)
    registry.register(LEGACY_PRUNE_KIND, run, timeout=PRUNE_TIMEOUT)


async def _another_is_running(context: JobContext[NoPayload]) -> bool:
    async with context.runtime.uow(read_only=True) as uow:
        running = await uow.session.scalar(
            select(func.count())
            .select_from(JobRow)
            .where(
                JobRow.kind.in_([PRUNE_KIND.name, LEGACY_PRUNE_KIND.name]),
                JobRow.status == JobStatus.RUNNING.value,
                JobRow.id != context.job.id,
                JobRow.lease_expires_at > uow.now(),
            )
        )
    return bool(running)


async def schedule_maintenance(runtime: Runtime) -> None:
    """Enqueue this hour's prune job unless some worker already did."""
    async with runtime.uow() as uow:
        hour = uow.now().strftime("%Y-%m-%dT%H")
        key = f"{PRUNE_KIND.name}:{hour}"
        await enqueue(uow, PRUNE_KIND, NoPayload(), key=key, max_attempts=3)
        await uow.commit()
