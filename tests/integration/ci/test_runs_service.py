"""The runs service: a target from settings, tokens from the secret store, every provider."""

from __future__ import annotations

import asyncio

import pytest

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.ci import runs
from orchestrate.ci.providers import (
    Conclusion,
    MissingCiToken,
    ProviderName,
    RunFilter,
    RunStatus,
)
from orchestrate.core.errors import PermissionDenied, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.testing import FakeJob
from tests.integration.ci.conftest import PROJECT, REPO, SLUG, Platforms

pytestmark = pytest.mark.usefixtures("stored_tokens")


def _target(
    runtime: Runtime, provider: str | None = None, repo: str | None = None
) -> runs.CiTarget:
    return runs.resolve_target(runtime.settings, provider, repo)


async def test_the_default_target_comes_from_settings(
    runtime: Runtime, platforms: Platforms
) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml")

    page = await runs.list_runs(runtime.uow(), runtime.settings, _target(runtime), RunFilter())

    assert [run.id for run in page.items] == [str(run_id)]
    assert page.items[0].provider is ProviderName.GITHUB


async def test_the_cursor_walks_the_provider_pages(runtime: Runtime, platforms: Platforms) -> None:
    ids = [platforms.github.add_workflow_run(REPO, "ci.yml") for _ in range(3)]
    target = _target(runtime)

    first = await runs.list_runs(runtime.uow(), runtime.settings, target, RunFilter(), limit=2)
    second = await runs.list_runs(
        runtime.uow(), runtime.settings, target, RunFilter(), limit=2, cursor=first.next_cursor
    )

    assert [r.id for r in first.items + second.items] == [str(i) for i in reversed(ids)]
    assert second.next_cursor is None


async def test_logs_of_every_job_come_under_headings(
    runtime: Runtime, platforms: Platforms
) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

    everything = await runs.run_logs(runtime.uow(), runtime.settings, _target(runtime), str(run_id))
    one = await runs.run_logs(
        runtime.uow(), runtime.settings, _target(runtime), str(run_id), job="test"
    )

    assert "==> lint (" in everything
    assert "FAILED test_y" in everything
    assert one == "FAILED test_y\n"


async def test_trigger_then_wait_for_the_run_to_complete(
    runtime: Runtime, platforms: Platforms, admin: Actor
) -> None:
    target = _target(runtime)
    started = await runs.trigger(
        runtime.uow(), runtime.settings, target, runs.Trigger("ci.yml", "main"), admin
    )

    async def finish_later() -> None:
        await asyncio.sleep(0.2)
        platforms.github.advance_run(REPO, int(started.id), "completed")

    finisher = asyncio.create_task(finish_later())
    done = await runs.wait_for(
        runtime.uow(), runtime.settings, target, started, timeout=5, poll=0.05
    )
    await finisher

    assert started.status is RunStatus.QUEUED
    assert (done.id, done.status, done.conclusion) == (
        started.id,
        RunStatus.COMPLETED,
        Conclusion.FAILURE,
    )
    audit = await auth.list_audit(runtime.uow(read_only=True))
    assert [(r.action, r.subject) for r in audit.items if r.action.startswith("ci.")] == [
        ("ci.trigger", REPO)
    ]


async def test_wait_for_gives_up_after_its_timeout(runtime: Runtime, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml")
    target = _target(runtime)
    run = await runs.get_run(runtime.uow(), runtime.settings, target, str(run_id))

    last = await runs.wait_for(runtime.uow(), runtime.settings, target, run, timeout=0.2, poll=0.05)

    assert last.status is RunStatus.QUEUED


async def test_gitlab_and_circleci_are_reached_the_same_way(
    runtime: Runtime, platforms: Platforms, admin: Actor
) -> None:
    gitlab = _target(runtime, "gitlab", PROJECT)
    circleci = _target(runtime, "circleci", SLUG)

    pipeline = await runs.trigger(
        runtime.uow(), runtime.settings, gitlab, runs.Trigger("", "main", {"A": "1"}), admin
    )
    workflow = await runs.trigger(
        runtime.uow(), runtime.settings, circleci, runs.Trigger("build", "main"), admin
    )
    shown = await runs.show_run(runtime.uow(), runtime.settings, gitlab, pipeline.id)
    circle_jobs = await runs.show_run(runtime.uow(), runtime.settings, circleci, workflow.id)

    assert [job.name for job in shown.jobs] == ["build"]
    assert [job.name for job in circle_jobs.jobs] == ["test"]
    assert workflow.provider is ProviderName.CIRCLECI


async def test_a_viewer_may_not_trigger(runtime: Runtime) -> None:
    viewer = Actor(name="test:viewer", role=Role.VIEWER, source="127.0.0.1")

    with pytest.raises(PermissionDenied):
        await runs.trigger(
            runtime.uow(),
            runtime.settings,
            _target(runtime),
            runs.Trigger("ci.yml", "main"),
            viewer,
        )


async def test_an_unknown_provider_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed, match="Unknown CI provider 'jenkins'"):
        _target(runtime, "jenkins")


async def test_inputs_are_key_value_pairs() -> None:
    assert runs.parse_inputs(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ValidationFailed, match="key=value"):
        runs.parse_inputs(["novalue"])


async def test_a_missing_token_says_which_secret_to_store(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"ci_circleci_token_secret": "NOT_STORED"})

    with pytest.raises(MissingCiToken, match="orchestrate secret set NOT_STORED"):
        await runs.list_runs(
            runtime.uow(), settings, _target(runtime, "circleci", SLUG), RunFilter()
        )


async def test_cancel_stops_the_run_and_is_audited(
    runtime: Runtime, platforms: Platforms, admin: Actor
) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="in_progress")

    run = await runs.cancel(runtime.uow(), runtime.settings, _target(runtime), str(run_id), admin)

    assert (run.status, run.conclusion) == (RunStatus.COMPLETED, Conclusion.CANCELLED)
    audit = await auth.list_audit(runtime.uow(read_only=True), action="ci.cancel")
    assert [(r.subject, r.actor, r.details) for r in audit.items] == [
        (
            REPO,
            admin.name,
            {
                "provider": "github",
                "run_id": str(run_id),
                "status": "completed",
                "conclusion": "cancelled",
            },
        )
    ]


async def test_cancelling_a_run_that_ended_returns_it_as_it_ended(
    runtime: Runtime, platforms: Platforms, admin: Actor
) -> None:
    gitlab = _target(runtime, "gitlab", PROJECT)
    sha = platforms.gitlab.branch_sha(PROJECT, "main")
    assert sha is not None
    pipeline = platforms.gitlab.add_pipeline(PROJECT, sha, [FakeJob("build", "success")])

    run = await runs.cancel(runtime.uow(), runtime.settings, gitlab, str(pipeline), admin)

    assert (run.status, run.conclusion) == (RunStatus.COMPLETED, Conclusion.SUCCESS)


async def test_a_viewer_may_not_cancel(runtime: Runtime, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="in_progress")
    viewer = Actor(name="test:viewer", role=Role.VIEWER, source="127.0.0.1")

    with pytest.raises(PermissionDenied):
        await runs.cancel(runtime.uow(), runtime.settings, _target(runtime), str(run_id), viewer)

    assert platforms.github.workflow_run(REPO, run_id).status == "in_progress"
