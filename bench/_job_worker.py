"""A benchmark worker process: an empty handler and a handler that reports its start time."""

from __future__ import annotations

import asyncio
import sys
import time

from orchestrate.app.worker import install_stop_signals
from orchestrate.core.jobs import JobContext, JobRegistry, JobRunner
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import load_settings


async def noop(context: JobContext) -> None:
    return None


async def stamp(context: JobContext) -> float:
    return time.time()


def registry() -> JobRegistry:
    jobs = JobRegistry()
    jobs.register("bench.noop", noop)
    jobs.register("bench.stamp", stamp)
    return jobs


async def main() -> None:
    runtime = Runtime.open(load_settings())
    stop = asyncio.Event()
    install_stop_signals(stop)
    print("ready", flush=True)
    try:
        await JobRunner(runtime, registry()).run(stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
