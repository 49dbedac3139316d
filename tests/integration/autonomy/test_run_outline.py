"""The outline of an epic's run, what a page of some of its stories reads: the same run
as ``get_epic_run`` shows, with the details of only the stories asked for and of the
active ones; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

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
from tests.integration.delivery.conftest import Project


async def test_the_outline_agrees_with_the_run_view_for_the_stories_asked_for(
    runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    epic_id, (first, second, third) = await new_epic(runtime, "Add", "Subtract", "Multiply")
    await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)

    async def first_awaits_merge() -> bool:
        return await phase_of(runtime, epic_id, first) == "awaiting_merge"

    await Worker(runtime, DEFAULT_AGENTS).until(first_awaits_merge)
    view = await run_view(runtime, epic_id)

    outline = await autonomy.outline_epic_run(runtime.uow(read_only=True), epic_id, [third])

    assert outline is not None
    assert outline.run == replace(view.run, stories=())
    assert list(outline.phases.items()) == [(s.story_id, s.phase) for s in view.run.stories]
    assert outline.active_story_id == first
    # the story asked for, and the active one (whose agents the page shows), not the rest
    assert outline.progress == {
        item.story_id: item for item in view.run.stories if item.story_id in (first, third)
    }
    assert second not in outline.progress
    assert outline.agent_states == view.agent_states
    assert len(outline.agent_states) == 2  # the first story's developer and reviewer


async def test_an_epic_that_never_ran_has_no_run_outline(runtime: Runtime) -> None:
    epic_id, story_ids = await new_epic(runtime, "Add")

    assert await autonomy.outline_epic_run(runtime.uow(read_only=True), epic_id, story_ids) is None
