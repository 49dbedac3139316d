"""A story taken up by an agent: work starts, then the result goes to review.

The agent runtime calls these through ``stories.service``. Each move goes through the
story state machine one step at a time (``backlog → ready → in_progress``), so the
history shows every step with the reason ``agent``.
"""

from __future__ import annotations

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.events import record_event
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories._store import labels_of, story_row, to_story
from orchestrate.stories.events import StoryStatusChanged
from orchestrate.stories.models import Story, StoryStatus, check_transition
from orchestrate.stories.tables import StoryRow

_TOWARDS_WORK = {
    StoryStatus.BACKLOG: StoryStatus.READY,
    StoryStatus.READY: StoryStatus.IN_PROGRESS,
    StoryStatus.BLOCKED: StoryStatus.IN_PROGRESS,
    StoryStatus.REVIEW: StoryStatus.IN_PROGRESS,
}


async def start_work_on_story(uow: UnitOfWork, ref: str, agent_id: str, actor: Actor) -> Story:
    """Move a story to ``in_progress`` for an agent; a story already there stays."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await story_row(uow, ref)
        while StoryStatus(row.status) in _TOWARDS_WORK:
            _move(uow, row, _TOWARDS_WORK[StoryStatus(row.status)], agent_id)
        if StoryStatus(row.status) is not StoryStatus.IN_PROGRESS:
            check_transition(
                StoryStatus(row.status), StoryStatus.IN_PROGRESS, subject=f"story {row.id}"
            )
        row.assignee = row.assignee or f"agent:{agent_id}"
        await auth.record_audit(uow, actor, "story.start_work", row.id, {"agent_id": agent_id})
        await uow.commit()
        labels = (await labels_of(uow, [row.id])).get(row.id, ())
        return to_story(row, labels)


async def submit_story_for_review(
    uow: UnitOfWork, ref: str, branch: str, agent_id: str, actor: Actor
) -> Story:
    """Record the agent's branch and move the story from ``in_progress`` to ``review``."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await story_row(uow, ref)
        row.branch = branch
        if StoryStatus(row.status) is not StoryStatus.REVIEW:
            _move(uow, row, StoryStatus.REVIEW, agent_id)
        await auth.record_audit(
            uow, actor, "story.submit_for_review", row.id, {"agent_id": agent_id, "branch": branch}
        )
        await uow.commit()
        labels = (await labels_of(uow, [row.id])).get(row.id, ())
        return to_story(row, labels)


def _move(uow: UnitOfWork, row: StoryRow, target: StoryStatus, agent_id: str) -> None:
    current = StoryStatus(row.status)
    check_transition(current, target, subject=f"story {row.key or row.id}")
    row.status = target.value
    row.updated_at = uow.now()
    record_event(
        uow,
        StoryStatusChanged(
            subject=row.id, from_=current.value, to=target.value, reason="agent", agent_id=agent_id
        ),
    )
