"""What an epic run does next, decided from what is stored (pure: no I/O).

The runner (``runner.py``) reads the run, its stories and their agents and pull
requests, asks these functions what to do, and does it. Keeping the decisions here
makes the ordering, waiting and stuck rules testable in microseconds.

Rules:

- Stories are driven one at a time, in dependency order: the epic's story order,
  with every story moved after the stories it depends on (``depends_on``).
- A pending story whose story is ``done`` already is skipped, and so is a
  ``cancelled`` one; a story that depends on a blocked or cancelled story is blocked
  with a reason naming it; a story whose dependencies are not all done waits.
- A story is stuck when nothing moved for ``stuck_after`` (its agent's last turn, its
  pull request's last change, the run's last step for it), or when its developer failed
  more than the run's attempts allow.
- The run ends when no story is active and none can start: ``completed`` when every
  story is done or skipped, ``completed_with_blocked`` when some are blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrate.autonomy.models import EpicRunStatus, StoryPhase
from orchestrate.stories.service import StoryStatus, dependency_order


@dataclass(frozen=True)
class StoryFacts:
    """A story of the run as the planner sees it."""

    id: str
    name: str
    """Its BMAD key, else its id: how messages name it."""
    status: StoryStatus
    depends_on: tuple[str, ...]
    phase: StoryPhase


@dataclass(frozen=True)
class Skip:
    story_id: str
    reason: str


@dataclass(frozen=True)
class Block:
    story_id: str
    reason: str


@dataclass(frozen=True)
class Wait:
    story_id: str
    waiting_for: str


@dataclass(frozen=True)
class Start:
    story_id: str


Decision = Skip | Block | Wait | Start


def run_order(stories: Sequence[StoryFacts]) -> list[str]:
    """The ids in the order the run drives them (raises ``ValidationFailed`` on a cycle)."""
    graph = {story.id: story.depends_on for story in stories}
    return dependency_order([story.id for story in stories], graph)


def plan(stories: Sequence[StoryFacts], *, may_start: bool) -> list[Decision]:
    """What to do with each pending story, in run order (``stories`` is in run order).

    At most one ``Start``, and none while a story is active or ``may_start`` is False
    (the run is paused); pending stories that cannot start get ``Wait`` saying why.
    """
    by_id = {story.id: story for story in stories}
    busy = any(story.phase.is_active for story in stories) or not may_start
    decisions: list[Decision] = []
    for story in stories:
        if story.phase is not StoryPhase.PENDING:
            continue
        decision = _pending(story, by_id, busy)
        if isinstance(decision, Start):
            busy = True
        decisions.append(decision)
    return decisions


def _pending(story: StoryFacts, by_id: Mapping[str, StoryFacts], busy: bool) -> Decision:
    if story.status is StoryStatus.DONE:
        return Skip(story.id, "done before the run reached it")
    if story.status is StoryStatus.CANCELLED:
        return Skip(story.id, "cancelled")
    waiting: list[str] = []
    for dependency_id in story.depends_on:
        dependency = by_id.get(dependency_id)
        if dependency is None:
            continue  # no longer in the epic: nothing to wait for
        if dependency.phase is StoryPhase.BLOCKED:
            return Block(story.id, f"depends on story {dependency.name}, which is blocked")
        if dependency.phase is StoryPhase.SKIPPED and dependency.status is StoryStatus.CANCELLED:
            return Block(story.id, f"depends on story {dependency.name}, which was cancelled")
        if dependency.status is not StoryStatus.DONE:
            waiting.append(dependency.name)
    if waiting:
        return Wait(story.id, "story " + ", ".join(waiting) + " to be done")
    if busy:
        return Wait(story.id, "its turn")
    return Start(story.id)


def outcome(phases: Iterable[StoryPhase]) -> EpicRunStatus | None:
    """How the run ends now, or None while a story is active or pending."""
    settled = list(phases)
    if not all(phase.is_settled for phase in settled):
        return None
    if any(phase is StoryPhase.BLOCKED for phase in settled):
        return EpicRunStatus.COMPLETED_WITH_BLOCKED
    return EpicRunStatus.COMPLETED


def last_progress(*moments: datetime | None) -> datetime:
    """The latest of the moments something moved (at least one must be given)."""
    known = [moment for moment in moments if moment is not None]
    if not known:
        raise ValueError("last_progress needs at least one moment")
    return max(known)


def is_stuck(last_moved: datetime, now: datetime, stuck_after: timedelta) -> bool:
    """Whether nothing moved for longer than ``stuck_after``."""
    return now - last_moved > stuck_after


def stuck_reason(phase: StoryPhase, stuck_after: timedelta, what: str) -> str:
    minutes = int(stuck_after.total_seconds() // 60)
    return f"no progress for {minutes} minutes while {_DOING[phase]} ({what})"


_DOING = {
    StoryPhase.DEVELOPING: "the developer worked on it",
    StoryPhase.AWAITING_PULL_REQUEST: "waiting for its pull request to open",
    StoryPhase.REVIEWING: "the code reviewer reviewed it",
    StoryPhase.AWAITING_MERGE: "waiting for its pull request to merge",
    StoryPhase.PENDING: "waiting to start",
    StoryPhase.DONE: "done",
    StoryPhase.SKIPPED: "skipped",
    StoryPhase.BLOCKED: "blocked",
}


def may_retry(attempts: int, max_attempts: int) -> bool:
    """Whether another developer may start after ``attempts`` ended without a result."""
    return attempts < max_attempts
