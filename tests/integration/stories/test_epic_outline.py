"""The light reads of a large epic's page: every story's outline in the epic's order,
then a few of its stories whole; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from orchestrate.auth.models import Actor
from orchestrate.core.errors import NotFound
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service
from orchestrate.stories.models import StoryChanges, StoryOutline, StoryStatus
from tests.integration.stories.support import FIXTURES, make_story


async def test_the_outline_is_the_overview_without_the_stories_text(
    runtime: Runtime, admin: Actor
) -> None:
    await service.import_bmad(runtime.uow(), FIXTURES / "project", admin)
    second, third = "1.2", "1.3"
    await service.update_story(
        runtime.uow(), second, StoryChanges(status=StoryStatus.READY, depends_on=(third,)), admin
    )

    outline = await service.epic_outline(runtime.uow(read_only=True), "1")
    overview = await service.epic_overview(runtime.uow(read_only=True), "1")

    assert outline.epic == overview.epic  # the same counts by status
    assert list(outline.stories) == [
        StoryOutline(story.id, story.status, story.depends_on) for story in overview.stories
    ]
    assert [s.key for s in overview.stories] == ["1.1", "1.2", "1.3"]  # file order
    assert outline.stories[1].depends_on == (overview.stories[2].id,)
    assert outline.epic.story_counts[StoryStatus.READY] == 1


async def test_the_outline_of_an_unknown_epic_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFound, match="No epic with id or key '7'"):
        await service.epic_outline(runtime.uow(read_only=True), "7")


async def test_stories_of_an_epic_are_read_whole_by_id_and_others_are_left_out(
    runtime: Runtime, admin: Actor
) -> None:
    epic = await service.create_epic(runtime.uow(), "Billing", admin)
    other = await service.create_epic(runtime.uow(), "Search", admin)
    invoices = await make_story(runtime, admin, "Invoices", epic_id=epic.id, labels=("b", "a"))
    refunds = await make_story(runtime, admin, "Refunds", epic_id=epic.id)
    elsewhere = await make_story(runtime, admin, "Elsewhere", epic_id=other.id)
    loose = await make_story(runtime, admin, "Loose")

    found = await service.get_epic_stories(
        runtime.uow(read_only=True),
        epic.id,
        [invoices.id, elsewhere.id, loose.id, "story_unknown", invoices.id],
    )
    nothing = await service.get_epic_stories(runtime.uow(read_only=True), epic.id, [])

    assert found == {invoices.id: invoices}
    assert found[invoices.id].labels == ("a", "b")
    assert refunds.id not in found  # not asked for
    assert nothing == {}
