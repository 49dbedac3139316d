"""The one place an epic run's status and its stories' phases change, with their events.

Every function works in the caller's entered unit of work on rows it locked
(``_store.run_row(..., for_update=True)``); the caller commits.
"""

from __future__ import annotations

from orchestrate.autonomy.events import (
    EpicRunFinished,
    EpicRunStatusChanged,
    EpicRunStoryBlocked,
    EpicRunStoryPhaseChanged,
)
from orchestrate.autonomy.models import EpicRunStatus, StoryPhase, check_run_transition
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.events import record_event
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories.service import clean_blocked_reason


def set_run_status(
    uow: UnitOfWork,
    run: EpicRunRow,
    target: EpicRunStatus,
    stories: list[EpicRunStoryRow],
    *,
    reason: str | None = None,
) -> bool:
    """Move the run; an ended run frees its epic for the next run and says how it went."""
    current = EpicRunStatus(run.status)
    if not check_run_transition(current, target):
        return False
    now = uow.now()
    run.status = target.value
    run.updated_at = now
    if reason is not None:
        run.reason = reason
    if not target.is_active:
        run.active_epic_id = None
        run.finished_at = now
        phases = [StoryPhase(story.phase) for story in stories]
        record_event(
            uow,
            EpicRunFinished(
                subject=run.id,
                epic_id=run.epic_id,
                status=target.value,
                done=phases.count(StoryPhase.DONE),
                blocked=phases.count(StoryPhase.BLOCKED),
                skipped=phases.count(StoryPhase.SKIPPED),
            ),
        )
    else:
        record_event(
            uow,
            EpicRunStatusChanged(
                subject=run.id,
                epic_id=run.epic_id,
                from_status=current.value,
                to_status=target.value,
                reason=reason,
            ),
        )
    return True


def set_phase(
    uow: UnitOfWork,
    run: EpicRunRow,
    story: EpicRunStoryRow,
    target: StoryPhase,
    *,
    detail: str | None = None,
) -> bool:
    """Move a story of the run to ``target`` (progress: now); False if it was there."""
    current = StoryPhase(story.phase)
    now = uow.now()
    story.progress_at = now
    if current is target:
        return False
    story.phase = target.value
    if current is StoryPhase.PENDING and target.is_active:
        story.started_at = story.started_at or now
    if target.is_settled:
        story.finished_at = now
    if target is not StoryPhase.PENDING:
        story.waiting_for = None
    run.updated_at = now
    record_event(
        uow,
        EpicRunStoryPhaseChanged(
            subject=run.id,
            epic_id=run.epic_id,
            story_id=story.story_id,
            from_phase=current.value,
            to_phase=target.value,
            detail=detail,
        ),
    )
    return True


def block(uow: UnitOfWork, run: EpicRunRow, story: EpicRunStoryRow, reason: str) -> str:
    """Block a story of the run with ``reason`` (cleaned); returns the stored reason."""
    cleaned = clean_blocked_reason(reason)
    story.blocked_reason = cleaned
    set_phase(uow, run, story, StoryPhase.BLOCKED, detail=cleaned)
    record_event(
        uow,
        EpicRunStoryBlocked(
            subject=run.id, epic_id=run.epic_id, story_id=story.story_id, reason=cleaned
        ),
    )
    return cleaned
