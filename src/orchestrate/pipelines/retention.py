"""Retention of pipeline runs: finished runs go with their steps and step logs.

A finished run stays while live work still refers to it: a child run whose parent
still runs (the parent's step reads its outcome), a parent whose child still runs, a
run a live re-run reuses steps of, and a run whose step's agent has not ended yet.
Pipelines also guard agents: an agent started by a step of a live run is kept
(a keeper on the agents rule), since that step may still read or cancel it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import structlog

from orchestrate.agents import service as agents
from orchestrate.core.retention import Deleted, Keeper, Key, Retention, RetentionRule
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import _store as store
from orchestrate.pipelines.workspace import remove_workspace

log = structlog.get_logger(__name__)

# A run has a handful of steps, each a row of its own: 100 runs keep a batch near 1,000
# rows (100 runs of 4 steps: statements ~7 ms; up to ~120 ms wall on a busy machine).
RUN_BATCH = 100


class FinishedRuns(RetentionRule):
    name = "pipeline_runs"
    setting = "retention_runs"
    removes = "finished pipeline runs, their steps, step logs and any leftover workspace"
    batch_size = RUN_BATCH

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        return await store.finished_run_ids(uow, cutoff, after=after, limit=limit)

    async def still_needed(self, uow: UnitOfWork, keys: Sequence[Key]) -> set[Key]:
        needed = await store.runs_referred_to_by_live_runs(uow, keys)
        runs_by_agent = await store.agents_of_runs(uow, keys)
        for agent_id in await agents.live_agents_within(uow, list(runs_by_agent)):
            needed |= runs_by_agent[agent_id]
        return needed

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        leftovers = await store.delete_finished_runs(uow, keys, cutoff)

        async def cleanup() -> int:
            removed = 0
            for run in leftovers:
                removed += await _remove_files(run)
            return removed

        return Deleted(rows=len(leftovers), cleanup=cleanup if leftovers else None)


async def _remove_files(run: store.RunLeftovers) -> int:
    """The run's step logs and a workspace the end-of-run job did not remove."""
    removed = await asyncio.to_thread(_remove_logs, run)
    workspace = Path(run.workspace_path) if run.workspace_path else None
    if workspace is not None and await asyncio.to_thread(workspace.exists):
        await remove_workspace(workspace, Path(run.repo_path) if run.repo_path else None)
        removed += 1
    return removed


def _remove_logs(run: store.RunLeftovers) -> int:
    """The run's log folder (``<home>/pipelines/logs/<run>``: logs, outputs, pid files)."""
    removed = 0
    for folder in {Path(path).parent for path in run.log_paths}:
        if folder.name == run.run_id and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    for path in map(Path, run.log_paths):
        if path.parent.name != run.run_id and path.exists():  # a log kept elsewhere
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def _agents_of_live_runs(uow: UnitOfWork, keys: Sequence[Key]) -> set[Key]:
    return await store.agents_of_live_runs(uow, keys)


retention = Retention(
    rules=(FinishedRuns(),),
    keepers=(
        Keeper(
            rule="agents",
            why="agents started by a step of a live pipeline run",
            keep=_agents_of_live_runs,
        ),
    ),
)
"""What ``app/capabilities.py`` lists for pipelines."""
