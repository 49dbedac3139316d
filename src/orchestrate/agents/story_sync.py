"""A story follows its agent to the end: review with the branch, or back to the pool.

``_store.transition`` calls ``follow_story_when_committed`` whenever a top-level agent
working on a story reaches a final state, so the story moves in the same transaction
as the agent's last transition, whoever ends it (the loop, a cancel, a job that gave
up). The start side is ``service.start_agent``: it locks the story, refuses a second
active agent and moves the story to ``in_progress`` in the transaction that stores the
agent. The moves themselves, and the state machine they obey, are the stories
capability's (``stories.service``: ``submit_story_for_review``, ``release_story``).

How the story ends up:

- ``completed`` with commits on its branch → ``review``, with the branch recorded;
- ``completed`` without a commit → ``ready`` (there is nothing to review);
- ``failed`` after the agent reported ``blocked`` → ``blocked``, with its summary as the
  reason;
- any other ``failed``, or ``cancelled`` → ``ready``;

and the assignee ``agent:<id>`` is cleared unless the story went to review. Sub-agents
never move their parent's story.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from orchestrate.agents.models import AgentState, FinishStatus
from orchestrate.agents.tables import AgentRow
from orchestrate.agents.workspaces import Workspace, commits_since
from orchestrate.auth.service import Actor
from orchestrate.core.errors import OrchestrateError
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories import service as stories

log = structlog.get_logger(__name__)


def follows_story(row: AgentRow) -> bool:
    """Whether this run's end moves a story: a top-level run on one."""
    return row.story_id is not None and row.parent_id is None


def follow_story_when_committed(uow: UnitOfWork, row: AgentRow) -> None:
    """Move the run's story with the transaction that ends the run (read at commit
    time, after the caller has set the summary and finish status)."""

    async def follow() -> None:
        await _follow(uow, row)

    uow.before_commit(follow)


async def _follow(uow: UnitOfWork, row: AgentRow) -> None:
    assert row.story_id is not None
    state = AgentState(row.state)
    actor = Actor.system(f"agent:{row.id}")
    if state is AgentState.COMPLETED and row.branch and await _has_commits(row):
        await stories.submit_story_for_review(uow, row.story_id, row.branch, row.id, actor)
        return
    blocked = None
    if state is AgentState.FAILED and row.finish_status == FinishStatus.BLOCKED.value:
        blocked = row.summary or "the agent reported it is blocked"
    await stories.release_story(
        uow, row.story_id, row.id, actor, blocked_reason=blocked, detail=_ending(row, state)
    )


def _ending(row: AgentRow, state: AgentState) -> str:
    if state is AgentState.COMPLETED:
        return f"agent {row.id} completed without committing anything"
    if state is AgentState.FAILED:
        return f"agent {row.id} failed: {row.failure_reason or 'no reason given'}"
    return f"agent {row.id} was {state.value}"


async def _has_commits(row: AgentRow) -> bool:
    """Whether the run committed on its branch; a worktree git cannot read counts as none."""
    if not (row.workspace_path and row.base_commit and row.branch):
        return False
    workspace = Workspace(
        path=Path(row.workspace_path),
        branch=row.branch,
        base_ref=row.base_ref or row.base_commit,
        base_commit=row.base_commit,
    )
    try:
        return bool(await commits_since(workspace))
    except OrchestrateError:
        log.warning("agent_commits_unreadable", agent_id=row.id, exc_info=True)
        return False
