"""Agent loop benchmark: the loop's own cost per turn, and many agents on one worker.

Scenarios:

- Loop overhead: one ``explorer`` agent in a scratch workspace calls ``list_files`` with
  a new pattern each turn (so stuck detection stays quiet) ``--turns`` times, then
  ``finish``. Once through the real ``anthropic`` SDK against ``FakeAnthropic`` with no
  latency, once with the ``ScriptedProvider`` (no HTTP at all). Overhead per turn =
  (wall time - time inside ``Provider.complete`` - time inside the tool) / model calls.
- Concurrency: ``--agents`` explorers, each ``--agent-turns`` tool turns then ``finish``,
  queued by ``start_agent`` and run by one ``JobRunner`` in this process against a fake
  server that answers after ``--latency`` seconds. Ideal = model calls per agent *
  latency (every agent in parallel); efficiency = ideal / measured.

The fake server runs in a child process (this script with ``--serve-fake``), as the real
API would, so its request handling does not compete for this process's GIL.

    .venv/bin/python bench/agent_loop.py [--turns 200] [--agents 50] [--agent-turns 5]
        [--latency 0.2] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]
        [--only sqlite|postgresql] [--scenario overhead|concurrency] [--repeat 3]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from socketserver import StreamRequestHandler
from typing import Any, TypeVar

from sqlalchemy import select

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent, register_agent_jobs
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.agents.tables import AgentRow
from orchestrate.agents.tools import registry as tools
from orchestrate.agents.tools.base import Tool, ToolContext, ToolOutput
from orchestrate.auth.service import Actor
from orchestrate.core.events import Event, EventFilter
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.logging import configure_logging
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.llm.anthropic import API_KEY_ENV, AnthropicProvider
from orchestrate.llm.models import CompletionRequest, CompletionResponse, ToolSpec
from orchestrate.llm.provider import Provider
from orchestrate.testing import FakeAnthropic, ScriptedProvider, finish, tool_call

sys.path.insert(0, str(Path(__file__).parent))
from jobs import Database, machine

FAKE_KEY = "bench-fake-key"  # what the fake server accepts; no real key is ever read
MODEL = "claude-sonnet-4-5"
TOOL = "list_files"
EDGE_TURNS = 20  # turns compared at the start and the end of the long run

T = TypeVar("T")


# --- the model: list files N times, then finish ---------------------------------------------


def model_turn(done: int, tool_turns: int) -> CompletionResponse:
    """The reply after ``done`` tool turns: another listing, or ``finish`` at the end."""
    if done < tool_turns:
        return tool_call(TOOL, {"pattern": f"*.turn{done}"}, model=MODEL)
    return finish("completed", f"Listed files {tool_turns} times.", model=MODEL)


def serve_fake(latency: float, tool_turns: int) -> None:
    """Child process: FakeAnthropic for every agent at once; prints its URL, serves until EOF."""
    # Two stdlib defaults would be measured as ours: Nagle's algorithm holds the body the
    # handler writes after the headers until the client's delayed ACK (~40 ms a call), and
    # a listen backlog of 5 drops bursts of new connections (retried a second later).
    StreamRequestHandler.disable_nagle_algorithm = True
    ThreadingHTTPServer.request_queue_size = 256

    def answer(body: dict[str, Any]) -> CompletionResponse:
        done = sum(1 for message in body["messages"] if message["role"] == "assistant")
        return model_turn(done, tool_turns)

    with FakeAnthropic(api_key=FAKE_KEY, latency=latency, when_exhausted=answer) as api:
        print(api.base_url, flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def fake_server(latency: float, tool_turns: int) -> Iterator[str]:
    """The base URL of a fake Anthropic API in a child process."""
    command = [sys.executable, __file__, "--serve-fake", str(latency), str(tool_turns)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(timeout=10)


# --- where the time goes --------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Time inside one provider call or tool run: wall (perf_counter) and process CPU."""

    start: float
    end: float
    cpu: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@contextlib.contextmanager
def measured(spans: list[Span]) -> Iterator[None]:
    start, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        spans.append(Span(start, time.perf_counter(), time.process_time() - cpu))


class TimedProvider:
    def __init__(self, inner: Provider, spans: list[Span]) -> None:
        self.name = inner.name
        self._inner = inner
        self._spans = spans

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        with measured(self._spans):
            return await self._inner.complete(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class TimedTool:
    def __init__(self, inner: Tool, spans: list[Span]) -> None:
        self._inner = inner
        self._spans = spans

    @property
    def spec(self) -> ToolSpec:
        return self._inner.spec

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        with measured(self._spans):
            return await self._inner.run(context, arguments)


@contextlib.contextmanager
def timed_tool(spans: list[Span]) -> Iterator[None]:
    """Time the tool the agent calls; the loop takes its tools from this table at start."""
    original = tools.BUILTIN_TOOLS[TOOL]
    tools.BUILTIN_TOOLS[TOOL] = TimedTool(original, spans)
    try:
        yield
    finally:
        tools.BUILTIN_TOOLS[TOOL] = original


# --- scenarios ------------------------------------------------------------------------------


def open_runtime(url: str, home: Path, **settings: Any) -> Runtime:
    return Runtime.open(Settings(database_url=url, home=home, **settings))


async def start_explorer(runtime: Runtime, max_turns: int, *, enqueue: bool) -> AgentRun:
    request = service.StartAgent(
        type="explorer",
        task="List the files, again and again.",
        provider="anthropic",
        model=MODEL,
        max_turns=max_turns,
        enqueue=enqueue,
    )
    return await service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())


@dataclass(frozen=True)
class Overhead:
    """One long run; times are per model call, and loop = total - provider - tool."""

    scenario: str
    calls: int
    wall_seconds: float
    cpu_seconds: float
    provider: list[Span]
    tool: list[Span]

    def per_call_ms(self, seconds: float) -> float:
        return seconds / self.calls * 1000

    @property
    def provider_ms(self) -> float:
        return self.per_call_ms(sum(span.seconds for span in self.provider))

    @property
    def tool_ms(self) -> float:
        return self.per_call_ms(sum(span.seconds for span in self.tool))

    @property
    def loop_ms(self) -> float:
        return self.per_call_ms(self.wall_seconds) - self.provider_ms - self.tool_ms

    @property
    def loop_cpu_ms(self) -> float:
        inside = sum(span.cpu for span in (*self.provider, *self.tool))
        return self.per_call_ms(self.cpu_seconds - inside)

    def gaps_ms(self) -> list[float]:
        """Loop time from each model call to the next, less the tool run between them."""
        pairs = zip(self.provider, self.provider[1:], self.tool, strict=False)
        return [(after.start - before.end - tool.seconds) * 1000 for before, after, tool in pairs]


async def loop_overhead(
    scenario: str, url: str, turns: int, make_provider: Callable[[], Provider]
) -> Overhead:
    """One agent, ``turns`` tool turns then finish, driven as its job would drive it."""
    provider_spans: list[Span] = []
    tool_spans: list[Span] = []
    with tempfile.TemporaryDirectory() as home:
        runtime = open_runtime(url, Path(home))
        try:
            agent = await start_explorer(runtime, turns + 1, enqueue=False)
            provider = TimedProvider(make_provider(), provider_spans)
            with timed_tool(tool_spans):
                started, cpu = time.perf_counter(), time.process_time()
                run = await execute_agent(runtime, agent.id, lambda _run: provider)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            await runtime.close()
    if run.state is not AgentState.COMPLETED or run.turns != turns + 1:
        raise SystemExit(f"{scenario}: the agent ended {run.state} after {run.turns} turns")
    return Overhead(scenario, run.turns, wall, cpu, provider_spans, tool_spans)


@dataclass(frozen=True)
class Concurrency:
    scenario: str
    agents: int
    calls_per_agent: int
    latency: float
    measured_seconds: float
    cpu_seconds: float
    last_start_seconds: float
    slowest_agent_seconds: float

    @property
    def ideal_seconds(self) -> float:
        return self.calls_per_agent * self.latency

    @property
    def efficiency(self) -> float:
        return self.ideal_seconds / self.measured_seconds


class FinishLine:
    """Notes when the last of the agents reached a terminal state (from the event feed)."""

    def __init__(self, agent_ids: set[str]) -> None:
        self.waiting = set(agent_ids)
        self.done = asyncio.Event()
        self.at = 0.0

    async def observe(self, event: Event) -> None:
        if event.type.removeprefix("agent.") in {s.value for s in AgentState if s.is_terminal}:
            self.waiting.discard(event.subject)
            if not self.waiting:
                self.at = time.perf_counter()
                self.done.set()

    async def follow(self, runtime: Runtime, after: int) -> None:
        async for batch in runtime.events.follow(after, EventFilter(types=("agent.*",))):
            for event in batch:
                await self.observe(event)
            if self.done.is_set():
                return


async def concurrent_agents(
    scenario: str, url: str, base_url: str, home: Path, args: argparse.Namespace
) -> Concurrency:
    """``args.agents`` agents queued at once; one worker in this process runs them all."""
    runtime = open_runtime(
        url, home, max_concurrent_agents=args.agents, worker_concurrency=max(args.agents, 32)
    )
    registry = JobRegistry()
    register_agent_jobs(
        registry,
        runtime,
        lambda _rt: lambda _run: AnthropicProvider(api_key=FAKE_KEY, base_url=base_url),
    )
    try:
        ids = [
            (await start_explorer(runtime, args.agent_turns + 1, enqueue=True)).id
            for _ in range(args.agents)
        ]
        line = FinishLine(set(ids))
        finish = asyncio.create_task(line.follow(runtime, 0))
        stop = asyncio.Event()
        started_at, started = runtime.clock.now(), time.perf_counter()
        cpu = time.process_time()
        worker = asyncio.create_task(JobRunner(runtime, registry).run(stop))
        await asyncio.wait_for(finish, timeout=600)
        cpu = time.process_time() - cpu
        stop.set()
        await worker
        runs = await agent_rows(runtime, ids)
    finally:
        await runtime.close()
    return summarise(scenario, args, runs, started_at, line.at - started, cpu)


def summarise(
    scenario: str,
    args: argparse.Namespace,
    runs: list[AgentRow],
    started_at: datetime,
    measured: float,
    cpu: float,
) -> Concurrency:
    failed = [row for row in runs if row.state != AgentState.COMPLETED]
    if failed:
        raise SystemExit(f"{scenario}: {len(failed)} agents ended {failed[0].state}")
    return Concurrency(
        scenario=scenario,
        agents=args.agents,
        calls_per_agent=args.agent_turns + 1,
        latency=args.latency,
        measured_seconds=measured,
        cpu_seconds=cpu,
        last_start_seconds=max(
            (run.started_at - started_at).total_seconds() for run in runs if run.started_at
        ),
        slowest_agent_seconds=max(
            (run.finished_at - run.started_at).total_seconds()
            for run in runs
            if run.started_at and run.finished_at
        ),
    )


async def agent_rows(runtime: Runtime, ids: list[str]) -> list[AgentRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(AgentRow).where(AgentRow.id.in_(ids))))


# --- running and reporting ------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str, args: argparse.Namespace) -> Iterator[str]:
    database = Database(kind, args.postgres)
    try:
        yield database.url
    finally:
        database.drop()


def median_of(results: list[T], key: Callable[[T], float]) -> T:
    return sorted(results, key=key)[len(results) // 2]


def run_overhead(kind: str, args: argparse.Namespace) -> list[Overhead]:
    """The median of ``--repeat`` long runs per provider, each on a fresh database."""
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    script = [model_turn(done, args.turns) for done in range(args.turns + 1)]
    results = []
    with fake_server(0.0, args.turns) as base_url:
        providers: dict[str, Callable[[], Provider]] = {
            "anthropic SDK → FakeAnthropic, 0 ms": lambda: AnthropicProvider(
                api_key=FAKE_KEY, base_url=base_url
            ),
            "ScriptedProvider, no HTTP": lambda: ScriptedProvider(script),
        }
        for name, make_provider in providers.items():
            runs = []
            for _ in range(args.repeat):
                with fresh_database(kind, args) as url:
                    scenario = f"{label}, {name}"
                    runs.append(
                        asyncio.run(loop_overhead(scenario, url, args.turns, make_provider))
                    )
            results.append(median_of(runs, lambda run: run.loop_ms))
    return results


def run_concurrency(kind: str, args: argparse.Namespace) -> Concurrency:
    """The median of ``--repeat`` runs, each on a fresh database."""
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    scenario = f"{label}, {args.agents} agents x {args.agent_turns + 1} calls, 1 worker"
    runs = []
    with fake_server(args.latency, args.agent_turns) as base_url:
        for _ in range(args.repeat):
            with fresh_database(kind, args) as url, tempfile.TemporaryDirectory() as home:
                fleet = concurrent_agents(scenario, url, base_url, Path(home), args)
                runs.append(asyncio.run(fleet))
    return median_of(runs, lambda run: run.measured_seconds)


def print_report(
    args: argparse.Namespace, load: str, loops: list[Overhead], fleets: list[Concurrency]
) -> None:
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; load average before the run: {load}")
    print(f"Median of {args.repeat} runs per row.")
    if loops:
        print()
        print(f"Loop overhead, {args.turns} tool turns + finish, in ms per model call:")
        print()
        print(
            "| scenario | wall (s) | provider | tool | loop overhead | of which CPU | "
            f"first {EDGE_TURNS} turns (p50) | last {EDGE_TURNS} turns (p50) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in loops:
            gaps = r.gaps_ms()
            print(
                f"| {r.scenario} | {r.wall_seconds:.2f} | {r.provider_ms:.2f} | "
                f"{r.tool_ms:.2f} | **{r.loop_ms:.2f}** | {r.loop_cpu_ms:.2f} | "
                f"{statistics.median(gaps[:EDGE_TURNS]):.2f} | "
                f"{statistics.median(gaps[-EDGE_TURNS:]):.2f} |"
            )
    if fleets:
        print()
        print(f"Concurrent agents, fake server latency {args.latency * 1000:.0f} ms:")
        print()
        print(
            "| scenario | measured (s) | ideal (s) | efficiency | worker CPU (s) | "
            "last agent started (s) | slowest agent (s) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for c in fleets:
            print(
                f"| {c.scenario} | {c.measured_seconds:.2f} | {c.ideal_seconds:.2f} | "
                f"**{c.efficiency:.0%}** | {c.cpu_seconds:.2f} | {c.last_start_seconds:.2f} | "
                f"{c.slowest_agent_seconds:.2f} |"
            )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200, help="tool turns of the long run")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--agent-turns", type=int, default=5, help="tool turns per agent")
    parser.add_argument("--latency", type=float, default=0.2, help="fake server seconds")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is shown")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"),
        help="server URL; PostgreSQL scenarios are skipped without it",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--scenario", choices=["overhead", "concurrency"], default=None)
    parser.add_argument("--serve-fake", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_arguments()
    if args.serve_fake:
        serve_fake(float(args.serve_fake[0]), int(args.serve_fake[1]))
        return
    os.environ[API_KEY_ENV] = FAKE_KEY  # start_agent checks that a key is configured
    configure_logging("warning")
    warnings.filterwarnings("ignore", "The model .* is deprecated", DeprecationWarning)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    kinds = [
        kind
        for kind in ("sqlite", "postgresql")
        if args.only in (None, kind) and (kind == "sqlite" or args.postgres)
    ]
    loops = (
        [r for k in kinds for r in run_overhead(k, args)] if args.scenario != "concurrency" else []
    )
    fleets = [run_concurrency(k, args) for k in kinds] if args.scenario != "overhead" else []
    print_report(args, load, loops, fleets)


if __name__ == "__main__":
    main()
