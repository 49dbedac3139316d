"""A benchmark worker process: an empty handler and a handler that reports its start time.

It runs as ``orchestrate worker`` does: on uvloop where installed (``serve.run_loop``),
its heap frozen once everything is loaded."""

from __future__ import annotations

import asyncio
import gc
import sys
import time

from orchestrate.app.serve import run_loop
from orchestrate.app.worker import install_stop_signals
from orchestrate.core.jobs import (
    JobContext,
    JobKind,
    JobPayload,
    JobRegistry,
    JobRunner,
    NoPayload,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import load_settings


class Numbered(JobPayload):
    n: int = 0


NOOP = JobKind("bench.noop", Numbered)
STAMP = JobKind("bench.stamp", NoPayload)


async def noop(context: JobContext[Numbered]) -> None:
    return None


async def stamp(context: JobContext[NoPayload]) -> float:
    return time.time()


def registry() -> JobRegistry:
    jobs = JobRegistry()
    jobs.register(NOOP, noop)
    jobs.register(STAMP, stamp)
    return jobs


async def main() -> None:
    runtime = Runtime.open(load_settings())
    stop = asyncio.Event()
    install_stop_signals(stop)
    jobs = registry()
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    try:
        await JobRunner(runtime, jobs).run(stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    run_loop(main())
    sys.exit(0)
