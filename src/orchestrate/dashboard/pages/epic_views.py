"""What an epic's page shows: its progress by status, its stories in dependency order,
and, beside each, where the epic's autonomous run has got with it.

Built from what ``stories.epic_overview`` and ``autonomy.get_epic_run`` return, the
same two reads ``orchestrate epic show`` and ``orchestrate epic status`` make; each line
says what the CLI's "waiting for" column says (blocked because…, waiting for…, after…).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrate.autonomy import service as autonomy
from orchestrate.core.errors import ValidationFailed
from orchestrate.dashboard.pages.story_views import assigned_agent, pull_request_path
from orchestrate.stories import Epic, Story, StoryStatus
from orchestrate.stories import service as stories

_Phase = autonomy.StoryPhase


@dataclass(frozen=True)
class Progress:
    """An epic's stories counted by status, in workflow order (empty statuses left out)."""

    total: int
    done: int
    counts: list[tuple[StoryStatus, int]]

    @classmethod
    def of(cls, epic: Epic) -> Progress:
        counts = [(status, epic.story_counts.get(status, 0)) for status in StoryStatus]
        return cls(
            total=sum(n for _, n in counts),
            done=epic.story_counts.get(StoryStatus.DONE, 0),
            counts=[(status, n) for status, n in counts if n],
        )


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    is_external: bool = False


@dataclass(frozen=True)
class StoryLine:
    """One story of the epic, with the run's view of it when the run drives it."""

    position: int
    story: Story
    depends_on: list[Story]
    phase: str | None
    attempts: int
    agent_id: str | None
    agent_state: str | None
    pull_request: Link | None
    note: str | None


@dataclass(frozen=True)
class RunSummary:
    """The epic's active run, else its latest: status, where it is, what it waits for."""

    run: autonomy.EpicRun
    current: Story | None
    phases: list[tuple[str, int]]
    stuck_minutes: int
    deleted: int
    """Stories the run drove that are no longer in the epic."""

    @property
    def is_active(self) -> bool:
        return self.run.status.is_active


def ordered_stories(epic_stories: Sequence[Story]) -> tuple[list[Story], str]:
    """The epic's stories in dependency order, and a warning when they cannot be (a
    cycle that an import let in): then they stay in the epic's own order."""
    by_id = {story.id: story for story in epic_stories}
    try:
        order = stories.dependency_order(
            [story.id for story in epic_stories],
            {story.id: story.depends_on for story in epic_stories},
        )
    except ValidationFailed as error:
        return list(epic_stories), error.message
    return [by_id[story_id] for story_id in order], ""


def summary(view: autonomy.EpicRunView, epic_story_ids: set[str]) -> RunSummary:
    run = view.run
    active = next((item for item in run.stories if item.phase.is_active), None)
    phases: dict[str, int] = {}
    for item in run.stories:
        phases[item.phase.value] = phases.get(item.phase.value, 0) + 1
    return RunSummary(
        run=run,
        current=view.stories.get(active.story_id) if active else None,
        phases=[(phase.value, phases[phase.value]) for phase in _Phase if phase.value in phases],
        stuck_minutes=int(run.stuck_after.total_seconds() // 60),
        deleted=sum(1 for item in run.stories if item.story_id not in epic_story_ids),
    )


def lines(
    shown: Sequence[Story],
    start: int,
    every: Mapping[str, Story],
    view: autonomy.EpicRunView | None,
) -> list[StoryLine]:
    """The lines of ``shown`` (the page starting at index ``start`` of the order)."""
    return [_line(start + offset + 1, story, every, view) for offset, story in enumerate(shown)]


def _line(
    position: int, story: Story, every: Mapping[str, Story], view: autonomy.EpicRunView | None
) -> StoryLine:
    depends_on = [every[d] for d in story.depends_on if d in every]
    progress = view.run.progress_of(story.id) if view is not None else None
    if progress is None:
        link = Link("Pull request", story.pr_url, is_external=True) if story.pr_url else None
        return StoryLine(
            position=position,
            story=story,
            depends_on=depends_on,
            phase=None,
            attempts=0,
            agent_id=assigned_agent(story.assignee),
            agent_state=None,
            pull_request=link,
            note=story.blocked_reason,
        )
    assert view is not None
    agent_id = progress.developer_agent_id
    if progress.phase in (_Phase.REVIEWING, _Phase.AWAITING_MERGE):
        agent_id = progress.reviewer_agent_id or agent_id
    state = view.agent_states.get(agent_id) if agent_id else None
    link = None
    if progress.pull_request_repository and progress.pull_request_number is not None:
        link = Link(
            f"{progress.pull_request_repository}#{progress.pull_request_number}",
            pull_request_path(progress.pull_request_repository, progress.pull_request_number),
        )
    elif story.pr_url:
        link = Link("Pull request", story.pr_url, is_external=True)
    return StoryLine(
        position=position,
        story=story,
        depends_on=depends_on,
        phase=progress.phase.value,
        attempts=progress.attempts,
        agent_id=agent_id,
        agent_state=state.value if state is not None else None,
        pull_request=link,
        note=_note(progress, depends_on),
    )


def _note(progress: autonomy.StoryProgress, depends_on: list[Story]) -> str | None:
    """What the CLI's "waiting for" column says."""
    if progress.blocked_reason:
        return f"Blocked: {progress.blocked_reason}"
    if progress.waiting_for:
        return progress.waiting_for
    if progress.note:
        return progress.note
    if progress.phase is _Phase.PENDING and depends_on:
        return "After " + ", ".join(story.key or story.title for story in depends_on)
    return None
