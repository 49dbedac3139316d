"""The loops a worker process runs: the durable job runner and queue upkeep.

``orchestrate serve`` runs these beside the API; ``orchestrate worker`` runs only
these, so more machines can share the work of one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import structlog

from orchestrate.agents.execution import register_agent_jobs
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.jobs.maintenance import register_maintenance, schedule_maintenance
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines.service import register_pipeline_jobs
from orchestrate.schedules.service import (
    follow_pipelines,
    register_schedule_jobs,
    start_schedule_firing,
)
from orchestrate.triggers.service import register_trigger_jobs

log = structlog.get_logger(__name__)

# Often enough that a broken chain of schedule-firing jobs is re-seeded within a minute;
# the hourly prune job's key makes the extra attempts no-ops.
UPKEEP_EVERY = timedelta(minutes=1)


def build_registry(runtime: Runtime) -> JobRegistry:
    """Every job handler the capabilities provide."""
    follow_pipelines()  # pipeline steps may register pipelines too
    registry = JobRegistry()
    register_agent_jobs(registry, runtime)
    register_pipeline_jobs(registry, runtime)
    register_trigger_jobs(registry, runtime)
    register_schedule_jobs(registry, runtime)
    retention_days = runtime.settings.job_retention_days
    if retention_days > 0:
        register_maintenance(registry, retention=timedelta(days=retention_days))
    return registry


async def run_worker(
    runtime: Runtime, stop: asyncio.Event, registry: JobRegistry | None = None
) -> None:
    """Run the worker loops until ``stop`` is set; in-flight jobs get a grace period."""
    runner = JobRunner(runtime, registry or build_registry(runtime))
    upkeep = asyncio.create_task(_upkeep(runtime, stop), name="queue-upkeep")
    try:
        await runner.run(stop)
    finally:
        upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upkeep


async def _upkeep(runtime: Runtime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await start_schedule_firing(runtime)
            if runtime.settings.job_retention_days > 0:
                await schedule_maintenance(runtime)
        except Exception:
            log.exception("queue_upkeep_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), UPKEEP_EVERY.total_seconds())


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` so the worker drains instead of dying mid-job."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
