"""Two registered repositories, ``octo/lib`` and ``octo/app`` (which depends on it), each
a user's clone whose remote is a local bare repository, both served by one fake GitHub;
agents driven by scripted models that commit on their branch; a worker with the change
sets' jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrate.agents.models import AgentRun
from orchestrate.auth.service import Actor
from orchestrate.changesets import service as changesets
from orchestrate.core.jobs import (
    JobRegistry,
    JobRunner,
    JobStatus,
    RunnerConfig,
    bring_forward,
    list_jobs,
)
from orchestrate.core.runtime import Runtime
from orchestrate.repositories import service as repositories
from orchestrate.testing import FakeGitHub
from tests.integration.delivery.conftest import (
    HANG_GUARD,
    Project,
    make_project,
    point_at,
    run_agent,
)

LIB = "octo/lib"
APP = "octo/app"
SYSTEM = Actor.system("test")


@dataclass
class Repositories:
    lib: Project
    app: Project


@pytest.fixture
def projects(tmp_path: Path) -> Repositories:
    return Repositories(lib=make_project(tmp_path / "lib"), app=make_project(tmp_path / "app"))


@pytest.fixture(autouse=True)
def _provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def github(projects: Repositories) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(LIB, git_dir=projects.lib.remote)
        fake.add_repository(APP, git_dir=projects.app.remote)
        yield fake


async def register(runtime: Runtime, project: Project, name: str) -> None:
    await repositories.add_repository(
        runtime.uow(),
        runtime.settings,
        repositories.NewRepository(
            source=str(project.work_tree),
            name=name,
            forge=repositories.check_forge("github"),
            default_branch="main",
        ),
        SYSTEM,
    )


@pytest.fixture
async def on_github(runtime: Runtime, projects: Repositories, github: FakeGitHub) -> FakeGitHub:
    """Both registered; octo/app declared to depend on octo/lib."""
    point_at(runtime, github=github)
    await register(runtime, projects.app, APP)
    await register(runtime, projects.lib, LIB)
    await repositories.declare_dependency(runtime.uow(), runtime.settings, APP, LIB, SYSTEM)
    return github


async def agents_in_both(runtime: Runtime, projects: Repositories) -> tuple[AgentRun, AgentRun]:
    """A completed agent with a commit in each repository: (lib's, app's)."""
    lib = await run_agent(runtime, projects.lib)
    app = await run_agent(runtime, projects.app)
    return lib, app


def approve(github: FakeGitHub, repository: str, number: int) -> None:
    """What the default merge policy asks for: one trusted reviewer's approval."""
    github.add_review(repository, number, user="alice", verdict="APPROVED", association="MEMBER")


async def run_jobs(runtime: Runtime) -> None:
    """A worker with the change sets' jobs, until nothing is due."""
    registry = JobRegistry()
    changesets.register_changeset_jobs(registry, runtime)
    config = RunnerConfig(concurrency=4, poll_max=timedelta(milliseconds=50))
    await asyncio.wait_for(JobRunner(runtime, registry, config).run(until_idle=True), HANG_GUARD)


async def poll(runtime: Runtime) -> None:
    """Make the change sets' next merge round due now (as the poll interval passing
    would), and run it."""
    async with runtime.uow() as uow:
        queued = await list_jobs(
            uow, status=JobStatus.QUEUED, kind=changesets.ADVANCE_CHANGE_SET.name, limit=500
        )
        await bring_forward(uow, [job.id for job in queued.items])
        await uow.commit()
    await run_jobs(runtime)


async def create(
    runtime: Runtime, *agents: AgentRun, title: str = "Rename add to plus"
) -> changesets.ChangeSet:
    return await changesets.create_change_set(
        runtime.uow(),
        runtime.settings,
        changesets.NewChangeSet(title=title, agent_ids=tuple(agent.id for agent in agents)),
        SYSTEM,
    )


async def status_of(runtime: Runtime, change_set_id: str) -> changesets.ChangeSet:
    return await changesets.get_change_set(runtime.uow(read_only=True), change_set_id)
