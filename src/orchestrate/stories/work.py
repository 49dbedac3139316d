"""A story taken up by an agent: the one place an agent's life moves a story.

The agents capability calls these through ``stories.service``, each inside the
transaction that changes the agent (the caller has entered ``uow`` and commits it), so
a story and its agent never disagree after a crash:

- ``story_for_agent`` locks the story before an agent is added to it, and refuses a
  story no agent may start on (``done``, ``cancelled``);
- ``start_work_on_story`` moves it to ``in_progress`` and assigns it to the agent
  (``agent:<id>``), one state-machine step at a time (``backlog → ready →
  in_progress``), so the history shows every step;
- ``submit_story_for_review`` records a completed agent's branch and moves the story to
  ``review``; ``release_story`` gives the story of a failed, cancelled or blocked
  agent back: ``ready`` (or ``blocked``, with the agent's reason) and no assignee;
- ``record_pull_request`` records the pull request opened for the agent's branch
  (``pr_url``) and moves a story still ``in_progress`` on to ``review``.

A story follows only the agent it is assigned to: once another agent was started on it
with ``--force``, or a person assigned it to someone, the first agent's end leaves it
alone. The end of an agent never fails because of its story: a move the state machine
refuses (someone moved the story meanwhile) is skipped, and a deleted story is ignored.
Every move goes through ``models.check_transition`` with the reason ``agent``.
"""

from __future__ import annotations

import structlog

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import InvalidTransition, NotFound
from orchestrate.core.events import record_event
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories._store import labels_of, story_row, to_story
from orchestrate.stories.events import StoryStatusChanged, StoryUpdated
from orchestrate.stories.models import (
    Story,
    StoryStatus,
    check_transition,
    clean_blocked_reason,
)
from orchestrate.stories.tables import StoryRow

log = structlog.get_logger(__name__)

_TOWARDS_WORK = {
    StoryStatus.BACKLOG: StoryStatus.READY,
    StoryStatus.READY: StoryStatus.IN_PROGRESS,
    StoryStatus.BLOCKED: StoryStatus.IN_PROGRESS,
    StoryStatus.REVIEW: StoryStatus.IN_PROGRESS,
}


def agent_assignee(agent_id: str) -> str:
    """The assignee of a story an agent works on."""
    return f"agent:{agent_id}"


async def story_for_agent(uow: UnitOfWork, ref: str) -> Story:
    """The story ``ref``, locked for the caller's entered transaction, if an agent may
    start on it; ``InvalidTransition`` for a ``done`` or ``cancelled`` story.

    Called before the agent is stored: while the lock is held, no other start on the
    same story can look for active agents, so of two concurrent starts exactly one sees
    the other's agent.
    """
    row = await story_row(uow, ref, for_update=True)
    status = StoryStatus(row.status)
    name = row.key or row.id
    if status is StoryStatus.DONE:
        raise InvalidTransition(
            f"Story {name} is done; reopen it first "
            f"(orchestrate story update {name} --status in_progress) to start an agent on it",
            story_id=row.id,
            current=status.value,
        )
    if status is StoryStatus.CANCELLED:
        raise InvalidTransition(
            f"Story {name} is cancelled; restore it first "
            f"(orchestrate story update {name} --status backlog) to start an agent on it",
            story_id=row.id,
            current=status.value,
        )
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def start_work_on_story(uow: UnitOfWork, ref: str, agent_id: str, actor: Actor) -> Story:
    """Move a story to ``in_progress`` and assign it to the agent, in the caller's
    entered transaction (the one storing the agent)."""
    auth.authorize(actor, Permission.WRITE)
    row = await story_row(uow, ref, for_update=True)
    while StoryStatus(row.status) in _TOWARDS_WORK:
        _move(uow, row, _TOWARDS_WORK[StoryStatus(row.status)], agent_id)
    _move(uow, row, StoryStatus.IN_PROGRESS, agent_id)
    row.assignee = agent_assignee(agent_id)
    row.updated_at = uow.now()
    await auth.record_audit(uow, actor, "story.start_work", row.id, {"agent_id": agent_id})
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def submit_story_for_review(
    uow: UnitOfWork, ref: str, branch: str, agent_id: str, actor: Actor
) -> Story | None:
    """Record a completed agent's branch and move its story to ``review``, in the
    caller's entered transaction; None when the story is not (or no longer) the agent's."""
    auth.authorize(actor, Permission.WRITE)
    row = await _agents_story(uow, ref, agent_id)
    if row is None:
        return None
    row.branch = branch
    row.updated_at = uow.now()
    _move_if_allowed(uow, row, StoryStatus.REVIEW, agent_id, detail=None)
    details = {"agent_id": agent_id, "branch": branch, "status": row.status}
    await auth.record_audit(uow, actor, "story.submit_for_review", row.id, details)
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def record_pull_request(
    uow: UnitOfWork, ref: str, pr_url: str, agent_id: str, actor: Actor
) -> Story | None:
    """Record the pull request of an agent's work on its story, in the caller's entered
    transaction; a story still ``in_progress`` moves to ``review``. None when the story
    is gone. Unlike the moves above, this does not need the story to be assigned to the
    agent any more: the pull request exists whoever holds the story now."""
    auth.authorize(actor, Permission.WRITE)
    try:
        row = await story_row(uow, ref, for_update=True)
    except NotFound:
        log.info("pull_request_story_gone", story=ref, agent_id=agent_id)
        return None
    if row.pr_url != pr_url:
        row.pr_url = pr_url
        row.updated_at = uow.now()
        record_event(uow, StoryUpdated(subject=row.id, fields=["pr_url"]))
    if StoryStatus(row.status) is StoryStatus.IN_PROGRESS:
        _move_if_allowed(uow, row, StoryStatus.REVIEW, agent_id, detail=f"pull request {pr_url}")
    details = {"agent_id": agent_id, "pr_url": pr_url, "status": row.status}
    await auth.record_audit(uow, actor, "story.pull_request", row.id, details)
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def record_pull_request_merged(
    uow: UnitOfWork, ref: str, pr_url: str, actor: Actor
) -> Story | None:
    """The story's pull request was merged: a story in ``review`` (or still
    ``in_progress``) is ``done``, in the caller's entered transaction. None when the story
    is gone; a story a person moved elsewhere (blocked, cancelled) keeps its status."""
    auth.authorize(actor, Permission.WRITE)
    try:
        row = await story_row(uow, ref, for_update=True)
    except NotFound:
        log.info("merged_story_gone", story=ref, pr_url=pr_url)
        return None
    current = StoryStatus(row.status)
    if current is StoryStatus.IN_PROGRESS:
        _move(uow, row, StoryStatus.REVIEW, None, detail=f"pull request {pr_url}")
        current = StoryStatus.REVIEW
    if current is StoryStatus.REVIEW:
        row.assignee = None
        _move(uow, row, StoryStatus.DONE, None, detail=f"pull request {pr_url} merged")
    details = {"pr_url": pr_url, "status": row.status}
    await auth.record_audit(uow, actor, "story.pull_request_merged", row.id, details)
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def release_story(
    uow: UnitOfWork,
    ref: str,
    agent_id: str,
    actor: Actor,
    *,
    blocked_reason: str | None = None,
    detail: str | None = None,
) -> Story | None:
    """Give the story of an agent that ended without a result back, in the caller's
    entered transaction: ``ready`` with no assignee, or ``blocked`` when the agent
    reported ``blocked_reason``. None when the story is not (or no longer) the agent's.

    ``detail`` (why the agent ended) goes into the status event and the audit entry; a
    story a person has moved on from ``in_progress`` keeps its status.
    """
    auth.authorize(actor, Permission.WRITE)
    row = await _agents_story(uow, ref, agent_id)
    if row is None:
        return None
    before = StoryStatus(row.status)
    row.assignee = None
    row.updated_at = uow.now()
    if before is StoryStatus.IN_PROGRESS:
        target = StoryStatus.BLOCKED if blocked_reason is not None else StoryStatus.READY
        _move_if_allowed(uow, row, target, agent_id, detail=blocked_reason or detail)
        if row.status == StoryStatus.BLOCKED and blocked_reason is not None:
            row.blocked_reason = clean_blocked_reason(blocked_reason)
    details = {
        "agent_id": agent_id,
        "from": before.value,
        "to": row.status,
        "reason": blocked_reason or detail,
    }
    await auth.record_audit(uow, actor, "story.release", row.id, details)
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def _agents_story(uow: UnitOfWork, ref: str, agent_id: str) -> StoryRow | None:
    """The story, locked, if it is still assigned to the agent."""
    try:
        row = await story_row(uow, ref, for_update=True)
    except NotFound:
        log.info("agent_story_gone", story=ref, agent_id=agent_id)
        return None
    if row.assignee != agent_assignee(agent_id):
        log.info("agent_story_not_followed", story_id=row.id, agent_id=agent_id)
        return None
    return row


def _move_if_allowed(
    uow: UnitOfWork, row: StoryRow, target: StoryStatus, agent_id: str, *, detail: str | None
) -> None:
    try:
        _move(uow, row, target, agent_id, detail=detail)
    except InvalidTransition:
        log.info(
            "agent_story_move_skipped", story_id=row.id, status=row.status, target=target.value
        )


def _move(
    uow: UnitOfWork,
    row: StoryRow,
    target: StoryStatus,
    agent_id: str | None,
    *,
    detail: str | None = None,
) -> None:
    reason = "agent" if agent_id else "pull_request"
    _step(uow, row, target, reason=reason, agent_id=agent_id, detail=detail)


def _step(
    uow: UnitOfWork,
    row: StoryRow,
    target: StoryStatus,
    *,
    reason: str,
    agent_id: str | None = None,
    detail: str | None = None,
) -> None:
    current = StoryStatus(row.status)
    if not check_transition(current, target, subject=_subject(row)):
        return
    row.status = target.value
    if target is not StoryStatus.BLOCKED:
        row.blocked_reason = None
    row.updated_at = uow.now()
    record_event(
        uow,
        StoryStatusChanged(
            subject=row.id,
            from_=current.value,
            to=target.value,
            reason=reason,
            agent_id=agent_id,
            detail=detail,
        ),
    )


async def block_story(
    uow: UnitOfWork, ref: str, reason: str, actor: Actor, *, by: str
) -> Story | None:
    """Move a story to ``blocked`` saying why, in the caller's entered transaction (an
    epic run that gave up on it: ``by="epic_run"``). A done or cancelled story keeps
    its status (None); a story already blocked gets the new reason."""
    auth.authorize(actor, Permission.WRITE)
    try:
        row = await story_row(uow, ref, for_update=True)
    except NotFound:
        return None
    if StoryStatus(row.status).is_terminal:
        return None
    cleaned = clean_blocked_reason(reason)
    _step(uow, row, StoryStatus.BLOCKED, reason=by, detail=cleaned)
    row.blocked_reason = cleaned
    row.updated_at = uow.now()
    details = {"reason": cleaned, "by": by}
    await auth.record_audit(uow, actor, "story.block", row.id, details)
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


async def complete_story(
    uow: UnitOfWork, ref: str, actor: Actor, *, by: str, detail: str | None = None
) -> Story | None:
    """Move a story to ``done`` (its pull request merged), in the caller's entered
    transaction, passing through ``review`` when it is not there yet; a cancelled or
    missing story is left alone (None)."""
    auth.authorize(actor, Permission.WRITE)
    try:
        row = await story_row(uow, ref, for_update=True)
    except NotFound:
        return None
    status = StoryStatus(row.status)
    if status is StoryStatus.CANCELLED:
        return None
    if status is not StoryStatus.DONE:
        if status is not StoryStatus.REVIEW:
            _step(uow, row, StoryStatus.REVIEW, reason=by, detail=detail)
        _step(uow, row, StoryStatus.DONE, reason=by, detail=detail)
        row.assignee = None
        await auth.record_audit(uow, actor, "story.complete", row.id, {"by": by, "detail": detail})
    return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


def _subject(row: StoryRow) -> str:
    return f"story {row.key or row.id}"
