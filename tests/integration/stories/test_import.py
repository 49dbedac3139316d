"""Importing BMAD markdown: all or nothing, and again without duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service
from orchestrate.stories.models import (
    AcceptanceCriterion,
    Priority,
    StoryChanges,
    StoryStatus,
)
from tests.integration.stories.support import (
    FIXTURES,
    copy_project,
    edit,
    events_about,
    row_counts,
)


async def _import(runtime: Runtime, path: Path, actor: Actor) -> tuple[int, ...]:
    summary = await service.import_bmad(runtime.uow(), path, actor)
    return (
        summary.epics_created,
        summary.epics_updated,
        summary.stories_created,
        summary.stories_updated,
    )


async def _status(runtime: Runtime, key: str) -> StoryStatus:
    return (await service.get_story(runtime.uow(), key)).status


class TestFirstImport:
    async def test_a_folder_import_creates_every_epic_and_story_with_its_key(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        assert await _import(runtime, FIXTURES / "project", admin) == (3, 0, 5, 0)
        epics = (await service.list_epics(runtime.uow())).items
        assert sorted((e.key, e.title) for e in epics) == [
            ("1", "Team accounts and sign-in"),
            ("10", "Operations"),
            ("2", "Story board"),
        ]
        story = await service.get_story(runtime.uow(), "1.2")
        assert story.epic_id == (await service.get_epic(runtime.uow(), "1")).id
        assert story.source == str(FIXTURES / "project" / "epic-1.md")
        assert story.acceptance_criteria[0] == AcceptanceCriterion(
            "Requesting a link for a known address sends a mail", done=True
        )

    async def test_stories_with_every_box_ticked_start_done_the_rest_in_backlog(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        await _import(runtime, FIXTURES / "project", admin)
        statuses = {s.key: s.status for s in (await service.list_stories(runtime.uow())).items}
        assert statuses == {
            "1.1": StoryStatus.DONE,
            "1.2": StoryStatus.BACKLOG,
            "1.3": StoryStatus.BACKLOG,
            "2.1": StoryStatus.BACKLOG,
            "2.2": StoryStatus.BACKLOG,
        }

    async def test_imported_stories_list_newest_first_in_reverse_file_order(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        await _import(runtime, FIXTURES / "project", admin)
        page = await service.list_stories(runtime.uow())
        assert [s.key for s in page.items] == ["2.2", "2.1", "1.3", "1.2", "1.1"]

    async def test_a_malformed_file_stores_nothing_from_any_file(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await service.import_bmad(runtime.uow(), FIXTURES / "malformed", admin)
        bad_file = str(FIXTURES / "malformed" / "epic-2.md")
        assert refused.value.context == {"file": bad_file, "line": 9}
        assert str(refused.value).startswith(f"{bad_file}:9: story heading '## Story 3.1'")
        assert await row_counts(runtime) == (0, 0, 0)

    async def test_the_import_is_audited_with_its_summary(
        self, runtime: Runtime, admin: Actor
    ) -> None:
        await _import(runtime, FIXTURES / "project", admin)
        records = (await auth.list_audit(runtime.uow(), action="story.import")).items
        assert len(records) == 1
        assert records[0].actor == admin.name
        assert records[0].details["stories_created"] == 5
        assert records[0].details["path"] == str(FIXTURES / "project")


class TestReimport:
    async def test_importing_again_updates_instead_of_duplicating(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        edit(
            folder / "epic-2.md",
            "## Story 2.2: Filter the board by label",
            "## Story 2.2: Filter by label",
        )
        edit(folder / "epic-2.md", "- [ ] Choosing a label", "- [ ] Picking a label")
        edit(folder / "epic-1.md", "# Epic 1: Team accounts and sign-in", "# Epic 1: Accounts")
        summary = await service.import_bmad(runtime.uow(), folder, admin)
        assert (summary.epics_created, summary.epics_updated, summary.epics_unchanged) == (0, 1, 2)
        assert (summary.stories_created, summary.stories_updated) == (0, 1)
        assert summary.stories_unchanged == 4
        assert await row_counts(runtime) == (3, 5, 0)
        story = await service.get_story(runtime.uow(), "2.2")
        assert story.title == "Filter by label"
        assert story.acceptance_criteria[0].text == "Picking a label hides stories without it"
        assert (await service.get_epic(runtime.uow(), "1")).title == "Accounts"

    async def test_a_new_story_in_a_known_epic_is_added(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        with (folder / "epic-10.md").open("a") as file:
            file.write("\n## Story 10.1: Backups\n\n- [x] Nightly backups run\n")
        assert await _import(runtime, folder, admin) == (0, 0, 1, 0)
        assert await _status(runtime, "10.1") is StoryStatus.DONE

    async def test_ticking_every_box_makes_a_story_done_with_an_import_event(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        story = await service.get_story(runtime.uow(), "2.1")
        await service.update_story(
            runtime.uow(), story.id, StoryChanges(status=StoryStatus.READY), admin
        )
        edit(folder / "epic-2.md", "- [ ] There is one column", "- [x] There is one column")
        edit(folder / "epic-2.md", "- [ ] Each card shows", "- [x] Each card shows")
        await _import(runtime, folder, admin)
        assert await _status(runtime, "2.1") is StoryStatus.DONE
        moves = [
            e.payload
            for e in await events_about(runtime, story.id)
            if e.type == "story.status_changed"
        ]
        assert moves[-1] == {"from": "ready", "to": "done", "reason": "import"}

    async def test_unticking_a_box_of_a_done_story_reopens_it(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        assert await _status(runtime, "1.1") is StoryStatus.DONE
        edit(folder / "epic-1.md", "- [x] The sign-up form", "- [ ] The sign-up form")
        await _import(runtime, folder, admin)
        assert await _status(runtime, "1.1") is StoryStatus.IN_PROGRESS

    async def test_a_story_marked_done_by_hand_stays_done_when_its_boxes_never_were_ticked(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        story = await service.get_story(runtime.uow(), "1.3")
        for target in ("ready", "in_progress", "review", "done"):
            changes = StoryChanges(status=StoryStatus(target))
            await service.update_story(runtime.uow(), story.id, changes, admin)
        await _import(runtime, folder, admin)
        assert await _status(runtime, "1.3") is StoryStatus.DONE

    async def test_reimport_keeps_what_only_orchestrate_knows(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        story = await service.get_story(runtime.uow(), "1.2")
        changes = StoryChanges(
            status=StoryStatus.READY,
            priority=Priority.HIGH,
            labels=("auth",),
            assignee="ada",
            branch="story/1.2",
        )
        before = await service.update_story(runtime.uow(), story.id, changes, admin)
        assert await _import(runtime, folder, admin) == (0, 0, 0, 0)
        assert await service.get_story(runtime.uow(), "1.2") == before

    async def test_a_failed_reimport_keeps_the_previous_import(
        self, runtime: Runtime, admin: Actor, tmp_path: Path
    ) -> None:
        folder = copy_project(tmp_path)
        await _import(runtime, folder, admin)
        before = (await service.list_stories(runtime.uow())).items
        edit(folder / "epic-1.md", "## Story 1.1: Sign up with a work email", "## Story 1.1: New")
        edit(folder / "epic-2.md", "## Story 2.2: Filter", "## Story 2.1: Filter")
        with pytest.raises(ValidationFailed, match=r"epic-2\.md:\d+: story 2\.1 is defined twice"):
            await service.import_bmad(runtime.uow(), folder, admin)
        assert (await service.list_stories(runtime.uow())).items == before
