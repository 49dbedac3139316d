"""A worker process for the multi-process queue tests (run as a script, not collected).

Handlers append ``<kind> <job id> <attempt>`` to this process's own log file, so the
test can count executions across processes, and record an event in the same
transaction that completes the job, so it can count committed effects.

Environment: ORCHESTRATE_DATABASE_URL, TEST_LOG_DIR, TEST_LEASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from orchestrate.app.worker import install_stop_signals
from orchestrate.core.events import DomainEvent, record_event
from orchestrate.core.jobs import (
    JobContext,
    JobKind,
    JobPayload,
    JobRegistry,
    JobRunner,
    RunnerConfig,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import load_settings


class EffectHappened(DomainEvent):  # as in tests/event_types.py: this script runs alone
    event_type: ClassVar[str] = "test.effect"
    worker: int | None = None


class Numbered(JobPayload):
    n: int


LOG = Path(os.environ["TEST_LOG_DIR"]) / f"worker-{os.getpid()}.log"


def note(line: str) -> None:
    with LOG.open("a") as handle:
        handle.write(line + "\n")
        handle.flush()


async def record(context: JobContext[Numbered]) -> None:
    """Exactly-once effect: the event and the completion commit together."""
    note(f"run {context.job.id} {context.job.attempt}")
    async with context.uow() as uow:
        record_event(uow, EffectHappened(subject=context.job.id, worker=os.getpid()))
        await context.complete_in(uow)
        await uow.commit()


async def hang_first(context: JobContext[Numbered]) -> None:
    """The first attempt hangs (so the test can kill the worker); later ones finish."""
    note(f"start {context.job.id} {context.job.attempt}")
    if context.job.attempt == 1:
        await asyncio.sleep(3600)
    await record(context)


async def main() -> None:
    settings = load_settings()
    runtime = Runtime.open(settings)
    registry = JobRegistry()
    registry.register(JobKind("test.record", Numbered), record)
    registry.register(JobKind("test.hang_first", Numbered), hang_first)
    lease = timedelta(seconds=float(os.environ.get("TEST_LEASE_SECONDS", "30")))
    config = RunnerConfig(
        concurrency=16, batch_size=10, lease=lease, poll_max=timedelta(milliseconds=200)
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    note("ready")
    try:
        await JobRunner(runtime, registry, config).run(stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
