"""The flow Prefect runs in bench/peers/flow.py: three tasks, each after the one before.

Imported by _prefect_driver.py and, for deployment runs, by the process Prefect's runner
starts for each flow run (its entrypoint is this file's ``chain3``). Async flow and tasks:
a sync flow's engine joins its heartbeat thread on exit, which sleeps in whole seconds
and so added about a second to every run here.

``BENCH_PREFECT_STEP=shell`` makes each task run ``true`` through bash, as each of our
``run: "true"`` steps does (ours inside the bubblewrap sandbox, where installed); by
default a task only returns a number, Prefect's smallest unit of work.
"""

from __future__ import annotations

import asyncio
import os
import subprocess

from prefect import flow, task

SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "true"]


@task(name="step")  # type: ignore[untyped-decorator]
async def step(previous: int) -> int:
    if os.environ.get("BENCH_PREFECT_STEP") == "shell":
        await asyncio.to_thread(subprocess.run, SHELL, check=True)
    return previous + 1


@flow(name="chain3")  # type: ignore[untyped-decorator]
async def chain3() -> int:
    first = await step(0)
    second = await step(first)
    return int(await step(second))
