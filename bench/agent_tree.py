"""Agent tree benchmark: a root fans out to children, each to grandchildren, on one worker.

The root calls ``spawn_agent`` ``--children`` times in one reply, each child calls it
``--grandchildren`` times in one reply, and the grandchildren just ``finish``; every
parent finishes once its children have reported. Every agent is its own ``agents.run``
job on one ``JobRunner`` in this process (worker settings as a deployment would use
them, with ``max_concurrent_agents`` above the tree's width). The model is a
``ScriptedProvider`` that answers each call after ``--latency`` seconds (no HTTP: the
orchestration is measured, not a socket).

Ideal = the model calls on the critical path times the latency: root, child and grandchild
each answer once on the way down, child and root once more on the way up, so 5 calls
(depth 3: 2 * 3 - 1). Overhead per agent = (measured - ideal) / agents. The root's
state is polled every 50 ms (cheap next to the run, and it does not load the worker).

    .venv/bin/python bench/agent_tree.py [--children 20] [--grandchildren 3]
        [--latency 0.2] [--repeat 3] [--warm-up 2] [--only sqlite|postgresql]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import Database, machine
from orchestrate.agents import service
from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.logging import configure_logging
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.llm.models import CompletionRequest, CompletionResponse
from orchestrate.testing.scripted import ScriptedProvider, Step, finish, tool_calls, tool_use

TYPES = {
    "fan-out": (
        "---\nname: fan-out\ndescription: Delegates.\ntools: [spawn_agent]\nmax_turns: 1000\n"
        "---\nDelegate, then finish.\n"
    ),
    "leaf": "---\nname: leaf\ndescription: Works.\ntools: [bash]\n---\nFinish.\n",
}


class Delayed:
    """A scripted model that answers after ``latency`` seconds, like a remote API."""

    name = "delayed"

    def __init__(self, steps: list[Step], latency: float) -> None:
        self.inner = ScriptedProvider(steps)
        self.latency = latency

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        await asyncio.sleep(self.latency)
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        return None


def script(run: AgentRun, args: argparse.Namespace) -> list[Step]:
    """The root spawns children, children spawn grandchildren, grandchildren finish."""
    if run.task in ("root", "root (warm-up)"):
        spawns = [("fan-out", f"child {n}") for n in range(args.children)]
    elif run.task.startswith("child"):
        spawns = [("leaf", f"leaf of {run.task}") for _ in range(args.grandchildren)]
    else:
        return [finish("completed", "leaf done")]
    uses = [tool_use("spawn_agent", {"type": kind, "task": task}) for kind, task in spawns]
    return [tool_calls(*uses), finish("completed", f"{len(uses)} sub-agents reported")]


@dataclass(frozen=True)
class Result:
    scenario: str
    agents: int
    measured_seconds: float
    ideal_seconds: float
    cpu_seconds: float

    @property
    def overhead_ms_per_agent(self) -> float:
        return (self.measured_seconds - self.ideal_seconds) * 1000 / self.agents

    @property
    def ratio(self) -> float:
        return self.measured_seconds / self.ideal_seconds


async def run_tree(scenario: str, url: str, home: Path, args: argparse.Namespace) -> Result:
    (home / "agents").mkdir(parents=True)
    for name, text in TYPES.items():
        (home / "agents" / f"{name}.md").write_text(text)
    # Type files as a deployment has them: not edited this second, so their parse and
    # the folder's listing are kept (``definitions._racy``).
    for path in [*(home / "agents").iterdir(), home / "agents"]:
        os.utime(path, (time.time() - 60, time.time() - 60))
    width = args.children * (1 + args.grandchildren) + 1
    runtime = Runtime.open(
        Settings(
            database_url=url,
            home=home,
            max_concurrent_agents=width,
            worker_concurrency=width + 8,
        )
    )
    models: dict[str, Delayed] = {}  # one per agent, kept across its jobs

    def model(run: AgentRun) -> Delayed:
        if run.id not in models:
            models[run.id] = Delayed(script(run, args), args.latency)
        return models[run.id]

    registry = JobRegistry()
    register_agent_jobs(registry, runtime, lambda _rt: model)
    try:
        request = service.StartAgent(
            type="fan-out", task="root", provider="openai", model="scripted-model"
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(JobRunner(runtime, registry).run(stop))
        # The same tree first, as a worker that has been up a while has run many: the
        # provider SDK and the modules loaded on first use are imported, and the pool's
        # connections have prepared the statements agents use (once per connection; one
        # tree left ~60 statement-connection pairs to prepare in the next, so two).
        warm_up = replace(request, task="root (warm-up)")
        for _ in range(args.warm_up):
            await wait_for(
                runtime,
                await service.start_agent(
                    runtime.uow(), runtime.settings, warm_up, Actor.local_cli()
                ),
            )
        # As ``orchestrate worker`` does once it is up (``serve._settle_heap``): what is
        # loaded by now is left out of the garbage collector's full scans.
        gc.collect()
        gc.freeze()
        started, cpu = datetime.now(UTC), time.process_time()
        root = await service.start_agent(
            runtime.uow(), runtime.settings, request, Actor.local_cli()
        )
        await wait_for(runtime, root)
        cpu = time.process_time() - cpu
        stop.set()
        await worker
        done = await service.get_agent(runtime.uow(read_only=True), root.id)
        # The root's own end time: the 50 ms poll does not add its lag to the figure.
        measured = ((done.finished_at or datetime.now(UTC)) - started).total_seconds()
        everyone = [done, *await service.descendants(runtime.uow(read_only=True), [root.id])]
    finally:
        await runtime.close()
    if done.state is not AgentState.COMPLETED or len(everyone) != width:
        raise SystemExit(f"the tree did not complete: {done.state} {done.failure_reason}")
    if any(run.state is not AgentState.COMPLETED for run in everyone):
        raise SystemExit("a sub-agent did not complete")
    if args.timeline:
        print_timeline(everyone)
    return Result(scenario, len(everyone), measured, 5 * args.latency, cpu)


async def wait_for(runtime: Runtime, root: AgentRun) -> None:
    """Poll every 50 ms until the root has ended: one indexed one-column read, as it
    runs in the worker's process (reading the whole run and its children each time
    cost the worker ~50 ms of CPU per tree)."""
    # Workers end it, not this task: there is no event to wait on.
    while True:
        async with runtime.uow(read_only=True) as uow:
            if not await service.live_agents_within(uow, [root.id]):
                return
        await asyncio.sleep(0.05)


def print_timeline(everyone: list[AgentRun]) -> None:
    """When each level of the tree started and finished, from the root's creation."""
    origin = min(run.created_at for run in everyone)
    levels: dict[str, Callable[[AgentRun], bool]] = {
        "root": lambda r: r.parent_id is None,
        "children": lambda r: r.type == "fan-out" and r.parent_id is not None,
        "grandchildren": lambda r: r.type == "leaf",
    }
    for level, pick in levels.items():
        runs = [r for r in everyone if pick(r)]
        began = sorted((r.started_at - origin).total_seconds() for r in runs if r.started_at)
        ended = sorted((r.finished_at - origin).total_seconds() for r in runs if r.finished_at)
        print(
            f"{level}: started {began[0]:.2f}-{began[-1]:.2f} s, "
            f"finished {ended[0]:.2f}-{ended[-1]:.2f} s"
        )


def run_on_worker_loop(main: Coroutine[Any, Any, Result]) -> Result:
    """Run on the event loop ``orchestrate worker`` runs on: uvloop where installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def run_kind(kind: str, args: argparse.Namespace) -> Result:
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    shape = f"1 + {args.children} + {args.children * args.grandchildren} agents"
    scenario = f"{label}, {shape}, {args.latency * 1000:.0f} ms model, 1 worker"
    results = []
    for _ in range(args.repeat):
        database = Database(kind, args.postgres)
        try:
            with tempfile.TemporaryDirectory() as home:
                results.append(
                    run_on_worker_loop(run_tree(scenario, database.url, Path(home), args))
                )
        finally:
            database.drop()
    return sorted(results, key=lambda r: r.measured_seconds)[len(results) // 2]


def print_report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"Machine: {machine()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d}; median of {args.repeat} runs\n")
    print("| scenario | agents | ideal | measured | x ideal | overhead / agent | CPU |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.scenario} | {r.agents} | {r.ideal_seconds:.2f} s | "
            f"{r.measured_seconds:.2f} s | {r.ratio:.2f} | "
            f"{r.overhead_ms_per_agent:.1f} ms | {r.cpu_seconds:.2f} s |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--children", type=int, default=20)
    parser.add_argument("--grandchildren", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warm-up", type=int, default=2, help="Trees run before the measured one.")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--timeline", action="store_true", help="Print when each level ran.")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "ORCHESTRATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    configure_logging("warning")
    # start_agent checks that the provider has a key; the scripted model needs none.
    os.environ.setdefault("OPENAI_API_KEY", "scripted")
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    print_report([run_kind(kind, args) for kind in kinds], args)


if __name__ == "__main__":
    main()
