"""Agents as durable jobs: many in parallel on one repository, and the concurrency cap."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from orchestrate.agents import service
from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.loop import ProviderFactory
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobRegistry, JobRunner, RunnerConfig
from orchestrate.core.runtime import Runtime
from orchestrate.llm.provider import Provider
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.agents.conftest import SlowProvider, checkout_state, git


def committing_agent(run: AgentRun) -> Provider:
    """Each agent writes a file named after itself and commits it."""
    name = f"{run.id}.txt"
    return ScriptedProvider(
        [
            tool_call("write_file", {"path": name, "content": run.id + "\n"}),
            tool_call("git", {"action": "add", "paths": [name]}),
            tool_call("git", {"action": "commit", "message": f"Add {name}"}),
            finish("completed", f"wrote {name}"),
        ]
    )


async def start_many(runtime: Runtime, repo: Path, count: int) -> list[str]:
    ids = []
    for n in range(count):
        run = await service.start_agent(
            runtime.uow(),
            runtime.settings,
            service.StartAgent(
                type="story-developer", task=f"task {n}", repo=repo, provider="openai", model="m"
            ),
            Actor.local_cli(),
        )
        ids.append(run.id)
    return ids


async def run_worker(runtime: Runtime, factory: ProviderFactory) -> None:
    registry = JobRegistry()
    register_agent_jobs(registry, runtime, lambda _runtime: factory)
    config = RunnerConfig(concurrency=16, poll_max=timedelta(milliseconds=50))
    await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), 120)


async def test_eight_agents_work_in_parallel_on_one_repository_without_racing(
    runtime: Runtime, repo: Path
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"max_concurrent_agents": 8})
    before = checkout_state(repo)
    ids = await start_many(runtime, repo, 8)

    await run_worker(runtime, committing_agent)

    runs = [await service.get_agent(runtime.uow(read_only=True), i) for i in ids]
    assert [r.state for r in runs] == [AgentState.COMPLETED] * 8, [r.failure_reason for r in runs]
    branches = {r.branch for r in runs}
    assert len(branches) == 8
    for run in runs:
        assert git(repo, "show", f"{run.branch}:{run.id}.txt").strip() == run.id
        assert git(repo, "log", "--format=%s", f"main..{run.branch}").strip() == f"Add {run.id}.txt"
    assert checkout_state(repo) == before


async def test_no_more_than_the_configured_number_of_agents_run_at_once(
    runtime: Runtime, repo: Path
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"max_concurrent_agents": 2})
    SlowProvider.peak = 0
    ids = await start_many(runtime, repo, 5)

    def slow(run: AgentRun) -> Provider:
        return SlowProvider(ScriptedProvider([finish("completed", "quick")]), 0.3)

    await run_worker(runtime, slow)

    runs = [await service.get_agent(runtime.uow(read_only=True), i) for i in ids]
    assert all(r.state is AgentState.COMPLETED for r in runs)
    assert SlowProvider.peak == 2
    started = [r.id for r in sorted(runs, key=lambda r: r.started_at or r.created_at)]
    # Agents that get slots in the same moment start concurrently; across slots the
    # queue order holds: the first two queued start first, the last queued starts last.
    assert set(started[:2]) == set(ids[:2])
    assert started[-1] == ids[-1]


async def test_simultaneous_starts_with_one_origin_key_make_one_run(
    runtime: Runtime, repo: Path
) -> None:
    """Two webhook deliveries of one event racing past the lookup still start one agent."""
    request = service.StartAgent(
        type="issue-fixer",
        task="fix the build",
        repo=repo,
        provider="openai",
        model="m",
        origin_key="github:check-failure:octo/app:abc123",
    )
    runs = await asyncio.gather(
        *(
            service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())
            for _ in range(6)
        )
    )
    assert len({run.id for run in runs}) == 1
    listed = await service.list_agents(runtime.uow(read_only=True))
    assert [run.id for run in listed.items] == [runs[0].id]
