"""An agent job's first step: start a new run, or read a resumed one, in as few
transactions as it takes.

A new run is moved to ``running`` with its first message stored in one transaction
(``_start_or_stop``); a run resumed after its children, an answer or a crash is only read
(``_resumable``). The first jobs of many runs often begin together (a reply that spawns
twenty children queues twenty starts, which one claim hands to one worker): a
``StartBatcher`` then starts all that begin in the same turn of the event loop in one
transaction, a handful of statements whatever their number, where each alone costs
seven round trips to the database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents import tree
from orchestrate.agents.loop import SavedLoop, load_saved, start_transcripts
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)


async def begin(
    runtime: Runtime,
    agent_id: str,
    *,
    resuming: bool,
    starts: StartBatcher | None = None,
) -> Begun:
    """A resumed run that may go on: read it with its transcript (no write, no lock);
    any other run: started (with the others ``starts`` gathers, if given) or stopped."""
    if starts is not None and not resuming:
        begun = await starts.start(agent_id)
        if begun is not None:
            return begun
    return await _begin_alone(runtime, agent_id, resuming=resuming)


@dataclass(frozen=True)
class Begun:
    """A run as its job found it: ``saved`` for a new run, the root of its tree (for its
    trace, ``core.tracing``) and whether this job started it."""

    run: AgentRun
    saved: SavedLoop | None
    root_id: str
    is_new: bool


async def _begin_alone(runtime: Runtime, agent_id: str, *, resuming: bool) -> Begun:
    """A resumed run that may go on: read it with its transcript (no write, no lock);
    any other run: ``_start_or_stop``."""
    resumed = await _resumable(runtime, agent_id) if resuming else None
    return resumed if resumed is not None else await _start_or_stop(runtime, agent_id)


async def _resumable(runtime: Runtime, agent_id: str) -> Begun | None:
    """A run already ``running`` (resumed after its children, an answer or a crash)
    whose parent, if any, still runs: its row, lineage and transcript in one read-only
    pass, nothing to write. None when anything needs changing (``_start_or_stop``).

    A parent that ends or pauses after this read reaches the run through its control
    flag, as it would a run already looping.
    """
    async with runtime.uow(read_only=True) as uow:
        row = await store.agent_row(uow, agent_id)
        if AgentState(row.state) is not AgentState.RUNNING or (
            row.workspace_path is None and not row.repo_path
        ):
            return None
        lineage = await store.lineage_budgets(uow, row.parent_id) if row.parent_id else []
        if await tree.check_parent(uow, row, lineage) is not None:
            return None
        saved = await load_saved(uow, row, lineage=lineage)
        root_id = lineage[-1].agent_id if lineage else row.id  # nearest ancestor first
        return Begun(store.to_run(row), saved, root_id, is_new=False)


async def _start_or_stop(runtime: Runtime, agent_id: str) -> Begun:
    """Mark the run running and, for a new run, store its first message: one transaction.

    A sub-agent whose parent ended (or is gone) is cancelled instead, and one whose
    parent is paused pauses (the parent's resume resumes it). A run without a
    repository gets its scratch folder here, so starting it costs no further commit.
    """
    async with runtime.uow() as uow:
        # The run and its ancestors in one query; a new run whose parent lets it start
        # (every agent's first job) is started with one UPDATE, no lock taken first.
        chain = await store.lineage_budgets(uow, agent_id)
        if chain and chain[0].state is AgentState.CREATED:
            own, ancestors = chain[0], chain[1:]
            if tree.parent_verdict(own.parent_id, ancestors) is None:
                begun = await _start_created(runtime, uow, agent_id, ancestors)
                if begun is not None:
                    return begun
        row = await store.agent_row(uow, agent_id, for_update=True)
        new = AgentState(row.state) is AgentState.CREATED
        # Read before changing the row, so its changes go out in one UPDATE at commit.
        instead, lineage = None, None
        if new or AgentState(row.state) is AgentState.RUNNING:
            if row.parent_id is not None:  # one query: the ancestors' budgets and states
                lineage = await store.lineage_budgets(uow, row.parent_id)
            instead = await tree.check_parent(uow, row, lineage)
        if new:
            store.transition(uow, row, AgentState.RUNNING)
        if AgentState(row.state) is AgentState.RUNNING and instead is not None:
            why = "ended" if instead is AgentState.CANCELLED else "is paused"
            store.transition(uow, row, instead, reason=f"its parent {row.parent_id} {why}")
        saved = None
        if AgentState(row.state) is AgentState.RUNNING:
            if row.workspace_path is None and not row.repo_path:
                scratch = runtime.settings.home / "workspaces" / row.id
                # Off the event loop: a mkdir costs ~0.5 ms of blocking I/O, and a tree's
                # children start together.
                await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
                row.workspace_path = str(scratch)
            if new:  # nothing to read yet; a resumed run's transcript, possibly long, is
                # read by its loop outside this transaction (SQLite has one writer).
                saved = await load_saved(uow, row, new=True, lineage=lineage)
        await uow.commit()
        root_id = lineage[-1].agent_id if lineage else row.id  # nearest ancestor first
        return Begun(store.to_run(row), saved, root_id, new)


async def _start_created(
    runtime: Runtime, uow: UnitOfWork, agent_id: str, ancestors: list[store.Budget]
) -> Begun | None:
    """``_start_or_stop`` of a ``created`` run its parent lets start, in ``uow``; None when
    a concurrent change got there first (the caller then locks the row and looks)."""
    scratch = runtime.settings.home / "workspaces" / agent_id
    rows = await store.start_created(uow, [agent_id], str(scratch.parent) + os.sep)
    if not rows:
        return None
    (row,) = rows
    if row.workspace_path == str(scratch):
        await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
    saved = await load_saved(uow, row, new=True, lineage=ancestors)
    await uow.commit()
    root_id = ancestors[-1].agent_id if ancestors else agent_id  # nearest ancestor first
    return Begun(store.to_run(row), saved, root_id, is_new=True)


class StartBatcher:
    """Starts the ``created`` runs whose jobs begin in the same turn of the event loop in
    one transaction (one per worker process and database).

    A job asks with ``start``; the first request of a turn schedules the batch for the
    next one, so every job task the runner created in this turn has asked by then. Runs
    the batch could not start (not ``created`` any more, a parent that ended or is
    paused, a failed transaction) get None and take the one-run path, which decides
    what they do.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._waiting: dict[str, asyncio.Future[Begun | None]] = {}

    async def start(self, agent_id: str) -> Begun | None:
        if agent_id in self._waiting:  # the same run twice at once: the second goes alone
            return None
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._flush_soon)
        waiter: asyncio.Future[Begun | None] = loop.create_future()
        self._waiting[agent_id] = waiter
        return await waiter

    def _flush_soon(self) -> None:
        batch, self._waiting = self._waiting, {}
        task = asyncio.get_running_loop().create_task(self._flush(batch))
        _FLUSHES.add(task)
        task.add_done_callback(_FLUSHES.discard)

    async def _flush(self, batch: dict[str, asyncio.Future[Begun | None]]) -> None:
        started: dict[str, Begun] = {}
        if len(batch) > 1:
            try:
                started = await start_many(self.runtime, list(batch))
            except Exception:
                log.warning("agent_batch_start_failed", agents=len(batch), exc_info=True)
        for agent_id, waiter in batch.items():
            if not waiter.done():
                waiter.set_result(started.get(agent_id))


_FLUSHES: set[asyncio.Task[None]] = set()
"""Batches in flight, kept referenced until done (the loop holds tasks weakly)."""


async def start_many(runtime: Runtime, agent_ids: Sequence[str]) -> dict[str, Begun]:
    """``_start_or_stop`` of the ``created`` runs of ``agent_ids`` whose parents let them
    start, in one transaction: one query for every lineage, one ``UPDATE`` for every
    state, one ``INSERT`` for every first message (``start_transcripts``). Runs it does
    not start are left out."""
    root = str(runtime.settings.home / "workspaces") + os.sep
    async with runtime.uow() as uow:
        chains = await store.lineages(uow, agent_ids)
        startable = [
            agent_id
            for agent_id in agent_ids
            if (chain := chains.get(agent_id))
            and chain[0].state is AgentState.CREATED
            and tree.parent_verdict(chain[0].parent_id, chain[1:]) is None
        ]
        rows = await store.start_created(uow, startable, root)
        scratch = [Path(row.workspace_path) for row in rows if row.workspace_path == root + row.id]
        if scratch:
            await asyncio.to_thread(_make_folders, scratch)
        ancestors = {row.id: chains[row.id][1:] for row in rows}
        saved = await start_transcripts(uow, rows, ancestors)
        await uow.commit()
    return {
        row.id: Begun(
            store.to_run(row),
            saved[row.id],
            ancestors[row.id][-1].agent_id if ancestors[row.id] else row.id,
            is_new=True,
        )
        for row in rows
    }


def _make_folders(folders: Sequence[Path]) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
