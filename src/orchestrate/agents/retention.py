"""Retention of agent runs: finished runs go with their transcript, provider calls,
tool calls and any worktree or scratch folder left behind (the branch stays: its
commits are the agent's work).

A finished run stays while its family is live: a sub-agent whose parent still runs
(the parent reads its outcome), a parent whose sub-agent still runs. Pipelines add a
keeper for agents their live runs started (``pipelines/retention.py``).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents.workspaces import remove_workspace
from orchestrate.core.retention import Deleted, Key, Retention, RetentionRule
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Each run carries its whole transcript (often hundreds of rows): 25 runs keep a batch's
# transaction short (25 runs of 62 rows: statements ~5 ms; 50-140 ms wall on a busy machine).
AGENT_BATCH = 25


class FinishedAgents(RetentionRule):
    name = "agents"
    setting = "retention_agents"
    removes = (
        "finished agent runs, their transcript, provider and tool calls, and any "
        "leftover worktree or scratch folder (branches stay)"
    )
    batch_size = AGENT_BATCH

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        return await store.finished_agent_ids(uow, cutoff, after=after, limit=limit)

    async def still_needed(self, uow: UnitOfWork, keys: Sequence[Key]) -> set[Key]:
        return await store.agents_with_live_family(uow, keys)

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        leftovers = await store.delete_finished_agents(uow, keys, cutoff)
        with_files = [agent for agent in leftovers if agent.workspace_path]

        async def cleanup() -> int:
            removed = 0
            for agent in with_files:
                removed += await _remove_workspace(agent)
            return removed

        return Deleted(rows=len(leftovers), cleanup=cleanup if with_files else None)


async def _remove_workspace(agent: store.AgentLeftovers) -> int:
    """Remove the run's worktree (``agent cleanup``'s way) or scratch folder; 1 if removed."""
    assert agent.workspace_path is not None
    path = Path(agent.workspace_path)
    if not await asyncio.to_thread(path.exists):
        return 0
    if agent.repo_path and agent.branch:
        try:
            await remove_workspace(Path(agent.repo_path), path)
        except Exception as error:  # the repository moved or is gone: the folder still goes
            log.warning("retention_worktree_not_removed", agent_id=agent.agent_id, error=str(error))
            await asyncio.to_thread(shutil.rmtree, path, True)
    else:
        await asyncio.to_thread(shutil.rmtree, path, True)
    return 1


retention = Retention(rules=(FinishedAgents(),))
"""What ``app/capabilities.py`` lists for agents."""
