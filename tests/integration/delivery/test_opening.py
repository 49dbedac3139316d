"""A completed agent's branch is pushed and a pull request opened, on SQLite and PostgreSQL,
with scripted models, real git, a local bare remote and the fake forges.

The transaction that completes a top-level agent enqueues the delivery job; the job
pushes the exact head commit and opens the pull request (or finds it open), records it
once per (repository, branch) and sets the story's ``pr_url``. Repeating or resuming
the job pushes and opens nothing twice.
"""

from __future__ import annotations

import pytest

from orchestrate.auth.service import Actor
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.jobs import find_job_by_key
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryStatus
from orchestrate.testing import FakeGitHub, FakeGitLab
from tests.integration.agents.conftest import git
from tests.integration.delivery.conftest import (
    GITHUB_REPO,
    GITLAB_REPO,
    NOTHING_DONE,
    Project,
    new_story,
    point_at,
    register,
    run_agent,
    run_jobs,
)

SYSTEM = Actor.system("test")


async def event_types(runtime: Runtime, pattern: str) -> list[str]:
    async with runtime.uow(read_only=True) as uow:
        found = await read_events(uow.session, only=EventFilter(types=(pattern,)))
    return [event.type for event in found]


class TestOnGitHub:
    async def test_a_completed_agent_gets_a_pushed_branch_and_a_pull_request(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        story = await new_story(runtime)
        run = await run_agent(runtime, project, story=story.id)
        assert run.branch is not None

        await run_jobs(runtime)

        head = git(project.work_tree, "rev-parse", f"refs/heads/{run.branch}").strip()
        assert project.remote_head(run.branch) == head
        [opened] = on_github.pull_requests(GITHUB_REPO)
        assert (opened.head, opened.base, opened.title) == (run.branch, "main", "Addition adds")
        assert opened.labels == ["orchestrate"]
        assert not opened.draft
        assert run.id in opened.body
        # The model's summary is shown as text: fenced, so its link and mention are inert.
        assert (
            "```text\nadd() now adds. See [here](https://evil.example) @everyone\n```"
            in opened.body
        )
        now = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert now.status is StoryStatus.REVIEW
        assert now.pr_url is not None
        assert now.pr_url.endswith(f"/pull/{opened.number}")
        [recorded] = (await delivery.list_pull_requests(runtime.uow(read_only=True))).items
        assert (recorded.number, recorded.branch, recorded.head_sha) == (
            opened.number,
            run.branch,
            head,
        )
        assert (recorded.story_id, recorded.agent_id) == (story.id, run.id)
        assert await event_types(runtime, "pull_request.opened") == ["pull_request.opened"]

    async def test_draft_and_extra_labels_come_from_the_settings(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        point_at(runtime, on_github, pr_draft=True, pr_labels=["bot", "needs-review"])
        await run_agent(runtime, project)

        await run_jobs(runtime)

        [opened] = on_github.pull_requests(GITHUB_REPO)
        assert opened.draft
        assert sorted(opened.labels) == ["bot", "needs-review", "orchestrate"]
        assert opened.title == "Make the tests pass"  # no story: the task's first line

    async def test_the_job_is_enqueued_by_the_transaction_that_completes_the_agent(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        run = await run_agent(runtime, project)

        async with runtime.uow(read_only=True) as uow:
            job = await find_job_by_key(uow, delivery.open_job_key(run.id))

        assert job is not None
        assert job.kind == delivery.OPEN_PULL_REQUEST.name

    async def test_an_agent_without_a_commit_opens_nothing(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        run = await run_agent(runtime, project, script=NOTHING_DONE)

        await run_jobs(runtime)

        assert on_github.pull_requests(GITHUB_REPO) == []
        with pytest.raises(delivery.NothingToDeliver, match="made no commit"):
            await delivery.open_for_agent(runtime.uow(), runtime.settings, run.id, SYSTEM)

    async def test_an_agent_that_started_off_the_default_branch_opens_nothing_on_its_own(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        # A fixer on a pull request's branch: its work belongs there, not in a new one.
        git(project.work_tree, "checkout", "-q", "-b", "feature")
        (project.work_tree / "NOTES.md").write_text("feature work\n")
        git(project.work_tree, "add", "NOTES.md")
        identity = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
        git(project.work_tree, *identity, "commit", "-qm", "feature work")
        run = await run_agent(runtime, project)

        await run_jobs(runtime)

        assert on_github.pull_requests(GITHUB_REPO) == []
        assert project.remote_head(run.branch or "") is None
        asked = await delivery.open_for_agent(runtime.uow(), runtime.settings, run.id, SYSTEM)
        assert asked.is_new, "asked explicitly (pr create), it is opened"
        assert [p.number for p in on_github.pull_requests(GITHUB_REPO)] == [
            asked.pull_request.number
        ]

    async def test_an_agent_on_an_unregistered_work_tree_opens_nothing(
        self, runtime: Runtime, project: Project, github: FakeGitHub
    ) -> None:
        point_at(runtime, github)
        run = await run_agent(runtime, project)

        await run_jobs(runtime)

        assert github.pull_requests(GITHUB_REPO) == []
        assert project.remote_head(run.branch or "") is None
        with pytest.raises(delivery.NothingToDeliver, match="no registered repository"):
            await delivery.open_for_agent(runtime.uow(), runtime.settings, run.id, SYSTEM)


class TestIdempotency:
    async def test_opening_twice_pushes_once_and_opens_one_pull_request(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        run = await run_agent(runtime, project)
        await run_jobs(runtime)

        again = await delivery.open_for_agent(runtime.uow(), runtime.settings, run.id, SYSTEM)

        assert not again.is_new
        assert len(on_github.pull_requests(GITHUB_REPO)) == 1
        assert project.pushes_to(run.branch or "") == 1
        assert len((await delivery.list_pull_requests(runtime.uow(read_only=True))).items) == 1

    async def test_a_worker_killed_before_recording_resumes_without_a_second_push_or_pull_request(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub
    ) -> None:
        run = await run_agent(runtime, project)

        async def killed(_uow: UnitOfWork) -> None:
            raise RuntimeError("worker killed")  # the transaction recording it never commits

        with pytest.raises(RuntimeError, match="worker killed"):
            await delivery.open_for_agent(
                runtime.uow(), runtime.settings, run.id, SYSTEM, finish=killed
            )
        assert len(on_github.pull_requests(GITHUB_REPO)) == 1
        assert (await delivery.list_pull_requests(runtime.uow(read_only=True))).items == []

        await run_jobs(runtime)  # the job, retried

        assert len(on_github.pull_requests(GITHUB_REPO)) == 1
        assert project.pushes_to(run.branch or "") == 1
        [recorded] = (await delivery.list_pull_requests(runtime.uow(read_only=True))).items
        assert recorded.number == on_github.pull_requests(GITHUB_REPO)[0].number
        assert await event_types(runtime, "pull_request.opened") == ["pull_request.opened"]


class TestOnGitLab:
    async def test_a_completed_agent_gets_a_merge_request(
        self, runtime: Runtime, project: Project, gitlab: FakeGitLab
    ) -> None:
        point_at(runtime, gitlab=gitlab)
        await register(runtime, project, GITLAB_REPO, "gitlab")
        story = await new_story(runtime)
        run = await run_agent(runtime, project, story=story.id)
        assert run.branch is not None
        head = git(project.work_tree, "rev-parse", f"refs/heads/{run.branch}").strip()
        # The fake GitLab keeps no git: it learns of the branch as GitLab would from the push.
        gitlab.push(GITLAB_REPO, run.branch, head)

        await run_jobs(runtime)

        assert project.remote_head(run.branch) == head
        [opened] = gitlab.merge_requests(GITLAB_REPO)
        assert (opened["source_branch"], opened["target_branch"]) == (run.branch, "main")
        assert opened["title"] == "Addition adds"
        assert "orchestrate" in opened["labels"]
        now = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert now.pr_url == opened["web_url"]
        assert now.status is StoryStatus.REVIEW
        [recorded] = (await delivery.list_pull_requests(runtime.uow(read_only=True))).items
        assert (recorded.forge, recorded.repository, recorded.number) == (
            "gitlab",
            GITLAB_REPO,
            opened["iid"],
        )

    async def test_without_a_gitlab_token_the_error_names_the_setting(
        self, runtime: Runtime, project: Project, gitlab: FakeGitLab
    ) -> None:
        from orchestrate.core.errors import ConfigurationError

        point_at(runtime, gitlab_url=gitlab.url)
        await register(runtime, project, GITLAB_REPO, "gitlab")
        run = await run_agent(runtime, project)

        with pytest.raises(ConfigurationError, match="ORCHESTRATE_GITLAB_TOKEN"):
            await delivery.open_for_agent(runtime.uow(), runtime.settings, run.id, SYSTEM)
