"""Epic runs and the progress of each of their stories: statuses, phases, the rules.

An epic run's status::

    running ⇄ paused
    running | paused → stopped                 (epic stop)
    running → completed | completed_with_blocked   (nothing left to do)

A story's phase within a run, in the order the run drives it::

    pending → developing → awaiting_pull_request → reviewing → awaiting_merge → done
    pending → skipped           (done or cancelled before the run reached it)
    any phase before done → blocked   (with the reason: stuck, out of attempts, a
                                       blocked dependency, a closed pull request)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from orchestrate.core.errors import InvalidTransition, ValidationFailed

DEFAULT_MAX_ATTEMPTS: Final = 3
MAX_ATTEMPTS_LIMIT: Final = 20
MIN_STUCK_MINUTES: Final = 1
MAX_STUCK_MINUTES: Final = 7 * 24 * 60


class EpicRunStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    COMPLETED_WITH_BLOCKED = "completed_with_blocked"
    STOPPED = "stopped"

    @property
    def is_active(self) -> bool:
        return self in (EpicRunStatus.RUNNING, EpicRunStatus.PAUSED)


_R = EpicRunStatus
_ALLOWED: Final = {
    _R.RUNNING: (_R.PAUSED, _R.STOPPED, _R.COMPLETED, _R.COMPLETED_WITH_BLOCKED),
    _R.PAUSED: (_R.RUNNING, _R.STOPPED),
    _R.COMPLETED: (),
    _R.COMPLETED_WITH_BLOCKED: (),
    _R.STOPPED: (),
}


def check_run_transition(current: EpicRunStatus, target: EpicRunStatus) -> bool:
    """Whether ``current`` → ``target`` changes anything; raises if it is not allowed."""
    if current == target:
        return False
    if target not in _ALLOWED[current]:
        allowed = ", ".join(status.value for status in _ALLOWED[current]) or "nothing (it ended)"
        raise InvalidTransition(
            f"An epic run that is {current.value} cannot become {target.value}; "
            f"it can become: {allowed}",
            current=current.value,
            target=target.value,
        )
    return True


class StoryPhase(StrEnum):
    PENDING = "pending"
    DEVELOPING = "developing"
    AWAITING_PULL_REQUEST = "awaiting_pull_request"
    REVIEWING = "reviewing"
    AWAITING_MERGE = "awaiting_merge"
    DONE = "done"
    SKIPPED = "skipped"
    BLOCKED = "blocked"

    @property
    def is_active(self) -> bool:
        """The run is working on the story (an agent, a pull request)."""
        return self in _ACTIVE

    @property
    def is_settled(self) -> bool:
        """The run has nothing more to do for the story."""
        return self in (StoryPhase.DONE, StoryPhase.SKIPPED, StoryPhase.BLOCKED)


_ACTIVE: Final = frozenset(
    {
        StoryPhase.DEVELOPING,
        StoryPhase.AWAITING_PULL_REQUEST,
        StoryPhase.REVIEWING,
        StoryPhase.AWAITING_MERGE,
    }
)


@dataclass(frozen=True)
class StoryProgress:
    """Where one story of a run stands."""

    story_id: str
    position: int
    phase: StoryPhase
    attempts: int
    """How many developer agents the run started on the story."""
    review_attempts: int
    developer_agent_id: str | None
    reviewer_agent_id: str | None
    pull_request_repository: str | None
    pull_request_number: int | None
    pull_request_url: str | None
    review_verdict: str | None
    review_url: str | None
    waiting_for: str | None
    blocked_reason: str | None
    note: str | None
    """Why the story was skipped."""
    progress_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class EpicRun:
    id: str
    epic_id: str
    repository: str
    status: EpicRunStatus
    stuck_after: timedelta
    max_attempts: int
    started_by: str
    reason: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    stories: tuple[StoryProgress, ...] = ()

    def progress_of(self, story_id: str) -> StoryProgress | None:
        return next((item for item in self.stories if item.story_id == story_id), None)


def check_limits(stuck_minutes: int, max_attempts: int) -> None:
    if not MIN_STUCK_MINUTES <= stuck_minutes <= MAX_STUCK_MINUTES:
        raise ValidationFailed(
            f"--stuck-minutes must be between {MIN_STUCK_MINUTES} and {MAX_STUCK_MINUTES}, "
            f"got {stuck_minutes}",
            field="stuck_minutes",
        )
    if not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT:
        raise ValidationFailed(
            f"--max-attempts must be between 1 and {MAX_ATTEMPTS_LIMIT}, got {max_attempts}",
            field="max_attempts",
        )
