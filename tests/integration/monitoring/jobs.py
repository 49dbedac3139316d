"""Putting jobs into known states through the real queue, for the jobs API and CLI tests."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from orchestrate.core.jobs import (
    JobContext,
    JobFailed,
    JobRegistry,
    JobRunner,
    RetryPolicy,
    RunnerConfig,
    enqueue,
)
from orchestrate.core.runtime import Runtime
from tests.job_kinds import Note, note_kind

_FAST = RunnerConfig(
    concurrency=4,
    batch_size=4,
    lease=timedelta(seconds=30),
    poll_max=timedelta(milliseconds=20),
    retry=RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=10)),
)


async def queued_job(runtime: Runtime, kind: str = "test.queued", n: int = 0) -> str:
    async with runtime.uow() as uow:
        job_id = await enqueue(uow, note_kind(kind), Note(n=n))
        await uow.commit()
    return job_id


async def dead_job(runtime: Runtime, kind: str = "test.broken") -> str:
    """A job whose handler failed for good, so it sits in the dead-letter state."""

    async def fail(context: JobContext[Any]) -> None:
        raise JobFailed("the payload points at nothing", retry=False)

    registry = JobRegistry()
    registry.register(note_kind(kind), fail)
    job_id = await queued_job(runtime, kind)
    await asyncio.wait_for(JobRunner(runtime, registry, _FAST).run(until_idle=True), 30)
    return job_id
