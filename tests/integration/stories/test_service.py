"""Stories and epics through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service
from orchestrate.stories.models import (
    AcceptanceCriterion,
    EpicChanges,
    EpicStatus,
    Priority,
    StoryChanges,
    StoryDraft,
    StoryStatus,
)
from tests.integration.stories.support import (
    FIXTURES,
    audit_actions,
    events_about,
    make_story,
    row_counts,
)

VIEWER = Actor(name="test:viewer", role=Role.VIEWER, source="127.0.0.1")


class TestCreateAndRead:
    async def test_new_story_starts_in_backlog_with_normalised_labels(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(
            runtime, admin, "  Sign up  ", labels=("Backend", "backend ", "API"), criteria=["a"]
        )
        assert story.status is StoryStatus.BACKLOG
        assert story.priority is Priority.MEDIUM
        assert story.labels == ("api", "backend")
        assert story.title == "Sign up"
        assert await service.get_story(runtime.uow(), story.id) == story

    async def test_a_story_can_be_read_by_its_bmad_key(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        await service.import_bmad(runtime.uow(), FIXTURES / "project" / "epic-2.md", admin)
        story = await service.get_story(runtime.uow(), "2.1")
        assert (story.key, story.title) == ("2.1", "Board columns by status")

    async def test_unknown_story_is_not_found(self, runtime: Runtime) -> None:
        with pytest.raises(NotFound, match="No story with id or key 'story_nope'"):
            await service.get_story(runtime.uow(), "story_nope")

    async def test_a_story_may_name_its_epic_by_key(self, runtime: Runtime, admin: Actor) -> None:
        await service.import_bmad(runtime.uow(), FIXTURES / "project" / "epic-2.md", admin)
        epic = await service.get_epic(runtime.uow(), "2")
        story = await make_story(runtime, admin, epic_id="2")
        assert story.epic_id == epic.id

    async def test_a_story_naming_an_unknown_epic_is_refused_and_not_stored(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await make_story(runtime, admin, epic_id="epic_missing")
        assert refused.value.context["field"] == "epic_id"
        assert await row_counts(runtime) == (0, 0, 0)


class TestOrigin:
    """A story made from an origin (a GitHub issue) exists once, however it races."""

    async def test_a_second_draft_from_the_same_origin_gets_the_first_story(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        draft = StoryDraft(title="Crash on save", source="https://x/1", origin_key="gh:1")
        first, created = await service.create_story_once(runtime.uow(), draft, admin)
        again, created_again = await service.create_story_once(
            runtime.uow(), StoryDraft(title="Other title", origin_key="gh:1"), admin
        )
        assert (created, created_again) == (True, False)
        assert again == first
        assert first.source == "https://x/1"
        assert await row_counts(runtime) == (0, 1, 0)

    async def test_simultaneous_drafts_from_one_origin_make_one_story(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        drafts = [StoryDraft(title=f"Issue copy {n}", origin_key="gh:7") for n in range(6)]
        results = await asyncio.gather(
            *(service.create_story_once(runtime.uow(), draft, admin) for draft in drafts)
        )
        assert sum(created for _, created in results) == 1
        assert len({story.id for story, _ in results}) == 1
        assert await row_counts(runtime) == (0, 1, 0)

    async def test_stories_without_an_origin_are_never_merged(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        for _ in range(2):
            await service.create_story(runtime.uow(), StoryDraft(title="Same"), admin)
        assert await row_counts(runtime) == (0, 2, 0)


class TestUpdate:
    async def test_status_follows_the_workflow_and_each_move_is_an_event(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        for target in (StoryStatus.READY, StoryStatus.IN_PROGRESS, StoryStatus.REVIEW):
            story = await service.update_story(
                runtime.uow(), story.id, StoryChanges(status=target), admin
            )
        assert story.status is StoryStatus.REVIEW
        moves = [
            (e.payload["from"], e.payload["to"])
            for e in await events_about(runtime, story.id)
            if e.type == "story.status_changed"
        ]
        assert moves == [("backlog", "ready"), ("ready", "in_progress"), ("in_progress", "review")]

    async def test_a_refused_transition_changes_nothing(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        changes = StoryChanges(status=StoryStatus.DONE, title="Renamed", assignee="ada")
        with pytest.raises(InvalidTransition, match="from 'backlog' it can move to: ready"):
            await service.update_story(runtime.uow(), story.id, changes, admin)
        assert await service.get_story(runtime.uow(), story.id) == story

    async def test_a_bad_value_loses_nothing_already_stored(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, labels=("api",))
        changes = StoryChanges(status=StoryStatus.READY, labels=("web",), pr_url="not-a-url")
        with pytest.raises(ValidationFailed):
            await service.update_story(runtime.uow(), story.id, changes, admin)
        assert await service.get_story(runtime.uow(), story.id) == story

    async def test_same_status_is_a_no_op(self, runtime: Runtime, admin: Actor) -> None:
        story = await make_story(runtime, admin)
        again = await service.update_story(
            runtime.uow(), story.id, StoryChanges(status=StoryStatus.BACKLOG), admin
        )
        assert again == story
        assert await audit_actions(runtime, story.id) == ["story.create"]

    async def test_every_field_can_be_changed_and_optional_ones_cleared(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await service.create_epic(runtime.uow(), "Accounts", admin)
        story = await make_story(runtime, admin, epic_id=epic.id, assignee="ada")
        changed = await service.update_story(
            runtime.uow(),
            story.id,
            StoryChanges(
                title="Sign up fast",
                description="Details",
                acceptance_criteria=(AcceptanceCriterion("works", done=True),),
                priority=Priority.CRITICAL,
                branch="story/sign-up",
                pr_url="https://github.com/acme/app/pull/7",
                epic_id=None,
                assignee=None,
            ),
            admin,
        )
        assert (changed.title, changed.description, changed.priority) == (
            "Sign up fast",
            "Details",
            Priority.CRITICAL,
        )
        assert changed.acceptance_criteria == (AcceptanceCriterion("works", True),)
        assert (changed.branch, changed.pr_url) == (
            "story/sign-up",
            "https://github.com/acme/app/pull/7",
        )
        assert (changed.epic_id, changed.assignee) == (None, None)
        assert await service.get_story(runtime.uow(), story.id) == changed

    async def test_labels_can_be_added_and_removed_one_at_a_time(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, labels=("api", "web"))
        changed = await service.update_story(
            runtime.uow(),
            story.id,
            StoryChanges(add_labels=("Security",), remove_labels=("WEB",)),
            admin,
        )
        assert changed.labels == ("api", "security")
        assert (await service.get_story(runtime.uow(), story.id)).labels == ("api", "security")

    async def test_updating_an_unknown_story_is_not_found(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        with pytest.raises(NotFound):
            await service.update_story(runtime.uow(), "9.9", StoryChanges(title="x"), admin)


class TestList:
    async def test_filters_by_status_epic_label_and_assignee(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        await service.import_bmad(runtime.uow(), FIXTURES / "project", admin)
        mine = await make_story(runtime, admin, "Mine", labels=("Backend",), assignee="ada")

        async def titles(**filters: object) -> list[str]:
            page = await service.list_stories(runtime.uow(), **filters)  # type: ignore[arg-type]
            return [story.title for story in page.items]

        assert await titles(status=StoryStatus.DONE) == ["Sign up with a work email"]
        assert await titles(epic_id="2") == ["Filter the board by label", "Board columns by status"]
        epic = await service.get_epic(runtime.uow(), "2")
        assert await titles(epic_id=epic.id) == await titles(epic_id="2")
        assert await titles(label="BACKEND") == [mine.title]
        assert await titles(assignee="ada") == [mine.title]
        assert await titles(epic_id="99") == []

    async def test_pages_are_newest_first_and_join_up_without_gaps(
        self, frozen_runtime: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        created = []
        for number in range(7):
            created.append(await make_story(frozen_runtime, admin, f"Story {number}"))
            if number % 3 == 0:  # some stories share a timestamp; the id breaks the tie
                clock.advance(timedelta(seconds=1))
        seen, cursor = [], None
        while True:
            page = await service.list_stories(frozen_runtime.uow(), limit=3, cursor=cursor)
            seen.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = sorted(created, key=lambda s: (s.created_at, s.id), reverse=True)
        assert [s.id for s in seen] == [s.id for s in expected]
        assert seen[0].title == "Story 6"

    async def test_an_invalid_cursor_or_limit_is_refused(self, runtime: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor"):
            await service.list_stories(runtime.uow(), cursor="garbage")
        with pytest.raises(ValidationFailed, match="limit"):
            await service.list_stories(runtime.uow(), limit=0)


class TestDelete:
    async def test_a_deleted_story_and_its_labels_are_gone(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin, labels=("api",))
        await service.delete_story(runtime.uow(), story.id, admin)
        with pytest.raises(NotFound):
            await service.get_story(runtime.uow(), story.id)
        assert await row_counts(runtime) == (0, 0, 0)
        with pytest.raises(NotFound):
            await service.delete_story(runtime.uow(), story.id, admin)


class TestEpics:
    async def test_epic_is_created_updated_and_read_back(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await service.create_epic(runtime.uow(), "Billing", admin, description="Money")
        assert epic.status is EpicStatus.OPEN
        changed = await service.update_epic(
            runtime.uow(), epic.id, EpicChanges(title="Invoicing", status=EpicStatus.DONE), admin
        )
        assert (changed.title, changed.status, changed.description) == (
            "Invoicing",
            EpicStatus.DONE,
            "Money",
        )
        assert await service.get_epic(runtime.uow(), epic.id) == changed
        page = await service.list_epics(runtime.uow())
        assert [e.id for e in page.items] == [epic.id]
        assert [e.type for e in await events_about(runtime, epic.id)] == [
            "epic.created",
            "epic.status_changed",
            "epic.updated",
        ]

    async def test_epic_counts_its_stories_by_status(self, runtime: Runtime, admin: Actor) -> None:
        await service.import_bmad(runtime.uow(), FIXTURES / "project" / "epic-1.md", admin)
        epic = await service.get_epic(runtime.uow(), "1")
        assert epic.story_counts[StoryStatus.DONE] == 1
        assert epic.story_counts[StoryStatus.BACKLOG] == 2
        assert epic.story_counts[StoryStatus.REVIEW] == 0

    async def test_overview_lists_an_epics_stories_in_file_order(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        await service.import_bmad(runtime.uow(), FIXTURES / "project", admin)
        overview = await service.epic_overview(runtime.uow(), "1")
        assert [s.key for s in overview.stories] == ["1.1", "1.2", "1.3"]

    async def test_unknown_epic_is_not_found(self, runtime: Runtime, admin: Actor) -> None:
        with pytest.raises(NotFound, match="No epic with id or key '7'"):
            await service.get_epic(runtime.uow(), "7")
        with pytest.raises(NotFound):
            await service.update_epic(runtime.uow(), "7", EpicChanges(title="x"), admin)


class TestAuditAndPermissions:
    async def test_every_mutation_writes_an_audit_record(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        epic = await service.create_epic(runtime.uow(), "Billing", admin)
        await service.update_epic(runtime.uow(), epic.id, EpicChanges(title="Invoices"), admin)
        story = await make_story(runtime, admin)
        await service.update_story(runtime.uow(), story.id, StoryChanges(title="Renamed"), admin)
        await service.delete_story(runtime.uow(), story.id, admin)
        await service.import_bmad(runtime.uow(), FIXTURES / "project" / "epic-2.md", admin)
        assert await audit_actions(runtime) == [
            "epic.create",
            "epic.update",
            "story.create",
            "story.update",
            "story.delete",
            "story.import",
        ]

    async def test_a_viewer_may_read_but_not_change_anything(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        story = await make_story(runtime, admin)
        attempts = [
            service.create_epic(runtime.uow(), "Nope", VIEWER),
            make_story(runtime, VIEWER),
            service.update_story(runtime.uow(), story.id, StoryChanges(title="x"), VIEWER),
            service.delete_story(runtime.uow(), story.id, VIEWER),
            service.import_bmad(runtime.uow(), FIXTURES / "project", VIEWER),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                await attempt
        assert await service.get_story(runtime.uow(), story.id) == story
        assert await row_counts(runtime) == (0, 1, 0)
