"""A story's agents and pull requests on its page, and starting a story developer from
there: real agents driven by scripted models in a registered repository whose remote a
fake GitHub serves; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from orchestrate.agents import service as agents
from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryChanges, StoryStatus
from orchestrate.testing import FakeGitHub
from tests.integration.dashboard.conftest import SignIn
from tests.integration.delivery.conftest import (
    GITHUB_REPO,
    Project,
    new_story,
    point_at,
    register,
    run_agent,
    run_jobs,
)

pytestmark = pytest.mark.asyncio


async def test_a_story_page_links_the_agent_that_worked_on_it_and_its_pull_request(
    sign_in: SignIn, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    story = await new_story(runtime, "Addition adds")
    agent = await run_agent(runtime, project, story=story.id)
    await run_jobs(runtime)  # opens the pull request of the agent's branch
    browser = await sign_in(Role.VIEWER)

    page = await browser.get(f"/ui/stories/{story.id}")

    assert page.status_code == 200
    assert f'<a href="/ui/agents/{agent.id}" class="mono">{agent.id}</a>' in page.text
    assert f'<a href="/ui/pull-requests/{GITHUB_REPO}/1">{GITHUB_REPO}#1</a>' in page.text
    assert f'data-live="{story.id} {agent.id} {GITHUB_REPO}#1"' in page.text


@pytest.fixture
async def developers(runtime: Runtime, project: Project) -> Project:
    """A registered repository and a provider whose credentials are set."""
    point_at(runtime, default_provider="openai", default_model="scripted-model")
    await register(runtime, project, GITHUB_REPO, "github")
    return project


class TestStartingADeveloper:
    async def test_an_operator_starts_a_story_developer_on_the_story(
        self, sign_in: SignIn, runtime: Runtime, developers: Project
    ) -> None:
        story = await new_story(runtime, "Subtraction subtracts")
        browser = await sign_in(Role.OPERATOR)
        page = await browser.get(f"/ui/stories/{story.id}")
        assert f"Implement story {story.id}: Subtraction subtracts" in page.text
        assert f'<option value="{GITHUB_REPO}" selected>' in page.text  # the only one

        started = await browser.post(
            f"/ui/stories/{story.id}/agents",
            {"repository": GITHUB_REPO, "task": "Implement subtraction"},
        )

        assert started.status_code == 303
        found = await agents.list_agents(runtime.uow(read_only=True), story_id=story.id)
        (agent,) = found.items
        assert (agent.type, agent.task) == ("story-developer", "Implement subtraction")
        assert agent.repo_path == str(developers.work_tree)
        after = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert after.status is StoryStatus.IN_PROGRESS
        assert after.assignee == f"agent:{agent.id}"
        shown = await browser.get(started.headers["location"])
        assert f"Started story developer {agent.id}" in shown.text

    async def test_a_refused_start_shows_why_beside_the_form_with_the_task_kept(
        self, sign_in: SignIn, runtime: Runtime, developers: Project
    ) -> None:
        story = await new_story(runtime)
        browser = await sign_in(Role.OPERATOR)

        no_repository = await browser.post(
            f"/ui/stories/{story.id}/agents", {"repository": "", "task": "Carefully typed"}
        )
        unknown = await browser.post(
            f"/ui/stories/{story.id}/agents", {"repository": "octo/none", "task": "x"}
        )
        no_task = await browser.post(
            f"/ui/stories/{story.id}/agents", {"repository": GITHUB_REPO, "task": "  "}
        )

        assert no_repository.status_code == 422
        assert "Choose the repository" in no_repository.text
        assert "Carefully typed</textarea>" in no_repository.text
        assert unknown.status_code == 422
        assert "octo/none" in unknown.text
        assert no_task.status_code == 422
        assert "An agent needs a task" in no_task.text
        assert (await agents.list_agents(runtime.uow(read_only=True))).items == []

    async def test_a_second_developer_is_a_conflict_unless_it_takes_the_story_over(
        self, sign_in: SignIn, runtime: Runtime, developers: Project
    ) -> None:
        story = await new_story(runtime)
        browser = await sign_in(Role.OPERATOR)
        form = {"repository": GITHUB_REPO, "task": "Do it"}
        await browser.post(f"/ui/stories/{story.id}/agents", form)

        second = await browser.post(f"/ui/stories/{story.id}/agents", form)
        forced = await browser.post(f"/ui/stories/{story.id}/agents", {**form, "force": "yes"})

        assert second.status_code == 409
        assert "is already working on story" in second.text
        assert forced.status_code == 303
        found = await agents.list_agents(runtime.uow(read_only=True), story_id=story.id)
        assert len(found.items) == 2

    async def test_a_done_story_offers_no_start_and_refuses_one(
        self, sign_in: SignIn, runtime: Runtime, developers: Project, admin: Actor
    ) -> None:
        story = await new_story(runtime)
        for status in ("ready", "in_progress", "review", "done"):
            changes = StoryChanges(status=StoryStatus(status))
            await stories.update_story(runtime.uow(), story.id, changes, admin)
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get(f"/ui/stories/{story.id}")
        refused = await browser.post(
            f"/ui/stories/{story.id}/agents", {"repository": GITHUB_REPO, "task": "Again"}
        )

        assert "Start story developer" not in page.text
        assert refused.status_code == 409
        assert "is done; reopen it first" in refused.text

    async def test_a_viewer_and_a_post_without_csrf_token_start_nothing(
        self, sign_in: SignIn, runtime: Runtime, developers: Project
    ) -> None:
        story = await new_story(runtime)
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)
        form = {"repository": GITHUB_REPO, "task": "Sneaky"}

        page = await viewer.get(f"/ui/stories/{story.id}")
        forged = await viewer.post(f"/ui/stories/{story.id}/agents", form)
        no_token = await operator.http.post(f"/ui/stories/{story.id}/agents", data=form)

        assert "Start story developer" not in page.text
        assert (forged.status_code, no_token.status_code) == (403, 403)
        assert (await agents.list_agents(runtime.uow(read_only=True))).items == []
