"""The loops a worker process runs: the durable job runner, the durable event consumers,
the worker's heartbeat (``core.jobs.workers``) and queue upkeep.

``orchestrate serve`` runs these beside the API; ``orchestrate worker`` runs only
these, so more machines can share the work of one PostgreSQL database. The handlers
and the upkeep come from every capability in ``capabilities.CAPABILITIES``; the
kernel's own (the hourly retention job, running every rule of the plan) are added here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import structlog

from orchestrate.app import capabilities
from orchestrate.app.retention import retention_plan
from orchestrate.core.events import Consumer, run_consumers
from orchestrate.core.jobs import JobRegistry, JobRunner, keep_heartbeat
from orchestrate.core.jobs.maintenance import register_maintenance, schedule_maintenance
from orchestrate.core.runtime import Runtime

log = structlog.get_logger(__name__)

# Often enough that a broken chain of schedule-firing jobs is re-seeded within a minute;
# the hourly retention job's key makes the extra attempts no-ops.
UPKEEP_EVERY = timedelta(minutes=1)


def build_registry(runtime: Runtime) -> JobRegistry:
    """Every job handler the capabilities provide, and the kernel's retention job."""
    registry = JobRegistry()
    for register in capabilities.job_registrations():
        register(registry, runtime)
    register_maintenance(registry, retention_plan)
    return registry


def build_consumers(runtime: Runtime) -> list[Consumer]:
    """Every durable event consumer the capabilities declare."""
    return [factory(runtime) for factory in capabilities.consumer_factories()]


async def run_worker(
    runtime: Runtime,
    stop: asyncio.Event,
    registry: JobRegistry | None = None,
    consumers: list[Consumer] | None = None,
) -> None:
    """Run the worker loops until ``stop`` is set; in-flight jobs get a grace period."""
    runner = JobRunner(runtime, registry or build_registry(runtime))
    upkeep = asyncio.create_task(_upkeep(runtime, stop), name="queue-upkeep")
    if consumers is None:
        consumers = build_consumers(runtime)
    consuming = asyncio.create_task(
        run_consumers(runtime, consumers, runner.worker_id, stop), name="event-consumers"
    )
    heartbeat = asyncio.create_task(
        keep_heartbeat(runtime, runner.worker_id, lambda: runner.in_flight, stop),
        name="worker-heartbeat",
    )
    try:
        await runner.run(stop)
    finally:
        upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upkeep
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat  # removes this worker's row from the registry


async def _upkeep(runtime: Runtime, stop: asyncio.Event) -> None:
    tasks = capabilities.upkeep_tasks()
    while not stop.is_set():
        try:
            for task in tasks:
                await task(runtime)
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
