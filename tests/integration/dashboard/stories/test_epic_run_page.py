"""An epic's page while its run drives the stories: real developers and reviewers
(scripted models) in a repository whose remote a fake GitHub serves; on SQLite and
PostgreSQL."""

from __future__ import annotations

import re

import pytest

from orchestrate.auth.models import Role
from orchestrate.autonomy import service as autonomy
from orchestrate.core.runtime import Runtime
from orchestrate.testing import FakeGitHub
from tests.integration.autonomy.conftest import (
    DEFAULT_AGENTS,
    SYSTEM,
    Worker,
    new_epic,
    phase_of,
    run_view,
)
from tests.integration.dashboard.conftest import SignIn
from tests.integration.delivery.conftest import GITHUB_REPO, Project

pytestmark = pytest.mark.asyncio


async def test_the_page_shows_the_current_story_its_agent_pull_request_and_what_waits(
    sign_in: SignIn, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    epic_id, (first, second) = await new_epic(runtime, "Addition", "Subtraction")
    worker = Worker(runtime, DEFAULT_AGENTS)
    await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)

    async def first_awaits_merge() -> bool:
        return await phase_of(runtime, epic_id, first) == "awaiting_merge"

    await worker.until(first_awaits_merge)
    progress = (await run_view(runtime, epic_id)).run.progress_of(first)
    assert progress is not None
    assert progress.reviewer_agent_id is not None
    browser = await sign_in(Role.VIEWER)

    page = await browser.get(f"/ui/epics/{epic_id}")

    assert page.status_code == 200
    current = re.search(r"<dt>Current story</dt><dd>(.*?)</dd>", page.text)
    assert current is not None
    assert f'href="/ui/stories/{first}">{first}: Addition</a>' in current.group(1)
    number = progress.pull_request_number
    assert f'<a href="/ui/pull-requests/{GITHUB_REPO}/{number}">{GITHUB_REPO}#{number}</a>' in (
        page.text
    )
    assert f'href="/ui/agents/{progress.reviewer_agent_id}"' in page.text
    assert "awaiting merge" in page.text
    rows = page.text.split('id="stories-title"', 1)[1].split("<tr>")
    waiting = next(row for row in rows if f"/ui/stories/{second}" in row)
    assert "to be done" in waiting
    assert "epic_run." in page.text.split('data-live="', 1)[1].split('"', 1)[0]
