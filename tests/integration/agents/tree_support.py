"""Helpers for agent-tree tests: agent types that delegate, and a real job runner whose
scripted model answers each agent from the script named by its task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from orchestrate.agents import service
from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobRegistry, JobRunner, RunnerConfig
from orchestrate.core.runtime import Runtime
from orchestrate.llm.provider import Provider
from orchestrate.testing.scripted import ScriptedProvider, Step

HANG_GUARD = 120
"""Seconds before a wait fails instead of hanging; it measures nothing."""

DELEGATOR = (
    "---\nname: delegator\ndescription: Hands work to sub-agents.\n"
    "tools: [spawn_agent, bash]\nmax_turns: 200\n---\nYou delegate. Call finish when done.\n"
)
WORKER = (
    "---\nname: worker\ndescription: Does the work.\ntools: [bash]\n---\n"
    "You work. Call finish when done.\n"
)


def add_tree_types(repo: Path) -> None:
    """The ``delegator`` (may spawn) and ``worker`` (may not) agent types, in ``repo``."""
    agents = repo / ".orchestrate" / "agents"
    agents.mkdir(parents=True, exist_ok=True)
    (agents / "delegator.md").write_text(DELEGATOR)
    (agents / "worker.md").write_text(WORKER)


class TreeWorker:
    """A real job runner; each agent's model plays ``scripts[run.task]`` (one instance per
    agent, kept across its jobs, so a resumed agent continues its script)."""

    def __init__(
        self,
        runtime: Runtime,
        scripts: Mapping[str, Sequence[Step]],
        wrap: Callable[[Provider], Provider] | None = None,
    ) -> None:
        self.runtime = runtime
        self.scripts = scripts
        self.wrap = wrap
        self.providers: dict[str, Provider] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def provider(self, run: AgentRun) -> Provider:
        if run.id not in self.providers:
            provider: Provider = ScriptedProvider(self.scripts[run.task])
            self.providers[run.id] = self.wrap(provider) if self.wrap else provider
        return self.providers[run.id]

    def _runner(self) -> JobRunner:
        registry = JobRegistry()
        register_agent_jobs(registry, self.runtime, lambda _runtime: self.provider)
        config = RunnerConfig(concurrency=16, poll_max=timedelta(milliseconds=50))
        return JobRunner(self.runtime, registry, config)

    async def run_until_idle(self) -> None:
        await asyncio.wait_for(self._runner().run(until_idle=True), HANG_GUARD)

    def start(self) -> None:
        """Run in the background until ``stop``."""
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._runner().run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, HANG_GUARD)


async def start_root(
    runtime: Runtime,
    repo: Path,
    task: str,
    *,
    agent_type: str = "delegator",
    max_cost_usd: Decimal | None = None,
    max_turns: int | None = None,
) -> AgentRun:
    return await service.start_agent(
        runtime.uow(),
        runtime.settings,
        service.StartAgent(
            type=agent_type,
            task=task,
            repo=repo,
            provider="openai",
            model="scripted-model",
            max_cost_usd=max_cost_usd,
            max_turns=max_turns,
        ),
        Actor.local_cli(),
    )


async def agent(runtime: Runtime, agent_id: str) -> AgentRun:
    return await service.get_agent(runtime.uow(read_only=True), agent_id)


async def tree_of(runtime: Runtime, root_id: str) -> list[AgentRun]:
    return await service.descendants(runtime.uow(read_only=True), [root_id])


async def wait_until(
    runtime: Runtime,
    agent_id: str,
    check: Callable[[AgentRun], bool],
    timeout: float = HANG_GUARD,
) -> AgentRun:
    """Poll the stored agent until ``check`` holds; fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = await agent(runtime, agent_id)
        if check(run):
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"agent {agent_id} is still {run.state.value}")
        await asyncio.sleep(0.05)


async def child_running_tool(runtime: Runtime, parent_id: str) -> AgentRun:
    """The parent's only child, once it is running a tool."""
    deadline = asyncio.get_running_loop().time() + HANG_GUARD
    while asyncio.get_running_loop().time() < deadline:
        children = await tree_of(runtime, parent_id)
        if children and children[0].state is AgentState.RUNNING:
            page = await service.transcript(runtime.uow(read_only=True), children[0].id)
            if any(m.tool_uses for _, _, m in page):
                await asyncio.sleep(0.3)  # let the tool's process start
                return children[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no child ever ran a tool")
