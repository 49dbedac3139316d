"""The GitLab ForgeClient, through the real python-gitlab, against the fake GitLab."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from orchestrate.core.errors import AuthenticationFailed, Conflict, ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.forges.client import (
    CheckState,
    ForgeCall,
    ForgeError,
    ForgeNotFound,
    LineComment,
    MergeMethod,
    MergeRefused,
    NewPullRequest,
    PullRequestState,
    ReviewVerdict,
)
from orchestrate.forges.gitlab import GitLabClient, RetryPolicy, gitlab_client
from orchestrate.testing import FakeGitLab, FakeJob

REPO = "group/sub/app"
FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_wait=5.0)


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        server.add_project(REPO, branches={"feature": None, "other": None})
        yield server


@pytest.fixture
def observed() -> list[ForgeCall]:
    return []


def make_client(
    gitlab: FakeGitLab, observed: list[ForgeCall], *, token: str | None = None
) -> GitLabClient:
    async def observe(call: ForgeCall) -> None:
        observed.append(call)

    settings = Settings(gitlab_url=gitlab.url)
    return gitlab_client(
        settings, token or gitlab.token, observe, policy=FAST, rebase_poll_seconds=0.01
    )


@pytest.fixture
def client(gitlab: FakeGitLab, observed: list[ForgeCall]) -> GitLabClient:
    return make_client(gitlab, observed)


def new_pull_request(head: str = "feature", **overrides: object) -> NewPullRequest:
    fields: dict[str, object] = {
        "repository": REPO,
        "head_branch": head,
        "base_branch": "main",
        "title": "Add the widget",
        "body": "Story st_1, run run_1.",
    }
    fields.update(overrides)
    return NewPullRequest(**fields)  # type: ignore[arg-type]


class TestRepositories:
    async def test_a_project_is_read_by_its_full_path(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        info = await client.get_repository(REPO)

        assert (info.repository, info.default_branch, info.private) == (REPO, "main", True)
        assert info.clone_url.endswith(f"{REPO}.git")
        assert gitlab.calls("GET")[-1].path == "/api/v4/projects/group%2Fsub%2Fapp"

    async def test_an_unknown_project_is_not_found(self, client: GitLabClient) -> None:
        with pytest.raises(ForgeNotFound, match="nobody/nothing"):
            await client.get_repository("nobody/nothing")

    @pytest.mark.parametrize("path", ["app", "group/../admin", "group//app", "group/app?x=1"])
    async def test_a_path_that_is_no_project_is_refused_before_any_call(
        self, client: GitLabClient, gitlab: FakeGitLab, path: str
    ) -> None:
        with pytest.raises(ValidationFailed, match="not a GitLab project path"):
            await client.get_pull_request(path, 1)

        assert gitlab.requests == []

    async def test_a_rejected_token_says_where_the_token_comes_from(
        self, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        client = make_client(gitlab, observed, token="glpat-wrong")

        with pytest.raises(AuthenticationFailed, match="ORCHESTRATE_GITLAB_TOKEN"):
            await client.get_repository(REPO)


class TestPullRequests:
    async def test_a_draft_merge_request_opens_with_its_labels(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(
            new_pull_request(draft=True, labels=("orchestrate", "bot"))
        )

        assert (opened.number, opened.state, opened.draft) == (1, PullRequestState.OPEN, True)
        assert opened.title == "Add the widget"
        assert opened.labels == ("orchestrate", "bot")
        assert opened.head_sha == gitlab.branch_sha(REPO, "feature")
        assert opened.url.endswith(f"/{REPO}/-/merge_requests/1")
        assert gitlab.merge_request(REPO, 1)["title"] == "Draft: Add the widget"

    async def test_opening_twice_returns_the_open_one_instead_of_a_second(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        first = await client.open_pull_request(new_pull_request())
        again = await client.open_pull_request(new_pull_request(title="Retried"))

        assert again.number == first.number
        assert again.title == "Add the widget"
        assert len(gitlab.merge_requests(REPO)) == 1

    async def test_a_missing_source_branch_is_an_error_not_an_existing_request(
        self, client: GitLabClient
    ) -> None:
        with pytest.raises(ForgeError, match="does not exist") as raised:
            await client.open_pull_request(new_pull_request(head="gone"))
        assert raised.value.status == 409

    async def test_listing_filters_by_state_and_branch(self, client: GitLabClient) -> None:
        feature = await client.open_pull_request(new_pull_request())
        other = await client.open_pull_request(new_pull_request(head="other"))
        await client.close_pull_request(REPO, other.number)

        open_now = await client.list_pull_requests(REPO)
        everything = await client.list_pull_requests(REPO, state=None)
        from_other = await client.list_pull_requests(REPO, state=None, head_branch="other")

        assert [pr.number for pr in open_now] == [feature.number]
        assert {pr.number for pr in everything} == {feature.number, other.number}
        assert [(pr.number, pr.state) for pr in from_other] == [
            (other.number, PullRequestState.CLOSED)
        ]

    async def test_listing_reads_every_page(self, client: GitLabClient, gitlab: FakeGitLab) -> None:
        for index in range(105):
            gitlab.push(REPO, f"topic-{index}")
            gitlab.open_merge_request(REPO, f"topic-{index}")

        found = await client.list_pull_requests(REPO)

        assert len(found) == 105
        assert len(gitlab.calls("GET", "/merge_requests")) == 2

    async def test_labels_are_added_to_those_already_there(self, client: GitLabClient) -> None:
        opened = await client.open_pull_request(new_pull_request(labels=("orchestrate",)))

        await client.add_labels(REPO, opened.number, ["needs-review", "orchestrate"])

        labels = (await client.get_pull_request(REPO, opened.number)).labels
        assert labels == ("orchestrate", "needs-review")

    async def test_conflicts_make_it_unmergeable(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.set_conflicts(REPO, opened.number)

        assert opened.mergeable is True
        assert (await client.get_pull_request(REPO, opened.number)).mergeable is False

    async def test_an_unknown_merge_request_is_not_found(self, client: GitLabClient) -> None:
        with pytest.raises(ForgeNotFound, match=f"{REPO}!42"):
            await client.get_pull_request(REPO, 42)


class TestComments:
    async def test_comments_are_the_conversation_only(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        posted = await client.comment(REPO, opened.number, "Ready for review.")
        gitlab.add_note(REPO, opened.number, "Why here?", author="alice", path="a.py", line=3)
        await client.submit_review(REPO, opened.number, verdict=ReviewVerdict.APPROVED, body="")

        comments = await client.list_comments(REPO, opened.number)

        assert [(c.id, c.body, c.author.login) for c in comments] == [
            (posted.id, "Ready for review.", "orchestrate-bot")
        ]
        assert comments[0].url == f"{opened.url}#note_{posted.id}"


class TestReviews:
    async def test_an_approval_is_pinned_to_the_head_and_read_back(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())

        await client.submit_review(
            REPO,
            opened.number,
            verdict=ReviewVerdict.APPROVED,
            body="",
            commit_sha=opened.head_sha,
        )

        assert gitlab.approved_by(REPO, opened.number) == ["orchestrate-bot"]
        assert gitlab.calls("POST", "/approve")[0].body == {"sha": opened.head_sha}
        reviews = await client.list_reviews(REPO, opened.number)
        assert [(r.verdict, r.author.login) for r in reviews] == [
            (ReviewVerdict.APPROVED, "orchestrate-bot")
        ]

    async def test_approving_again_is_not_an_error(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        for _ in range(2):
            await client.submit_review(REPO, opened.number, verdict=ReviewVerdict.APPROVED, body="")

        assert gitlab.approved_by(REPO, opened.number) == ["orchestrate-bot"]
        assert [call.status for call in gitlab.calls("POST", "/approve")] == [201, 401]

    async def test_a_review_of_a_head_that_moved_is_refused(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.push(REPO, "feature")

        with pytest.raises(Conflict, match="review the new head"):
            await client.submit_review(
                REPO,
                opened.number,
                verdict=ReviewVerdict.APPROVED,
                body="",
                commit_sha=opened.head_sha,
            )
        assert gitlab.approved_by(REPO, opened.number) == []

    async def test_requesting_changes_withdraws_the_approval_and_opens_a_thread(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        await client.submit_review(REPO, opened.number, verdict=ReviewVerdict.APPROVED, body="")

        review = await client.submit_review(
            REPO,
            opened.number,
            verdict=ReviewVerdict.CHANGES_REQUESTED,
            body="Handle the empty list.",
        )

        assert gitlab.approved_by(REPO, opened.number) == []
        assert (review.verdict, review.body, review.commit_sha) == (
            ReviewVerdict.CHANGES_REQUESTED,
            "Handle the empty list.",
            opened.head_sha,
        )
        threads = await client.list_review_threads(REPO, opened.number)
        assert [(t.resolved, t.path) for t in threads] == [(False, None)]
        assert "Handle the empty list." in threads[0].comments[0].body
        reviews = await client.list_reviews(REPO, opened.number)
        assert [(r.id, r.verdict) for r in reviews] == [
            (review.id, ReviewVerdict.CHANGES_REQUESTED)
        ]

    async def test_a_change_request_whose_thread_is_resolved_reads_as_dismissed(
        self, client: GitLabClient
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        await client.submit_review(
            REPO, opened.number, verdict=ReviewVerdict.CHANGES_REQUESTED, body="Rename it."
        )
        (thread,) = await client.list_review_threads(REPO, opened.number)

        await client.resolve_thread(REPO, opened.number, thread.id)

        (review,) = await client.list_reviews(REPO, opened.number)
        assert review.verdict is ReviewVerdict.DISMISSED

    async def test_line_comments_become_threads_on_the_diff(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())

        await client.submit_review(
            REPO,
            opened.number,
            verdict=ReviewVerdict.COMMENTED,
            body="",
            comments=[LineComment("src/app.py", 12, "Off by one?")],
        )

        threads = await client.list_review_threads(REPO, opened.number)
        assert [(t.path, t.line, t.outdated, t.comments[0].body) for t in threads] == [
            ("src/app.py", 12, False, "Off by one?")
        ]
        position = gitlab.discussions(REPO, opened.number)[0]["notes"][0]["position"]
        assert position["head_sha"] == opened.head_sha
        reviews = await client.list_reviews(REPO, opened.number)
        assert [(r.verdict, r.body) for r in reviews] == [
            (ReviewVerdict.COMMENTED, "1 comment(s) on the diff.")
        ]

    async def test_a_change_request_made_in_gitlabs_review_ui_is_read(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.set_reviewer_state(REPO, opened.number, "alice", "requested_changes")

        (review,) = await client.list_reviews(REPO, opened.number)

        assert (review.verdict, review.author.login) == (
            ReviewVerdict.CHANGES_REQUESTED,
            "alice",
        )

    async def test_a_review_cannot_be_submitted_dismissed(self, client: GitLabClient) -> None:
        with pytest.raises(ValidationFailed):
            await client.submit_review(REPO, 1, verdict=ReviewVerdict.DISMISSED, body="")


class TestThreads:
    async def test_a_reply_and_a_resolve_close_a_reviewers_thread(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.add_note(REPO, opened.number, "Null check?", author="alice", path="a.py", line=7)
        (thread,) = await client.list_review_threads(REPO, opened.number)

        reply = await client.reply_to_thread(REPO, opened.number, thread.id, "Added in abc123.")
        await client.resolve_thread(REPO, opened.number, thread.id)

        (after,) = await client.list_review_threads(REPO, opened.number)
        assert (thread.resolved, after.resolved) == (False, True)
        assert [(c.author.login, c.body) for c in after.comments] == [
            ("alice", "Null check?"),
            ("orchestrate-bot", "Added in abc123."),
        ]
        assert after.comments[1].id == reply.id

    async def test_a_thread_left_on_an_older_head_is_outdated(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.add_note(REPO, opened.number, "Typo", author="alice", path="a.py", line=1)
        gitlab.push(REPO, "feature")

        (thread,) = await client.list_review_threads(REPO, opened.number)

        assert thread.outdated is True

    async def test_an_unknown_thread_is_not_found(self, client: GitLabClient) -> None:
        opened = await client.open_pull_request(new_pull_request())

        with pytest.raises(ForgeNotFound):
            await client.reply_to_thread(REPO, opened.number, "f" * 40, "Hello?")


class TestChecks:
    async def test_checks_are_the_jobs_of_the_latest_pipeline_of_the_commit(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        sha = gitlab.branch_sha(REPO, "feature") or ""
        gitlab.add_pipeline(REPO, sha, [FakeJob("test", status="failed")])
        gitlab.add_pipeline(
            REPO,
            sha,
            [
                FakeJob("test", status="success"),
                FakeJob("lint", status="failed", allow_failure=True),
                FakeJob("deploy", status="manual", stage="deploy"),
                FakeJob("build", status="running", stage="build"),
                FakeJob("e2e", status="failed", failure_reason="script_failure"),
                FakeJob("docs", status="canceled"),
            ],
        )

        checks = {check.name: check for check in await client.list_checks(REPO, sha)}

        assert {name: check.state for name, check in checks.items()} == {
            "build": CheckState.PENDING,
            "deploy": CheckState.NEUTRAL,
            "docs": CheckState.CANCELLED,
            "e2e": CheckState.FAILURE,
            "lint": CheckState.NEUTRAL,
            "test": CheckState.SUCCESS,
        }
        assert checks["e2e"].summary == "test: script_failure"
        assert (checks["e2e"].details_url or "").endswith(f"/-/jobs/{checks['e2e'].job_id}")

    async def test_a_commit_without_pipeline_has_no_checks(self, client: GitLabClient) -> None:
        assert await client.list_checks(REPO, "0" * 40) == []

    async def test_a_checks_log_is_its_jobs_trace(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        sha = gitlab.branch_sha(REPO, "feature") or ""
        trace = "$ pytest\nFAILED tests/test_app.py::test_add - assert 3 == 4\n"
        gitlab.add_pipeline(REPO, sha, [FakeJob("test", status="failed", trace=trace)])
        (check,) = await client.list_checks(REPO, sha)

        assert await client.check_log(REPO, check.job_id or "") == trace

    async def test_an_unknown_job_is_not_found(self, client: GitLabClient) -> None:
        with pytest.raises(ForgeNotFound):
            await client.check_log(REPO, "999999")


class TestUpdateBranch:
    async def test_the_branch_is_rebased_once_gitlab_is_done(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        new_main = gitlab.push(REPO, "main")
        gitlab.set_rebase_polls(2)

        await client.update_branch(REPO, opened.number, expected_head_sha=opened.head_sha)

        after = gitlab.merge_request(REPO, opened.number)
        assert after["sha"] != opened.head_sha
        assert after["diff_refs"]["base_sha"] == new_main
        assert len(gitlab.calls("GET", f"/merge_requests/{opened.number}")) >= 4

    async def test_a_rebase_with_conflicts_is_refused_with_gitlabs_reason(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.set_conflicts(REPO, opened.number)

        with pytest.raises(MergeRefused) as refused:
            await client.update_branch(REPO, opened.number, expected_head_sha=opened.head_sha)

        assert refused.value.reason.startswith("Rebase failed")
        assert gitlab.merge_request(REPO, opened.number)["sha"] == opened.head_sha

    async def test_a_head_that_moved_is_not_rebased(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.push(REPO, "feature")

        with pytest.raises(MergeRefused, match="the head is"):
            await client.update_branch(REPO, opened.number, expected_head_sha=opened.head_sha)
        assert gitlab.calls("PUT", "/rebase") == []


class TestMerge:
    async def test_a_squash_merge_checks_the_head_and_reports_the_commit(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())

        result = await client.merge(
            REPO,
            opened.number,
            method=MergeMethod.SQUASH,
            expected_head_sha=opened.head_sha,
            commit_title="Add the widget (!1)",
        )

        after = gitlab.merge_request(REPO, opened.number)
        assert (result.merged, after["state"]) == (True, "merged")
        assert result.sha == after["merge_commit_sha"] == gitlab.branch_sha(REPO, "main")
        assert after["merge_params"] == {
            "sha": opened.head_sha,
            "squash": True,
            "squash_commit_message": "Add the widget (!1)",
        }
        merged = await client.get_pull_request(REPO, opened.number)
        assert merged.state is PullRequestState.MERGED

    async def test_a_head_that_moved_is_not_merged(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.push(REPO, "feature")

        with pytest.raises(MergeRefused) as refused:
            await client.merge(
                REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
            )

        assert refused.value.reason.startswith("SHA does not match HEAD of source branch")
        assert gitlab.merge_request(REPO, opened.number)["state"] == "opened"

    async def test_conflicts_refuse_the_merge(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.set_conflicts(REPO, opened.number)

        with pytest.raises(MergeRefused, match="Branch cannot be merged"):
            await client.merge(
                REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
            )

    async def test_a_draft_is_refused_and_the_reason_says_so(self, client: GitLabClient) -> None:
        opened = await client.open_pull_request(new_pull_request(draft=True))

        with pytest.raises(MergeRefused) as refused:
            await client.merge(
                REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
            )

        assert refused.value.reason == "405 Method Not Allowed: draft_status"

    async def test_unresolved_threads_refuse_the_merge_where_the_project_requires(
        self, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        gitlab.add_project("group/strict", only_allow_merge_if_all_discussions_are_resolved=True)
        gitlab.push("group/strict", "feature")
        client = make_client(gitlab, observed)
        opened = await client.open_pull_request(new_pull_request(repository="group/strict"))
        gitlab.add_note("group/strict", opened.number, "Why?", author="alice", resolvable=True)

        with pytest.raises(MergeRefused, match="discussions_not_resolved"):
            await client.merge(
                "group/strict",
                opened.number,
                method=MergeMethod.MERGE,
                expected_head_sha=opened.head_sha,
            )

    async def test_closing_closes(self, client: GitLabClient) -> None:
        opened = await client.open_pull_request(new_pull_request())

        closed = await client.close_pull_request(REPO, opened.number)

        assert closed.state is PullRequestState.CLOSED


class TestRateLimitsAndRetries:
    async def test_a_rate_limit_is_waited_out(
        self, client: GitLabClient, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        gitlab.fail(429, retry_after=1, method="GET")

        info = await client.get_repository(REPO)

        assert info.repository == REPO
        first, second = gitlab.requests
        assert second.received_at - first.received_at >= 0.95
        assert [(c.status, c.attempt) for c in observed] == [(429, 1), (200, 2)]
        assert observed[1].waited_s == 1.0

    async def test_rate_limit_reset_is_honoured_without_retry_after(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        gitlab.fail(429, rate_limit_reset_in=1, method="GET")

        await client.get_repository(REPO)

        assert [request.status for request in gitlab.requests] == [429, 200]

    async def test_a_wait_longer_than_allowed_fails_at_once(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        gitlab.fail(429, retry_after=3600)
        started = time.monotonic()

        with pytest.raises(ForgeError, match="rate limit") as raised:
            await client.get_repository(REPO)

        assert raised.value.status == 429
        assert time.monotonic() - started < 2
        assert len(gitlab.requests) == 1

    async def test_the_event_loop_runs_while_a_rate_limit_is_waited_out(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        gitlab.fail(429, retry_after=1)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await client.get_repository(REPO)
        ticker.cancel()

        assert ticks >= 10

    async def test_bad_gateways_are_retried(
        self, client: GitLabClient, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        gitlab.fail(502, times=2)

        await client.open_pull_request(new_pull_request())

        assert [c.status for c in observed] == [502, 502, 201]
        assert len(gitlab.merge_requests(REPO)) == 1

    async def test_bad_gateways_past_the_attempts_are_a_forge_error(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        gitlab.fail(502, times=10)

        with pytest.raises(ForgeError) as raised:
            await client.get_repository(REPO)

        assert raised.value.status == 502
        assert len(gitlab.requests) == FAST.max_attempts

    async def test_a_read_is_retried_after_a_dropped_connection(
        self, client: GitLabClient, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        gitlab.disconnect(method="GET")

        await client.get_repository(REPO)

        assert [(c.status, c.error is not None) for c in observed] == [(None, True), (200, False)]

    async def test_a_comment_is_not_sent_twice_after_a_dropped_connection(
        self, client: GitLabClient, gitlab: FakeGitLab
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        gitlab.disconnect(method="POST", path="/notes")

        with pytest.raises(ForgeError, match="could not be reached"):
            await client.comment(REPO, opened.number, "Once only.")

        assert len(gitlab.calls("POST", "/notes")) == 1


class TestObservation:
    async def test_every_http_call_is_observed_without_credentials(
        self, client: GitLabClient, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        opened = await client.open_pull_request(new_pull_request(labels=("orchestrate",)))
        await client.comment(REPO, opened.number, "Hello")
        await client.list_review_threads(REPO, opened.number)
        await client.merge(
            REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=opened.head_sha
        )

        assert [(c.method, c.path, c.status) for c in observed] == [
            (r.method, r.path, r.status) for r in gitlab.requests
        ]
        assert all(c.forge == "gitlab" and c.duration_ms >= 0 for c in observed)
        assert not any(gitlab.token in repr(call) for call in observed)

    async def test_calls_that_failed_are_observed_too(
        self, client: GitLabClient, observed: list[ForgeCall]
    ) -> None:
        with pytest.raises(ForgeNotFound):
            await client.get_pull_request(REPO, 7)

        assert [(c.method, c.status) for c in observed] == [("GET", 404)]

    async def test_a_failing_observer_does_not_fail_the_call(self, gitlab: FakeGitLab) -> None:
        async def broken(call: ForgeCall) -> None:
            raise RuntimeError("event log unavailable")

        client = gitlab_client(Settings(gitlab_url=gitlab.url), gitlab.token, broken, policy=FAST)

        assert (await client.get_repository(REPO)).repository == REPO

    async def test_calls_made_side_by_side_are_each_observed_once(
        self, client: GitLabClient, gitlab: FakeGitLab, observed: list[ForgeCall]
    ) -> None:
        opened = await client.open_pull_request(new_pull_request())
        observed.clear()

        await asyncio.gather(*(client.get_pull_request(REPO, opened.number) for _ in range(12)))

        assert len(observed) == 12
        assert {(c.method, c.status, c.attempt) for c in observed} == {("GET", 200, 1)}
