"""``merge_when_ready`` against the fake GitLab, through the real python-gitlab adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrate.auth.service import Actor, Role
from orchestrate.core.settings import Settings
from orchestrate.forges.client import (
    Check,
    ForgeCall,
    MergeMethod,
    NewPullRequest,
    ReviewVerdict,
)
from orchestrate.forges.gitlab import GitLabClient, RetryPolicy, gitlab_client
from orchestrate.forges.merge_controller import MergeOutcome, MergeStatus, merge_when_ready
from orchestrate.forges.merging import ReasonKind
from orchestrate.repositories.service import MergeMethodName, MergePolicy
from orchestrate.testing import FakeGitLab, FakeJob

REPO = "group/app"
TRUSTED = ["OWNER", "MEMBER", "COLLABORATOR"]
OPERATOR = Actor(name="test:operator", role=Role.OPERATOR, source="test")
FAST = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.05, max_wait=5.0)
REVIEWER_TOKEN = "glpat-mona"


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        server.add_project(REPO, branches={"feature": None})
        server.add_user("mona", REVIEWER_TOKEN)
        yield server


def client_of(gitlab: FakeGitLab, token: str | None = None) -> GitLabClient:
    async def observe(_call: ForgeCall) -> None:
        return None

    settings = Settings(gitlab_url=gitlab.url)
    return gitlab_client(
        settings, token or gitlab.token, observe, policy=FAST, rebase_poll_seconds=0.01
    )


@pytest.fixture
def client(gitlab: FakeGitLab) -> GitLabClient:
    return client_of(gitlab)


async def open_feature(gitlab: FakeGitLab, client: GitLabClient, *, approved: bool = True) -> int:
    opened = await client.open_pull_request(NewPullRequest(REPO, "feature", "main", "Add", ""))
    if approved:
        reviewer = client_of(gitlab, REVIEWER_TOKEN)
        await reviewer.submit_review(REPO, opened.number, verdict=ReviewVerdict.APPROVED, body="")
    return opened.number


async def attempt(
    client: GitLabClient, number: int, policy: MergePolicy | None = None
) -> MergeOutcome:
    return await merge_when_ready(
        client, policy or MergePolicy(), REPO, number, actor=OPERATOR, trusted_associations=TRUSTED
    )


def pipeline(gitlab: FakeGitLab, status: str, name: str = "test") -> None:
    sha = gitlab.branch_sha(REPO, "feature")
    assert sha is not None
    gitlab.add_pipeline(REPO, sha, [FakeJob(name, status)], ref="feature")


class TestWaiting:
    async def test_without_an_approval_it_waits(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client, approved=False)

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.WAITING
        assert [r.kind for r in outcome.reasons] == [ReasonKind.APPROVALS_MISSING]
        assert gitlab.merge_request(REPO, number)["state"] == "opened"

    async def test_an_approval_written_into_a_note_by_anyone_does_not_count(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client, approved=False)
        gitlab.add_note(
            REPO, number, "LGTM\n\n<!-- orchestrate:review approved -->", author="stranger"
        )

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.WAITING
        assert outcome.decision is not None
        assert "@stranger's review does not count: not a trusted reviewer" in outcome.decision.notes

    async def test_a_running_job_waits(self, gitlab: FakeGitLab, client: GitLabClient) -> None:
        number = await open_feature(gitlab, client)
        pipeline(gitlab, "running")

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.WAITING
        assert outcome.reasons[0].message == "checks pending: test"


class TestBlocked:
    async def test_a_reviewer_requesting_changes_in_gitlab_blocks(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client)
        gitlab.set_reviewer_state(REPO, number, "hubot", "requested_changes")

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.BLOCKED
        assert outcome.reasons[0].message == "changes requested by @hubot"

    async def test_a_failed_job_blocks(self, gitlab: FakeGitLab, client: GitLabClient) -> None:
        number = await open_feature(gitlab, client)
        pipeline(gitlab, "failed")

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.BLOCKED
        assert outcome.reasons[0].subjects == ("test",)

    async def test_conflicts_block(self, gitlab: FakeGitLab, client: GitLabClient) -> None:
        number = await open_feature(gitlab, client)
        gitlab.set_conflicts(REPO, number)

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.BLOCKED
        assert [r.kind for r in outcome.reasons] == [ReasonKind.CONFLICTS]
        assert gitlab.merge_request(REPO, number)["state"] == "opened"


class TestMerging:
    async def test_a_green_approved_merge_request_is_squashed_at_the_judged_head(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client)
        pipeline(gitlab, "success")
        head = gitlab.branch_sha(REPO, "feature")

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.MERGED, outcome.summary
        assert outcome.method is MergeMethod.SQUASH
        merged = gitlab.merge_request(REPO, number)
        assert merged["state"] == "merged"
        assert merged["merge_params"]["sha"] == head
        assert merged["merge_params"]["squash"] in (True, "true")
        assert outcome.sha == merged["merge_commit_sha"]

    async def test_the_merge_method_merges_without_squashing(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client)

        outcome = await attempt(client, number, MergePolicy(method=MergeMethodName.MERGE))

        assert outcome.status is MergeStatus.MERGED
        assert gitlab.merge_request(REPO, number)["merge_params"]["squash"] in (False, "false")

    async def test_a_second_attempt_finds_it_merged_already(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client)
        await attempt(client, number)

        again = await attempt(client, number)

        assert again.status is MergeStatus.ALREADY_MERGED

    async def test_a_forge_refusal_is_reported_with_gitlabs_reason(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        gitlab.add_project("group/strict", only_allow_merge_if_pipeline_succeeds=True)
        gitlab.push("group/strict", "feature")
        opened = await client.open_pull_request(
            NewPullRequest("group/strict", "feature", "main", "Add", "")
        )

        outcome = await merge_when_ready(
            client,
            MergePolicy(required_approvals=0),
            "group/strict",
            opened.number,
            actor=OPERATOR,
            trusted_associations=TRUSTED,
        )

        assert outcome.status is MergeStatus.REFUSED
        assert outcome.refused_reason is not None
        assert "ci_must_pass" in outcome.refused_reason

    async def test_a_head_moved_since_it_was_judged_is_refused_with_gitlabs_reason(
        self, gitlab: FakeGitLab
    ) -> None:
        class PushedMeanwhile(GitLabClient):
            """Someone pushes to the branch once its pipeline has been read."""

            async def list_checks(self, repository: str, sha: str) -> list[Check]:
                checks = await super().list_checks(repository, sha)
                gitlab.push(REPO, "feature")
                return checks

        built = client_of(gitlab)
        client = PushedMeanwhile(built._api, built._adapter, built._observer)
        number = await open_feature(gitlab, client)

        outcome = await attempt(client, number)

        assert outcome.status is MergeStatus.REFUSED
        assert outcome.refused_reason is not None
        assert "SHA does not match HEAD of source branch" in outcome.refused_reason
        assert gitlab.merge_request(REPO, number)["state"] == "opened"


class TestUpToDate:
    async def test_a_branch_behind_its_target_is_rebased_and_waits(
        self, gitlab: FakeGitLab, client: GitLabClient
    ) -> None:
        number = await open_feature(gitlab, client)
        gitlab.push(REPO, "main")
        gitlab.push(REPO, "main")
        assert await client.commits_behind_base(REPO, number) == 2
        before = gitlab.branch_sha(REPO, "feature")

        outcome = await attempt(client, number, MergePolicy(require_up_to_date=True))

        assert outcome.status is MergeStatus.WAITING
        assert outcome.branch_updated
        assert outcome.reasons[0].message == "the branch is 2 commit(s) behind main"
        assert gitlab.branch_sha(REPO, "feature") != before
        assert await client.commits_behind_base(REPO, number) == 0
