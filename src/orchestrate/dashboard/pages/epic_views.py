"""What an epic's page shows: its progress by status, its stories in dependency order,
and, beside each, where the epic's autonomous run has got with it.

Built from the same facts ``orchestrate epic show`` and ``orchestrate epic status``
show, read lightly: the order comes from every story's outline
(``stories.epic_outline``), the run's summary from every story's phase
(``autonomy.outline_epic_run``), and only the stories on the page (with the stories
they depend on, and the run's current one) are read whole. Each line says what the
CLI's "waiting for" column says (blocked because…, waiting for…, after…).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from orchestrate.autonomy import service as autonomy
from orchestrate.core.errors import ValidationFailed
from orchestrate.dashboard.pages.story_views import assigned_agent, pull_request_path
from orchestrate.stories import Epic, Story, StoryOutline, StoryStatus
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


def ordered_stories(outlines: Sequence[StoryOutline]) -> tuple[list[str], str]:
    """The ids of the epic's stories in dependency order, and a warning when they cannot
    be (a cycle that an import let in): then they stay in the epic's own order."""
    try:
        order = stories.dependency_order(
            [story.id for story in outlines],
            {story.id: story.depends_on for story in outlines},
        )
    except ValidationFailed as error:
        return [story.id for story in outlines], error.message
    return order, ""


def stories_to_read(
    shown: Sequence[str], outlines: Sequence[StoryOutline], run: autonomy.EpicRunOutline | None
) -> set[str]:
    """The stories the page shows whole: its window, the stories those depend on and the
    run's current story."""
    by_id = {story.id: story for story in outlines}
    wanted = set(shown)
    for story_id in shown:
        outline = by_id.get(story_id)
        if outline is not None:
            wanted.update(d for d in outline.depends_on if d in by_id)
    current = run.active_story_id if run is not None else None
    if current is not None:
        wanted.add(current)
    return wanted


def summary(
    run: autonomy.EpicRunOutline, epic_story_ids: Set[str], read: Mapping[str, Story]
) -> RunSummary:
    """``read``: the stories read whole, the run's current one among them."""
    phases: dict[str, int] = {}
    for phase in run.phases.values():
        phases[phase.value] = phases.get(phase.value, 0) + 1
    current = run.active_story_id
    return RunSummary(
        run=run.run,
        current=read.get(current) if current is not None else None,
        phases=[(phase.value, phases[phase.value]) for phase in _Phase if phase.value in phases],
        stuck_minutes=int(run.run.stuck_after.total_seconds() // 60),
        deleted=sum(1 for story_id in run.phases if story_id not in epic_story_ids),
    )


def lines(
    shown: Sequence[str],
    start: int,
    read: Mapping[str, Story],
    run: autonomy.EpicRunOutline | None,
) -> list[StoryLine]:
    """The lines of ``shown`` (the page starting at index ``start`` of the order);
    ``read`` holds them and the stories they depend on. A story deleted since the order
    was read has no line (the others keep their place)."""
    return [
        _line(start + offset + 1, read[story_id], read, run)
        for offset, story_id in enumerate(shown)
        if story_id in read
    ]


def _line(
    position: int, story: Story, read: Mapping[str, Story], run: autonomy.EpicRunOutline | None
) -> StoryLine:
    depends_on = [read[d] for d in story.depends_on if d in read]
    progress = run.progress.get(story.id) if run is not None else None
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
    assert run is not None
    agent_id = progress.developer_agent_id
    if progress.phase in (_Phase.REVIEWING, _Phase.AWAITING_MERGE):
        agent_id = progress.reviewer_agent_id or agent_id
    state = run.agent_states.get(agent_id) if agent_id else None
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
