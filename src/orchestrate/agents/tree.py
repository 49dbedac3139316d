"""Agents as a tree: sub-agents with jobs of their own, budgets that bound the whole tree.

A ``spawn_agent`` call creates a child run keyed by the call (``spawn:<parent>:<call>``),
so however often the parent's turn is retried, paused, resumed or re-run after a crash,
each call starts exactly one child. The child is queued as its own ``agents.run`` job
with an ``on_finished`` continuation (``CHILD_FINISHED``); the parent's job ends and the
parent waits as ``waiting_for_children`` without holding a worker slot. The transaction
that ends a child records its result as the call's output (``record_in_parent``, run
inline rather than as a job) and, once no call of the parent waits any more, queues the
parent again.

Limits: a child gets the smaller of what it asks for and what each of its ancestors has
left, and every provider call counts toward the tree totals of the run and all its
ancestors (``_store.record_call``), which the loop checks against every ancestor's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents.continuation import AgentFinished, AgentOutcome, run_inline
from orchestrate.agents.limits import Spent, breached_limit
from orchestrate.agents.models import AgentState, ControlRequest, Limits, TreeTotals
from orchestrate.agents.queueing import children_job_key, enqueue_run
from orchestrate.agents.tables import AgentRow
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.jobs import JobContext, JobKind, JobPayload
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)


class SpawnCall(JobPayload):
    """Which ``spawn_agent`` call of which parent a child answers."""

    parent_id: str
    tool_use_id: str
    agent_type: str


CHILD_FINISHED = JobKind("agents.child_finished", AgentFinished[SpawnCall])


def continuation_key(child_id: str) -> str:
    """Idempotency key of the ``CHILD_FINISHED`` job of a child (``StoredContinuation``)."""
    return f"{CHILD_FINISHED.name}:{child_id}"


def spawn_origin(parent_id: str, tool_use_id: str) -> str:
    """The origin key of the child a ``spawn_agent`` call starts: one child per call."""
    return f"spawn:{parent_id}:{tool_use_id}"


# --- budgets -------------------------------------------------------------------------------


def with_unrecorded(budgets: Sequence[store.Budget], extra: TreeTotals) -> list[store.Budget]:
    """``budgets`` as they will be once ``extra`` (which the caller's transaction adds to
    each of their tree totals but has not written yet) is counted."""
    return [
        replace(
            budget,
            tree=TreeTotals(
                turns=budget.tree.turns + extra.turns,
                tokens=budget.tree.tokens + extra.tokens,
                cost_usd=budget.tree.cost_usd + extra.cost_usd,
                active_seconds=budget.tree.active_seconds + extra.active_seconds,
            ),
        )
        for budget in budgets
    ]


def spent_of(budget: store.Budget, unrecorded_seconds: float = 0.0) -> Spent:
    """What a run's tree spent, plus active time of the caller not yet stored."""
    return Spent(
        turns=budget.tree.turns,
        tokens=budget.tree.tokens,
        cost_usd=budget.tree.cost_usd,
        active=timedelta(seconds=budget.tree.active_seconds + unrecorded_seconds),
    )


def tree_breach(budgets: Sequence[store.Budget], unrecorded_seconds: float = 0.0) -> str | None:
    """The first ancestor whose tree has used up one of its limits, named, or None."""
    for budget in budgets:
        reason = breached_limit(budget.limits, spent_of(budget, unrecorded_seconds))
        if reason:
            return f"{reason} (budget of ancestor {budget.agent_id}, which bounds its sub-agents)"
    return None


def dollars_left(budgets: Sequence[store.Budget]) -> tuple[Decimal, store.Budget] | None:
    """The smallest dollar budget left among ``budgets``, and whose it is; None if unbounded."""
    tightest: tuple[Decimal, store.Budget] | None = None
    for budget in budgets:
        if budget.limits.max_cost_usd is None:
            continue
        left = budget.limits.max_cost_usd - budget.tree.cost_usd
        if tightest is None or left < tightest[0]:
            tightest = (left, budget)
    return tightest


def seconds_left(budgets: Sequence[store.Budget]) -> float | None:
    """The least active time any of ``budgets`` has left; None if none is bounded."""
    left = [
        budget.limits.max_wall_time.total_seconds() - budget.tree.active_seconds
        for budget in budgets
        if budget.limits.max_wall_time is not None
    ]
    return min(left) if left else None


def bounded_by_ancestors(asked: Limits, budgets: Sequence[store.Budget]) -> Limits:
    """``asked`` capped by what the parent and each further ancestor has left.

    Refused (``ValidationFailed``, which the parent's model reads) when an ancestor has
    nothing left of a limit: the child could not make a single call.
    """
    turns, tokens, cost, wall = (
        asked.max_turns,
        asked.max_tokens,
        asked.max_cost_usd,
        asked.max_wall_time,
    )
    for budget in budgets:
        limits, spent = budget.limits, budget.tree
        reason = breached_limit(limits, spent_of(budget))
        if reason:
            raise ValidationFailed(
                f"no budget left for a sub-agent: {reason} (agent {budget.agent_id})",
                field="budget",
            )
        turns = min(turns, limits.max_turns - spent.turns)
        if limits.max_tokens is not None:
            left_tokens = limits.max_tokens - spent.tokens
            tokens = left_tokens if tokens is None else min(tokens, left_tokens)
        if limits.max_cost_usd is not None:
            left_cost = limits.max_cost_usd - spent.cost_usd
            cost = left_cost if cost is None else min(cost, left_cost)
        if limits.max_wall_time is not None:
            left_wall = limits.max_wall_time - timedelta(seconds=spent.active_seconds)
            wall = left_wall if wall is None else min(wall, left_wall)
    return Limits(
        max_turns=turns,
        max_tokens=tokens,
        max_cost_usd=cost,
        max_wall_time=wall,
        stuck_repeats=asked.stuck_repeats,
    )


# --- a child ended ---------------------------------------------------------------------------


def result_text(call: SpawnCall, outcome: AgentOutcome) -> str:
    """What the parent's model reads as the ``spawn_agent`` call's result."""
    if outcome.state is AgentState.COMPLETED:
        summary = outcome.summary or ""
        return f"Sub-agent {outcome.agent_id} ({call.agent_type}) completed:\n\n{summary}"
    detail = outcome.failure_reason or outcome.summary or ""
    return f"Sub-agent {outcome.agent_id} ({call.agent_type}) ended {outcome.state.value}: {detail}"


async def child_finished(context: JobContext[AgentFinished[SpawnCall]]) -> dict[str, str]:
    """Record a child's result on its parent's call; queue the parent once none waits.

    Runs for children whose end was handed over as a job (those ended before the
    hand-off was done in the ending transaction, ``record_in_parent``).
    """
    call, outcome = context.payload.context, context.payload.outcome
    async with context.runtime.uow() as uow:
        result = await record_in_parent(uow, call, outcome)
        await uow.commit()
    return {"parent_id": call.parent_id, "outcome": result}


async def record_in_parent(uow: UnitOfWork, call: SpawnCall, outcome: AgentOutcome) -> str:
    """Record a child's result as its ``spawn_agent`` call's output and queue the parent
    once no call of it waits any more; says what happened.

    Runs in the transaction that ends the child (``run_inline``). The parent's row is
    locked, as the parent does before it starts waiting, so a child ending while its
    parent is still deciding to wait is never missed. The child's own row is already
    locked: rows of a tree are locked bottom-up, as everywhere.
    """
    parent = await store.find_agent_row_locked(uow, call.parent_id)
    if parent is None:
        return "parent deleted"
    await store.record_child_result(
        uow,
        parent.id,
        call.tool_use_id,
        result_text(call, outcome),
        outcome.state is not AgentState.COMPLETED,
    )
    return "resumed" if await resume_when_children_ended(uow, parent) else "recorded"


async def _record_inline(uow: UnitOfWork, context: dict[str, Any], outcome: AgentOutcome) -> None:
    await record_in_parent(uow, SpawnCall.model_validate(context), outcome)


run_inline(CHILD_FINISHED, _record_inline)


async def resume_when_children_ended(uow: UnitOfWork, parent: AgentRow) -> bool:
    """Queue a parent waiting for children when none of its calls waits any more."""
    if AgentState(parent.state) is not AgentState.WAITING_FOR_CHILDREN:
        return False
    if await store.children_awaited(uow, parent.id):
        return False
    store.transition(uow, parent, AgentState.RUNNING)
    await enqueue_run(uow, parent.id, "children", key=children_job_key(parent.id, parent.turns))
    return True


# --- cascades --------------------------------------------------------------------------------


async def pause_descendants(uow: UnitOfWork, parent_id: str) -> None:
    """Pause every live descendant: running ones on request, waiting ones at once.

    A child waiting for input keeps waiting (an answer is what it needs); one not
    started yet pauses itself when it starts (``starting.begin``).
    """
    for child in await store.live_children(uow, parent_id):
        state = AgentState(child.state)
        if state is AgentState.RUNNING:
            child.control = ControlRequest.PAUSE.value
            child.updated_at = uow.now()
        elif state in (AgentState.WAITING_FOR_APPROVAL, AgentState.WAITING_FOR_CHILDREN):
            store.transition(uow, child, AgentState.PAUSED, reason=f"its parent {parent_id} paused")
        await pause_descendants(uow, child.id)


async def resume_descendants(uow: UnitOfWork, parent_id: str) -> None:
    """Resume the descendants a pause of ``parent_id`` paused (or was about to)."""
    for child in await store.live_children(uow, parent_id):
        state = AgentState(child.state)
        if state is AgentState.PAUSED:
            store.transition(uow, child, AgentState.RUNNING)
            await enqueue_run(uow, child.id, "resume")
        elif state is AgentState.RUNNING and child.control == ControlRequest.PAUSE.value:
            child.control = None
        await resume_descendants(uow, child.id)


async def check_parent(
    uow: UnitOfWork, row: AgentRow, lineage: Sequence[store.Budget] | None = None
) -> AgentState | None:
    """What a child must do before it runs: be cancelled when its parent is gone or has
    ended, pause when its parent is paused, else nothing (None). ``lineage``: the
    parent's ``lineage_budgets`` when the caller read them (they carry its state)."""
    if row.parent_id is None:
        return None
    if lineage is not None:
        return parent_verdict(row.parent_id, lineage)
    return _verdict(await store.parent_state(uow, row.parent_id))


def parent_verdict(parent_id: str | None, lineage: Sequence[store.Budget]) -> AgentState | None:
    """``check_parent`` of a run whose parent is ``parent_id``, given the parent's
    ``lineage_budgets`` (empty when the parent is gone)."""
    if parent_id is None:
        return None
    found = lineage[0].state if lineage and lineage[0].agent_id == parent_id else None
    return _verdict(found)


def _verdict(parent: AgentState | None) -> AgentState | None:
    if parent is None or parent.is_terminal:
        return AgentState.CANCELLED
    if parent is AgentState.PAUSED:
        return AgentState.PAUSED
    return None
