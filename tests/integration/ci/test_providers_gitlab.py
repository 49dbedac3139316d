"""GitLab CI through the real python-gitlab client against the fake GitLab on 127.0.0.1."""

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
from orchestrate.ci.providers.gitlab import GitLabCi
from orchestrate.core.errors import ValidationFailed
from orchestrate.testing.fake_gitlab import FakeGitLab, FakeJob, FakeTestCase

PROJECT = "group/app"
FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05, max_wait=5.0)
JOBS = [
    FakeJob("lint", "success", trace="lint ok\n"),
    FakeJob(
        "test",
        "failed",
        trace="\x1b[31mFAILED\x1b[0m test_y\n",
        tests=(
            FakeTestCase("test_x", classname="tests.test_app", execution_time=0.5),
            FakeTestCase(
                "test_y", "failed", classname="tests.test_app", stack_trace="assert 1 == 2"
            ),
        ),
    ),
]


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    with FakeGitLab() as gitlab:
        gitlab.add_project(PROJECT, branches={"feature": None})
        gitlab.set_ci_jobs(PROJECT, [FakeJob("build", "pending", trace="building\n")])
        yield gitlab


@pytest.fixture
async def ci(fake: FakeGitLab) -> AsyncIterator[GitLabCi]:
    provider = GitLabCi(fake.token, url=fake.url, policy=FAST)
    yield provider
    await provider.aclose()


def _pipeline(fake: FakeGitLab, jobs: list[FakeJob] = JOBS, ref: str = "main") -> int:
    sha = fake.branch_sha(PROJECT, ref)
    assert sha is not None
    return fake.add_pipeline(PROJECT, sha, jobs, ref=ref)


async def test_pipelines_are_listed_newest_first_and_filtered(
    fake: FakeGitLab, ci: GitLabCi
) -> None:
    failed = _pipeline(fake)
    running = _pipeline(fake, [FakeJob("build", "running")], ref="feature")

    everything = await ci.list_runs(PROJECT, RunFilter(), page=None, limit=20)
    on_feature = await ci.list_runs(PROJECT, RunFilter(branch="feature"), page=None, limit=20)
    in_progress = await ci.list_runs(
        PROJECT, RunFilter(status=RunStatus.IN_PROGRESS), page=None, limit=20
    )
    completed = await ci.list_runs(
        PROJECT, RunFilter(status=RunStatus.COMPLETED), page=None, limit=20
    )

    assert [run.id for run in everything.runs] == [str(running), str(failed)]
    assert [run.id for run in on_feature.runs] == [str(running)]
    assert [run.id for run in in_progress.runs] == [str(running)]
    assert [(run.id, run.conclusion) for run in completed.runs] == [
        (str(failed), Conclusion.FAILURE)
    ]


async def test_listing_pages_through_the_pipelines(fake: FakeGitLab, ci: GitLabCi) -> None:
    ids = [_pipeline(fake) for _ in range(5)]

    first = await ci.list_runs(PROJECT, RunFilter(), page=None, limit=2)
    second = await ci.list_runs(PROJECT, RunFilter(), page=first.next_page, limit=2)
    third = await ci.list_runs(PROJECT, RunFilter(), page=second.next_page, limit=2)

    assert [run.id for p in (first, second, third) for run in p.runs] == [
        str(i) for i in reversed(ids)
    ]


async def test_a_pipeline_its_jobs_and_a_trace(fake: FakeGitLab, ci: GitLabCi) -> None:
    pipeline_id = _pipeline(fake)

    run = await ci.get_run(PROJECT, str(pipeline_id))
    jobs = await ci.list_jobs(PROJECT, str(pipeline_id))
    test_job = next(job for job in jobs if job.name == "test")
    trace = await ci.job_log(PROJECT, test_job.id)

    assert (run.branch, run.status, run.conclusion, run.attempt) == (
        "main",
        RunStatus.COMPLETED,
        Conclusion.FAILURE,
        1,
    )
    assert run.head_sha == fake.branch_sha(PROJECT, "main")
    assert {job.name: job.conclusion for job in jobs} == {
        "lint": Conclusion.SUCCESS,
        "test": Conclusion.FAILURE,
    }
    assert trace == "\x1b[31mFAILED\x1b[0m test_y\n"


async def test_the_test_report_becomes_per_test_results(fake: FakeGitLab, ci: GitLabCi) -> None:
    pipeline_id = _pipeline(fake)

    results = await ci.test_results(PROJECT, str(pipeline_id))

    assert [(r.suite, r.classname, r.name, r.status) for r in results] == [
        ("test", "tests.test_app", "test_x", TestStatus.PASSED),
        ("test", "tests.test_app", "test_y", TestStatus.FAILED),
    ]
    assert results[0].duration == 0.5
    assert results[1].message == "assert 1 == 2"


async def test_retrying_a_pipeline_retries_its_failed_jobs(fake: FakeGitLab, ci: GitLabCi) -> None:
    pipeline_id = _pipeline(fake)

    run = await ci.rerun(PROJECT, str(pipeline_id), failed_only=True)
    jobs = await ci.list_jobs(PROJECT, str(pipeline_id))

    # lint passed and stays; test runs again: GitLab shows the pipeline running
    assert (run.id, run.attempt, run.status) == (str(pipeline_id), 2, RunStatus.IN_PROGRESS)
    assert {job.name: job.status for job in jobs} == {
        "lint": RunStatus.COMPLETED,
        "test": RunStatus.QUEUED,
    }
    assert fake.calls("POST", f"/pipelines/{pipeline_id}/retry")


async def test_rerunning_everything_retries_each_job(fake: FakeGitLab, ci: GitLabCi) -> None:
    pipeline_id = _pipeline(fake)

    run = await ci.rerun(PROJECT, str(pipeline_id), failed_only=False)

    assert run.attempt == 2
    assert len(fake.calls("POST", "/retry")) == 2
    assert {job.status for job in await ci.list_jobs(PROJECT, str(pipeline_id))} == {
        RunStatus.QUEUED
    }


async def test_triggering_creates_a_pipeline_with_variables(fake: FakeGitLab, ci: GitLabCi) -> None:
    run = await ci.trigger(PROJECT, TriggerRequest("", "feature", {"DEPLOY": "staging"}))

    created = fake.pipelines(PROJECT)[-1]
    assert run.id == str(created["id"])
    assert (run.branch, run.status) == ("feature", RunStatus.QUEUED)
    assert created["variables"] == {"DEPLOY": "staging"}


async def test_triggering_an_unknown_ref_is_refused(ci: GitLabCi) -> None:
    with pytest.raises(ValidationFailed, match="Reference not found"):
        await ci.trigger(PROJECT, TriggerRequest("", "nope"))


async def test_a_rate_limit_is_waited_out(fake: FakeGitLab, ci: GitLabCi) -> None:
    pipeline_id = _pipeline(fake)
    fake.fail(429, retry_after=0.2, path="/pipelines/")

    run = await ci.get_run(PROJECT, str(pipeline_id))

    assert run.id == str(pipeline_id)
    assert [call.status for call in fake.calls("GET", f"/pipelines/{pipeline_id}")][:2] == [
        429,
        200,
    ]


async def test_a_long_rate_limit_fails_at_once(fake: FakeGitLab, ci: GitLabCi) -> None:
    fake.fail(429, rate_limit_reset_in=120, path="/pipelines")

    with pytest.raises(RateLimited) as raised:
        await ci.list_runs(PROJECT, RunFilter(), page=None, limit=5)

    assert (raised.value.retry_after or 0) > 60


async def test_a_bad_token_is_an_authentication_failure(fake: FakeGitLab) -> None:
    provider = GitLabCi("glpat-wrong", url=fake.url, policy=FAST)
    with pytest.raises(CiAuthenticationFailed):
        await provider.list_runs(PROJECT, RunFilter(), page=None, limit=5)


async def test_an_unknown_pipeline_is_not_found(ci: GitLabCi) -> None:
    with pytest.raises(CiNotFound):
        await ci.get_run(PROJECT, "999999")


async def test_retrying_one_job(fake: FakeGitLab, ci: GitLabCi) -> None:
    pipeline_id = _pipeline(fake)
    lint = fake.jobs_of(PROJECT, pipeline_id)["lint"]

    run = await ci.rerun_job(PROJECT, str(lint))
    jobs = await ci.list_jobs(PROJECT, str(pipeline_id))

    assert (run.id, run.attempt) == (str(pipeline_id), 2)
    assert {job.name: job.status for job in jobs} == {
        "lint": RunStatus.QUEUED,
        "test": RunStatus.COMPLETED,
    }


class TestCancel:
    async def test_a_running_pipeline_ends_canceled_its_manual_jobs_left(
        self, fake: FakeGitLab, ci: GitLabCi
    ) -> None:
        jobs = [
            FakeJob("lint", "success"),
            FakeJob("test", "running"),
            FakeJob("e2e", "pending"),
            FakeJob("deploy", "manual", stage="deploy", allow_failure=True),  # when: manual
        ]
        pipeline_id = _pipeline(fake, jobs)

        run = await ci.cancel(PROJECT, str(pipeline_id))
        after = await ci.list_jobs(PROJECT, str(pipeline_id))

        assert (run.status, run.conclusion) == (RunStatus.COMPLETED, Conclusion.CANCELLED)
        assert {job.name: job.conclusion for job in after} == {
            "lint": Conclusion.SUCCESS,
            "test": Conclusion.CANCELLED,
            "e2e": Conclusion.CANCELLED,
            "deploy": Conclusion.ACTION_REQUIRED,
        }
        assert fake.pipelines(PROJECT)[-1]["status"] == "canceled"
        assert [c.status for c in fake.calls("POST", f"/pipelines/{pipeline_id}/cancel")] == [200]

    async def test_a_finished_pipeline_is_returned_as_it_ended(
        self, fake: FakeGitLab, ci: GitLabCi
    ) -> None:
        pipeline_id = _pipeline(fake)  # lint passed, test failed

        run = await ci.cancel(PROJECT, str(pipeline_id))

        assert (run.status, run.conclusion) == (RunStatus.COMPLETED, Conclusion.FAILURE)

    async def test_an_unknown_pipeline_is_not_found(self, ci: GitLabCi) -> None:
        with pytest.raises(CiNotFound):
            await ci.cancel(PROJECT, "999999")

    async def test_a_bad_gateway_is_retried(self, fake: FakeGitLab, ci: GitLabCi) -> None:
        pipeline_id = _pipeline(fake, [FakeJob("test", "running")])
        fake.fail(502, path="/cancel")

        run = await ci.cancel(PROJECT, str(pipeline_id))

        assert run.conclusion is Conclusion.CANCELLED
        assert [c.status for c in fake.calls("POST", "/cancel")] == [502, 200]
