"""An epic's page while its run drives the stories: real developers and reviewers
(scripted models) in a repository whose remote a fake GitHub serves; on SQLite and
PostgreSQL."""

from __future__ import annotations

import re

import pytest

from orchestrate.auth.models import Role
from orchestrate.autonomy import service as autonomy
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pages.epics import PAGE_SIZE
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryChanges, StoryDraft
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


async def test_a_later_page_shows_the_run_beside_its_own_stories_and_the_current_one(
    sign_in: SignIn, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    epic = await stories.create_epic(runtime.uow(), "Big", SYSTEM)
    ids = [
        (
            await stories.create_story(
                runtime.uow(), StoryDraft(f"Story {n:02d}", epic_id=epic.id), SYSTEM
            )
        ).id
        for n in range(PAGE_SIZE + 2)
    ]
    last = ids[-1]
    await stories.update_story(runtime.uow(), last, StoryChanges(depends_on=(ids[1],)), SYSTEM)
    await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic.id, SYSTEM)

    async def first_awaits_merge() -> bool:
        return await phase_of(runtime, epic.id, ids[0]) == "awaiting_merge"

    await Worker(runtime, DEFAULT_AGENTS).until(first_awaits_merge)
    await stories.delete_story(runtime.uow(), ids[10], SYSTEM)
    late = await stories.create_story(runtime.uow(), StoryDraft("Late", epic_id=epic.id), SYSTEM)
    progress = (await run_view(runtime, epic.id)).run.progress_of(ids[0])
    assert progress is not None
    assert progress.developer_agent_id is not None
    assert progress.reviewer_agent_id is not None
    browser = await sign_in(Role.VIEWER)

    first = await browser.get(f"/ui/epics/{epic.id}")
    second = await browser.get(f"/ui/epics/{epic.id}?cursor={ids[PAGE_SIZE]}")

    assert f'<a href="?cursor={ids[PAGE_SIZE]}" rel="next">' in first.text
    titles = re.findall(r'<td><a href="/ui/stories/[^"]+">([^<]+)</a><br>', second.text)
    assert titles == [f"Story {PAGE_SIZE + 1:02d}", "Late"]
    for page in (first, second):  # the run's summary, whichever stories the page shows
        current = re.search(r"<dt>Current story</dt><dd>(.*?)</dd>", page.text)
        assert current is not None
        assert f'href="/ui/stories/{ids[0]}">{ids[0]}: Story 00</a>' in current.group(1)
        assert "pending: 51 · awaiting merge: 1" in page.text
        assert "(1 deleted since the run started)" in page.text
        live = re.findall(r'data-live="([^"]+)"', page.text)
        agents = sorted([progress.developer_agent_id, progress.reviewer_agent_id])
        story_ids = [i for i in ids if i != ids[10]] + [late.id]
        assert live == [" ".join(["epic_run.", epic.id, *story_ids, "story.created", *agents])] * 2
    rows = second.text.split('id="stories-title"', 1)[1].split("<tr>")
    later = next(row for row in rows if f'<a href="/ui/stories/{last}">' in row)
    assert f'<td class="num">{PAGE_SIZE + 1}</td>' in later
    assert f'<a href="/ui/stories/{ids[1]}">Story 01</a>' in later  # on the first page
    assert ">pending</span>" in later
    newcomer = next(row for row in rows if f'<a href="/ui/stories/{late.id}">' in row)
    assert "not in this run" in newcomer
    assert f'href="/ui/agents/{progress.reviewer_agent_id}"' in first.text
    assert f'href="/ui/agents/{progress.reviewer_agent_id}"' not in second.text
