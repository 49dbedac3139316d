"""The stories board and table, a story's page, and creating, editing and moving stories
from the dashboard, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pages.stories import COLUMN_SIZE, PAGE_SIZE
from orchestrate.dashboard.pages.story_detail import HISTORY_PAGE
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryChanges, StoryStatus
from tests.integration.dashboard.conftest import SignIn
from tests.integration.stories.support import FIXTURES as BMAD
from tests.integration.stories.support import make_story, row_counts

pytestmark = pytest.mark.asyncio

OPERATOR = "token:test-operator"


def cards_of(html: str, status: str) -> list[str]:
    """The titles of the cards in one column of the board."""
    column = html.split(f'id="column-{status}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'class="story-title" href="[^"]+">([^<]+)</a>', column)


def post_forms(html: str) -> list[str]:
    return re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)


class TestBoard:
    async def test_the_board_shows_each_story_in_its_status_column_with_its_epic_and_agent(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Checkout", admin)
        ready = await make_story(runtime, admin, "Pay by card", epic_id=epic.id)
        await stories.update_story(
            runtime.uow(),
            ready.id,
            StoryChanges(status=StoryStatus.READY, pr_url="https://github.com/o/r/pull/7"),
            admin,
        )
        await make_story(runtime, admin, "Receipts", assignee="agent:agt_01example")
        browser = await sign_in(Role.VIEWER)

        board = await browser.get("/ui/stories")

        assert board.status_code == 200
        assert cards_of(board.text, "ready") == ["Pay by card"]
        assert cards_of(board.text, "backlog") == ["Receipts"]
        assert cards_of(board.text, "done") == []
        column_names = re.findall(r'id="column-([a-z_]+)"', board.text)
        assert column_names == [status.value for status in StoryStatus]
        assert f'href="/ui/epics/{epic.id}">Checkout</a>' in board.text
        assert 'href="/ui/agents/agt_01example"' in board.text
        assert 'href="https://github.com/o/r/pull/7"' in board.text
        assert 'data-live="story."' in board.text
        assert post_forms(board.text) == ["/ui/logout"]  # a viewer gets no controls

    async def test_the_board_filters_by_epic_label_and_assignee(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Search", admin)
        await make_story(runtime, admin, "Index pages", epic_id=epic.id, labels=("backend",))
        await make_story(runtime, admin, "Search box", epic_id=epic.id, assignee="alice")
        await make_story(runtime, admin, "Unrelated", labels=("backend",))
        browser = await sign_in(Role.VIEWER)

        of_epic = await browser.get(f"/ui/stories?epic={epic.id}")
        labelled = await browser.get("/ui/stories?label=Backend")
        both = await browser.get(f"/ui/stories?epic={epic.id}&label=backend")
        assigned = await browser.get("/ui/stories?assignee=alice")

        assert sorted(cards_of(of_epic.text, "backlog")) == ["Index pages", "Search box"]
        assert sorted(cards_of(labelled.text, "backlog")) == ["Index pages", "Unrelated"]
        assert cards_of(both.text, "backlog") == ["Index pages"]
        assert cards_of(assigned.text, "backlog") == ["Search box"]
        assert f'<option value="{epic.id}" selected>' in of_epic.text

    async def test_a_column_shows_a_bounded_page_and_its_more_link_pages_that_column_only(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        for number in range(COLUMN_SIZE + 1):
            await make_story(runtime, admin, f"Story {number:02d}")
        done = await make_story(runtime, admin, "Shipped")
        for target in (StoryStatus.READY, StoryStatus.IN_PROGRESS, StoryStatus.REVIEW):
            await stories.update_story(runtime.uow(), done.id, StoryChanges(status=target), admin)
        browser = await sign_in(Role.VIEWER)

        board = await browser.get("/ui/stories")
        first = cards_of(board.text, "backlog")
        more = re.search(r'<a href="(\?after_backlog=[^"]+)" rel="next">', board.text)
        assert more is not None
        second = await browser.get("/ui/stories" + more.group(1).replace("&amp;", "&"))

        assert len(first) == COLUMN_SIZE
        assert first[0] == f"Story {COLUMN_SIZE:02d}"  # newest first
        assert f">{COLUMN_SIZE + 1}</span>" in board.text.split('id="column-backlog"')[1][:200]
        assert cards_of(second.text, "backlog") == ["Story 00"]
        assert cards_of(second.text, "review") == ["Shipped"]  # the other columns stay
        assert "« Newest" in second.text

    async def test_the_table_view_pages_by_fifty_and_filters_by_status(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        for number in range(PAGE_SIZE):
            await make_story(runtime, admin, f"Story {number:02d}")
        ready = await make_story(runtime, admin, "Ready one")
        await stories.update_story(
            runtime.uow(), ready.id, StoryChanges(status=StoryStatus.READY), admin
        )
        browser = await sign_in(Role.VIEWER)

        table = await browser.get("/ui/stories?view=table")
        rows = re.findall(r'<td><a href="/ui/stories/[^"]+">([^<]+)</a></td>', table.text)
        following = re.search(r'<a href="(\?[^"]*cursor=[^"]+)" rel="next">', table.text)
        assert following is not None
        second = await browser.get("/ui/stories" + following.group(1).replace("&amp;", "&"))
        only_ready = await browser.get("/ui/stories?view=table&status=ready")

        assert table.status_code == 200
        assert len(rows) == PAGE_SIZE
        assert rows[0] == "Ready one"
        assert re.findall(r'<td><a href="/ui/stories/[^"]+">([^<]+)</a></td>', second.text) == [
            "Story 00"
        ]
        assert re.findall(r'<td><a href="/ui/stories/[^"]+">([^<]+)</a></td>', only_ready.text) == [
            "Ready one"
        ]

    @pytest.mark.parametrize(
        "query",
        [
            "view=kanban",
            "view=table&status=sleeping",
            "epic=epic_unknown",
            "after_backlog=not-a-cursor",
            "view=table&cursor=not-a-cursor",
            f"label={'x' * 150}",
        ],
    )
    async def test_bad_filters_are_an_error_page_never_a_crash(
        self, sign_in: SignIn, query: str
    ) -> None:
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get(f"/ui/stories?{query}")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")
        assert '<p class="error-box" role="alert">' in bad.text


async def test_unknown_stories_are_a_404_page(sign_in: SignIn) -> None:
    browser = await sign_in(Role.OPERATOR)

    for path in ("/ui/stories/story_unknown", "/ui/stories/story_unknown/edit"):
        missing = await browser.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
        assert "No story with id or key" in missing.text
    moved = await browser.post("/ui/stories/story_unknown/status", {"status": "ready"})
    assert moved.status_code == 404


class TestStoryPage:
    async def test_a_story_page_shows_its_text_criteria_dependencies_and_history_escaped(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Accounts", admin)
        first = await make_story(runtime, admin, "Sign up", epic_id=epic.id)
        story = await make_story(
            runtime,
            admin,
            "Sign in <b>fast</b>",
            epic_id=epic.id,
            description="Line one\n<script>alert(1)</script>",
            criteria=["A session cookie is set", "Wrong passwords are refused"],
            labels=("auth",),
        )
        await stories.update_story(
            runtime.uow(),
            story.id,
            StoryChanges(depends_on=(first.id,), status=StoryStatus.BLOCKED),
            admin,
        )
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/stories/{story.id}")

        assert page.status_code == 200
        assert "<h1>Sign in &lt;b&gt;fast&lt;/b&gt;</h1>" in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<script>alert" not in page.text
        assert "A session cookie is set" in page.text
        assert "Wrong passwords are refused" in page.text
        assert f'href="/ui/stories/{first.id}">{first.id}: Sign up</a>' in page.text
        assert f'href="/ui/epics/{epic.id}">Accounts</a>' in page.text
        assert "backlog → blocked, manual" in page.text  # its history
        assert "story.created" in page.text
        assert f'data-live="{story.id}"' in page.text
        assert post_forms(page.text) == ["/ui/logout"]

    async def test_a_story_can_be_read_by_its_bmad_key(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        await stories.import_bmad(runtime.uow(), BMAD / "project" / "epic-2.md", admin)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/stories/2.1")

        assert page.status_code == 200
        assert "<h1>Board columns by status</h1>" in page.text

    async def test_the_history_is_paged_oldest_first(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, "Version 0")
        for number in range(1, HISTORY_PAGE + 1):
            await stories.update_story(
                runtime.uow(), story.id, StoryChanges(title=f"Version {number}"), admin
            )
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/stories/{story.id}")
        following = re.search(r'<a href="(\?cursor=\d+)" rel="next">', page.text)
        assert following is not None
        rest = await browser.get(f"/ui/stories/{story.id}{following.group(1)}")

        history = page.text.split('id="history-title"')[1]
        assert history.count("<li>") == HISTORY_PAGE
        assert "Created in backlog: Version 0" in history
        assert rest.text.split('id="history-title"')[1].count("<li>") == 1
        bad = await browser.get(f"/ui/stories/{story.id}?cursor=soon")
        assert bad.status_code == 422

    async def test_an_operator_gets_a_button_for_each_move_the_state_machine_allows(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get(f"/ui/stories/{story.id}")

        moves = re.findall(r'name="status" value="([a-z_]+)"', page.text)
        assert moves == ["ready", "blocked", "cancelled"]  # never straight to done
        assert f'href="/ui/stories/{story.id}/edit"' in page.text


class TestMovingAStory:
    async def test_an_operator_moves_a_story_and_the_move_is_audited_under_their_name(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        moved = await browser.post(f"/ui/stories/{story.id}/status", {"status": "ready"})

        assert moved.status_code == 303
        assert moved.headers["location"] == f"/ui/stories/{story.id}"
        after = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert after.status is StoryStatus.READY
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=story.id)
        assert (audit.items[0].action, audit.items[0].actor) == ("story.update", OPERATOR)
        shown = await browser.get(moved.headers["location"])
        assert "Moved the story to ready" in shown.text

    async def test_a_move_the_state_machine_refuses_is_a_409_page(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/stories/{story.id}/status", {"status": "done"})
        unknown = await browser.post(f"/ui/stories/{story.id}/status", {"status": "shipped"})

        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("text/html")
        assert "Cannot move story" in refused.text
        assert unknown.status_code == 422
        after = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert after.status is StoryStatus.BACKLOG

    async def test_a_viewer_and_a_post_without_csrf_token_cannot_move_a_story(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)

        forged = await viewer.post(f"/ui/stories/{story.id}/status", {"status": "ready"})
        no_token = await operator.http.post(
            f"/ui/stories/{story.id}/status", data={"status": "ready"}
        )

        assert forged.status_code == 403
        assert no_token.status_code == 403
        assert "security token" in no_token.text
        after = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert after.status is StoryStatus.BACKLOG


class TestCreatingAStory:
    async def test_an_operator_creates_a_story_with_criteria_labels_and_epic(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Payments", admin)
        browser = await sign_in(Role.OPERATOR)
        form = await browser.get(f"/ui/stories/new?epic={epic.id}")
        assert f'<option value="{epic.id}" selected>' in form.text

        created = await browser.post(
            "/ui/stories/new",
            {
                "title": "Refund a payment",
                "description": "Partial refunds too.",
                "acceptance_criteria": "A refund is recorded\n[x] The API exists\n\n- [ ] Emails",
                "epic": epic.id,
                "priority": "high",
                "labels": "Payments, backend,",
                "assignee": "alice",
            },
        )

        assert created.status_code == 303
        story_id = created.headers["location"].removeprefix("/ui/stories/")
        story = await stories.get_story(runtime.uow(read_only=True), story_id)
        assert story.title == "Refund a payment"
        assert story.epic_id == epic.id
        assert story.priority.value == "high"
        assert story.labels == ("backend", "payments")
        assert story.assignee == "alice"
        assert [(c.text, c.done) for c in story.acceptance_criteria] == [
            ("A refund is recorded", False),
            ("The API exists", True),
            ("Emails", False),
        ]
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=story_id)
        assert (audit.items[0].action, audit.items[0].actor) == ("story.create", OPERATOR)

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("title", "   ", "A title must not be empty"),
            ("epic", "epic_gone", "Unknown epic"),
            ("priority", "urgent", "Choose a priority"),
            ("labels", "x" * 150, "longer than 100 characters"),
        ],
    )
    async def test_an_invalid_story_is_shown_again_with_its_error_and_nothing_saved(
        self, sign_in: SignIn, runtime: Runtime, field: str, value: str, message: str
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        typed = {
            "title": "Keep me",
            "description": "Typed with care",
            "acceptance_criteria": "First\nSecond",
            "priority": "low",
            field: value,
        }

        refused = await browser.post("/ui/stories/new", typed)

        assert refused.status_code == 422
        assert message in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert f'id="e-{field}"' in refused.text
        assert "Typed with care</textarea>" in refused.text
        assert "First\nSecond</textarea>" in refused.text
        assert await row_counts(runtime) == (0, 0, 0)

    async def test_a_viewer_gets_no_form_and_cannot_post_one(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)

        form = await viewer.get("/ui/stories/new")
        forged = await viewer.post("/ui/stories/new", {"title": "Sneaky"})
        no_token = await operator.http.post("/ui/stories/new", data={"title": "Sneaky"})
        board = await viewer.get("/ui/stories")

        assert form.status_code == 403
        assert forged.status_code == 403
        assert no_token.status_code == 403
        assert 'href="/ui/stories/new' not in board.text
        assert await row_counts(runtime) == (0, 0, 0)


class TestEditingAStory:
    async def test_an_operator_edits_every_field_the_service_changes(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await stories.create_epic(runtime.uow(), "Payments", admin)
        first = await make_story(runtime, admin, "Charge", epic_id=epic.id)
        story = await make_story(runtime, admin, "Refund", epic_id=epic.id, criteria=["Old"])
        browser = await sign_in(Role.OPERATOR)
        form = await browser.get(f"/ui/stories/{story.id}/edit")
        assert "[ ] Old</textarea>" in form.text

        saved = await browser.post(
            f"/ui/stories/{story.id}/edit",
            {
                "title": "Refund a charge",
                "description": "Now with details",
                "acceptance_criteria": "[x] Old\nNew",
                "epic": epic.id,
                "priority": "critical",
                "labels": "money",
                "assignee": "",
                "depends_on": first.id,
                "branch": "feature/refunds",
                "pr_url": "https://github.com/o/r/pull/3",
            },
        )

        assert saved.status_code == 303
        after = await stories.get_story(runtime.uow(read_only=True), story.id)
        assert after.title == "Refund a charge"
        assert after.description == "Now with details"
        assert [(c.text, c.done) for c in after.acceptance_criteria] == [
            ("Old", True),
            ("New", False),
        ]
        assert after.priority.value == "critical"
        assert after.labels == ("money",)
        assert after.depends_on == (first.id,)
        assert after.branch == "feature/refunds"
        assert after.pr_url == "https://github.com/o/r/pull/3"
        assert after.status is StoryStatus.BACKLOG

    async def test_saving_an_unchanged_form_changes_nothing(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, "Same", criteria=["a"], labels=("x",))
        browser = await sign_in(Role.OPERATOR)
        form = await browser.get(f"/ui/stories/{story.id}/edit")
        fields = dict(
            re.findall(
                r'<input id="f-[a-z_]+" name="([a-z_]+)" type="[a-z]+" value="([^"]*)"', form.text
            )
        )
        fields["description"] = ""
        fields["acceptance_criteria"] = "[ ] a"
        fields["priority"] = "medium"
        fields["epic"] = ""

        saved = await browser.post(f"/ui/stories/{story.id}/edit", fields)

        assert saved.status_code == 303
        assert await stories.get_story(runtime.uow(read_only=True), story.id) == story

    async def test_an_invalid_edit_is_shown_again_and_nothing_changes(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, "Refund")
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            f"/ui/stories/{story.id}/edit",
            {"title": "Refund, renamed", "depends_on": "9.9", "priority": "medium"},
        )
        bad_url = await browser.post(
            f"/ui/stories/{story.id}/edit",
            {"title": "Refund", "pr_url": "javascript:alert(1)", "priority": "medium"},
        )

        assert refused.status_code == 422
        assert "Only a story of an epic can depend on other stories" in refused.text
        assert 'value="Refund, renamed"' in refused.text
        assert bad_url.status_code == 422
        assert "pr_url must be an http(s) URL" in bad_url.text
        assert await stories.get_story(runtime.uow(read_only=True), story.id) == story

    async def test_a_viewer_and_a_post_without_csrf_token_cannot_edit(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, "Refund")
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)

        form = await viewer.get(f"/ui/stories/{story.id}/edit")
        forged = await viewer.post(f"/ui/stories/{story.id}/edit", {"title": "Hijacked"})
        no_token = await operator.http.post(
            f"/ui/stories/{story.id}/edit", data={"title": "Hijacked"}
        )
        missing = await operator.post("/ui/stories/story_gone/edit", {"title": "x"})

        assert (form.status_code, forged.status_code, no_token.status_code) == (403, 403, 403)
        assert missing.status_code == 404
        assert await stories.get_story(runtime.uow(read_only=True), story.id) == story
