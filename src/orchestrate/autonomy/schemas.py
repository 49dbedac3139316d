"""Request and response models of epic runs, shared by the API and ``--json``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.autonomy.models import (
    MAX_ATTEMPTS_LIMIT,
    MAX_STUCK_MINUTES,
    MIN_STUCK_MINUTES,
    EpicRunStatus,
    StoryPhase,
    StoryProgress,
)
from orchestrate.autonomy.service import EpicRunView
from orchestrate.stories import StoryStatus


class EpicRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str | None = Field(
        default=None,
        max_length=200,
        description="The registered repository (owner/name) the agents work in; required "
        "when more than one is registered.",
    )
    stuck_minutes: int | None = Field(
        default=None,
        ge=MIN_STUCK_MINUTES,
        le=MAX_STUCK_MINUTES,
        description="Block a story when nothing moved on it for this long (default: the "
        "epic_run_stuck_minutes setting).",
    )
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ATTEMPTS_LIMIT,
        description="Developer agents per story before it is blocked (default: the "
        "epic_run_max_attempts setting).",
    )


class PullRequestRefOut(BaseModel):
    repository: str
    number: int
    url: str | None


class StoryProgressOut(BaseModel):
    story_id: str
    key: str | None
    title: str | None = Field(description="None when the story was deleted.")
    story_status: StoryStatus | None
    phase: StoryPhase
    attempts: int = Field(description="Developer agents started on the story.")
    review_attempts: int
    developer_agent_id: str | None
    reviewer_agent_id: str | None
    agent_id: str | None = Field(description="The agent working on it now, if any.")
    agent_state: str | None
    pull_request: PullRequestRefOut | None
    review_verdict: str | None
    review_url: str | None
    waiting_for: str | None
    blocked_reason: str | None
    note: str | None
    depends_on: list[str]
    progress_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class EpicRunOut(BaseModel):
    id: str
    epic_id: str
    epic_key: str | None
    epic_title: str
    repository: str
    status: EpicRunStatus
    stuck_minutes: int
    max_attempts: int
    started_by: str
    reason: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    stories: list[StoryProgressOut]

    @classmethod
    def of(cls, view: EpicRunView) -> EpicRunOut:
        run = view.run
        return cls(
            id=run.id,
            epic_id=run.epic_id,
            epic_key=view.epic.key,
            epic_title=view.epic.title,
            repository=run.repository,
            status=run.status,
            stuck_minutes=int(run.stuck_after.total_seconds() // 60),
            max_attempts=run.max_attempts,
            started_by=run.started_by,
            reason=run.reason,
            created_at=run.created_at,
            updated_at=run.updated_at,
            finished_at=run.finished_at,
            stories=[_story(view, item) for item in run.stories],
        )


def _story(view: EpicRunView, item: StoryProgress) -> StoryProgressOut:
    story = view.stories.get(item.story_id)
    agent_id = None
    if item.phase is StoryPhase.DEVELOPING:
        agent_id = item.developer_agent_id
    elif item.phase is StoryPhase.REVIEWING:
        agent_id = item.reviewer_agent_id
    state = view.agent_states.get(agent_id) if agent_id is not None else None
    pull_request = None
    if item.pull_request_repository is not None and item.pull_request_number is not None:
        pull_request = PullRequestRefOut(
            repository=item.pull_request_repository,
            number=item.pull_request_number,
            url=item.pull_request_url,
        )
    return StoryProgressOut(
        story_id=item.story_id,
        key=story.key if story else None,
        title=story.title if story else None,
        story_status=story.status if story else None,
        phase=item.phase,
        attempts=item.attempts,
        review_attempts=item.review_attempts,
        developer_agent_id=item.developer_agent_id,
        reviewer_agent_id=item.reviewer_agent_id,
        agent_id=agent_id,
        agent_state=state.value if state is not None else None,
        pull_request=pull_request,
        review_verdict=item.review_verdict,
        review_url=item.review_url,
        waiting_for=item.waiting_for,
        blocked_reason=item.blocked_reason,
        note=item.note,
        depends_on=list(story.depends_on) if story else [],
        progress_at=item.progress_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
    )
