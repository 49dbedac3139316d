"""The hourly retention job: finished jobs are pruned after their period; dead ones are kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from orchestrate.core.clock import FrozenClock
from orchestrate.core.jobs import (
    JobContext,
    JobFailed,
    JobKind,
    JobRegistry,
    JobRunner,
    JobStatus,
    NoPayload,
    RunnerConfig,
    enqueue,
)
from orchestrate.core.jobs.maintenance import (
    PRUNE_KIND,
    register_maintenance,
    schedule_maintenance,
)
from orchestrate.core.jobs.retention import FinishedJobs
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.retention import Retention, RetentionPlan
from orchestrate.core.runtime import Runtime

FAST = RunnerConfig(poll_max=timedelta(milliseconds=50))


def jobs_only() -> RetentionPlan:
    return RetentionPlan.of([Retention(rules=(FinishedJobs(),))])


async def statuses(runtime: Runtime) -> dict[str, int]:
    async with runtime.uow(read_only=True) as uow:
        rows = await uow.session.execute(
            select(JobRow.kind, func.count()).group_by(JobRow.kind).order_by(JobRow.kind)
        )
        return {str(kind): int(count) for kind, count in rows.all()}


async def test_jobs_finished_longer_ago_than_the_retention_are_deleted(
    frozen_runtime: Runtime,
) -> None:
    clock = frozen_runtime.clock
    assert isinstance(clock, FrozenClock)

    async def ok(context: JobContext[Any]) -> None:
        return None

    async def broken(context: JobContext[Any]) -> None:
        raise JobFailed("keep me for the post-mortem", retry=False)

    registry = JobRegistry()
    registry.register(JobKind("old.ok", NoPayload), ok)
    registry.register(JobKind("old.dead", NoPayload), broken)
    registry.register(JobKind("new.ok", NoPayload), ok)
    register_maintenance(registry, jobs_only)

    async with frozen_runtime.uow() as uow:
        for kind in ("old.ok", "old.ok", "old.dead"):
            await enqueue(uow, JobKind(kind, NoPayload), NoPayload())
        await uow.commit()
    await JobRunner(frozen_runtime, registry, FAST).run(until_idle=True)

    clock.advance(timedelta(days=8))
    async with frozen_runtime.uow() as uow:
        await enqueue(uow, JobKind("new.ok", NoPayload), NoPayload())
        await uow.commit()
    await schedule_maintenance(frozen_runtime)
    await JobRunner(frozen_runtime, registry, FAST).run(until_idle=True)

    remaining = await statuses(frozen_runtime)
    assert "old.ok" not in remaining
    assert remaining["old.dead"] == 1
    assert remaining["new.ok"] == 1
    async with frozen_runtime.uow(read_only=True) as uow:
        prune = await uow.session.scalar(select(JobRow).where(JobRow.kind == PRUNE_KIND.name))
    assert prune is not None
    assert prune.status == JobStatus.SUCCEEDED
    assert prune.result == {"jobs": {"rows": 2, "files": 0}}


async def test_only_one_prune_job_is_enqueued_per_hour_however_many_workers_ask(
    frozen_runtime: Runtime,
) -> None:
    clock = frozen_runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.set(clock.now().replace(minute=5))
    for _ in range(3):
        await schedule_maintenance(frozen_runtime)
    clock.advance(timedelta(minutes=30))
    await schedule_maintenance(frozen_runtime)
    assert (await statuses(frozen_runtime)) == {PRUNE_KIND.name: 1}

    clock.advance(timedelta(hours=1))
    await schedule_maintenance(frozen_runtime)
    assert (await statuses(frozen_runtime)) == {PRUNE_KIND.name: 2}


async def test_a_prune_job_steps_aside_while_another_is_still_running(
    frozen_runtime: Runtime,
) -> None:
    registry = JobRegistry()
    registry.register(OLD_OK, _ok)
    register_maintenance(registry, jobs_only)
    async with frozen_runtime.uow() as uow:
        await enqueue(uow, OLD_OK, NoPayload())
        await uow.commit()
    await JobRunner(frozen_runtime, registry, FAST).run(until_idle=True)
    clock = frozen_runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(days=8))
    now = clock.now()
    async with frozen_runtime.uow() as uow:
        uow.session.add(  # last hour's prune job, still running on another worker
            JobRow(
                id="job_still_pruning",
                kind=PRUNE_KIND.name,
                payload={},
                status=JobStatus.RUNNING.value,
                max_attempts=3,
                run_at=now,
                lease_owner="another-worker",
                lease_expires_at=now + timedelta(seconds=30),
                created_at=now,
                updated_at=now,
                started_at=now,
            )
        )
        await uow.commit()

    await schedule_maintenance(frozen_runtime)
    await JobRunner(frozen_runtime, registry, FAST).run(until_idle=True)

    async with frozen_runtime.uow(read_only=True) as uow:
        finished = await uow.session.scalar(
            select(JobRow).where(JobRow.kind == PRUNE_KIND.name, JobRow.id != "job_still_pruning")
        )
    assert finished is not None
    assert finished.result == {"skipped": "another prune job is running"}
    assert (await statuses(frozen_runtime))["old.ok"] == 1  # nothing pruned by this one


OLD_OK = JobKind("old.ok", NoPayload)


async def _ok(context: JobContext[NoPayload]) -> None:
    return None
