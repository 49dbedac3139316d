"""An epic run drives its stories one by one: developer → pull request → review posted on
the forge → merged → the next story, in dependency order."""

from __future__ import annotations

from orchestrate.agents import service as agents
from orchestrate.autonomy import service as autonomy
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryStatus
from orchestrate.testing import FakeGitHub
from tests.integration.autonomy.conftest import (
    DEFAULT_AGENTS,
    SYSTEM,
    Worker,
    merge,
    new_epic,
    phase_of,
    run_view,
)
from tests.integration.delivery.conftest import GITHUB_REPO, Project


async def event_types(runtime: Runtime, run_id: str) -> list[str]:
    async with runtime.uow(read_only=True) as uow:
        events = await read_events(
            uow.session, only=EventFilter(types=("epic_run.*",), subject=run_id)
        )
    return [event.type for event in events]


async def test_stories_run_in_dependency_order_from_developer_to_merged_pull_request(
    runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    on_github.refuse_own_reviews()  # as GitHub: no verdict on one's own pull request
    epic_id, (first, second) = await new_epic(runtime, "Addition", "Subtraction")
    worker = Worker(runtime, DEFAULT_AGENTS)

    started = await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)
    assert started.run.status is autonomy.EpicRunStatus.RUNNING
    assert [item.story_id for item in started.run.stories] == [first, second]

    async def first_awaits_merge() -> bool:
        return await phase_of(runtime, epic_id, first) == "awaiting_merge"

    await worker.until(first_awaits_merge)
    view = await run_view(runtime, epic_id)
    progress = view.run.progress_of(first)
    assert progress is not None
    assert progress.pull_request_number is not None
    number = progress.pull_request_number
    pull = on_github.pull_request(GITHUB_REPO, number)
    # GitHub refuses "request changes" on one's own pull request: a comment review
    # with the same line comment, the verdict in its body.
    assert [review.state for review in pull.reviews] == ["COMMENTED"]
    assert "Verdict: **request changes**" in pull.reviews[0].body
    assert [(t.path, t.line) for t in on_github.threads(GITHUB_REPO, number)] == [
        (f"{first}.txt", 1)
    ]
    assert progress.review_verdict == "request_changes"
    waiting = view.run.progress_of(second)
    assert waiting is not None
    assert waiting.phase is autonomy.StoryPhase.PENDING
    assert waiting.waiting_for is not None
    assert "to be done" in waiting.waiting_for

    await merge(runtime, on_github, number)

    async def second_awaits_merge() -> bool:
        return await phase_of(runtime, epic_id, second) == "awaiting_merge"

    await worker.until(second_awaits_merge)
    story = await stories.get_story(runtime.uow(read_only=True), first)
    assert story.status is StoryStatus.DONE
    second_progress = (await run_view(runtime, epic_id)).run.progress_of(second)
    assert second_progress is not None
    assert second_progress.pull_request_number is not None
    assert second_progress.pull_request_number != number
    # The second developer started from the remote's main, which holds the first merge.
    assert second_progress.developer_agent_id is not None
    developer = await agents.get_agent(
        runtime.uow(read_only=True), second_progress.developer_agent_id
    )
    first_merge = on_github.pull_request(GITHUB_REPO, number).merge_commit_sha
    assert first_merge is not None
    assert developer.base_commit == first_merge
    await merge(runtime, on_github, second_progress.pull_request_number)

    async def run_ended() -> bool:
        return not (await run_view(runtime, epic_id)).run.status.is_active

    await worker.until(run_ended)
    view = await run_view(runtime, epic_id)
    assert view.run.status is autonomy.EpicRunStatus.COMPLETED
    assert [item.phase.value for item in view.run.stories] == ["done", "done"]
    assert {s.status for s in view.stories.values()} == {StoryStatus.DONE}
    types = await event_types(runtime, view.run.id)
    assert types[0] == "epic_run.started"
    assert types[-1] == "epic_run.finished"
    assert types.count("epic_run.story_started") == 2
    assert types.count("epic_run.review_posted") == 2
