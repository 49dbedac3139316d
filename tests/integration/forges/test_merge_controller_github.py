"""``merge_when_ready`` against the fake GitHub backed by a real bare repository: the real
githubkit adapter reads, decides and merges with real git merges."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orchestrate.auth.service import Actor, Role
from orchestrate.core.errors import PermissionDenied
from orchestrate.forges.client import Check, MergeMethod, NewPullRequest
from orchestrate.forges.github.auth import TokenCredentials
from orchestrate.forges.github.client import GitHubClient
from orchestrate.forges.merge_controller import MergeOutcome, MergeStatus, merge_when_ready
from orchestrate.forges.merging import ReasonKind
from orchestrate.repositories.service import MergeMethodName, MergePolicy
from orchestrate.testing import FakeGitHub
from tests.integration.forges.conftest import FAST, REPO

TRUSTED = ["OWNER", "MEMBER", "COLLABORATOR"]
OPERATOR = Actor(name="test:operator", role=Role.OPERATOR, source="test")


def git(work: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=work, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_file(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text)
    git(work, "add", name)
    git(work, "-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm", f"write {name}")
    return git(work, "rev-parse", "HEAD")


class Forge:
    """The bare repository the fake serves, a clone to push from, and the fake."""

    def __init__(self, tmp_path: Path, fake: FakeGitHub) -> None:
        self.remote, self.work, self.fake = tmp_path / "app.git", tmp_path / "work", fake
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(self.remote))
        git(tmp_path, "clone", "-q", str(self.remote), str(self.work))
        git(self.work, "checkout", "-q", "-b", "main")
        commit_file(self.work, "app.py", "one\ntwo\nthree\n")
        git(self.work, "push", "-q", "origin", "main")
        fake.add_repository(REPO, git_dir=self.remote)

    def push(self, branch: str, name: str, text: str) -> str:
        """Commit ``name`` on ``branch`` (new: from main) and push it; the new head."""
        git(self.work, "fetch", "-q", "origin")
        exists = bool(git(self.work, "ls-remote", "origin", f"refs/heads/{branch}"))
        git(self.work, "checkout", "-q", "-B", branch, f"origin/{branch if exists else 'main'}")
        sha = commit_file(self.work, name, text)
        git(self.work, "push", "-q", "origin", branch)
        return sha

    def main(self) -> str:
        return git(self.work, "--git-dir", str(self.remote), "rev-parse", "main")

    def parents(self, sha: str) -> list[str]:
        line = git(self.work, "--git-dir", str(self.remote), "rev-list", "--parents", "-n1", sha)
        return line.split()[1:]


@pytest.fixture(name="forge")
def _forge(tmp_path: Path) -> Iterator[Forge]:
    with FakeGitHub() as fake:
        yield Forge(tmp_path, fake)


@pytest.fixture(name="github")
async def _github(forge: Forge) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(
        TokenCredentials(forge.fake.token, "test"), api_url=forge.fake.api_url, policy=FAST
    ) as client:
        yield client


async def open_feature(forge: Forge, github: GitHubClient, *, approved: bool = True) -> int:
    forge.push("feature", "feature.py", "print('hello')\n")
    opened = await github.open_pull_request(NewPullRequest(REPO, "feature", "main", "Add", ""))
    if approved:
        forge.fake.add_review(REPO, opened.number, user="mona", verdict="APPROVED")
    return opened.number


async def attempt(
    github: GitHubClient, number: int, policy: MergePolicy | None = None
) -> MergeOutcome:
    return await merge_when_ready(
        github, policy or MergePolicy(), REPO, number, actor=OPERATOR, trusted_associations=TRUSTED
    )


class TestWaiting:
    async def test_without_an_approval_it_waits_and_nothing_merges(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github, approved=False)
        before = forge.main()

        outcome = await attempt(github, number)

        assert outcome.status is MergeStatus.WAITING
        assert [r.message for r in outcome.reasons] == ["0 approval(s) of 1 required"]
        assert forge.main() == before

    async def test_an_untrusted_approval_does_not_count(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github, approved=False)
        forge.fake.add_review(REPO, number, user="drive-by", verdict="APPROVED", association="NONE")

        outcome = await attempt(github, number)

        assert outcome.status is MergeStatus.WAITING
        assert outcome.decision is not None
        assert "@drive-by's review does not count: not a trusted reviewer" in outcome.decision.notes

    async def test_a_pending_required_check_waits(self, forge: Forge, github: GitHubClient) -> None:
        number = await open_feature(forge, github)
        head = (await github.get_pull_request(REPO, number)).head_sha
        forge.fake.set_check(REPO, head, "test", status="in_progress", conclusion=None)
        policy = MergePolicy(required_checks=("test", "lint"))

        outcome = await attempt(github, number, policy)

        assert outcome.status is MergeStatus.WAITING
        assert outcome.reasons[0].message == "checks pending: test, lint (not reported)"


class TestBlocked:
    async def test_changes_requested_block_naming_the_reviewer(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github)
        forge.fake.add_review(REPO, number, user="hubot", verdict="CHANGES_REQUESTED")

        outcome = await attempt(github, number)

        assert outcome.status is MergeStatus.BLOCKED
        assert outcome.reasons[0].kind is ReasonKind.CHANGES_REQUESTED
        assert outcome.reasons[0].subjects == ("hubot",)

    async def test_a_failing_check_blocks(self, forge: Forge, github: GitHubClient) -> None:
        number = await open_feature(forge, github)
        head = (await github.get_pull_request(REPO, number)).head_sha
        forge.fake.set_check(REPO, head, "test", conclusion="failure")

        outcome = await attempt(github, number)

        assert outcome.status is MergeStatus.BLOCKED
        assert outcome.summary == f"{REPO}#{number} is blocked: checks failed: test."

    async def test_conflicts_block_and_nothing_is_merged_or_resolved(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        forge.push("feature", "app.py", "one\nTWO\nthree\n")
        opened = await github.open_pull_request(NewPullRequest(REPO, "feature", "main", "T", ""))
        forge.fake.add_review(REPO, opened.number, user="mona", verdict="APPROVED")
        main = forge.push("main", "app.py", "one\n2\nthree\n")

        outcome = await attempt(github, opened.number)

        assert outcome.status is MergeStatus.BLOCKED
        assert [r.kind for r in outcome.reasons] == [ReasonKind.CONFLICTS]
        assert forge.main() == main

    async def test_a_viewer_may_not_merge(self, forge: Forge, github: GitHubClient) -> None:
        number = await open_feature(forge, github)
        viewer = Actor(name="test:viewer", role=Role.VIEWER, source="test")

        with pytest.raises(PermissionDenied):
            await merge_when_ready(
                github, MergePolicy(), REPO, number, actor=viewer, trusted_associations=TRUSTED
            )


class TestMerging:
    async def test_a_green_approved_pull_request_is_squashed_by_default(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github)
        head = (await github.get_pull_request(REPO, number)).head_sha
        forge.fake.set_check(REPO, head, "test")
        main = forge.main()

        outcome = await attempt(github, number)

        assert outcome.status is MergeStatus.MERGED, outcome.summary
        assert (outcome.method, outcome.head_sha) == (MergeMethod.SQUASH, head)
        assert forge.main() == outcome.sha
        assert forge.parents(forge.main()) == [main]  # one parent: squashed
        merged = forge.fake.calls("PUT", "/merge")[-1].body
        assert (merged["merge_method"], merged["sha"]) == ("squash", head)

    async def test_the_policys_merge_method_makes_a_merge_commit(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github)
        head = (await github.get_pull_request(REPO, number)).head_sha
        main = forge.main()

        outcome = await attempt(github, number, MergePolicy(method=MergeMethodName.MERGE))

        assert outcome.status is MergeStatus.MERGED
        assert forge.parents(forge.main()) == [main, head]

    async def test_a_merged_pull_request_is_reported_merged_already_without_merging(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github)
        first = await attempt(github, number)

        again = await attempt(github, number)

        assert again.status is MergeStatus.ALREADY_MERGED
        assert again.sha == first.sha
        assert len(forge.fake.calls("PUT", "/merge")) == 1

    async def test_a_head_moved_since_it_was_judged_is_refused_with_githubs_reason(
        self, forge: Forge
    ) -> None:
        class PushedMeanwhile(GitHubClient):
            """Someone pushes to the branch once its checks have been read."""

            async def list_checks(self, repository: str, sha: str) -> list[Check]:
                checks = await super().list_checks(repository, sha)
                forge.push("feature", "late.py", "late\n")
                return checks

        async with PushedMeanwhile(
            TokenCredentials(forge.fake.token, "t"), api_url=forge.fake.api_url, policy=FAST
        ) as github:
            number = await open_feature(forge, github)
            main = forge.main()

            outcome = await attempt(github, number)

        assert outcome.status is MergeStatus.REFUSED
        assert outcome.refused_reason is not None
        assert "Head branch was modified" in outcome.refused_reason
        assert forge.main() == main


class TestUpToDate:
    async def test_a_branch_behind_its_base_is_updated_and_waits_for_its_checks(
        self, forge: Forge, github: GitHubClient
    ) -> None:
        number = await open_feature(forge, github)
        main = forge.push("main", "other.py", "other\n")
        policy = MergePolicy(require_up_to_date=True)

        outcome = await attempt(github, number, policy)

        assert outcome.status is MergeStatus.WAITING
        assert outcome.branch_updated
        assert [r.kind for r in outcome.reasons] == [ReasonKind.BEHIND_BASE]
        updated = await github.get_pull_request(REPO, number)
        assert main in forge.parents(updated.head_sha)
        assert forge.main() == main
        assert await github.commits_behind_base(REPO, number) == 0

    async def test_an_up_to_date_branch_merges(self, forge: Forge, github: GitHubClient) -> None:
        number = await open_feature(forge, github)

        outcome = await attempt(github, number, MergePolicy(require_up_to_date=True))

        assert outcome.status is MergeStatus.MERGED
        assert outcome.branch_updated is False
