"""The epics list, an epic's page with its stories in dependency order and its autonomous
run, starting, pausing, resuming and stopping that run, and the epic forms; on SQLite
and PostgreSQL."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import update

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.autonomy import service as autonomy
from orchestrate.core.errors import NotFound
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pages.epics import PAGE_SIZE
from orchestrate.stories import service as stories
from orchestrate.stories.models import EpicStatus, StoryChanges, StoryStatus
from orchestrate.stories.tables import StoryRow
from tests.integration.dashboard.conftest import SignIn
from tests.integration.delivery.conftest import Project, register
from tests.integration.stories.support import make_story, row_counts

pytestmark = pytest.mark.asyncio

REPOSITORY = "octo/app"


def story_rows(html: str) -> list[str]:
    """The titles of the stories table of an epic's page, in order."""
    table = html.split('id="stories-title"', 1)[1]
    return re.findall(r'<td><a href="/ui/stories/[^"]+">([^<]+)</a><br>', table)


def story_row(html: str, story_id: str) -> str:
    """The row of the stories table that shows the story."""
    rows = html.split('id="stories-title"', 1)[1].split("<tr>")
    return next(row for row in rows if f'<td><a href="/ui/stories/{story_id}">' in row)


async def depend_behind_the_services_back(runtime: Runtime, story_id: str, on: str) -> None:
    """A dependency the service would refuse (a cycle), as an import once let in."""
    async with runtime.uow() as uow:
        await uow.session.execute(
            update(StoryRow).where(StoryRow.id == story_id).values(depends_on=[on])
        )
        await uow.commit()


async def chain(runtime: Runtime, admin: Actor, *titles: str) -> tuple[str, list[str]]:
    """An epic whose stories each depend on the one after it (so the order is reversed)."""
    epic = await stories.create_epic(runtime.uow(), "Calculator", admin)
    ids = [(await make_story(runtime, admin, title, epic_id=epic.id)).id for title in titles]
    for story_id, after in itertools.pairwise(ids):
        await stories.update_story(
            runtime.uow(), story_id, StoryChanges(depends_on=(after,)), admin
        )
    return epic.id, ids


class TestEpicList:
    async def test_the_list_shows_each_epic_with_its_stories_counted_by_status(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Checkout", admin)
        done = await make_story(runtime, admin, "Pay", epic_id=epic.id)
        for status in (StoryStatus.READY, StoryStatus.IN_PROGRESS, StoryStatus.REVIEW):
            await stories.update_story(runtime.uow(), done.id, StoryChanges(status=status), admin)
        await stories.update_story(
            runtime.uow(), done.id, StoryChanges(status=StoryStatus.DONE), admin
        )
        await make_story(runtime, admin, "Refund", epic_id=epic.id)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/epics")

        assert page.status_code == 200
        assert f'<a href="/ui/epics/{epic.id}">Checkout</a>' in page.text
        assert '<progress max="2" value="1"' in page.text
        assert "1 of 2 done" in page.text
        assert f'epic={epic.id}&amp;status=backlog">backlog: 1</a>' in page.text
        assert 'data-live="epic. story."' in page.text
        assert 'href="/ui/epics/new"' not in page.text  # a viewer
        assert re.findall(r'method="post" action="([^"]+)"', page.text) == ["/ui/logout"]

    async def test_the_list_pages_by_fifty(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        for number in range(PAGE_SIZE + 1):
            await stories.create_epic(runtime.uow(), f"Epic {number:02d}", admin)
        browser = await sign_in(Role.VIEWER)

        first = await browser.get("/ui/epics")
        following = re.search(r'<a href="(\?cursor=[^"]+)" rel="next">', first.text)
        assert following is not None
        second = await browser.get("/ui/epics" + following.group(1))
        bad = await browser.get("/ui/epics?cursor=nonsense")

        assert first.text.count('<a href="/ui/epics/epic_') == PAGE_SIZE
        assert re.findall(r'<a href="/ui/epics/epic_[^"]+">([^<]+)</a>', second.text) == ["Epic 00"]
        assert bad.status_code == 422


class TestEpicPage:
    async def test_the_stories_are_in_dependency_order_with_what_each_waits_for(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic_id, ids = await chain(runtime, admin, "Third", "Second", "First")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/epics/{epic_id}")

        assert page.status_code == 200
        live = re.findall(r'data-live="([^"]+)"', page.text)
        assert live == [" ".join(["epic_run.", epic_id, *ids, "story.created"])] * 2
        assert "<h1>Calculator</h1>" in page.text
        assert story_rows(page.text) == ["First", "Second", "Third"]
        assert "This epic has not been run" in page.text
        assert f'href="/ui/stories?epic={epic_id}"' in page.text
        assert re.findall(r'method="post" action="([^"]+)"', page.text) == ["/ui/logout"]

    async def test_an_epic_of_many_stories_is_paged(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Big", admin)
        for number in range(PAGE_SIZE + 1):
            await make_story(runtime, admin, f"Story {number:02d}", epic_id=epic.id)
        browser = await sign_in(Role.VIEWER)

        first = await browser.get(f"/ui/epics/{epic.id}")
        following = re.search(r'<a href="(\?cursor=[^"]+)" rel="next">', first.text)
        assert following is not None
        second = await browser.get(f"/ui/epics/{epic.id}{following.group(1)}")

        assert len(story_rows(first.text)) == PAGE_SIZE
        assert story_rows(second.text) == [f"Story {PAGE_SIZE:02d}"]
        assert f'<td class="num">{PAGE_SIZE + 1}</td>' in second.text
        gone = await browser.get(f"/ui/epics/{epic.id}?cursor=story_gone")
        assert gone.status_code == 422

    async def test_the_order_holds_across_pages_and_a_line_names_dependencies_on_other_pages(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Big", admin)
        ids = [
            (await make_story(runtime, admin, f"Story {number:02d}", epic_id=epic.id)).id
            for number in range(PAGE_SIZE + 5)
        ]
        for story, after in ((0, 54), (2, 53), (52, 1)):
            await stories.update_story(
                runtime.uow(), ids[story], StoryChanges(depends_on=(ids[after],)), admin
            )
        browser = await sign_in(Role.VIEWER)

        first = await browser.get(f"/ui/epics/{epic.id}")
        following = re.search(r'<a href="(\?cursor=[^"]+)" rel="next">', first.text)
        assert following is not None
        second = await browser.get(f"/ui/epics/{epic.id}{following.group(1)}")

        # each story as early as its dependencies allow, else in the epic's order
        expected = [1, *range(3, 52), 52, 53, 2, 54, 0]
        assert story_rows(first.text) == [f"Story {n:02d}" for n in expected[:PAGE_SIZE]]
        assert story_rows(second.text) == [f"Story {n:02d}" for n in expected[PAGE_SIZE:]]
        assert following.group(1) == f"?cursor={ids[51]}"
        assert '<td class="num">51</td>' in story_row(second.text, ids[52])
        # Story 52 is on the second page, the story it depends on on the first
        assert f'<a href="/ui/stories/{ids[1]}">Story 01</a>' in story_row(second.text, ids[52])
        assert 'rel="next"' not in second.text
        live = re.findall(r'data-live="([^"]+)"', second.text)
        assert live == [" ".join(["epic_run.", epic.id, *ids, "story.created"])] * 2
        assert 'role="alert"' not in first.text + second.text

    async def test_stories_in_a_cycle_stay_in_the_epics_order_with_a_warning_on_every_page(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Tangled", admin)
        ids = [
            (await make_story(runtime, admin, f"Story {number:02d}", epic_id=epic.id)).id
            for number in range(PAGE_SIZE + 1)
        ]
        await stories.update_story(
            runtime.uow(), ids[20], StoryChanges(depends_on=(ids[30],)), admin
        )
        await depend_behind_the_services_back(runtime, ids[30], ids[20])  # as an old import
        browser = await sign_in(Role.VIEWER)

        first = await browser.get(f"/ui/epics/{epic.id}")
        second = await browser.get(f"/ui/epics/{epic.id}?cursor={ids[PAGE_SIZE - 1]}")

        assert story_rows(first.text) == [f"Story {n:02d}" for n in range(PAGE_SIZE)]
        assert story_rows(second.text) == [f"Story {PAGE_SIZE:02d}"]
        for page in (first, second):
            assert page.status_code == 200
            assert (
                f"Stories depend on each other in a cycle: {ids[20]} → {ids[30]} → {ids[20]}; "
                "the stories are shown in the epic's order." in page.text
            )
        assert f'<a href="/ui/stories/{ids[30]}">Story 30</a>' in story_row(first.text, ids[20])

    async def test_a_dependency_no_longer_in_the_epic_is_left_out_without_a_warning(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic_id, (third, second, first) = await chain(runtime, admin, "Third", "Second", "First")
        other = await stories.create_epic(runtime.uow(), "Elsewhere", admin)
        await stories.update_story(runtime.uow(), first, StoryChanges(epic_id=other.id), admin)
        await stories.delete_story(runtime.uow(), second, admin)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/epics/{epic_id}")

        assert page.status_code == 200
        assert story_rows(page.text) == ["Third"]
        assert 'role="alert"' not in page.text
        row = story_row(page.text, third)
        assert f"/ui/stories/{second}" not in row
        assert f"/ui/stories/{first}" not in row
        assert "0 of 1 done" in page.text  # the progress counts the epic's one story

    async def test_an_epic_can_be_read_by_its_bmad_key_and_an_unknown_one_is_a_404(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        await stories.create_epic(runtime.uow(), "Unkeyed", admin)
        browser = await sign_in(Role.OPERATOR)

        for path in ("/ui/epics/epic_unknown", "/ui/epics/epic_unknown/edit"):
            missing = await browser.get(path)
            assert missing.status_code == 404, path
            assert "No epic with id or key" in missing.text
        for action in ("run", "run/pause", "run/resume", "run/stop"):
            posted = await browser.post(f"/ui/epics/epic_unknown/{action}")
            assert posted.status_code == 404, action


@pytest.fixture
async def registered(runtime: Runtime, project: Project) -> Project:
    await register(runtime, project, REPOSITORY, "github")
    return project


class TestTheRun:
    async def test_an_operator_starts_pauses_resumes_and_stops_the_run(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor, registered: Project
    ) -> None:
        epic_id, _ = await chain(runtime, admin, "Second", "First")
        browser = await sign_in(Role.OPERATOR)
        before = await browser.get(f"/ui/epics/{epic_id}")
        assert f'<option value="{REPOSITORY}" selected>' in before.text

        started = await browser.post(
            f"/ui/epics/{epic_id}/run",
            {"repository": REPOSITORY, "stuck_minutes": "30", "max_attempts": "2"},
        )
        running = await browser.get(f"/ui/epics/{epic_id}")
        paused = await browser.post(f"/ui/epics/{epic_id}/run/pause")
        paused_page = await browser.get(f"/ui/epics/{epic_id}")
        resumed = await browser.post(f"/ui/epics/{epic_id}/run/resume")
        stopped = await browser.post(f"/ui/epics/{epic_id}/run/stop")
        stopped_page = await browser.get(f"/ui/epics/{epic_id}")

        assert [r.status_code for r in (started, paused, resumed, stopped)] == [303] * 4
        view = await autonomy.get_epic_run(runtime.uow(read_only=True), epic_id)
        assert view.run.status is autonomy.EpicRunStatus.STOPPED
        assert view.run.max_attempts == 2
        assert "Started run " + view.run.id in running.text
        assert '<span class="badge badge-busy">running</span>' in running.text
        assert "30 min without progress or 2 developer attempts" in running.text
        assert "After First" in running.text  # the second waits for the first
        assert story_rows(running.text) == ["First", "Second"]
        assert f"/ui/epics/{epic_id}/run/pause" in running.text
        assert f"/ui/epics/{epic_id}/run/resume" in paused_page.text
        assert f"/ui/epics/{epic_id}/run/pause" not in paused_page.text
        assert '<span class="badge badge-warn">stopped</span>' in stopped_page.text
        assert "Run it again" in stopped_page.text
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=view.run.id)
        assert [(r.action, r.actor) for r in reversed(audit.items)] == [
            ("epic_run.start", "token:test-operator"),
            ("epic_run.pause", "token:test-operator"),
            ("epic_run.resume", "token:test-operator"),
            ("epic_run.stop", "token:test-operator"),
        ]

    async def test_a_run_that_cannot_start_says_why_on_the_page_and_nothing_starts(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor, registered: Project
    ) -> None:
        empty = await stories.create_epic(runtime.uow(), "Empty", admin)
        epic_id, _ = await chain(runtime, admin, "Only")
        browser = await sign_in(Role.OPERATOR)

        no_stories = await browser.post(f"/ui/epics/{empty.id}/run", {"repository": REPOSITORY})
        unknown = await browser.post(f"/ui/epics/{epic_id}/run", {"repository": "octo/none"})
        bad_limit = await browser.post(
            f"/ui/epics/{epic_id}/run", {"repository": REPOSITORY, "stuck_minutes": "soon"}
        )
        out_of_range = await browser.post(
            f"/ui/epics/{epic_id}/run", {"repository": REPOSITORY, "max_attempts": "99"}
        )

        assert no_stories.status_code == 422
        assert "has no stories to run" in no_stories.text
        assert unknown.status_code == 422
        assert "octo/none" in unknown.text
        assert bad_limit.status_code == 422
        assert "stuck minutes must be a whole number" in bad_limit.text
        assert 'value="soon"' in bad_limit.text  # what was typed is kept
        assert out_of_range.status_code == 422
        assert "--max-attempts must be between 1 and 20" in out_of_range.text
        for epic in (empty.id, epic_id):
            with pytest.raises(NotFound):
                await autonomy.get_epic_run(runtime.uow(read_only=True), epic)

    async def test_a_second_start_or_a_pause_without_a_run_is_a_409_page(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor, registered: Project
    ) -> None:
        epic_id, _ = await chain(runtime, admin, "Only")
        browser = await sign_in(Role.OPERATOR)

        pause = await browser.post(f"/ui/epics/{epic_id}/run/pause")
        await browser.post(f"/ui/epics/{epic_id}/run", {"repository": REPOSITORY})
        again = await browser.post(f"/ui/epics/{epic_id}/run", {"repository": REPOSITORY})
        resume = await browser.post(f"/ui/epics/{epic_id}/run/resume")

        assert pause.status_code == 409
        assert "has no active run to pause" in pause.text
        assert again.status_code == 409
        assert "already has an active run" in again.text
        assert resume.status_code == 303  # resuming a running run changes nothing
        view = await autonomy.get_epic_run(runtime.uow(read_only=True), epic_id)
        assert view.run.status is autonomy.EpicRunStatus.RUNNING

    async def test_a_viewer_and_a_post_without_csrf_token_cannot_steer_the_run(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor, registered: Project
    ) -> None:
        epic_id, _ = await chain(runtime, admin, "Only")
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)

        for action in ("run", "run/pause", "run/resume", "run/stop"):
            forged = await viewer.post(f"/ui/epics/{epic_id}/{action}", {"repository": REPOSITORY})
            no_token = await operator.http.post(
                f"/ui/epics/{epic_id}/{action}", data={"repository": REPOSITORY}
            )
            assert (forged.status_code, no_token.status_code) == (403, 403), action
        with pytest.raises(NotFound):
            await autonomy.get_epic_run(runtime.uow(read_only=True), epic_id)
        await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, admin)
        for action in ("run/pause", "run/stop"):
            assert (await viewer.post(f"/ui/epics/{epic_id}/{action}")).status_code == 403
        page = await viewer.get(f"/ui/epics/{epic_id}")
        assert re.findall(r'method="post" action="([^"]+)"', page.text) == ["/ui/logout"]
        view = await autonomy.get_epic_run(runtime.uow(read_only=True), epic_id)
        assert view.run.status is autonomy.EpicRunStatus.RUNNING


class TestEpicForms:
    async def test_an_operator_creates_and_edits_an_epic(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        assert (await browser.get("/ui/epics/new")).status_code == 200

        created = await browser.post(
            "/ui/epics/new", {"title": "Billing", "description": "Money in", "status": "open"}
        )
        epic_id = created.headers["location"].removeprefix("/ui/epics/")
        form = await browser.get(f"/ui/epics/{epic_id}/edit")
        saved = await browser.post(
            f"/ui/epics/{epic_id}/edit",
            {"title": "Billing v2", "description": "Money in and out", "status": "in_progress"},
        )

        assert created.status_code == 303
        assert 'value="Billing"' in form.text
        assert saved.status_code == 303
        epic = await stories.get_epic(runtime.uow(read_only=True), epic_id)
        assert (epic.title, epic.description, epic.status) == (
            "Billing v2",
            "Money in and out",
            EpicStatus.IN_PROGRESS,
        )
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=epic_id)
        assert [r.action for r in reversed(audit.items)] == ["epic.create", "epic.update"]

    async def test_an_invalid_epic_is_shown_again_and_nothing_is_saved(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Kept", admin)
        browser = await sign_in(Role.OPERATOR)

        blank = await browser.post(
            "/ui/epics/new", {"title": " ", "description": "Typed with care", "status": "open"}
        )
        bad_status = await browser.post(
            f"/ui/epics/{epic.id}/edit", {"title": "Renamed", "status": "finished"}
        )

        assert blank.status_code == 422
        assert "A title must not be empty" in blank.text
        assert "Typed with care</textarea>" in blank.text
        assert bad_status.status_code == 422
        assert "Choose a status" in bad_status.text
        assert 'value="Renamed"' in bad_status.text
        assert await row_counts(runtime) == (1, 0, 0)
        assert (await stories.get_epic(runtime.uow(read_only=True), epic.id)).title == "Kept"

    async def test_a_viewer_and_a_post_without_csrf_token_cannot_create_or_edit(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Kept", admin)
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)
        form = {"title": "Sneaky", "status": "open"}

        answers = [
            await viewer.get("/ui/epics/new"),
            await viewer.get(f"/ui/epics/{epic.id}/edit"),
            await viewer.post("/ui/epics/new", form),
            await viewer.post(f"/ui/epics/{epic.id}/edit", form),
            await operator.http.post("/ui/epics/new", data=form),
            await operator.http.post(f"/ui/epics/{epic.id}/edit", data=form),
        ]

        assert [answer.status_code for answer in answers] == [403] * 6
        assert await row_counts(runtime) == (1, 0, 0)
        assert (await stories.get_epic(runtime.uow(read_only=True), epic.id)).title == "Kept"
