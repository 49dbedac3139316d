"""The GitHub adapter, with the real githubkit client, against the fake GitHub on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from orchestrate.core.errors import AuthenticationFailed
from orchestrate.forges.client import (
    CheckState,
    ForgeCall,
    ForgeError,
    ForgeNotFound,
    LineComment,
    MergeMethod,
    MergeRefused,
    NewPullRequest,
    PullRequestInfo,
    PullRequestState,
    ReviewVerdict,
)
from orchestrate.forges.github.auth import TokenCredentials
from orchestrate.forges.github.client import GitHubClient
from orchestrate.forges.github.transport import RetryPolicy
from orchestrate.testing import FakeGitHub, bad_gateway, secondary_rate_limit
from tests.integration.forges.conftest import REPO


async def open_feature(
    fake: FakeGitHub, github: GitHubClient, branch: str = "feature", **changes: object
) -> PullRequestInfo:
    fake.push_branch(REPO, branch)
    new = NewPullRequest(REPO, branch, "main", "Add the feature", "Story 12", **changes)  # type: ignore[arg-type]
    return await github.open_pull_request(new)


class TestPullRequests:
    async def test_an_opened_pull_request_has_its_head_labels_and_link(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        head = fake_github.push_branch(REPO, "feature")
        new = NewPullRequest(
            REPO, "feature", "main", "Add", "Body", draft=True, labels=("orchestrate",)
        )
        opened = await github.open_pull_request(new)
        assert (opened.number, opened.head_sha, opened.labels) == (1, head, ("orchestrate",))
        assert opened.draft
        assert opened.state is PullRequestState.OPEN
        assert opened.url.endswith("/octo/app/pull/1")
        assert opened.author.login == "orchestrate-bot"

    async def test_opening_the_same_head_and_base_again_returns_the_open_one(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        first = await open_feature(fake_github, github)
        again = await open_feature(fake_github, github, labels=("orchestrate",))
        assert again.number == first.number
        assert again.labels == ("orchestrate",)
        assert again.mergeable is True
        assert len(fake_github.pull_requests(REPO)) == 1

    async def test_a_head_branch_that_does_not_exist_is_refused_with_githubs_reason(
        self, github: GitHubClient
    ) -> None:
        with pytest.raises(ForgeError) as raised:
            await github.open_pull_request(NewPullRequest(REPO, "nope", "main", "T", "B"))
        assert raised.value.status == 422
        assert "Validation Failed" in raised.value.reason

    async def test_listing_filters_by_state_and_head_branch(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        first = await open_feature(fake_github, github, "one")
        second = await open_feature(fake_github, github, "two")
        await github.close_pull_request(REPO, first.number)
        open_now = await github.list_pull_requests(REPO)
        closed = await github.list_pull_requests(REPO, state=PullRequestState.CLOSED)
        by_head = await github.list_pull_requests(REPO, state=None, head_branch="one")
        assert [pr.number for pr in open_now] == [second.number]
        assert [pr.number for pr in closed] == [first.number]
        assert [pr.number for pr in by_head] == [first.number]

    async def test_closing_leaves_it_closed_not_merged(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        closed = await github.close_pull_request(REPO, opened.number)
        assert closed.state is PullRequestState.CLOSED
        assert (await github.get_pull_request(REPO, opened.number)).state is PullRequestState.CLOSED

    async def test_an_unknown_repository_or_pull_request_is_not_found(
        self, github: GitHubClient
    ) -> None:
        with pytest.raises(ForgeNotFound):
            await github.get_repository("octo/missing")
        with pytest.raises(ForgeNotFound):
            await github.get_pull_request(REPO, 99)

    async def test_the_repository_reports_its_default_branch(self, github: GitHubClient) -> None:
        info = await github.get_repository(REPO)
        assert (info.repository, info.default_branch, info.private) == (REPO, "main", False)

    async def test_a_rejected_token_is_an_authentication_failure(
        self, fake_github: FakeGitHub
    ) -> None:
        client = GitHubClient(TokenCredentials("wrong", "test"), api_url=fake_github.api_url)
        async with client:
            with pytest.raises(AuthenticationFailed, match="Bad credentials"):
                await client.get_repository(REPO)


class TestConversation:
    async def test_labels_and_comments_land_on_the_pull_request(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        await github.add_labels(REPO, opened.number, ["orchestrate", "bug"])
        posted = await github.comment(REPO, opened.number, "Working on it")
        comments = await github.list_comments(REPO, opened.number)
        assert fake_github.pull_request(REPO, opened.number).labels == ["orchestrate", "bug"]
        assert [c.body for c in comments] == ["Working on it"]
        assert comments[0].id == posted.id
        assert comments[0].author.association == "MEMBER"

    async def test_a_review_with_line_comments_opens_one_thread_per_line(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        review = await github.submit_review(
            REPO,
            opened.number,
            verdict=ReviewVerdict.CHANGES_REQUESTED,
            body="Two problems",
            comments=[LineComment("src/a.py", 3, "Off by one"), LineComment("src/b.py", 9, "Typo")],
        )
        threads = await github.list_review_threads(REPO, opened.number)
        reviews = await github.list_reviews(REPO, opened.number)
        assert review.verdict is ReviewVerdict.CHANGES_REQUESTED
        assert review.commit_sha == opened.head_sha
        assert [r.id for r in reviews] == [review.id]
        assert [(t.path, t.line, t.resolved) for t in threads] == [
            ("src/a.py", 3, False),
            ("src/b.py", 9, False),
        ]
        assert threads[0].comments[0].body == "Off by one"

    async def test_a_reply_is_added_to_the_thread_and_resolving_marks_it(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        fake_github.add_review(
            REPO,
            opened.number,
            user="alice",
            association="OWNER",
            body="Fix",
            comments=[("src/a.py", 3, "Off by one")],
        )
        thread = (await github.list_review_threads(REPO, opened.number))[0]
        reply = await github.reply_to_thread(REPO, opened.number, thread.id, "Fixed in abc123")
        await github.resolve_thread(REPO, opened.number, thread.id)
        after = (await github.list_review_threads(REPO, opened.number))[0]
        assert thread.comments[0].author.login == "alice"
        assert thread.comments[0].author.association == "OWNER"
        assert reply.body == "Fixed in abc123"
        assert [c.body for c in after.comments] == ["Off by one", "Fixed in abc123"]
        assert after.resolved

    async def test_replying_to_an_unknown_thread_is_not_found(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        with pytest.raises(ForgeNotFound, match="PRRT_nope"):
            await github.reply_to_thread(REPO, opened.number, "PRRT_nope", "hello")

    async def test_review_threads_are_read_past_the_first_page(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        lines = [("src/a.py", line, f"comment {line}") for line in range(1, 131)]
        fake_github.add_review(REPO, opened.number, user="alice", comments=lines)
        threads = await github.list_review_threads(REPO, opened.number)
        assert [t.line for t in threads] == list(range(1, 131))


class TestChecks:
    async def test_each_check_is_its_latest_attempt(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        sha = fake_github.push_branch(REPO, "feature")
        fake_github.set_check(REPO, sha, "test", conclusion="failure")
        rerun = fake_github.set_check(REPO, sha, "test", conclusion="success")
        fake_github.set_check(REPO, sha, "build", status="in_progress")
        fake_github.set_status(REPO, sha, "ci/lint", "failure")
        fake_github.set_status(REPO, sha, "ci/lint", "success", target_url="https://ci/1")
        checks = {c.name: c for c in await github.list_checks(REPO, sha)}
        assert {name: c.state for name, c in checks.items()} == {
            "build": CheckState.PENDING,
            "ci/lint": CheckState.SUCCESS,
            "test": CheckState.SUCCESS,
        }
        assert checks["test"].job_id == str(rerun)
        assert checks["ci/lint"].job_id is None
        assert checks["ci/lint"].details_url == "https://ci/1"

    async def test_a_job_log_is_read_through_the_redirect_to_its_archive(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        sha = fake_github.push_branch(REPO, "feature")
        job = fake_github.set_check(REPO, sha, "test", conclusion="failure", log="FAILED test_x\n")
        log = await github.check_log(REPO, str(job))
        assert log == "FAILED test_x\n"
        assert [(c.status, c.path.split("/")[-1]) for c in forge_calls] == [
            (302, "logs"),
            (200, str(job)),
        ]

    async def test_the_log_of_an_unknown_job_is_not_found(self, github: GitHubClient) -> None:
        with pytest.raises(ForgeNotFound):
            await github.check_log(REPO, "424242")


class TestMerging:
    async def test_a_merge_of_the_expected_head_lands_on_the_base(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        result = await github.merge(
            REPO, opened.number, method=MergeMethod.SQUASH, expected_head_sha=opened.head_sha
        )
        merged = await github.get_pull_request(REPO, opened.number)
        assert result.merged
        assert result.sha == fake_github.branch(REPO, "main")
        assert merged.state is PullRequestState.MERGED
        assert merged.merge_commit_sha == result.sha

    async def test_merging_again_what_is_merged_at_that_head_is_the_same_success(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        first = await github.merge(
            REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
        )
        again = await github.merge(
            REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
        )
        assert (again.merged, again.sha) == (True, first.sha)
        assert len(fake_github.calls("PUT", "/merge")) == 2

    async def test_a_head_that_moved_is_refused_with_githubs_reason(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        fake_github.push_branch(REPO, "feature")
        with pytest.raises(MergeRefused) as refused:
            await github.merge(
                REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
            )
        assert refused.value.reason == "Head branch was modified. Review and try the merge again."
        assert fake_github.pull_request(REPO, opened.number).state == "open"

    async def test_a_conflicting_pull_request_is_refused(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        fake_github.set_mergeable(REPO, opened.number, False)
        with pytest.raises(MergeRefused, match="not mergeable"):
            await github.merge(
                REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
            )
        with pytest.raises(MergeRefused, match="merge conflict"):
            await github.update_branch(REPO, opened.number, expected_head_sha=opened.head_sha)

    async def test_updating_the_branch_moves_its_head_and_checks_the_expected_one(
        self, fake_github: FakeGitHub, github: GitHubClient
    ) -> None:
        opened = await open_feature(fake_github, github)
        with pytest.raises(MergeRefused, match="expected head sha"):
            await github.update_branch(REPO, opened.number, expected_head_sha="0" * 40)
        await github.update_branch(REPO, opened.number, expected_head_sha=opened.head_sha)
        assert (await github.get_pull_request(REPO, opened.number)).head_sha != opened.head_sha


class TestRateLimitsAndRetries:
    async def test_a_secondary_rate_limit_is_waited_out(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        fake_github.fail_next(secondary_rate_limit(retry_after=1))
        started = time.monotonic()
        info = await github.get_repository(REPO)
        assert info.repository == REPO
        assert time.monotonic() - started >= 1.0
        assert [(c.status, c.attempt) for c in forge_calls] == [(403, 1), (200, 2)]
        assert forge_calls[1].waited_s == pytest.approx(1.0)

    async def test_a_429_with_retry_after_is_waited_out(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        fake_github.fail_next(secondary_rate_limit(retry_after=1, status=429))
        await github.get_repository(REPO)
        assert [c.status for c in forge_calls] == [429, 200]

    async def test_an_exhausted_primary_limit_waits_for_its_reset(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        fake_github.exhaust_rate_limit(reset_in=0.5)
        await github.get_repository(REPO)
        assert [c.status for c in forge_calls] == [403, 200]
        assert 0 < forge_calls[1].waited_s <= 2.1

    async def test_an_exhausted_limit_on_graphql_is_waited_out_too(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        opened = await open_feature(fake_github, github)
        forge_calls.clear()
        fake_github.exhaust_rate_limit(reset_in=0.5)
        assert await github.list_review_threads(REPO, opened.number) == []
        assert [(c.path, c.status, c.attempt) for c in forge_calls] == [
            ("/graphql", 200, 1),
            ("/graphql", 200, 2),
        ]
        assert forge_calls[1].waited_s > 0

    async def test_a_wait_longer_than_the_bound_fails_at_once_saying_when_to_retry(
        self, fake_github: FakeGitHub
    ) -> None:
        fake_github.fail_next(secondary_rate_limit(retry_after=120))
        policy = RetryPolicy(max_rate_limit_wait=5)
        client = GitHubClient(
            TokenCredentials(fake_github.token, "test"), api_url=fake_github.api_url, policy=policy
        )
        started = time.monotonic()
        async with client:
            with pytest.raises(ForgeError, match="resets in 120 s") as raised:
                await client.get_repository(REPO)
        assert time.monotonic() - started < 2
        assert raised.value.status == 403

    async def test_a_403_that_is_not_a_rate_limit_is_not_retried(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        from orchestrate.testing import Failure

        fake_github.fail_next(Failure(403, "Resource not accessible by integration"))
        with pytest.raises(ForgeError, match="Resource not accessible"):
            await github.get_repository(REPO)
        assert len(forge_calls) == 1

    async def test_a_bad_gateway_is_retried_with_backoff(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        fake_github.push_branch(REPO, "feature")
        fake_github.fail_next(bad_gateway(), bad_gateway(503, method="POST"))
        opened = await github.open_pull_request(NewPullRequest(REPO, "feature", "main", "T", "B"))
        assert opened.number == 1
        assert [(c.status, c.attempt) for c in forge_calls] == [(502, 1), (503, 2), (201, 3)]
        assert len(fake_github.pull_requests(REPO)) == 1

    async def test_gateways_failing_every_try_end_in_a_forge_error(
        self, fake_github: FakeGitHub, github: GitHubClient, forge_calls: list[ForgeCall]
    ) -> None:
        fake_github.fail_next(*(bad_gateway() for _ in range(4)))
        with pytest.raises(ForgeError, match="502"):
            await github.get_repository(REPO)
        assert [c.attempt for c in forge_calls] == [1, 2, 3, 4]

    async def test_a_server_that_cannot_be_reached_is_a_forge_error_after_retries(
        self, forge_calls: list[ForgeCall]
    ) -> None:
        async def observe(call: ForgeCall) -> None:
            forge_calls.append(call)

        policy = RetryPolicy(attempts=2, backoff_base=0.01)
        client = GitHubClient(
            TokenCredentials("t", "test"),
            api_url="http://127.0.0.1:9",
            observer=observe,
            policy=policy,
        )
        async with client:
            with pytest.raises(ForgeError, match="Could not reach GitHub"):
                await client.get_repository(REPO)
        assert [(c.status, c.error) for c in forge_calls] == [(None, "ConnectError")] * 2

    async def test_a_failing_observer_does_not_fail_the_call(self, fake_github: FakeGitHub) -> None:
        async def broken(call: ForgeCall) -> None:
            raise RuntimeError("database is down")

        client = GitHubClient(
            TokenCredentials(fake_github.token, "test"),
            api_url=fake_github.api_url,
            observer=broken,
        )
        async with client:
            assert (await client.get_repository(REPO)).repository == REPO
