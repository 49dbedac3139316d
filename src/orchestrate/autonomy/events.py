"""The events of epic runs; subject: the run id (``erun_…``)."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class EpicRunStarted(DomainEvent):
    event_type: ClassVar[str] = "epic_run.started"
    epic_id: str
    repository: str
    stories: list[str]
    """The story ids in the order the run drives them."""


class EpicRunStatusChanged(DomainEvent):
    """Paused, resumed or stopped (``reason`` says by whom or why)."""

    event_type: ClassVar[str] = "epic_run.status_changed"
    epic_id: str
    from_status: str
    to_status: str
    reason: str | None = None


class EpicRunStoryStarted(DomainEvent):
    """A developer agent started on a story (``attempt`` counts from 1)."""

    event_type: ClassVar[str] = "epic_run.story_started"
    epic_id: str
    story_id: str
    agent_id: str
    attempt: int


class EpicRunStoryPhaseChanged(DomainEvent):
    event_type: ClassVar[str] = "epic_run.story_phase_changed"
    epic_id: str
    story_id: str
    from_phase: str
    to_phase: str
    detail: str | None = None


class EpicRunReviewPosted(DomainEvent):
    """The code reviewer's verdict was posted on the story's pull request.

    ``verdict`` is what the reviewer gave; ``posted_as`` what the forge took (a
    forge that refuses a verdict on one's own pull request gets a comment review)."""

    event_type: ClassVar[str] = "epic_run.review_posted"
    epic_id: str
    story_id: str
    agent_id: str
    pull_request: str
    verdict: str
    posted_as: str
    comments: int


class EpicRunStoryBlocked(DomainEvent):
    event_type: ClassVar[str] = "epic_run.story_blocked"
    epic_id: str
    story_id: str
    reason: str


class EpicRunFinished(DomainEvent):
    """The run ended: ``completed``, ``completed_with_blocked`` or ``stopped``."""

    event_type: ClassVar[str] = "epic_run.finished"
    epic_id: str
    status: str
    done: int
    blocked: int
    skipped: int
