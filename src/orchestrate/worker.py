"""The loops a worker process runs: today the durable job runner.

``orchestrate serve`` runs these beside the API; ``orchestrate worker`` runs only
these, so more machines can share the work of one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import signal

import structlog

from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.runtime import Runtime

log = structlog.get_logger(__name__)


def build_registry() -> JobRegistry:
    """Every job handler the capabilities provide."""
    return JobRegistry()


async def run_worker(
    runtime: Runtime, stop: asyncio.Event, registry: JobRegistry | None = None
) -> None:
    """Run the worker loops until ``stop`` is set; in-flight jobs get a grace period."""
    runner = JobRunner(runtime, registry or build_registry())
    await runner.run(stop)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` so the worker drains instead of dying mid-job."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
