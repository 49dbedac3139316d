"""CircleCI through the real httpx client against the fake CircleCI on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from orchestrate.ci.models import TestStatus
from orchestrate.ci.providers import (
    CiAuthenticationFailed,
    CiNotFound,
    Conclusion,
    RateLimited,
    RunFilter,
    RunStatus,
    TriggerRequest,
)
from orchestrate.ci.providers._retry import RetryPolicy
from orchestrate.ci.providers.circleci import CircleCi
from orchestrate.core.errors import ValidationFailed
from orchestrate.testing import CircleJob, CircleTest, FakeCircleCI

SLUG = "gh/acme/app"
FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05, max_wait=5.0)
CONFIG = {
    "build": [
        CircleJob("lint", "success", output="lint ok\n"),
        CircleJob(
            "test",
            "failed",
            output="FAILED test_y\n",
            tests=(
                CircleTest("test_x", classname="tests.test_app", run_time=0.25),
                CircleTest("test_y", "failure", classname="tests.test_app", message="boom"),
            ),
        ),
    ]
}


@pytest.fixture
def fake() -> Iterator[FakeCircleCI]:
    with FakeCircleCI() as circleci:
        circleci.add_project(SLUG, branches=("main", "feature"))
        circleci.set_config(SLUG, CONFIG)
        yield circleci


@pytest.fixture
async def circle(fake: FakeCircleCI) -> AsyncIterator[CircleCi]:
    provider = CircleCi(fake.token, url=fake.url, policy=FAST, trigger_timeout=2, trigger_poll=0.05)
    yield provider
    await provider.aclose()


def _completed_workflow(fake: FakeCircleCI, branch: str = "main") -> str:
    workflow = fake.workflows_of(fake.add_pipeline(SLUG, branch))[0]
    fake.advance_workflow(workflow, "completed")
    return workflow


async def test_workflows_of_pipelines_are_listed_and_filtered(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    done = _completed_workflow(fake)
    running = fake.workflows_of(fake.add_pipeline(SLUG, "feature"))[0]

    everything = await circle.list_runs(SLUG, RunFilter(), page=None, limit=20)
    on_feature = await circle.list_runs(SLUG, RunFilter(branch="feature"), page=None, limit=20)
    completed = await circle.list_runs(
        SLUG, RunFilter(status=RunStatus.COMPLETED), page=None, limit=20
    )

    assert [run.id for run in everything.runs] == [running, done]
    assert [run.id for run in on_feature.runs] == [running]
    assert [(run.id, run.conclusion) for run in completed.runs] == [(done, Conclusion.FAILURE)]
    assert everything.runs[0].workflow == "build"


async def test_listing_pages_through_pipelines_without_skipping_any(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    pipelines = [fake.add_pipeline(SLUG) for _ in range(23)]
    workflows = [fake.workflows_of(p)[0] for p in reversed(pipelines)]

    walked: list[str] = []
    page: str | None = None
    for _ in range(20):
        found = await circle.list_runs(SLUG, RunFilter(), page=page, limit=7)
        walked += [run.id for run in found.runs]
        page = found.next_page
        if page is None:
            break

    assert walked == workflows


async def test_org_and_repo_alone_mean_a_github_project(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    fake.add_pipeline(SLUG)

    found = await circle.list_runs("acme/app", RunFilter(), page=None, limit=5)

    assert [run.repository for run in found.runs] == [SLUG]


async def test_a_workflow_its_jobs_and_a_step_log_fetched_without_the_token(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    workflow = _completed_workflow(fake)

    run = await circle.get_run(SLUG, workflow)
    jobs = await circle.list_jobs(SLUG, workflow)
    test_job = next(job for job in jobs if job.name == "test")
    log = await circle.job_log(SLUG, test_job.id)

    assert (run.branch, run.status, run.conclusion, run.attempt) == (
        "main",
        RunStatus.COMPLETED,
        Conclusion.FAILURE,
        1,
    )
    assert {job.name: job.conclusion for job in jobs} == {
        "lint": Conclusion.SUCCESS,
        "test": Conclusion.FAILURE,
    }
    assert "FAILED test_y" in log
    assert len(fake.output_downloads) == 1
    assert "circle-token" not in fake.output_downloads[0].headers
    assert fake.token not in str(fake.output_downloads[0].headers)


async def test_test_metadata_becomes_per_test_results(fake: FakeCircleCI, circle: CircleCi) -> None:
    workflow = _completed_workflow(fake)

    results = await circle.test_results(SLUG, workflow)

    assert [(r.suite, r.name, r.status) for r in results] == [
        ("test", "test_x", TestStatus.PASSED),
        ("test", "test_y", TestStatus.FAILED),
    ]
    assert results[1].message == "boom"


async def test_triggering_starts_a_pipeline_with_parameters(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    run = await circle.trigger(SLUG, TriggerRequest("build", "feature", {"deploy": "yes"}))

    pipeline = fake.pipeline(fake.pipelines(SLUG)[-1])
    assert run.id in fake.workflows_of(pipeline["id"])
    assert (run.branch, run.workflow, run.status) == ("feature", "build", RunStatus.IN_PROGRESS)
    assert pipeline["parameters"] == {"deploy": "yes"}


async def test_triggering_an_unknown_branch_is_refused(circle: CircleCi) -> None:
    with pytest.raises(ValidationFailed, match="Branch not found"):
        await circle.trigger(SLUG, TriggerRequest("", "nope"))


async def test_rerunning_from_failed_is_a_new_workflow_one_attempt_later(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    workflow = _completed_workflow(fake)

    rerun = await circle.rerun(SLUG, workflow, failed_only=True)
    jobs = await circle.list_jobs(SLUG, rerun.id)

    assert rerun.id != workflow
    assert (rerun.workflow, rerun.attempt) == ("build", 2)
    assert {job.name: job.status for job in jobs} == {
        "lint": RunStatus.COMPLETED,
        "test": RunStatus.QUEUED,
    }
    assert fake.calls("POST", "/rerun")[0].body == {"from_failed": True}


async def test_a_rate_limit_is_waited_out(fake: FakeCircleCI, circle: CircleCi) -> None:
    workflow = _completed_workflow(fake)
    fake.fail_next(429, retry_after=0.2)

    run = await circle.get_run(SLUG, workflow)

    assert run.id == workflow
    assert [call.status for call in fake.requests][:2] == [429, 200]


async def test_a_long_rate_limit_fails_at_once(fake: FakeCircleCI, circle: CircleCi) -> None:
    fake.fail_next(429, retry_after=600)

    with pytest.raises(RateLimited) as raised:
        await circle.list_runs(SLUG, RunFilter(), page=None, limit=5)

    assert raised.value.retry_after == 600


async def test_a_bad_token_is_an_authentication_failure(fake: FakeCircleCI) -> None:
    provider = CircleCi("wrong", url=fake.url, policy=FAST)
    try:
        with pytest.raises(CiAuthenticationFailed):
            await provider.list_runs(SLUG, RunFilter(), page=None, limit=5)
    finally:
        await provider.aclose()


async def test_an_unknown_workflow_is_not_found(circle: CircleCi) -> None:
    with pytest.raises(CiNotFound):
        await circle.get_run(SLUG, "0b6a1b5e-0000-4000-8000-000000000000")


async def test_a_slug_with_too_many_parts_is_refused(circle: CircleCi) -> None:
    with pytest.raises(ValidationFailed):
        await circle.list_runs("gh/a/b/c", RunFilter(), page=None, limit=5)


async def test_rerunning_one_job_reruns_its_workflow_with_that_job_alone(
    fake: FakeCircleCI, circle: CircleCi
) -> None:
    workflow = _completed_workflow(fake)
    lint = next(j for j in await circle.list_jobs(SLUG, workflow) if j.name == "lint")

    run = await circle.rerun_job(SLUG, lint.id)
    jobs = await circle.list_jobs(SLUG, run.id)

    assert (run.workflow, run.attempt) == ("build", 2)
    assert {job.name: job.status for job in jobs} == {
        "lint": RunStatus.QUEUED,
        "test": RunStatus.COMPLETED,
    }
    assert len(fake.calls("POST", "/rerun")[0].body["jobs"]) == 1


class TestCancel:
    async def test_a_running_workflow_ends_canceled_and_its_siblings_go_on(
        self, fake: FakeCircleCI, circle: CircleCi
    ) -> None:
        fake.set_config(SLUG, {**CONFIG, "deploy": [CircleJob("ship")]})
        workflow, sibling = fake.workflows_of(fake.add_pipeline(SLUG))
        fake.advance_workflow(workflow, "running")

        run = await circle.cancel(SLUG, workflow)
        jobs = await circle.list_jobs(SLUG, workflow)
        other = await circle.get_run(SLUG, sibling)

        assert (run.id, run.status, run.conclusion) == (
            workflow,
            RunStatus.COMPLETED,
            Conclusion.CANCELLED,
        )
        assert {job.conclusion for job in jobs} == {Conclusion.CANCELLED}
        assert other.status is RunStatus.IN_PROGRESS
        assert [c.status for c in fake.calls("POST", f"/workflow/{workflow}/cancel")] == [202]

    async def test_a_finished_workflow_is_returned_as_it_ended_without_a_cancel(
        self, fake: FakeCircleCI, circle: CircleCi
    ) -> None:
        workflow = _completed_workflow(fake)  # its test job fails

        run = await circle.cancel(SLUG, workflow)

        assert (run.status, run.conclusion) == (RunStatus.COMPLETED, Conclusion.FAILURE)
        assert fake.calls("POST", "/cancel") == []

    async def test_an_unknown_workflow_is_not_found(
        self, fake: FakeCircleCI, circle: CircleCi
    ) -> None:
        with pytest.raises(CiNotFound):
            await circle.cancel(SLUG, "0b6a1b5e-0000-4000-8000-000000000000")
        assert fake.calls("POST", "/cancel") == []

    async def test_an_id_that_is_no_uuid_is_refused_before_any_call(
        self, fake: FakeCircleCI, circle: CircleCi
    ) -> None:
        with pytest.raises(ValidationFailed):
            await circle.cancel(SLUG, "../../me")
        assert fake.requests == []
