"""A registered repository whose remote is a local bare repository served by a fake forge,
and agents driven by scripted models that commit on their branch.

The bare repository logs every update of its refs (``core.logAllRefUpdates``), so a
test counts pushes that moved a branch by its reflog.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobRegistry, JobRunner, RunnerConfig
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.llm.provider import Provider
from orchestrate.repositories import service as repositories
from orchestrate.stories import service as stories
from orchestrate.stories.models import Story, StoryDraft
from orchestrate.testing import FakeGitHub, FakeGitLab
from orchestrate.testing.scripted import ScriptedProvider, Step, finish, tool_call
from tests.integration.agents.conftest import CALC, TEST_CALC, AgentRunner, git

GITHUB_REPO = "octo/app"
GITLAB_REPO = "group/app"
HANG_GUARD = 60

FIX_AND_COMMIT = [
    tool_call("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}),
    tool_call("git", {"action": "add", "paths": ["calc.py"]}),
    tool_call("git", {"action": "commit", "message": "Fix add"}),
    finish("completed", "add() now adds. See [here](https://evil.example) @everyone"),
]
NOTHING_DONE = [finish("completed", "Nothing needed changing.")]


@dataclass
class Project:
    """The user's clone (registered) and the bare repository it pushes to."""

    work_tree: Path
    remote: Path

    def remote_head(self, branch: str) -> str | None:
        found = subprocess.run(
            [
                "git",
                "-C",
                str(self.remote),
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/heads/{branch}",
            ],
            capture_output=True,
            text=True,
        )
        return found.stdout.strip() or None

    def pushes_to(self, branch: str) -> int:
        """How many times ``branch`` on the remote was created or moved."""
        log = self.remote / "logs" / "refs" / "heads" / branch
        return len(log.read_text().splitlines()) if log.exists() else 0


def make_project(root: Path, remote: Path | None = None) -> Project:
    """A user's clone at ``root`` (calc.py and its test, one commit on main) whose
    ``origin`` is a bare repository (``remote``, else ``root`` with ``.git``) that logs
    every update of its refs."""
    remote = remote or root.with_suffix(".git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(remote, "config", "core.logAllRefUpdates", "always")
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    return Project(root, remote)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "project", tmp_path / "remote.git")


@pytest.fixture(autouse=True)
def _follow_agents() -> Iterator[None]:
    """What every process does when it opens (``on_open``); undone so other tests' agents
    enqueue no delivery job."""
    delivery.follow_agents()
    yield
    from orchestrate.agents import service as agents

    agents.top_level_agent_ended.unsubscribe(delivery.enqueue_on_completion)


@pytest.fixture(autouse=True)
def _provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def github(project: Project) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(GITHUB_REPO, git_dir=project.remote)
        yield fake


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        fake.add_project(GITLAB_REPO)
        yield fake


def point_at(
    runtime: Runtime,
    github: FakeGitHub | None = None,
    gitlab: FakeGitLab | None = None,
    **more: object,
) -> None:
    update: dict[str, object] = {"forge_retry_base_seconds": 0.01, **more}
    if github is not None:
        update |= {"github_api_url": github.api_url, "github_token": SecretStr(github.token)}
    if gitlab is not None:
        update |= {"gitlab_url": gitlab.url, "gitlab_token": SecretStr(gitlab.token)}
    runtime.settings = runtime.settings.model_copy(update=update)


async def register(runtime: Runtime, project: Project, name: str, forge: str) -> None:
    await repositories.add_repository(
        runtime.uow(),
        runtime.settings,
        repositories.NewRepository(
            source=str(project.work_tree),
            name=name,
            forge=repositories.check_forge(forge),
            default_branch="main",
        ),
        Actor.system("test"),
    )


@pytest.fixture
async def on_github(runtime: Runtime, project: Project, github: FakeGitHub) -> FakeGitHub:
    point_at(runtime, github=github)
    await register(runtime, project, GITHUB_REPO, "github")
    return github


async def new_story(runtime: Runtime, title: str = "Addition adds") -> Story:
    return await stories.create_story(runtime.uow(), StoryDraft(title=title), Actor.local_cli())


async def run_agent(
    runtime: Runtime,
    project: Project,
    *,
    story: str | None = None,
    script: list | None = None,  # type: ignore[type-arg]
) -> AgentRun:
    """Start an agent on the registered work tree and drive it to its end."""
    agent = AgentRunner(runtime, ScriptedProvider(script or FIX_AND_COMMIT))
    await agent.start(repo=project.work_tree, story=story)
    run = await agent.drive()
    assert run.state is AgentState.COMPLETED, run.failure_reason
    return run


async def run_jobs(runtime: Runtime) -> None:
    """A worker with the delivery jobs, until nothing is left to do."""
    registry = JobRegistry()
    delivery.register_delivery_jobs(registry, runtime)
    config = RunnerConfig(concurrency=4, poll_max=timedelta(milliseconds=50))
    await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), HANG_GUARD)


@dataclass
class Fixers:
    """Scripted models for the agents the shepherd starts, by agent type."""

    scripts: dict[str, ScriptedProvider] = field(default_factory=dict)

    def script(self, agent_type: str, steps: Iterable[Step]) -> ScriptedProvider:
        provider = self.scripts.setdefault(agent_type, ScriptedProvider())
        provider.add(*steps)
        return provider

    def provider(self, run: AgentRun) -> Provider:
        return self.scripts.setdefault(run.type, ScriptedProvider())


async def work(runtime: Runtime, fixers: Fixers) -> None:
    """A worker with the delivery and agent jobs, until nothing is due."""
    registry = JobRegistry()
    delivery.register_delivery_jobs(registry, runtime)
    register_agent_jobs(registry, runtime, lambda _runtime: fixers.provider)
    config = RunnerConfig(concurrency=4, poll_max=timedelta(milliseconds=50))
    await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), HANG_GUARD)
