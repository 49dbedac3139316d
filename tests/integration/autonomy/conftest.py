"""An epic of stories on a registered repository whose remote a fake GitHub serves, and
a worker whose agents are scripted models: developers that commit a file named after
their story, code reviewers that comment on it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.models import AgentRun
from orchestrate.auth.service import Actor
from orchestrate.autonomy import service as autonomy
from orchestrate.core.jobs import JobRegistry, JobRunner, RunnerConfig
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.llm.provider import Provider
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryChanges, StoryDraft
from orchestrate.testing import FakeGitHub
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.delivery.conftest import (  # noqa: F401 - fixtures
    GITHUB_REPO,
    Project,
    _follow_agents,
    _provider_credentials,
    github,
    point_at,
    project,
    register,
)

SYSTEM = Actor.system("test")
REVIEW = "Verdict: request changes\nOne finding.\nComment: {path}:1: blocker: say more"


def story_file(task: str) -> str:
    """The file a developer of the story in ``task`` writes (its story id)."""
    found = re.search(r"story (story_[0-9a-z]+)", task)
    assert found is not None, task
    return f"{found.group(1)}.txt"


def developer(run: AgentRun) -> Provider:
    path = story_file(run.task)
    return ScriptedProvider(
        [
            tool_call("write_file", {"path": path, "content": run.task + "\n"}),
            tool_call("git", {"action": "add", "paths": [path]}),
            tool_call("git", {"action": "commit", "message": f"Add {path}"}),
            finish("completed", "Done."),
        ]
    )


def reviewer(run: AgentRun) -> Provider:
    return ScriptedProvider([finish("completed", REVIEW.format(path=story_file(run.task)))])


Agents = dict[str, Callable[[AgentRun], Provider]]
DEFAULT_AGENTS: Agents = {"story-developer": developer, "code-reviewer": reviewer}


class Worker:
    """Runs the jobs of epic runs, agents and delivery until nothing is due."""

    def __init__(self, runtime: Runtime, agents: Agents) -> None:
        self.runtime = runtime
        self.agents = agents

    def _provider(self, run: AgentRun) -> Provider:
        return self.agents[run.type](run)

    async def run_jobs(self) -> None:
        registry = JobRegistry()
        register_agent_jobs(registry, self.runtime, lambda _runtime: self._provider)
        delivery.register_delivery_jobs(registry, self.runtime)
        autonomy.register_autonomy_jobs(registry, self.runtime)
        config = RunnerConfig(concurrency=4, poll_max=timedelta(milliseconds=20))
        runner = JobRunner(self.runtime, registry, config)
        await asyncio.wait_for(runner.run(until_idle=True), 60)

    async def until(
        self,
        done: Callable[[], Awaitable[bool]],
        *,
        seconds: float = 60,
        advance: timedelta | None = None,
    ) -> None:
        """Work until ``done()`` holds; a frozen clock moves ``advance`` each round."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not await done():
            if loop.time() > deadline:
                raise AssertionError("the epic run did not get there in time")
            await self.run_jobs()
            if advance is not None:
                self.runtime.clock.advance(advance)  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)


@pytest.fixture
async def on_github(runtime: Runtime, project: Project, github: FakeGitHub) -> FakeGitHub:  # noqa: F811
    point_at(
        runtime,
        github=github,
        default_provider="openai",
        default_model="scripted-model",
        epic_run_poll_seconds=0.05,
    )
    await register(runtime, project, GITHUB_REPO, "github")
    return github


async def new_epic(runtime: Runtime, *titles: str) -> tuple[str, list[str]]:
    """An epic with a story per title, each depending on the one before."""
    epic = await stories.create_epic(runtime.uow(), "Calculator", SYSTEM)
    ids: list[str] = []
    for title in titles:
        story = await stories.create_story(
            runtime.uow(), StoryDraft(title=title, epic_id=epic.id), SYSTEM
        )
        if ids:
            await stories.update_story(
                runtime.uow(), story.id, StoryChanges(depends_on=(ids[-1],)), SYSTEM
            )
        ids.append(story.id)
    return epic.id, ids


async def run_view(runtime: Runtime, epic_id: str) -> autonomy.EpicRunView:
    return await autonomy.get_epic_run(runtime.uow(read_only=True), epic_id)


async def phase_of(runtime: Runtime, epic_id: str, story_id: str) -> str:
    progress = (await run_view(runtime, epic_id)).run.progress_of(story_id)
    assert progress is not None
    return progress.phase.value


async def merge(runtime: Runtime, fake: FakeGitHub, number: int) -> None:
    """What the shepherd does once the policy allows: here a person approved."""
    fake.add_review(GITHUB_REPO, number, user="alice", verdict="APPROVED")
    await delivery.merge_pull_request(
        runtime.uow(),
        runtime.settings,
        GITHUB_REPO,
        number,
        SYSTEM,
        method=delivery.MergeMethod.MERGE,
    )
