"""``ci:`` steps against the fake GitHub Actions: trigger, wait without a worker, conclude.

The worker runs in the test's event loop while the fake's run is moved on from outside,
as GitHub moves a real one; both database engines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orchestrate.app.worker import build_registry
from orchestrate.auth.models import Actor
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.jobs import JobRunner
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service
from orchestrate.pipelines.models import PipelineRun
from orchestrate.pipelines.spec.problems import PipelineInvalid
from orchestrate.testing import FakeCircleCI, FakeGitHub, FakeGitLab
from tests.integration.ci.conftest import GITHUB_JOBS, PROJECT, REPO, SLUG, Platforms, store_tokens
from tests.integration.ci.conftest import ci_settings as platform_settings
from tests.integration.pipelines.engine.conftest import Pipelines, statuses


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    with FakeGitHub() as github, FakeGitLab() as gitlab, FakeCircleCI() as circleci:
        github.add_repository(REPO)
        github.add_workflow(REPO, "ci.yml", name="CI", jobs=GITHUB_JOBS)
        gitlab.add_project(PROJECT)
        circleci.add_project(SLUG)
        yield Platforms(github, gitlab, circleci)


@pytest.fixture
def settings(db_url: str, tmp_path: Path, platforms: Platforms) -> Settings:
    # The client gives up on a rate limit at once: the poll job waits it out instead.
    chosen = platform_settings(db_url, tmp_path, platforms)
    return chosen.model_copy(update={"forge_rate_limit_max_wait_seconds": 0.2})


@pytest.fixture
async def worker(runtime: Runtime, platforms: Platforms, admin: Actor) -> AsyncIterator[JobRunner]:
    """The platforms' tokens stored, and a worker running until the test ends."""
    await store_tokens(runtime, platforms, admin)
    runner = JobRunner(runtime, build_registry(runtime))
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _pipeline(poll: str = "1s", *, timeout: str = "", provider: str = "") -> str:
    limit = f"\n    timeout: {timeout}" if timeout else ""
    chosen = f"\n      provider: {provider}" if provider else ""
    return f"""
name: integrate
inputs:
  ref: {{default: main}}
steps:
  - id: integration{limit}
    ci:
      workflow: ci.yml
      ref: ${{{{ inputs.ref }}}}{chosen}
      poll: {poll}
      inputs:
        suite: smoke
  - id: after
    needs: integration
    run: echo "after ${{{{ needs.integration.outputs.conclusion }}}}"
"""


async def _until(check: object, what: str, timeout: float = 20.0) -> None:
    assert callable(check)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check() if asyncio.iscoroutinefunction(check) else check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _dispatched(pipelines: Pipelines, github: FakeGitHub, run: PipelineRun) -> None:
    """Until the workflow was dispatched; the step's error if it ended first."""

    async def check() -> bool:
        if github.workflow_runs(REPO):
            return True
        current = await pipelines.get(run.id)
        errors = [step.error for step in current.steps if step.error]
        assert not current.status.is_terminal, f"the run ended {current.status}: {errors}"
        return False

    await _until(check, "the workflow dispatch")


async def _ended(pipelines: Pipelines, run: PipelineRun, timeout: float = 20.0) -> PipelineRun:
    async def done() -> bool:
        return (await pipelines.get(run.id)).status.is_terminal

    await _until(done, "the pipeline run to end", timeout)
    return await pipelines.get(run.id)


async def test_a_ci_step_triggers_the_workflow_waits_for_it_and_passes_its_result_on(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    github.push_branch(REPO, "release")
    await pipelines.register(_pipeline())
    run = await pipelines.trigger("integrate", ref="release")

    await _dispatched(pipelines, github, run)
    [ci_run] = github.workflow_runs(REPO)
    await asyncio.sleep(1.5)  # a poll or more while the platform's run is queued
    assert statuses(await pipelines.get(run.id))["integration"] == "running"
    github.advance_run(REPO, ci_run.id, "completed", "success")
    ended = await _ended(pipelines, run)

    assert ended.status.value == "success"
    step = next(s for s in ended.steps if s.key == "integration")
    assert step.outputs["run_id"] == str(ci_run.id)
    assert step.outputs["conclusion"] == "success"
    assert step.outputs["provider"] == "github"
    assert step.outputs["repository"] == REPO
    assert step.outputs["attempt"] == "1"
    assert ci_run.event == "workflow_dispatch"
    assert ci_run.head_branch == "release"
    assert ci_run.inputs == {"suite": "smoke"}
    assert len(github.calls("POST", "/dispatches")) == 1
    async with pipelines.runtime.uow(read_only=True) as uow:
        events = await read_events(
            uow.session, only=EventFilter(types=("pipeline.step.ci_started",), subject=run.id)
        )
    assert [(e.payload["step"], e.payload["ci_run_id"]) for e in events] == [
        ("integration", str(ci_run.id))
    ]


async def test_a_failed_workflow_fails_the_step_naming_the_run(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    await pipelines.register(_pipeline())
    run = await pipelines.trigger("integrate")

    await _dispatched(pipelines, github, run)
    [ci_run] = github.workflow_runs(REPO)
    github.advance_run(REPO, ci_run.id, "completed", "failure")
    ended = await _ended(pipelines, run)

    assert ended.status.value == "failure"
    assert statuses(ended) == {"integration": "failure", "after": "skipped"}
    step = next(s for s in ended.steps if s.key == "integration")
    assert step.error == f"CI run {ci_run.id} ({ci_run_url(github, ci_run.id)}) ended failure"
    assert step.outputs["conclusion"] == "failure"


def ci_run_url(github: FakeGitHub, run_id: int) -> str:
    return f"{github.origin}/{REPO}/actions/runs/{run_id}"


async def test_a_run_that_outlives_the_step_timeout_fails_it(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    await pipelines.register(_pipeline(timeout="2s"))
    run = await pipelines.trigger("integrate")

    ended = await _ended(pipelines, run)

    step = next(s for s in ended.steps if s.key == "integration")
    assert step.status.value == "failure"
    assert step.error is not None
    assert "did not finish within 0:00:02" in step.error
    [ci_run] = platforms.github.workflow_runs(REPO)
    assert ci_run.status != "completed"  # left to the platform


async def test_cancelling_the_run_ends_a_waiting_ci_step_at_once(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    await pipelines.register(_pipeline(poll="30s"))
    run = await pipelines.trigger("integrate")
    await _dispatched(pipelines, github, run)

    async def recorded() -> bool:
        step = next(s for s in (await pipelines.get(run.id)).steps if s.key == "integration")
        return bool(step.status.value == "running" and step.error is None)

    await _until(recorded, "the step to wait")
    await service.cancel_run(pipelines.runtime.uow(), run.id, pipelines.actor)
    ended = await _ended(pipelines, run, timeout=5)

    assert ended.status.value == "cancelled"
    assert statuses(ended)["integration"] == "cancelled"


async def test_provider_trouble_while_waiting_is_waited_out(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    await pipelines.register(_pipeline())
    run = await pipelines.trigger("integrate")
    await _dispatched(pipelines, github, run)
    [ci_run] = github.workflow_runs(REPO)
    github.exhaust_rate_limit(reset_in=2.5)
    github.advance_run(REPO, ci_run.id, "completed", "success")

    ended = await _ended(pipelines, run, timeout=30)

    assert ended.status.value == "success"


async def test_an_unknown_provider_fails_the_step_with_the_reason(
    pipelines: Pipelines, worker: JobRunner
) -> None:
    await pipelines.register(_pipeline(provider="jenkins"))
    run = await pipelines.trigger("integrate")

    ended = await _ended(pipelines, run)

    step = next(s for s in ended.steps if s.key == "integration")
    assert step.status.value == "failure"
    assert step.error is not None
    assert "jenkins" in step.error


async def test_a_ci_step_may_not_read_a_secret(pipelines: Pipelines) -> None:
    yaml_text = _pipeline().replace("suite: smoke", "token: ${{ secrets.DEPLOY_KEY }}")

    with pytest.raises(PipelineInvalid) as raised:
        await pipelines.register(yaml_text)

    assert "'secrets' cannot be read here" in str(raised.value.problems[0].message)
