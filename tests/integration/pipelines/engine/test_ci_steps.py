"""``ci:`` steps against the fake GitHub Actions: trigger, wait without a worker, conclude.

The worker runs in the test's event loop while the fake's run is moved on from outside,
as GitHub moves a real one; both database engines.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orchestrate.app.worker import build_registry
from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.jobs import JobRunner
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service
from orchestrate.pipelines.models import PipelineRun
from orchestrate.pipelines.spec.problems import PipelineInvalid
from orchestrate.testing import CircleJob, FakeCircleCI, FakeGitHub, FakeGitLab, FakeJob
from orchestrate.testing.fake_github import bad_gateway
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


def _pipeline(
    poll: str = "1s",
    *,
    timeout: str = "",
    provider: str = "",
    repository: str = "",
    workflow: str = "ci.yml",
    run_timeout: str = "",
) -> str:
    limit = f"\n    timeout: {timeout}" if timeout else ""
    whole = f"\ntimeout: {run_timeout}" if run_timeout else ""
    chosen = f"\n      provider: {provider}" if provider else ""
    chosen += f"\n      repository: {repository}" if repository else ""
    named = f"\n      workflow: {workflow}" if workflow else ""
    return f"""
name: integrate{whole}
inputs:
  ref: {{default: main}}
steps:
  - id: integration{limit}
    ci:{named}
      ref: ${{{{ inputs.ref }}}}{chosen}
      poll: {poll}
      inputs:
        suite: smoke
  - id: after
    needs: integration
    run: echo "after ${{{{ needs.integration.outputs.conclusion }}}}"
"""


async def _until(check: object, what: str, timeout: float = 20.0) -> None:
    """Until ``check()`` (a value or an awaitable) is truthy."""
    assert callable(check)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        seen = check()
        if inspect.isawaitable(seen):
            seen = await seen
        if seen:
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


async def _waiting(pipelines: Pipelines, github: FakeGitHub, run: PipelineRun) -> None:
    """Until the step recorded the run it triggered and waits for it."""
    await _dispatched(pipelines, github, run)
    await _until(lambda: _has_event(pipelines, run, "ci_started"), "the step to wait")


async def _has_event(pipelines: Pipelines, run: PipelineRun, name: str) -> bool:
    async with pipelines.runtime.uow(read_only=True) as uow:
        events = await read_events(
            uow.session, only=EventFilter(types=(f"pipeline.step.{name}",), subject=run.id)
        )
    return bool(events)


async def _platform_cancelled(pipelines: Pipelines, run: PipelineRun) -> None:
    """Until the cancel job has cancelled a step's platform run and recorded it."""
    await _until(lambda: _has_event(pipelines, run, "ci_cancel_requested"), "the platform cancel")


async def _cancel_reasons(
    pipelines: Pipelines, run: PipelineRun
) -> list[tuple[str, str, str, str, str | None]]:
    """Each platform cancel the run's steps asked for: step, CI run, why, how it stood."""
    async with pipelines.runtime.uow(read_only=True) as uow:
        events = await read_events(
            uow.session,
            only=EventFilter(types=("pipeline.step.ci_cancel_requested",), subject=run.id),
        )
    return [
        (
            e.payload["step"],
            e.payload["ci_run_id"],
            e.payload["reason"],
            e.payload["status"],
            e.payload.get("conclusion"),
        )
        for e in events
    ]


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


async def test_a_run_that_outlives_the_step_timeout_fails_it_and_is_cancelled(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    await pipelines.register(_pipeline(timeout="2s"))
    run = await pipelines.trigger("integrate")

    ended = await _ended(pipelines, run)
    [ci_run] = github.workflow_runs(REPO)
    await _platform_cancelled(pipelines, run)

    step = next(s for s in ended.steps if s.key == "integration")
    assert step.status.value == "failure"
    assert step.error == (
        f"CI run {ci_run.id} did not finish within 0:00:02; it is being cancelled on the "
        f"platform: {ci_run_url(github, ci_run.id)}"
    )
    assert (ci_run.status, ci_run.conclusion) == ("completed", "cancelled")
    assert await _cancel_reasons(pipelines, run) == [
        ("integration", str(ci_run.id), "the step's timeout passed", "completed", "cancelled")
    ]


async def test_cancelling_the_run_ends_a_waiting_ci_step_at_once_and_cancels_its_ci_run(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    await pipelines.register(_pipeline(poll="30s"))
    run = await pipelines.trigger("integrate")
    await _waiting(pipelines, github, run)
    [ci_run] = github.workflow_runs(REPO)

    await service.cancel_run(pipelines.runtime.uow(), run.id, pipelines.actor)
    ended = await _ended(pipelines, run, timeout=5)
    await _platform_cancelled(pipelines, run)

    assert ended.status.value == "cancelled"
    assert statuses(ended)["integration"] == "cancelled"
    assert ci_run.conclusion == "cancelled"
    assert len(github.calls("POST", f"/actions/runs/{ci_run.id}/cancel")) == 1
    reasons = await _cancel_reasons(pipelines, run)
    assert [reason for _, _, reason, _, _ in reasons] == ["the pipeline run was cancelled"]
    audit = await auth.list_audit(pipelines.runtime.uow(read_only=True), action="ci.cancel")
    assert [(r.actor, r.subject) for r in audit.items] == [(pipelines.actor.name, REPO)]


async def test_a_platform_failing_the_cancel_has_it_retried_and_fails_nothing_else(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    await pipelines.register(_pipeline(poll="30s"))
    run = await pipelines.trigger("integrate")
    await _waiting(pipelines, github, run)
    [ci_run] = github.workflow_runs(REPO)
    attempts = pipelines.runtime.settings.forge_retry_attempts
    github.fail_next(*(bad_gateway(path_contains="/cancel") for _ in range(attempts)))

    await service.cancel_run(pipelines.runtime.uow(), run.id, pipelines.actor)
    ended = await _ended(pipelines, run, timeout=5)
    await _platform_cancelled(pipelines, run)

    assert ended.status.value == "cancelled"
    assert ci_run.conclusion == "cancelled"
    assert [c.status for c in github.calls("POST", "/cancel")] == [502] * attempts + [202]


async def test_cancelling_the_step_cancels_its_gitlab_pipeline(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    gitlab = platforms.gitlab
    gitlab.set_ci_jobs(PROJECT, [FakeJob("build", "running"), FakeJob("test", "pending")])
    await pipelines.register(
        _pipeline(poll="30s", provider="gitlab", repository=PROJECT, workflow="")
    )
    run = await pipelines.trigger("integrate")
    await _until(lambda: gitlab.pipelines(PROJECT), "the GitLab pipeline")
    await _until(lambda: _has_event(pipelines, run, "ci_started"), "the step to wait")
    pipeline_id = gitlab.pipelines(PROJECT)[0]["id"]

    await service.cancel_step(pipelines.runtime.uow(), run.id, "integration", pipelines.actor)
    ended = await _ended(pipelines, run, timeout=5)
    await _platform_cancelled(pipelines, run)

    assert statuses(ended) == {"integration": "cancelled", "after": "skipped"}
    assert gitlab.pipelines(PROJECT)[0]["status"] == "canceled"
    assert await _cancel_reasons(pipelines, run) == [
        ("integration", str(pipeline_id), "the step was cancelled", "completed", "cancelled")
    ]


async def test_the_pipeline_runs_timeout_cancels_its_circleci_workflow(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    circleci = platforms.circleci
    circleci.set_config(SLUG, {"build": [CircleJob("test")]})
    await pipelines.register(
        _pipeline(
            poll="30s", provider="circleci", repository=SLUG, workflow="build", run_timeout="3s"
        )
    )
    run = await pipelines.trigger("integrate")

    ended = await _ended(pipelines, run)
    [pipeline_id] = circleci.pipelines(SLUG)
    [workflow] = circleci.workflows_of(pipeline_id)
    await _platform_cancelled(pipelines, run)

    assert ended.status.value == "failure"  # a run that timed out fails, as on GitHub
    assert statuses(ended)["integration"] == "cancelled"
    assert [c.status for c in circleci.calls("POST", f"/workflow/{workflow}/cancel")] == [202]
    assert await _cancel_reasons(pipelines, run) == [
        ("integration", workflow, "the pipeline run timed out", "completed", "cancelled")
    ]


async def test_a_step_cancelled_while_its_workflow_is_dispatched_cancels_that_run(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    github = platforms.github
    held = github.hold_next("POST", "/dispatches")
    await pipelines.register(_pipeline(poll="30s"))
    run = await pipelines.trigger("integrate")
    try:
        assert await asyncio.to_thread(held.reached.wait, 20), "no dispatch"
        await service.cancel_run(pipelines.runtime.uow(), run.id, pipelines.actor)
        ended = await _ended(pipelines, run, timeout=5)
    finally:
        held.release.set()
    [ci_run] = github.workflow_runs(REPO)
    await _platform_cancelled(pipelines, run)

    assert statuses(ended)["integration"] == "cancelled"
    assert ci_run.conclusion == "cancelled"
    assert len(github.calls("POST", "/dispatches")) == 1
    assert await _cancel_reasons(pipelines, run) == [
        (
            "integration",
            str(ci_run.id),
            "the step ended while the platform was starting its run",
            "completed",
            "cancelled",
        )
    ]


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


async def test_a_rate_limit_at_the_trigger_is_waited_out_with_one_dispatch(
    pipelines: Pipelines, platforms: Platforms, worker: JobRunner
) -> None:
    """The platform refuses the dispatch (or the search for the run it started) for a
    while: the step's job tries again after the wait, adopting a run that did start,
    instead of failing the step."""
    github = platforms.github
    await pipelines.register(_pipeline())
    github.exhaust_rate_limit(reset_in=2.5)
    run = await pipelines.trigger("integrate")
    await _dispatched(pipelines, github, run)
    [ci_run] = github.workflow_runs(REPO)
    github.advance_run(REPO, ci_run.id, "completed", "success")

    ended = await _ended(pipelines, run, timeout=30)

    assert ended.status.value == "success"
    assert len(github.workflow_runs(REPO)) == 1


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
