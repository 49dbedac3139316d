"""Removing the worktrees of finished agents; their branches (and commits) stay.

Sub-agents count like any other run: a finished child's worktree goes even while its
parent still runs, since the parent reads the child's work from its branch, not its
directory. A run that is not finished keeps its worktree, whoever started it.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.agents import _store as store
from orchestrate.agents.workspaces import remove_workspace
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.uow import UnitOfWork


async def cleanup_workspaces(uow: UnitOfWork, actor: Actor) -> list[tuple[str, str]]:
    """Remove every finished agent's worktree; returns (agent id, path) pairs."""
    auth.authorize(actor, Permission.WRITE)
    async with uow.sibling(read_only=True) as reader:
        rows = await store.finished_with_workspace(reader)
    removed: list[tuple[str, str]] = []
    for row in rows:
        assert row.workspace_path is not None
        path = Path(row.workspace_path)
        if row.repo_path and row.branch:
            await remove_workspace(Path(row.repo_path), path)
        removed.append((row.id, str(path)))
    if not removed:
        return removed
    async with uow:
        for agent_id, _ in removed:
            stored = await store.find_agent_row(uow, agent_id)
            if stored is not None:
                stored.workspace_path = None
                stored.updated_at = uow.now()
        await auth.record_audit(uow, actor, "agent.cleanup", "agents", {"removed": len(removed)})
        await uow.commit()
    return removed
