"""The pull request and repository pages, and asking the shepherd to look or merging from
them (SQLite and PostgreSQL).

Pull requests are made the two ways Orchestrate records them: opened for a story
developer's commits (a scripted agent, the fake GitHub serving a bare remote), or
adopted from a webhook about a pull request carrying the ``orchestrate`` label.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from orchestrate.auth import service as auth
from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.forges import service as forges
from orchestrate.repositories import service as repositories
from orchestrate.stories.models import Story
from orchestrate.testing import Failure, FakeGitHub
from tests.integration.dashboard.conftest import SignIn
from tests.integration.delivery import conftest as delivery_setup
from tests.integration.delivery.conftest import (
    GITHUB_REPO,
    Project,
    new_story,
    point_at,
    register,
    run_agent,
    run_jobs,
)

# The delivery tests' fixtures: a clone with its bare remote, served by the fake GitHub.
project = delivery_setup.project
github = delivery_setup.github
on_github = delivery_setup.on_github
_follow_agents = delivery_setup._follow_agents
_provider_credentials = delivery_setup._provider_credentials

pytestmark = pytest.mark.asyncio

SYSTEM = Actor.system("test")


async def opened(runtime: Runtime, project: Project, story: Story) -> delivery.PullRequest:
    """A story developer's pull request, opened and looked at once by the shepherd."""
    await run_agent(runtime, project, story=story.id)
    await run_jobs(runtime)
    [pull] = (await delivery.list_pull_requests(runtime.uow(read_only=True))).items
    return pull


def labelled(number: int, repository: str = GITHUB_REPO) -> dict[str, Any]:
    """GitHub's ``pull_request`` ``opened`` payload of a pull request labelled ``orchestrate``."""
    repo = {"full_name": repository}
    return {
        "action": "opened",
        "number": number,
        "repository": repo,
        "pull_request": {
            "number": number,
            "title": f"Change number {number}",
            "html_url": f"https://github.com/{repository}/pull/{number}",
            "head": {"ref": f"feature-{number}", "sha": f"{number:040x}", "repo": repo},
            "base": {"ref": "main", "repo": repo},
            "draft": False,
            "labels": [{"name": "orchestrate"}],
            "user": {"login": "dev"},
        },
    }


async def adopt(runtime: Runtime, *numbers: int) -> None:
    """What processing a webhook about each labelled pull request records."""
    for number in numbers:
        event = forges.event_from_delivery("github", "pull_request", labelled(number))
        async with runtime.uow() as uow:
            assert await delivery.on_forge_event(uow, runtime.settings, event)
            await uow.commit()


@pytest.fixture
async def registered(runtime: Runtime, project: Project) -> None:
    """octo/app, registered (no forge: these tests never reach it)."""
    await register(runtime, project, GITHUB_REPO, "github")


async def pull_request(runtime: Runtime, number: int) -> delivery.PullRequest:
    return await delivery.get_pull_request(runtime.uow(read_only=True), GITHUB_REPO, number)


class TestList:
    @pytest.mark.usefixtures("registered")
    async def test_the_list_shows_pull_requests_and_filters_them(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        await adopt(runtime, 7, 8)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pull-requests")
        assert page.status_code == 200
        assert 'href="/ui/pull-requests/octo/app/7"' in page.text
        assert "#8 Change number 8" in page.text
        assert 'href="/ui/repositories/octo/app"' in page.text
        assert "feature-7" in page.text
        assert f'<option value="{GITHUB_REPO}">' in page.text  # registered, to filter by
        assert 'data-live="pull_request. forge.pull_request"' in page.text  # refreshed live

        mine = await browser.get(f"/ui/pull-requests?repository={GITHUB_REPO}&state=open")
        assert mine.text.count('href="/ui/pull-requests/octo/app/') == 2
        for other in ("repository=other/app", "state=merged"):
            none = await browser.get(f"/ui/pull-requests?{other}")
            assert none.status_code == 200
            assert "No pull requests match these filters" in none.text

    async def test_an_unknown_state_is_a_422_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get("/ui/pull-requests?state=abandoned")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")
        assert "Unknown pull request state" in bad.text

    @pytest.mark.usefixtures("registered")
    async def test_the_list_pages_fifty_at_a_time(self, runtime: Runtime, sign_in: SignIn) -> None:
        await adopt(runtime, *range(1, 52))
        browser = await sign_in(Role.VIEWER)

        first = await browser.get("/ui/pull-requests")
        assert first.text.count('<a href="/ui/pull-requests/octo/app/') == 50
        found = re.search(r'href="\?cursor=([^"]+)" rel="next"', first.text)
        assert found
        second = await browser.get(f"/ui/pull-requests?cursor={found.group(1)}")

        assert second.text.count('<a href="/ui/pull-requests/octo/app/') == 1
        assert 'href="/ui/pull-requests/octo/app/1"' in second.text  # the oldest, last


class TestDetail:
    async def test_a_pull_request_shows_its_state_checks_shepherd_story_and_agent(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub, sign_in: SignIn
    ) -> None:
        story = await new_story(runtime, "Addition adds")
        pull = await opened(runtime, project, story)
        on_github.set_check(GITHUB_REPO, pull.head_sha, "test", status="in_progress")
        await delivery.request_look_by_number(runtime.uow(), GITHUB_REPO, pull.number, SYSTEM)
        await run_jobs(runtime)
        browser = await sign_in(Role.VIEWER)
        calls = len(on_github.calls())

        page = await browser.get(f"/ui/pull-requests/{GITHUB_REPO}/{pull.number}")

        assert page.status_code == 200
        text = page.text
        assert len(on_github.calls()) == calls  # rendered from our records: no forge call
        assert f"<h1>{GITHUB_REPO}#{pull.number}: Addition adds</h1>" in text
        assert f'href="/ui/stories/{story.id}">Addition adds</a>' in text
        assert f'href="/ui/agents/{pull.agent_id}"' in text
        assert f'href="{pull.url}"' in text
        assert pull.branch in text
        assert "checks pending: test" in text  # as the shepherd's last look judged them
        assert "0 approval(s) of 1 required" in text  # why it waits
        assert ">wait<" in text
        assert f'data-live="{GITHUB_REPO}#{pull.number}"' in text  # its events refresh it
        assert "Ask the shepherd" not in text  # a viewer gets no control

    @pytest.mark.usefixtures("registered")
    async def test_an_adopted_pull_request_has_no_story_or_agent(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        await adopt(runtime, 5)
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get(f"/ui/pull-requests/{GITHUB_REPO}/5")

        assert page.status_code == 200
        assert "adopted: it carries the" in page.text
        assert "it has not looked yet" in page.text
        assert "its last look did not judge them" in page.text
        assert f'action="/ui/pull-requests/{GITHUB_REPO}/5/shepherd"' in page.text
        assert f'action="/ui/pull-requests/{GITHUB_REPO}/5/merge"' in page.text

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/ui/pull-requests/octo/app/404", 404),
            ("/ui/pull-requests/octo/app/not-a-number", 422),
            ("/ui/pull-requests/octo/app/0", 422),
        ],
    )
    async def test_an_unknown_or_malformed_pull_request_is_an_html_error_page(
        self, sign_in: SignIn, path: str, status: int
    ) -> None:
        browser = await sign_in(Role.VIEWER)

        missing = await browser.get(path)

        assert missing.status_code == status
        assert missing.headers["content-type"].startswith("text/html")


class TestActions:
    @pytest.mark.usefixtures("registered")
    async def test_an_operator_asks_the_shepherd_to_look_now(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        await adopt(runtime, 5)
        browser = await sign_in(Role.OPERATOR)
        here = f"/ui/pull-requests/{GITHUB_REPO}/5"

        asked = await browser.post(f"{here}/shepherd")

        assert (asked.status_code, asked.headers["location"]) == (303, here)
        audit = await auth.list_audit(runtime.uow(read_only=True), action="pull_request.shepherd")
        assert [(r.actor, r.subject) for r in audit.items] == [
            ("token:test-operator", f"{GITHUB_REPO}#5")
        ]
        assert "The shepherd will look at octo/app#5 now" in (await browser.get(here)).text

    async def test_an_operator_merges_an_approved_pull_request(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub, sign_in: SignIn
    ) -> None:
        pull = await opened(runtime, project, await new_story(runtime))
        on_github.add_review(GITHUB_REPO, pull.number, user="alice", verdict="APPROVED")
        browser = await sign_in(Role.OPERATOR)
        here = f"/ui/pull-requests/{GITHUB_REPO}/{pull.number}"

        merged = await browser.post(f"{here}/merge", {"method": "merge"})

        assert (merged.status_code, merged.headers["location"]) == (303, here)
        assert (await pull_request(runtime, pull.number)).state is delivery.PullRequestState.MERGED
        assert on_github.pull_request(GITHUB_REPO, pull.number).merged
        page = await browser.get(here)
        assert "Merged octo/app#" in page.text
        assert f'action="{here}/merge"' not in page.text  # nothing left to merge
        listed = await browser.get("/ui/pull-requests?state=merged")
        assert f'href="{here}"' in listed.text

    async def test_a_merge_the_policy_does_not_allow_yet_shows_why(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub, sign_in: SignIn
    ) -> None:
        pull = await opened(runtime, project, await new_story(runtime))
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/pull-requests/{GITHUB_REPO}/{pull.number}/merge")

        assert refused.status_code == 409
        assert 'role="alert"' in refused.text
        assert "approval" in refused.text
        assert f"<h1>{GITHUB_REPO}#{pull.number}" in refused.text  # the page, with why
        assert (await pull_request(runtime, pull.number)).state is delivery.PullRequestState.OPEN

    async def test_a_merge_the_forge_refuses_shows_the_forges_reason(
        self, runtime: Runtime, project: Project, on_github: FakeGitHub, sign_in: SignIn
    ) -> None:
        pull = await opened(runtime, project, await new_story(runtime))
        on_github.add_review(GITHUB_REPO, pull.number, user="alice", verdict="APPROVED")
        protected = 'Required status check "ci" is expected.'
        on_github.fail_next(Failure(405, protected, method="PUT", path_contains="/merge"))
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/pull-requests/{GITHUB_REPO}/{pull.number}/merge")

        assert refused.status_code == 409
        assert "Required status check &#34;ci&#34; is expected." in refused.text
        assert (await pull_request(runtime, pull.number)).state is delivery.PullRequestState.OPEN

    @pytest.mark.usefixtures("registered")
    @pytest.mark.parametrize("action", ["shepherd", "merge"])
    async def test_a_viewer_and_a_post_without_csrf_are_refused(
        self, runtime: Runtime, sign_in: SignIn, action: str
    ) -> None:
        await adopt(runtime, 5)
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)
        target = f"/ui/pull-requests/{GITHUB_REPO}/5/{action}"

        assert (await viewer.post(target)).status_code == 403
        assert (await operator.http.post(target, data={})).status_code == 403

        audit = await auth.list_audit(runtime.uow(read_only=True), action=f"pull_request.{action}")
        assert audit.items == []

    async def test_an_action_on_an_unknown_pull_request_is_a_404_page(
        self, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        for action in ("shepherd", "merge"):
            missing = await browser.post(f"/ui/pull-requests/octo/app/404/{action}")
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("text/html")

    @pytest.mark.usefixtures("registered")
    async def test_an_unknown_merge_method_is_a_422_page(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        await adopt(runtime, 5)
        browser = await sign_in(Role.OPERATOR)

        bad = await browser.post(f"/ui/pull-requests/{GITHUB_REPO}/5/merge", {"method": "yolo"})

        assert bad.status_code == 422
        assert "Unknown merge method" in bad.text


class TestRepositories:
    async def test_the_list_shows_each_registry_entry(
        self, runtime: Runtime, project: Project, sign_in: SignIn
    ) -> None:
        await register(runtime, project, GITHUB_REPO, "github")
        point_at(runtime, github_repositories={"octo/lib": Path("/nowhere/lib")})
        await repositories.declare_dependency(
            runtime.uow(), runtime.settings, GITHUB_REPO, "octo/lib", SYSTEM
        )
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/repositories")

        assert page.status_code == 200
        assert 'href="/ui/repositories/octo/app"' in page.text
        assert str(project.work_tree) in page.text
        assert ">origin<" in page.text
        assert ">main<" in page.text
        assert 'href="/ui/repositories/octo/lib"' in page.text  # a dependency, and a seed
        assert "ORCHESTRATE_GITHUB_REPOSITORIES" in page.text
        assert "orchestrate repo add" in page.text  # how to add one: not from here

    async def test_the_list_pages_fifty_at_a_time(self, runtime: Runtime, sign_in: SignIn) -> None:
        seeds = {f"octo/r{n:02d}": Path(f"/nowhere/r{n:02d}") for n in range(51)}
        point_at(runtime, github_repositories=seeds)
        browser = await sign_in(Role.VIEWER)

        first = await browser.get("/ui/repositories")
        assert first.text.count('<td><a href="/ui/repositories/octo/r') == 50
        found = re.search(r'href="\?cursor=([^"]+)" rel="next"', first.text)
        assert found
        second = await browser.get(f"/ui/repositories?cursor={found.group(1)}")
        assert second.text.count('<td><a href="/ui/repositories/octo/r') == 1
        assert "octo/r50" in second.text

    @pytest.mark.usefixtures("registered")
    async def test_a_repository_shows_its_merge_policy_and_open_pull_requests(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        change = repositories.MergePolicyChange(
            required_approvals=2, required_checks=("ci",), auto_merge=True
        )
        await repositories.change_merge_policy(
            runtime.uow(), runtime.settings, GITHUB_REPO, change, SYSTEM
        )
        await adopt(runtime, 3)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/repositories/{GITHUB_REPO}")

        assert page.status_code == 200
        text = page.text
        assert f"<h1>{GITHUB_REPO}</h1>" in text
        assert "<dt>Approvals required</dt><dd>2</dd>" in text
        assert '<span class="mono">ci</span>' in text
        assert "on: the shepherd merges once ready" in text
        assert f"by {SYSTEM.name}" in text  # who set it
        assert f'href="/ui/pull-requests/{GITHUB_REPO}/3"' in text
        assert 'href="/ui/pull-requests?repository=octo/app"' in text  # every state

    async def test_an_unknown_repository_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        missing = await browser.get("/ui/repositories/octo/nothing")

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "orchestrate repo list" in missing.text
