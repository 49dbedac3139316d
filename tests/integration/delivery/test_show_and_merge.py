"""Showing a pull request refreshes it from the forge; merging goes through the forge with
the expected head, and a refusal is reported with the forge's reason (SQLite and
PostgreSQL, the fake GitHub backed by the bare remote, so merges are real git merges)."""

from __future__ import annotations

import pytest

from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.errors import Conflict, PermissionDenied
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.testing import Failure, FakeGitHub
from tests.integration.agents.conftest import git
from tests.integration.delivery.conftest import GITHUB_REPO, Project, run_agent, run_jobs

SYSTEM = Actor.system("test")


async def event_types(runtime: Runtime, *patterns: str) -> list[str]:
    async with runtime.uow(read_only=True) as uow:
        found = await read_events(uow.session, only=EventFilter(types=patterns))
    return [event.type for event in found]


async def opened(runtime: Runtime, project: Project) -> delivery.PullRequest:
    await run_agent(runtime, project)
    await run_jobs(runtime)
    [pull_request] = (await delivery.list_pull_requests(runtime.uow(read_only=True))).items
    return pull_request


class TestShow:
    async def test_show_reports_the_checks_and_reviews_the_forge_has_now(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        on_github.set_check(GITHUB_REPO, pull_request.head_sha, "lint")
        on_github.set_check(GITHUB_REPO, pull_request.head_sha, "test", conclusion="failure")
        on_github.add_review(GITHUB_REPO, pull_request.number, user="alice", verdict="APPROVED")

        view = await delivery.show_pull_request(
            runtime.uow(), runtime.settings, GITHUB_REPO, pull_request.number
        )

        assert view.is_fresh
        assert (view.checks.total, view.checks.succeeded, view.checks.failed) == (2, 1, 1)
        assert view.checks.failing == ("test",)
        assert (view.reviews.approved, view.reviews.approvers) == (1, ("alice",))

    async def test_a_pull_request_closed_on_the_forge_is_recorded_closed(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        on_github.pull_request(GITHUB_REPO, pull_request.number).state = "closed"

        view = await delivery.show_pull_request(
            runtime.uow(), runtime.settings, GITHUB_REPO, pull_request.number
        )

        assert view.pull_request.state is delivery.PullRequestState.CLOSED
        async with runtime.uow(read_only=True) as uow:
            moves = await read_events(
                uow.session, only=EventFilter(types=("pull_request.state_changed",))
            )
        assert [(e.payload["from_state"], e.payload["to_state"]) for e in moves] == [
            ("open", "closed")
        ]

    async def test_an_unreachable_forge_shows_the_record_and_says_why(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        runtime.settings = runtime.settings.model_copy(update={"github_token": None})

        view = await delivery.show_pull_request(
            runtime.uow(), runtime.settings, GITHUB_REPO, pull_request.number
        )

        assert not view.is_fresh
        assert view.stale_reason is not None
        assert "ORCHESTRATE_GITHUB_TOKEN" in view.stale_reason
        assert view.pull_request == pull_request


def approve(github: FakeGitHub, number: int) -> None:
    """What the default merge policy asks for: one trusted reviewer's approval."""
    github.add_review(GITHUB_REPO, number, user="alice", verdict="APPROVED")


class TestMerge:
    async def test_an_approved_pull_request_merges_and_is_recorded(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        approve(on_github, pull_request.number)

        merged = await delivery.merge_pull_request(
            runtime.uow(),
            runtime.settings,
            GITHUB_REPO,
            pull_request.number,
            SYSTEM,
            method=delivery.MergeMethod.MERGE,
        )

        assert merged.state is delivery.PullRequestState.MERGED
        assert merged.merged_at is not None
        assert on_github.pull_request(GITHUB_REPO, pull_request.number).merged
        # --method merge replaced the policy's squash: the branch's commit is on main.
        assert (
            git(project.remote, "merge-base", "--is-ancestor", pull_request.head_sha, "main") == ""
        )
        assert await event_types(
            runtime,
            "pull_request.opened",
            "pull_request.state_changed",
            "forge.pull_request_merged",
        ) == [
            "pull_request.opened",
            "forge.pull_request_merged",
            "pull_request.state_changed",
        ]

    async def test_without_the_approval_the_policy_asks_for_nothing_is_merged(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)

        with pytest.raises(delivery.NotReadyToMerge, match="approval") as waiting:
            await delivery.merge_pull_request(
                runtime.uow(), runtime.settings, GITHUB_REPO, pull_request.number, SYSTEM
            )

        assert waiting.value.context["reasons"] == ["approvals_missing"]
        assert not on_github.pull_request(GITHUB_REPO, pull_request.number).merged

    async def test_a_merge_refused_by_the_forge_says_why_and_changes_nothing(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        approve(on_github, pull_request.number)
        protected = 'Required status check "ci" is expected.'
        on_github.fail_next(Failure(405, protected, method="PUT", path_contains="/merge"))

        with pytest.raises(delivery.MergeRefused) as refused:
            await delivery.merge_pull_request(
                runtime.uow(), runtime.settings, GITHUB_REPO, pull_request.number, SYSTEM
            )

        assert protected in refused.value.reason
        assert protected in str(refused.value)
        assert not on_github.pull_request(GITHUB_REPO, pull_request.number).merged
        still = await delivery.get_pull_request(
            runtime.uow(read_only=True), GITHUB_REPO, pull_request.number
        )
        assert still.state is delivery.PullRequestState.OPEN

    async def test_a_merged_pull_request_is_not_merged_again(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        approve(on_github, pull_request.number)
        args = (runtime.settings, GITHUB_REPO, pull_request.number, SYSTEM)
        await delivery.merge_pull_request(runtime.uow(), *args)

        with pytest.raises(Conflict, match="is merged"):
            await delivery.merge_pull_request(runtime.uow(), *args)

    async def test_a_viewer_may_not_merge(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        pull_request = await opened(runtime, project)
        approve(on_github, pull_request.number)
        viewer = Actor(name="test:viewer", role=Role.VIEWER, source="test")

        with pytest.raises(PermissionDenied):
            await delivery.merge_pull_request(
                runtime.uow(), runtime.settings, GITHUB_REPO, pull_request.number, viewer
            )
        assert not on_github.pull_request(GITHUB_REPO, pull_request.number).merged
