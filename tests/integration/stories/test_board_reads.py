"""The reads a board of stories needs: counts per status under the list's filters, several
stories at once, and epic titles by id; on SQLite and PostgreSQL."""

from __future__ import annotations

from orchestrate.auth.models import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service
from orchestrate.stories.models import StoryChanges, StoryStatus
from tests.integration.stories.support import make_story


async def test_counts_cover_every_status_and_follow_the_list_filters(
    runtime: Runtime, admin: Actor
) -> None:
    epic = await service.create_epic(runtime.uow(), "Billing", admin)
    ready = await make_story(runtime, admin, "Invoices", epic_id=epic.id, labels=("Backend",))
    await service.update_story(
        runtime.uow(), ready.id, StoryChanges(status=StoryStatus.READY), admin
    )
    await make_story(runtime, admin, "Refunds", epic_id=epic.id, assignee="alice")
    await make_story(runtime, admin, "Elsewhere", labels=("backend",))

    everything = await service.count_stories(runtime.uow(read_only=True))
    assert set(everything) == set(StoryStatus)
    assert everything[StoryStatus.BACKLOG] == 2
    assert everything[StoryStatus.READY] == 1
    assert everything[StoryStatus.DONE] == 0

    of_epic = await service.count_stories(runtime.uow(read_only=True), epic_id=epic.id)
    assert (of_epic[StoryStatus.BACKLOG], of_epic[StoryStatus.READY]) == (1, 1)
    labelled = await service.count_stories(runtime.uow(read_only=True), label=" BACKEND ")
    assert (labelled[StoryStatus.BACKLOG], labelled[StoryStatus.READY]) == (1, 1)
    assigned = await service.count_stories(runtime.uow(read_only=True), assignee="alice")
    assert sum(assigned.values()) == 1
    both = await service.count_stories(
        runtime.uow(read_only=True), epic_id=epic.id, label="backend"
    )
    assert sum(both.values()) == 1


async def test_several_stories_are_read_at_once_in_the_order_named_by_id_or_key(
    runtime: Runtime, admin: Actor
) -> None:
    first = await make_story(runtime, admin, "First", labels=("a",))
    second = await make_story(runtime, admin, "Second")

    found = await service.get_stories(
        runtime.uow(read_only=True), [second.id, "story_unknown", first.id, second.id]
    )

    assert [story.title for story in found] == ["Second", "First"]
    assert found[1].labels == ("a",)
    assert await service.get_stories(runtime.uow(read_only=True), []) == []


async def test_epic_titles_are_read_by_id_and_unknown_ids_are_left_out(
    runtime: Runtime, admin: Actor
) -> None:
    billing = await service.create_epic(runtime.uow(), "Billing", admin)
    search = await service.create_epic(runtime.uow(), "Search", admin)

    titles = await service.epic_titles(
        runtime.uow(read_only=True), [billing.id, search.id, "epic_gone"]
    )

    assert titles == {billing.id: "Billing", search.id: "Search"}
    assert await service.epic_titles(runtime.uow(read_only=True), []) == {}
