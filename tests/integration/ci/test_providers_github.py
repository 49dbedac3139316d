"""GitHub Actions through the real githubkit client against the fake GitHub on 127.0.0.1."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from orchestrate.ci.providers import (
    CiAuthenticationFailed,
    CiNotFound,
    CiProviderError,
    Conclusion,
    RateLimited,
    RunFilter,
    RunStatus,
    TriggerRequest,
)
from orchestrate.ci.providers._retry import RetryPolicy
from orchestrate.ci.providers.github import GitHubActions
from orchestrate.core.errors import ValidationFailed
from orchestrate.testing import FakeGitHub
from orchestrate.testing.fake_github import bad_gateway, secondary_rate_limit

REPO = "octo/app"
FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05, max_wait=5.0)
JOBS = (("lint", "success", "lint ok\n"), ("test", "failure", "FAILED tests/test_x.py::test_y\n"))


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as github:
        github.add_repository(REPO)
        github.push_branch(REPO, "feature")
        github.add_workflow(REPO, "ci.yml", name="CI", jobs=JOBS)
        github.add_workflow(REPO, "release.yml", name="Release")
        yield github


@pytest.fixture
async def actions(fake: FakeGitHub) -> AsyncIterator[GitHubActions]:
    provider = GitHubActions(
        fake.token, api_url=fake.api_url, policy=FAST, dispatch_timeout=5, dispatch_poll=0.05
    )
    yield provider
    await provider.aclose()


async def test_runs_are_listed_newest_first_and_filtered(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    first = fake.add_workflow_run(REPO, "ci.yml", status="completed")
    second = fake.add_workflow_run(REPO, "ci.yml", branch="feature", status="in_progress")
    third = fake.add_workflow_run(REPO, "release.yml")

    everything = await actions.list_runs(REPO, RunFilter(), page=None, limit=20)
    on_feature = await actions.list_runs(REPO, RunFilter(branch="feature"), page=None, limit=20)
    completed = await actions.list_runs(
        REPO, RunFilter(status=RunStatus.COMPLETED), page=None, limit=20
    )
    releases = await actions.list_runs(REPO, RunFilter(workflow="release.yml"), page=None, limit=20)

    assert [run.id for run in everything.runs] == [str(third), str(second), str(first)]
    assert [run.id for run in on_feature.runs] == [str(second)]
    assert [run.id for run in completed.runs] == [str(first)]
    assert completed.runs[0].conclusion is Conclusion.FAILURE  # its test job fails
    assert [run.workflow for run in releases.runs] == ["Release"]


async def test_listing_pages_through_the_runs(fake: FakeGitHub, actions: GitHubActions) -> None:
    ids = [fake.add_workflow_run(REPO, "ci.yml") for _ in range(5)]

    first = await actions.list_runs(REPO, RunFilter(), page=None, limit=2)
    second = await actions.list_runs(REPO, RunFilter(), page=first.next_page, limit=2)
    third = await actions.list_runs(REPO, RunFilter(), page=second.next_page, limit=2)

    walked = [run.id for page in (first, second, third) for run in page.runs]
    assert walked == [str(i) for i in reversed(ids)]
    assert third.next_page is None


async def test_a_run_and_its_jobs_with_steps(fake: FakeGitHub, actions: GitHubActions) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", branch="feature", status="completed")

    run = await actions.get_run(REPO, str(run_id))
    jobs = await actions.list_jobs(REPO, str(run_id))

    assert (run.workflow, run.branch, run.attempt) == ("CI", "feature", 1)
    assert run.head_sha == fake.branch(REPO, "feature")
    assert run.status is RunStatus.COMPLETED
    assert {job.name: job.conclusion for job in jobs} == {
        "lint": Conclusion.SUCCESS,
        "test": Conclusion.FAILURE,
    }
    assert [step.name for step in jobs[0].steps] == ["Set up job", "Run lint", "Complete job"]


async def test_a_job_log_follows_the_redirect_without_sending_the_token(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed")
    test_job = next(j for j in await actions.list_jobs(REPO, str(run_id)) if j.name == "test")

    log = await actions.job_log(REPO, test_job.id)

    assert log == "FAILED tests/test_x.py::test_y\n"
    downloads = [d for d in fake.log_downloads if d.path.endswith(f"/{test_job.id}")]
    assert len(downloads) == 1
    assert "authorization" not in downloads[0].headers
    assert fake.token not in str(downloads[0].headers)


async def test_a_runs_logs_are_a_zip_on_the_log_host(fake: FakeGitHub) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed")
    headers = {"authorization": f"token {fake.token}"}

    async with httpx.AsyncClient(follow_redirects=True) as client:
        response = await client.get(
            f"{fake.api_url}/repos/{REPO}/actions/runs/{run_id}/logs", headers=headers
        )

    assert response.status_code == 200
    assert response.url.port != httpx.URL(fake.api_url).port
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert names == ["0_lint.txt", "1_test.txt"]


async def test_dispatch_finds_the_run_it_created(fake: FakeGitHub, actions: GitHubActions) -> None:
    older = fake.add_workflow_run(REPO, "ci.yml", branch="feature", event="workflow_dispatch")

    run = await actions.trigger(
        REPO, TriggerRequest("ci.yml", "feature", {"suite": "smoke", "debug": "true"})
    )

    created = fake.workflow_runs(REPO)[-1]
    assert run.id == str(created.id) != str(older)
    assert (run.branch, run.status, run.attempt) == ("feature", RunStatus.QUEUED, 1)
    assert created.inputs == {"suite": "smoke", "debug": "true"}
    assert created.event == "workflow_dispatch"


async def test_dispatch_on_an_unknown_ref_is_refused(actions: GitHubActions) -> None:
    with pytest.raises(ValidationFailed, match="No ref found"):
        await actions.trigger(REPO, TriggerRequest("ci.yml", "nope"))


async def test_dispatch_of_an_unknown_workflow_is_not_found(actions: GitHubActions) -> None:
    with pytest.raises(CiNotFound):
        await actions.trigger(REPO, TriggerRequest("missing.yml", "main"))


async def test_rerunning_failed_jobs_counts_the_attempt_up(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed")

    rerun = await actions.rerun(REPO, str(run_id), failed_only=True)
    jobs = await actions.list_jobs(REPO, str(run_id))
    first_attempt = await actions.get_run(REPO, str(run_id), attempt=1)
    first_jobs = await actions.list_jobs(REPO, str(run_id), attempt=1)

    assert (rerun.attempt, rerun.status, rerun.conclusion) == (2, RunStatus.QUEUED, None)
    assert {job.name: job.status for job in jobs} == {
        "lint": RunStatus.COMPLETED,  # passed: carried over as it was
        "test": RunStatus.QUEUED,
    }
    assert first_attempt.conclusion is Conclusion.FAILURE
    assert len(first_jobs) == 2
    assert fake.calls("POST", f"/actions/runs/{run_id}/rerun-failed-jobs")


async def test_rerunning_everything_queues_every_job(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed", conclusion="success")

    rerun = await actions.rerun(REPO, str(run_id), failed_only=False)
    jobs = await actions.list_jobs(REPO, str(run_id))

    assert rerun.attempt == 2
    assert {job.status for job in jobs} == {RunStatus.QUEUED}
    assert fake.calls("POST", f"/actions/runs/{run_id}/rerun")


async def test_a_rate_limit_is_waited_out(fake: FakeGitHub, actions: GitHubActions) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml")
    fake.fail_next(secondary_rate_limit(retry_after=1, status=429))

    run = await actions.get_run(REPO, str(run_id))

    assert run.id == str(run_id)
    statuses = [call.status for call in fake.calls("GET", f"/actions/runs/{run_id}")]
    assert statuses == [429, 200]


async def test_a_rate_limit_longer_than_allowed_fails_saying_when(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    fake.exhaust_rate_limit(reset_in=60)

    with pytest.raises(RateLimited) as raised:
        await actions.list_runs(REPO, RunFilter(), page=None, limit=5)

    assert (raised.value.retry_after or 0) > 5
    assert raised.value.context["provider"] == "github"


async def test_a_bad_token_is_an_authentication_failure(fake: FakeGitHub) -> None:
    provider = GitHubActions("ghp_wrong", api_url=fake.api_url, policy=FAST)
    try:
        with pytest.raises(CiAuthenticationFailed):
            await provider.list_runs(REPO, RunFilter(), page=None, limit=5)
    finally:
        await provider.aclose()


async def test_an_unknown_run_is_not_found(actions: GitHubActions) -> None:
    with pytest.raises(CiNotFound):
        await actions.get_run(REPO, "424242")


async def test_a_run_id_that_is_no_number_is_refused_before_any_call(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    with pytest.raises(ValidationFailed):
        await actions.get_run(REPO, "../../user")
    assert fake.calls() == []


async def test_rerunning_one_job_queues_it_alone_in_a_new_attempt(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed")
    lint = next(j for j in await actions.list_jobs(REPO, str(run_id)) if j.name == "lint")

    run = await actions.rerun_job(REPO, lint.id)
    jobs = await actions.list_jobs(REPO, str(run_id))

    assert (run.id, run.attempt) == (str(run_id), 2)
    assert {job.name: job.status for job in jobs} == {
        "lint": RunStatus.QUEUED,
        "test": RunStatus.COMPLETED,
    }


async def test_a_bad_gateway_on_a_read_is_retried(fake: FakeGitHub, actions: GitHubActions) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml")
    fake.fail_next(bad_gateway())

    run = await actions.get_run(REPO, str(run_id))

    assert run.id == str(run_id)
    assert [c.status for c in fake.calls("GET", f"/actions/runs/{run_id}")] == [502, 200]


async def test_a_bad_gateway_on_a_dispatch_is_not_repeated(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    fake.fail_next(bad_gateway(path_contains="/dispatches"))

    with pytest.raises(CiProviderError, match="502"):
        await actions.trigger(REPO, TriggerRequest("ci.yml", "main"))

    assert [c.status for c in fake.calls("POST", "/dispatches")] == [502]
    assert fake.workflow_runs(REPO) == []


async def test_an_exhausted_primary_limit_is_waited_out_until_its_reset(
    fake: FakeGitHub, actions: GitHubActions
) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml")
    fake.exhaust_rate_limit(reset_in=0.5)

    run = await actions.get_run(REPO, str(run_id))

    assert run.id == str(run_id)
    assert [c.status for c in fake.calls("GET", f"/actions/runs/{run_id}")] == [403, 200]


class TestCancel:
    async def test_a_running_run_ends_cancelled_with_its_unfinished_jobs(
        self, fake: FakeGitHub, actions: GitHubActions
    ) -> None:
        run_id = fake.add_workflow_run(REPO, "ci.yml", status="in_progress")

        run = await actions.cancel(REPO, str(run_id))
        jobs = await actions.list_jobs(REPO, str(run_id))

        assert (run.id, run.status, run.conclusion) == (
            str(run_id),
            RunStatus.COMPLETED,
            Conclusion.CANCELLED,
        )
        assert {job.conclusion for job in jobs} == {Conclusion.CANCELLED}
        assert [c.status for c in fake.calls("POST", f"/actions/runs/{run_id}/cancel")] == [202]

    async def test_a_finished_run_is_returned_as_it_ended_without_error(
        self, fake: FakeGitHub, actions: GitHubActions
    ) -> None:
        run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed", conclusion="success")

        run = await actions.cancel(REPO, str(run_id))

        assert (run.status, run.conclusion) == (RunStatus.COMPLETED, Conclusion.SUCCESS)
        assert [c.status for c in fake.calls("POST", f"/actions/runs/{run_id}/cancel")] == [409]

    async def test_an_unknown_run_is_not_found(self, actions: GitHubActions) -> None:
        with pytest.raises(CiNotFound):
            await actions.cancel(REPO, "424242")

    async def test_a_bad_gateway_is_retried_as_cancelling_twice_stops_once(
        self, fake: FakeGitHub, actions: GitHubActions
    ) -> None:
        run_id = fake.add_workflow_run(REPO, "ci.yml")
        fake.fail_next(bad_gateway(path_contains="/cancel"))

        run = await actions.cancel(REPO, str(run_id))

        assert run.conclusion is Conclusion.CANCELLED
        assert [c.status for c in fake.calls("POST", "/cancel")] == [502, 202]

    async def test_a_refused_token_is_an_authentication_failure(self, fake: FakeGitHub) -> None:
        run_id = fake.add_workflow_run(REPO, "ci.yml")
        provider = GitHubActions("ghp_wrong", api_url=fake.api_url, policy=FAST)
        try:
            with pytest.raises(CiAuthenticationFailed):
                await provider.cancel(REPO, str(run_id))
        finally:
            await provider.aclose()
        assert fake.workflow_run(REPO, run_id).status == "queued"
