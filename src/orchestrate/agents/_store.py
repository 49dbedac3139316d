"""Reading and writing agent runs, their transcript, provider calls and tool calls.

Private to the agents capability (used by ``service.py`` and the loop); callers pass
an entered unit of work and commit it themselves.

Every secret value in a message, a tool call's arguments or a tool's output is replaced
by ``***`` (``core.masking``) before it is stored, so neither the transcript API nor a
resumed run shows one; the running loop keeps what the model really said in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import aliased

from orchestrate.agents.continuation import (
    AgentOutcome,
    StoredContinuation,
    announce_end_when_committed,
    inline_continuation,
)
from orchestrate.agents.events import STATE_EVENTS, AgentCreated, AgentMessageRecorded
from orchestrate.agents.models import (
    AgentRun,
    AgentState,
    ChildRef,
    ControlRequest,
    FinishStatus,
    Limits,
    ToolCallRecord,
    ToolCallStatus,
    TreeTotals,
    check_transition,
    limits_from_json,
)
from orchestrate.agents.stats import COST_QUANTUM, FinishedSample, GroupTotals, StatsFilter
from orchestrate.agents.story_sync import follow_story_when_committed, follows_story
from orchestrate.agents.tables import AgentCallRow, AgentMessageRow, AgentRow, AgentToolCallRow
from orchestrate.core.errors import NotFound
from orchestrate.core.events import record_event
from orchestrate.core.jobs import enqueue_many
from orchestrate.core.masking import process_masker
from orchestrate.core.pagination import newest_first
from orchestrate.core.retention import Key
from orchestrate.core.retention.sql import delete_where, keys_where
from orchestrate.core.uow import UnitOfWork
from orchestrate.llm.service import CallRecord, Message, ToolUseBlock

RunRecord = AgentRow | Row[Any]
"""A run's row as the ORM loaded it or as a Core statement returned it (``start_created``):
what reads it use the same attribute names."""


async def agent_row(uow: UnitOfWork, agent_id: str, *, for_update: bool = False) -> AgentRow:
    query = _AGENT_LOCKED if for_update else _AGENT
    row = await uow.session.scalar(query, {"agent_id": agent_id})
    if row is None:
        raise NotFound(f"No agent {agent_id!r}; see 'orchestrate agent list'", agent_id=agent_id)
    return row


def to_run(row: AgentRow | Row[Any]) -> AgentRun:
    return AgentRun(
        id=row.id,
        type=row.type,
        state=AgentState(row.state),
        task=row.task,
        story_id=row.story_id,
        parent_id=row.parent_id,
        provider=row.provider,
        model=row.model,
        repo_path=row.repo_path,
        workspace_path=row.workspace_path,
        branch=row.branch,
        base_ref=row.base_ref,
        base_commit=row.base_commit,
        limits=limits_from_json(dict(row.limits)),
        record_path=row.record_path,
        control=ControlRequest(row.control) if row.control else None,
        turns=row.turns,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cost_usd=Decimal(row.cost_usd),
        active_seconds=row.active_seconds,
        tree=TreeTotals(
            turns=row.tree_turns or 0,
            tokens=row.tree_tokens or 0,
            cost_usd=Decimal(row.tree_cost_usd or 0),
            active_seconds=row.tree_active_seconds or 0.0,
        ),
        finish_status=FinishStatus(row.finish_status) if row.finish_status else None,
        summary=row.summary,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        pipeline=row.pipeline,
        pipeline_run_id=row.pipeline_run_id,
    )


def transition(
    uow: UnitOfWork,
    row: AgentRow,
    target: AgentState,
    *,
    reason: str | None = None,
    may_have_children: bool = True,
) -> None:
    """The one place an agent changes state (``start_created`` is its form for the
    commonest change, created to running, without the ORM); it also writes the event.

    A final state also queues the run's ``on_finished`` job, ends the run's live
    sub-agents and moves the story of a top-level run (``story_sync.py``), all in the
    caller's transaction. A caller that knows the run never started a sub-agent (its
    loop saw no ``spawn_agent`` call) passes ``may_have_children=False``, which saves
    looking for them.
    """
    current = AgentState(row.state)
    if current == target:
        return
    check_transition(row.id, current, target)
    now = uow.now()
    row.state = target.value
    row.updated_at = now
    if target is AgentState.RUNNING and row.started_at is None:
        row.started_at = now
    if target.is_terminal:
        row.finished_at = now
        row.control = None
        if row.on_finished:
            _notify_when_committed(uow, row)
        if may_have_children:
            _end_children_when_committed(uow, row)
        if follows_story(row):
            follow_story_when_committed(uow, row)
        announce_end_when_committed(uow, row)
    if reason:
        reason = process_masker().mask(reason)
    if target is AgentState.FAILED and reason:
        row.failure_reason = reason
    _record_state_change(uow, row, current, target, reason)


def _record_state_change(
    uow: UnitOfWork,
    row: AgentRow | Row[Any],
    current: AgentState,
    target: AgentState,
    reason: str | None = None,
) -> None:
    """The event of a change of state ``row`` (as changed) went through."""
    now = uow.now()
    ended = target.is_terminal
    changed = STATE_EVENTS[target](
        subject=row.id,
        from_=current.value,
        to=target.value,
        type=row.type,
        reason=reason or None,
        turns=row.turns if ended else None,
        duration_seconds=(now - (row.started_at or now)).total_seconds() if ended else None,
    )
    record_event(uow, changed)


async def start_created(
    uow: UnitOfWork, agent_ids: Sequence[str], scratch_root: str
) -> list[Row[Any]]:
    """Move the ``created`` runs of ``agent_ids`` to ``running`` with one ``UPDATE …
    RETURNING`` (no read and no ORM row first: every agent starts this way, so it is a
    hot path), giving each run without a repository or workspace the folder
    ``scratch_root`` + its id as its workspace. Runs no longer ``created`` (a concurrent
    change won) are left out: the caller locks their rows and looks again.

    ``transition``'s work for this change is the event; the caller makes the folders.
    """
    if not agent_ids:
        return []
    check_transition(agent_ids[0], AgentState.CREATED, AgentState.RUNNING)
    params = {"p_ids": list(agent_ids), "p_now": uow.now(), "p_scratch": scratch_root}
    rows = list((await uow.session.execute(_START_CREATED, params)).all())
    for row in rows:
        _record_state_change(uow, row, AgentState.CREATED, AgentState.RUNNING)
    return rows


def _start_created_statement() -> Any:
    agents = _table(AgentRow)
    c = agents.c
    scratch = _param("p_scratch", c.workspace_path)
    return (
        update(agents)
        .where(
            c.id.in_(bindparam("p_ids", expanding=True)),
            c.state == AgentState.CREATED.value,
        )
        .values(
            state=AgentState.RUNNING.value,
            updated_at=_param("p_now", c.updated_at),
            started_at=func.coalesce(c.started_at, _param("p_now", c.started_at)),
            workspace_path=case(
                (
                    and_(c.workspace_path.is_(None), func.coalesce(c.repo_path, "") == ""),
                    scratch + c.id,
                ),
                else_=c.workspace_path,
            ),
        )
        .returning(*c)
    )


def _notify_when_committed(uow: UnitOfWork, row: AgentRow) -> None:
    """Enqueue the run's ``on_finished`` job in the transaction that ends it.

    The payload gets the outcome (read at commit time, after the caller has set the
    summary), so whoever waits on the agent needs nothing else from this capability.
    """
    continuation = StoredContinuation.model_validate(row.on_finished)

    async def notify() -> None:
        outcome = AgentOutcome(
            agent_id=row.id,
            state=AgentState(row.state),
            summary=row.summary,
            branch=row.branch,
            failure_reason=row.failure_reason,
            cost_usd=Decimal(row.cost_usd or 0),
        )
        inline = inline_continuation(continuation.kind)
        if inline is not None:
            await inline(uow, continuation.payload, outcome)
        else:
            await enqueue_many(uow, [continuation.job(outcome)])

    uow.before_commit(notify)


def _end_children_when_committed(uow: UnitOfWork, row: AgentRow) -> None:
    """A run that ended takes its live sub-agents with it: none is left running.

    A running child gets a cancel request (its loop stops within a second or so); one
    that does not run is cancelled here, which in turn ends its own children.
    """

    async def cancel_children() -> None:
        for child in await live_children(uow, row.id):
            if AgentState(child.state) is AgentState.RUNNING:
                child.control = ControlRequest.CANCEL.value
                child.updated_at = uow.now()
            else:
                transition(uow, child, AgentState.CANCELLED, reason=f"its parent {row.id} ended")

    uow.before_commit(cancel_children)


async def live_children(uow: UnitOfWork, parent_id: str) -> list[AgentRow]:
    """The sub-agents of ``parent_id`` that have not ended, locked for a change of state."""
    query = (
        select(AgentRow)
        .where(AgentRow.parent_id == parent_id, AgentRow.state.in_(_LIVE))
        .order_by(AgentRow.created_at, AgentRow.id)
        .with_for_update()
    )
    return list(await uow.session.scalars(query))


async def children_of(uow: UnitOfWork, parent_ids: Sequence[str]) -> dict[str, list[ChildRef]]:
    """The sub-agents of each of ``parent_ids``, oldest first (one query)."""
    if not parent_ids:
        return {}
    rows = await uow.session.execute(
        select(AgentRow.parent_id, AgentRow.id, AgentRow.type, AgentRow.state)
        .where(AgentRow.parent_id.in_(list(parent_ids)))
        .order_by(AgentRow.created_at, AgentRow.id)
    )
    found: dict[str, list[ChildRef]] = {}
    for parent_id, child_id, child_type, state in rows.all():
        found.setdefault(str(parent_id), []).append(
            ChildRef(child_id, child_type, AgentState(state))
        )
    return found


async def with_children(uow: UnitOfWork, run: AgentRun) -> AgentRun:
    """``run`` with its sub-agents listed."""
    children = await children_of(uow, [run.id])
    return replace(run, children=tuple(children.get(run.id, ())))


async def agents_with_parents(uow: UnitOfWork, parent_ids: Sequence[str]) -> list[AgentRow]:
    """The runs whose parent is one of ``parent_ids``, oldest first."""
    query = (
        select(AgentRow)
        .where(AgentRow.parent_id.in_(list(parent_ids)))
        .order_by(AgentRow.created_at, AgentRow.id)
    )
    return list(await uow.session.scalars(query))


_MAX_ANCESTRY = 64


async def parent_state(uow: UnitOfWork, agent_id: str) -> AgentState | None:
    """The state of run ``agent_id`` (a parent a child checks on), None if it is gone."""
    state = await uow.session.scalar(_STATE, {"agent_id": agent_id})
    return None if state is None else AgentState(state)


async def lineage_budgets(uow: UnitOfWork, agent_id: str) -> list[Budget]:
    """The budgets (and states) of ``agent_id`` and each of its ancestors, nearest first,
    in one recursive query built once (building it costs more Python than running it);
    empty when ``agent_id`` does not exist.

    The walk stops after ``_MAX_ANCESTRY`` levels, so even a corrupt cycle of parents
    cannot make it endless (a tree is at most ``max_agent_depth`` deep)."""
    rows = (await uow.session.execute(_LINEAGE_BUDGETS, {"agent_id": agent_id})).all()
    found: list[Budget] = []
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:  # a corrupt cycle of parents: stop where it closes
            break
        seen.add(row.id)
        found.append(_budget(row))
    return found


async def lineages(uow: UnitOfWork, agent_ids: Sequence[str]) -> dict[str, list[Budget]]:
    """``lineage_budgets`` of each of ``agent_ids`` (the run first, then its ancestors),
    in one recursive query; runs that do not exist are left out."""
    if not agent_ids:
        return {}
    rows = (await uow.session.execute(_LINEAGES, {"p_ids": list(agent_ids)})).all()
    found: dict[str, list[Budget]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if (row.origin, row.id) in seen:  # a corrupt cycle of parents
            continue
        seen.add((row.origin, row.id))
        found.setdefault(row.origin, []).append(_budget(row))
    return found


def _lineages_query() -> Select[Any]:
    agents = _table(AgentRow)
    own = agents.alias("own")
    start = (
        select(own.c.id.label("origin"), own.c.id.label("id"), literal(0).label("depth"))
        .where(own.c.id.in_(bindparam("p_ids", expanding=True)))
        .cte("lineages", recursive=True)
    )
    child = agents.alias("child")
    lineage = start.union_all(
        select(start.c.origin, child.c.parent_id, start.c.depth + 1).where(
            child.c.id == start.c.id,
            child.c.parent_id.is_not(None),
            start.c.depth < _MAX_ANCESTRY,
        )
    )
    c = agents.c
    return (
        select(lineage.c.origin, *_lineage_columns(agents))
        .join_from(lineage, agents, c.id == lineage.c.id)
        .order_by(lineage.c.origin, lineage.c.depth)
    )


def _lineage_columns(agents: Table) -> tuple[ColumnElement[Any], ...]:
    """What a lineage query reads of each run: ``Budget``'s fields."""
    c = agents.c
    return (
        c.id,
        c.limits,
        c.tree_turns,
        c.tree_tokens,
        c.tree_cost_usd,
        c.tree_active_seconds,
        c.state,
        c.parent_id,
    )


def _lineage_budgets_query() -> Select[Any]:
    agents = _table(AgentRow)
    start = select(
        bindparam("agent_id", type_=agents.c.id.type).label("id"), literal(0).label("depth")
    ).cte("lineage", recursive=True)
    child = agents.alias("child")
    lineage = start.union_all(
        select(child.c.parent_id, start.c.depth + 1).where(
            child.c.id == start.c.id,
            child.c.parent_id.is_not(None),
            start.c.depth < _MAX_ANCESTRY,
        )
    )
    c = agents.c
    return (
        select(*_lineage_columns(agents))
        .join_from(lineage, agents, c.id == lineage.c.id)
        .order_by(lineage.c.depth)
    )


@dataclass(frozen=True)
class Budget:
    """A run's limits and what its tree spent, as limits across a tree compare them."""

    agent_id: str
    limits: Limits
    tree: TreeTotals
    state: AgentState | None = None
    """The run's state, where the query read it (``lineage_budgets``)."""
    parent_id: str | None = None
    """The run's parent, where the query read it (``lineage_budgets``)."""


async def budgets(uow: UnitOfWork, agent_ids: Sequence[str]) -> list[Budget]:
    """Limits and tree totals of ``agent_ids``, in the order given."""
    if not agent_ids:
        return []
    agents = _table(AgentRow).c
    rows = await uow.session.execute(
        select(
            agents.id,
            agents.limits,
            agents.tree_turns,
            agents.tree_tokens,
            agents.tree_cost_usd,
            agents.tree_active_seconds,
        ).where(agents.id.in_(list(agent_ids)))
    )
    by_id = {row.id: _budget(row) for row in rows.all()}
    return [by_id[i] for i in agent_ids if i in by_id]


def _budget(row: Any) -> Budget:
    return Budget(
        row.id,
        limits_from_json(dict(row.limits)),
        TreeTotals(
            row.tree_turns or 0,
            row.tree_tokens or 0,
            Decimal(row.tree_cost_usd or 0),
            row.tree_active_seconds or 0.0,
        ),
        AgentState(row.state) if "state" in row._fields else None,
        row.parent_id if "parent_id" in row._fields else None,
    )


@dataclass(frozen=True)
class Shortfall:
    """The ancestor (or run) whose dollar limit has no room for a call."""

    agent_id: str
    left: Decimal
    limit: Decimal
    reserved: Decimal


async def reserve_dollars(
    uow: UnitOfWork, lineage: Sequence[str], amount: Decimal
) -> Shortfall | None:
    """Reserve ``amount`` for the model call of ``lineage[0]`` on it and its ancestors, if
    every dollar limit among them has room for it beyond what was spent and reserved;
    otherwise reserve nothing and say whose limit has no room.

    The rows are locked bottom-up, so concurrent sub-agents reserve one after another.
    """
    agents = _table(AgentRow)
    columns = (agents.c.id, agents.c.limits, agents.c.tree_cost_usd, agents.c.tree_reserved_usd)
    rows = []
    for agent_id in lineage:  # bottom-up, as record_call locks them
        found = await uow.session.execute(
            select(*columns).where(agents.c.id == agent_id).with_for_update()
        )
        row = found.one_or_none()
        if row is not None:
            rows.append(row)
    for row in rows:
        limit = limits_from_json(dict(row.limits)).max_cost_usd
        if limit is None:
            continue
        reserved = Decimal(row.tree_reserved_usd or 0)
        left = limit - Decimal(row.tree_cost_usd or 0) - reserved
        if amount > left:
            return Shortfall(row.id, left, limit, reserved)
    await _add_reserved(uow, lineage, amount)
    return None


async def release_dollars(uow: UnitOfWork, lineage: Sequence[str], amount: Decimal) -> None:
    """Give back what ``reserve_dollars`` reserved for a call that ended or never happened."""
    if amount:
        await _add_reserved(uow, lineage, -amount)


async def _add_reserved(uow: UnitOfWork, lineage: Sequence[str], amount: Decimal) -> None:
    agents = _table(AgentRow)
    await uow.session.execute(
        update(agents)
        .where(agents.c.id == lineage[0])
        .values(
            reserved_usd=agents.c.reserved_usd + amount,
            tree_reserved_usd=agents.c.tree_reserved_usd + amount,
        )
    )
    for ancestor in lineage[1:]:
        await uow.session.execute(
            update(agents)
            .where(agents.c.id == ancestor)
            .values(tree_reserved_usd=agents.c.tree_reserved_usd + amount)
        )


async def add_tree_active(uow: UnitOfWork, agent_ids: Sequence[str], seconds: float) -> None:
    """Count ``seconds`` of one run's active time toward it and its ancestors."""
    if not agent_ids or seconds <= 0:
        return
    _update_ancestors_at_commit(
        uow, _ADD_TREE_ACTIVE, [{"p_id": agent_id, "p_seconds": seconds} for agent_id in agent_ids]
    )


def _update_ancestors_at_commit(
    uow: UnitOfWork, statement: Any, rows: list[dict[str, Any]]
) -> None:
    """Run ``statement`` for each of ``rows`` (ancestors, nearest first) as the transaction
    commits, after its other work.

    Every run of a tree adds to its root's totals, so the root's row is the one all of
    them lock: taking it last keeps it locked for a commit, not for the whole
    transaction (PostgreSQL). The order stays bottom-up — the run's own row earlier in
    the transaction, then its parent, grandparent… — the one order every writer locks a
    tree's rows in, so writers sharing ancestors never wait on each other in a cycle.
    """

    async def update() -> None:
        await uow.session.execute(statement, rows)

    # Last even when other callbacks are added after it: a run ending with its model
    # call records the call first, and ending it then locks the parent ``FOR UPDATE``
    # (``tree.record_in_parent``). Taken after this UPDATE's weaker lock, that would be
    # an upgrade, which deadlocks with a sibling already queued for the row.
    uow.before_commit(update, last=True)


async def mark_awaiting_children(
    uow: UnitOfWork, agent_id: str, tool_use_ids: Sequence[str]
) -> None:
    """``spawn_agent`` calls whose child now exists wait for it (unless already done)."""
    if not tool_use_ids:
        return
    calls = _table(AgentToolCallRow)
    await uow.session.execute(
        update(calls)
        .where(
            calls.c.agent_id == agent_id,
            calls.c.tool_use_id.in_(list(tool_use_ids)),
            calls.c.status == ToolCallStatus.PENDING.value,
        )
        .values(status=ToolCallStatus.AWAITING_CHILD.value)
    )


async def record_child_result(
    uow: UnitOfWork, agent_id: str, tool_use_id: str, output: str, is_error: bool
) -> bool:
    """The child's result as the output of its ``spawn_agent`` call; False if recorded before."""
    result = await uow.session.execute(
        _RECORD_CHILD_RESULT,
        {
            "p_agent_id": agent_id,
            "p_tool_use_id": tool_use_id,
            "p_output": process_masker().mask(output),
            "p_is_error": is_error,
            "p_now": uow.now(),
        },
    )
    return bool(getattr(result, "rowcount", 0))


async def children_awaited(uow: UnitOfWork, agent_id: str) -> int:
    """How many of the run's ``spawn_agent`` calls still wait for their child."""
    count = await uow.session.scalar(_CHILDREN_AWAITED, {"agent_id": agent_id})
    return int(count or 0)


async def load_transcript(uow: UnitOfWork, agent_id: str) -> list[Message]:
    rows = await uow.session.scalars(
        select(AgentMessageRow)
        .where(AgentMessageRow.agent_id == agent_id)
        .order_by(AgentMessageRow.seq)
    )
    return [Message.model_validate({"role": r.role, "content": r.content}) for r in rows]


async def transcript_page(
    uow: UnitOfWork, agent_id: str, *, after_seq: int = -1, limit: int = 500
) -> list[tuple[int, datetime, Message]]:
    rows = await uow.session.scalars(
        select(AgentMessageRow)
        .where(AgentMessageRow.agent_id == agent_id, AgentMessageRow.seq > after_seq)
        .order_by(AgentMessageRow.seq)
        .limit(limit)
    )
    return [
        (r.seq, r.created_at, Message.model_validate({"role": r.role, "content": r.content}))
        for r in rows
    ]


async def transcript_before(
    uow: UnitOfWork, agent_id: str, *, before_seq: int | None, limit: int
) -> list[tuple[int, datetime, Message]]:
    """Up to ``limit`` messages just before ``before_seq`` (the newest when None), newest
    first: one index range of ``(agent_id, seq)``, however long the transcript."""
    query = select(AgentMessageRow).where(AgentMessageRow.agent_id == agent_id)
    if before_seq is not None:
        query = query.where(AgentMessageRow.seq < before_seq)
    rows = await uow.session.scalars(query.order_by(AgentMessageRow.seq.desc()).limit(limit))
    return [
        (r.seq, r.created_at, Message.model_validate({"role": r.role, "content": r.content}))
        for r in rows
    ]


async def append_message(uow: UnitOfWork, agent_id: str, seq: int, message: Message) -> None:
    """One transcript message. Plain INSERTs (no ORM objects) keep a turn's cost low:
    bench/agent_loop.py showed each extra statement at ~0.5 ms."""
    await append_messages(uow, [(agent_id, seq, message)])


async def append_messages(uow: UnitOfWork, items: Sequence[tuple[str, int, Message]]) -> None:
    """``append_message`` for several (agent, seq, message) at once, in one statement."""
    if not items:
        return
    masker = process_masker()
    now = uow.now()
    rows = [
        {
            "agent_id": agent_id,
            "seq": seq,
            "role": message.role.value,
            "content": [
                masker.mask_value(block.model_dump(mode="json")) for block in message.content
            ],
            "created_at": now,
        }
        for agent_id, seq, message in items
    ]
    await uow.session.execute(_INSERT_MESSAGE, rows if len(rows) > 1 else rows[0])
    for agent_id, seq, message in items:
        record_event(uow, AgentMessageRecorded(subject=agent_id, seq=seq, role=message.role.value))


async def record_call(
    uow: UnitOfWork,
    agent_id: str,
    call: CallRecord,
    active_seconds: float,
    *,
    ancestors: Sequence[str] = (),
    active_delta: float = 0.0,
    released: Decimal = Decimal(0),
) -> AgentRun:
    """Store one provider call and add its usage and cost to the run's totals, and to the
    tree totals of the run and each of its ``ancestors`` (``active_delta``: the run's
    active time since it last counted toward them).

    One ``UPDATE … RETURNING`` adds to the totals in the database, so no read comes first.
    Rows of a tree are always locked bottom-up (the run, its parent, …): writers that
    share ancestors then never wait on each other in a cycle. The statements are built
    once (``_RECORD_*``): building them cost more than running them.
    """
    usage = call.usage
    tree = _tree_params(call, active_delta, released)
    result = await uow.session.execute(
        _RECORD_OWN_CALL,
        {
            "p_id": agent_id,
            "p_input": usage.input_tokens,
            "p_output": usage.output_tokens,
            "p_cache_read": usage.cache_read_tokens,
            "p_cache_write": usage.cache_write_tokens,
            "p_active": active_seconds,
            "p_now": uow.now(),
            **tree,
        },
    )
    row = result.one_or_none()
    if row is None:
        raise NotFound(f"No agent {agent_id!r}", agent_id=agent_id)
    await _count_call_in_tree(uow, agent_id, row.turns, call, ancestors, tree)
    return to_run(row)


async def record_call_on(
    uow: UnitOfWork,
    row: AgentRow,
    call: CallRecord,
    active_seconds: float,
    *,
    ancestors: Sequence[str] = (),
    active_delta: float = 0.0,
    released: Decimal = Decimal(0),
) -> None:
    """``record_call`` for a run whose ``row`` this transaction has locked and changes
    further (a run that ends with this call): the totals are added on the row, so it is
    written once, when the session flushes.

    On PostgreSQL, a second UPDATE of a row in one transaction checks its foreign keys
    again — the row's version is then the transaction's own — which share-locks the
    parent's row; siblings ending together would then each hold a share lock on their
    parent and wait for the others' to lock it for the result (a deadlock). So the
    caller also holds the row's other changes back (``writes_held``) until it is done.
    """
    usage, tree = call.usage, _tree_params(call, active_delta, released)
    row.turns += 1
    row.input_tokens += usage.input_tokens
    row.output_tokens += usage.output_tokens
    row.cache_read_tokens += usage.cache_read_tokens
    row.cache_write_tokens += usage.cache_write_tokens
    row.cost_usd = Decimal(row.cost_usd) + call.cost_usd
    row.active_seconds = active_seconds
    row.updated_at = uow.now()
    row.reserved_usd = Decimal(row.reserved_usd or 0) - released
    row.tree_turns = (row.tree_turns or 0) + 1
    row.tree_tokens = (row.tree_tokens or 0) + tree["p_tokens"]
    row.tree_cost_usd = Decimal(row.tree_cost_usd or 0) + call.cost_usd
    row.tree_active_seconds = (row.tree_active_seconds or 0.0) + tree["p_active_delta"]
    row.tree_reserved_usd = Decimal(row.tree_reserved_usd or 0) - released
    await _count_call_in_tree(uow, row.id, row.turns, call, ancestors, tree)


@contextmanager
def writes_held(uow: UnitOfWork) -> Iterator[None]:
    """Hold the changes to loaded rows until the block ends (no flush before each
    statement), so a row changed in several steps is written with one UPDATE (see
    ``record_call_on`` for why that matters on PostgreSQL)."""
    with uow.session.no_autoflush:
        yield


def _tree_params(call: CallRecord, active_delta: float, released: Decimal) -> dict[str, Any]:
    """What one provider call adds to the tree totals (``_tree_call_values``' parameters)."""
    usage = call.usage
    return {
        "p_tokens": usage.input_tokens
        + usage.output_tokens
        + usage.cache_read_tokens
        + usage.cache_write_tokens,
        "p_cost": call.cost_usd,
        "p_active_delta": max(active_delta, 0.0),
        "p_released": released,
    }


async def _count_call_in_tree(
    uow: UnitOfWork,
    agent_id: str,
    turn: int,
    call: CallRecord,
    ancestors: Sequence[str],
    tree: dict[str, Any],
) -> None:
    """Store the call's row and add it to the ancestors' tree totals at commit."""
    if ancestors:
        _update_ancestors_at_commit(
            uow, _RECORD_ANCESTOR_CALL, [{"p_id": ancestor, **tree} for ancestor in ancestors]
        )
    usage = call.usage
    await uow.session.execute(
        _INSERT_CALL,
        {
            "agent_id": agent_id,
            "turn": turn,
            "model": call.model,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cost_usd": call.cost_usd,
            "duration_ms": call.duration_ms,
            "created_at": uow.now(),
        },
    )


def _tree_call_values(agents: Table) -> dict[str, Any]:
    """What one provider call adds to the tree totals of its run and each ancestor."""
    return {
        "tree_turns": agents.c.tree_turns + 1,
        "tree_tokens": agents.c.tree_tokens + _param("p_tokens", agents.c.tree_tokens),
        "tree_cost_usd": agents.c.tree_cost_usd + _param("p_cost", agents.c.tree_cost_usd),
        "tree_active_seconds": agents.c.tree_active_seconds
        + _param("p_active_delta", agents.c.tree_active_seconds),
        "tree_reserved_usd": agents.c.tree_reserved_usd
        - _param("p_released", agents.c.tree_reserved_usd),
    }


def _param(name: str, like: ColumnElement[Any]) -> BindParameter[Any]:
    """A named parameter typed as the column it is written to (so UTC datetimes and
    decimals are bound as that column binds them)."""
    return bindparam(name, type_=like.type)


def _record_statements() -> tuple[Any, Any, Any]:
    agents = _table(AgentRow)
    c = agents.c
    own = (
        update(agents)
        .where(c.id == bindparam("p_id"))
        .values(
            turns=c.turns + 1,
            input_tokens=c.input_tokens + _param("p_input", c.input_tokens),
            output_tokens=c.output_tokens + _param("p_output", c.output_tokens),
            cache_read_tokens=c.cache_read_tokens + _param("p_cache_read", c.cache_read_tokens),
            cache_write_tokens=c.cache_write_tokens + _param("p_cache_write", c.cache_write_tokens),
            cost_usd=c.cost_usd + _param("p_cost", c.cost_usd),
            active_seconds=_param("p_active", c.active_seconds),
            updated_at=_param("p_now", c.updated_at),
            reserved_usd=c.reserved_usd - _param("p_released", c.reserved_usd),
            **_tree_call_values(agents),
        )
        .returning(*c)
    )
    ancestor = update(agents).where(c.id == bindparam("p_id")).values(**_tree_call_values(agents))
    active = (
        update(agents)
        .where(c.id == bindparam("p_id"))
        .values(tree_active_seconds=c.tree_active_seconds + _param("p_seconds", c.active_seconds))
    )
    return own, ancestor, active


async def add_tool_calls(
    uow: UnitOfWork,
    agent_id: str,
    turn: int,
    uses: Sequence[ToolUseBlock],
    *,
    done: Mapping[str, str] | None = None,
    failed: Mapping[str, str] | None = None,
    awaiting: Collection[str] = (),
) -> None:
    """Record the tool calls of one reply, in one statement: pending; or done already
    with the output ``done`` gives by call id (a ``finish`` ending the run with it), or
    the error ``failed`` gives; or waiting for the child of their ``spawn_agent`` call
    (``awaiting``, a reply whose children this transaction creates)."""
    if not uses:
        return
    now = uow.now()
    masker = process_masker()
    done, failed = done or {}, failed or {}

    def status(use: ToolUseBlock) -> ToolCallStatus:
        if use.id in done or use.id in failed:
            return ToolCallStatus.DONE
        return ToolCallStatus.AWAITING_CHILD if use.id in awaiting else ToolCallStatus.PENDING

    def output(use: ToolUseBlock) -> str | None:
        text = done.get(use.id, failed.get(use.id))
        return None if text is None else masker.mask(text)

    await uow.session.execute(
        insert(_table(AgentToolCallRow)),
        [
            {
                "agent_id": agent_id,
                "tool_use_id": use.id,
                "turn": turn,
                "name": use.name,
                "input": masker.mask_value(use.input),
                "status": status(use).value,
                "output": output(use),
                "is_error": use.id in failed,
                "created_at": now,
                "finished_at": now if status(use) is ToolCallStatus.DONE else None,
            }
            for use in uses
        ],
    )


async def tool_calls(uow: UnitOfWork, agent_id: str) -> dict[str, ToolCallRecord]:
    rows = await uow.session.scalars(
        select(AgentToolCallRow)
        .where(AgentToolCallRow.agent_id == agent_id)
        .order_by(AgentToolCallRow.id)
    )
    return {row.tool_use_id: to_tool_call(row) for row in rows}


def to_tool_call(row: AgentToolCallRow) -> ToolCallRecord:
    return ToolCallRecord(
        tool_use_id=row.tool_use_id,
        turn=row.turn,
        name=row.name,
        arguments=dict(row.input),
        status=ToolCallStatus(row.status),
        output=row.output,
        is_error=row.is_error,
        decided_by=row.decided_by,
    )


async def set_tool_call(
    uow: UnitOfWork,
    agent_id: str,
    tool_use_id: str,
    *,
    status: ToolCallStatus,
    output: str | None = None,
    is_error: bool = False,
    decided_by: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status.value}
    if status is ToolCallStatus.DONE:
        masked = process_masker().mask(output) if output is not None else None
        values |= {"output": masked, "is_error": is_error, "finished_at": uow.now()}
    elif output is not None:
        # A denial's reason waits here until the loop records the call's real result.
        values["output"] = process_masker().mask(output)
    if decided_by is not None:
        values["decided_by"] = decided_by
    statement = _set_tool_call_statement(tuple(values))
    await uow.session.execute(
        statement, {"p_agent_id": agent_id, "p_tool_use_id": tool_use_id, **values}
    )


@functools.cache
def _set_tool_call_statement(columns: tuple[str, ...]) -> Any:
    """The UPDATE of a tool call's ``columns``, built once for each set of them."""
    calls = _table(AgentToolCallRow)
    return (
        update(calls)
        .where(
            calls.c.agent_id == bindparam("p_agent_id"),
            calls.c.tool_use_id == bindparam("p_tool_use_id"),
        )
        .values({name: bindparam(name, type_=calls.c[name].type) for name in columns})
    )


async def awaiting_approval(uow: UnitOfWork, agent_id: str) -> list[ToolCallRecord]:
    rows = await uow.session.scalars(
        select(AgentToolCallRow).where(
            AgentToolCallRow.agent_id == agent_id,
            AgentToolCallRow.status == ToolCallStatus.AWAITING_APPROVAL.value,
        )
    )
    return [to_tool_call(row) for row in rows]


async def unfinished_tool_calls(
    uow: UnitOfWork, agent_ids: Sequence[str]
) -> dict[str, list[ToolCallRecord]]:
    """The tool calls of these agents without a result yet, by agent, oldest first."""
    if not agent_ids:
        return {}
    rows = await uow.session.scalars(
        select(AgentToolCallRow)
        .where(
            AgentToolCallRow.agent_id.in_(list(agent_ids)),
            AgentToolCallRow.status != ToolCallStatus.DONE.value,
        )
        .order_by(AgentToolCallRow.id)
    )
    found: dict[str, list[ToolCallRecord]] = {}
    for row in rows:
        found.setdefault(row.agent_id, []).append(to_tool_call(row))
    return found


async def next_seq(uow: UnitOfWork, agent_id: str) -> int:
    last = await uow.session.scalar(
        select(func.max(AgentMessageRow.seq)).where(AgentMessageRow.agent_id == agent_id)
    )
    return 0 if last is None else int(last) + 1


async def control_requests(uow: UnitOfWork, agent_ids: Sequence[str]) -> dict[str, ControlRequest]:
    """Pending pause/cancel requests of these agents."""
    rows = await uow.session.execute(
        select(AgentRow.id, AgentRow.control).where(
            AgentRow.id.in_(list(agent_ids)), AgentRow.control.is_not(None)
        )
    )
    return {agent_id: ControlRequest(control) for agent_id, control in rows.all() if control}


async def add_agent(uow: UnitOfWork, row: AgentRow) -> None:
    """Store a new agent run now (its id is then usable by rows that refer to it)."""
    uow.session.add(row)
    await uow.session.flush()


async def add_agents(uow: UnitOfWork, rows: Sequence[AgentRow]) -> None:
    """Store new agent runs now, in one flush (the ORM inserts them together)."""
    uow.session.add_all(rows)
    await uow.session.flush()


async def delete_agent(uow: UnitOfWork, row: AgentRow) -> None:
    """Delete a run; its transcript, calls and tool calls go with it (foreign keys)."""
    await uow.session.delete(row)


async def active_story_agent(uow: UnitOfWork, story_id: str) -> AgentRow | None:
    """The oldest top-level run on the story that has not ended (created, running,
    waiting or paused), if any; sub-agents share their parent's story and do not count."""
    return await uow.session.scalar(
        select(AgentRow)
        .where(
            AgentRow.story_id == story_id,
            AgentRow.parent_id.is_(None),
            AgentRow.state.in_(_LIVE),
        )
        .order_by(AgentRow.created_at, AgentRow.id)
        .limit(1)
    )


async def agent_with_origin(uow: UnitOfWork, origin_key: str) -> AgentRow | None:
    """The run started from ``origin_key`` (an automation's idempotency key), if any."""
    return await uow.session.scalar(select(AgentRow).where(AgentRow.origin_key == origin_key))


async def agents_with_origins(uow: UnitOfWork, origin_keys: Sequence[str]) -> dict[str, AgentRow]:
    """The runs started from any of ``origin_keys``, by key (one query)."""
    if not origin_keys:
        return {}
    rows = await uow.session.scalars(
        select(AgentRow).where(AgentRow.origin_key.in_(list(origin_keys)))
    )
    return {str(row.origin_key): row for row in rows}


async def agent_page(
    uow: UnitOfWork,
    *,
    state: AgentState | None,
    agent_type: str | None,
    story_id: str | None,
    limit: int,
    cursor: str | None,
    repo_path: str | None = None,
) -> list[AgentRow]:
    """Up to ``limit + 1`` runs newest first after ``cursor`` that match every filter."""
    query = newest_first(select(AgentRow), AgentRow, limit, cursor)
    if repo_path is not None:
        query = query.where(AgentRow.repo_path == repo_path)
    if state is not None:
        query = query.where(AgentRow.state == state.value)
    if agent_type is not None:
        query = query.where(AgentRow.type == agent_type)
    if story_id is not None:
        query = query.where(AgentRow.story_id == story_id)
    return list(await uow.session.scalars(query))


async def finished_with_workspace(uow: UnitOfWork) -> list[AgentRow]:
    """Finished runs, sub-agents included, whose worktree is still recorded."""
    finished = [state.value for state in AgentState if state.is_terminal]
    query = select(AgentRow).where(
        AgentRow.state.in_(finished),
        AgentRow.workspace_path.is_not(None),
    )
    return list(await uow.session.scalars(query))


async def find_agent_row(uow: UnitOfWork, agent_id: str) -> AgentRow | None:
    """The run ``agent_id``, or None when it was deleted meanwhile."""
    return await uow.session.get(AgentRow, agent_id)


async def find_agent_row_locked(uow: UnitOfWork, agent_id: str) -> AgentRow | None:
    """The run ``agent_id`` locked for update, or None when it was deleted."""
    return await uow.session.scalar(_AGENT_LOCKED, {"agent_id": agent_id})


def record_created(uow: UnitOfWork, row: AgentRow) -> None:
    record_event(
        uow,
        AgentCreated(subject=row.id, type=row.type, story_id=row.story_id, parent_id=row.parent_id),
    )


async def answer_question(uow: UnitOfWork, agent_id: str, answer: str) -> None:
    """Turn the result of the ``finish(needs_input)`` call into the human's answer."""
    row = await uow.session.scalar(
        select(AgentToolCallRow)
        .where(AgentToolCallRow.agent_id == agent_id, AgentToolCallRow.name == "finish")
        .order_by(AgentToolCallRow.id.desc())
        .limit(1)
    )
    if row is None:
        return
    answer = process_masker().mask(answer)
    row.output = f"A human answered your question:\n\n{answer}\n\nContinue the task."
    row.is_error = False
    row.status = ToolCallStatus.DONE.value


def _table(mapped: type[Any]) -> Table:
    """The Core table of a mapped class: hot-path statements skip the ORM's bookkeeping
    (an ORM-enabled UPDATE cost ~2.5 ms here against ~0.7 ms for the same in Core)."""
    table: Table = mapped.__table__
    return table


# Retention (``retention.py``): finished runs, what still refers to them, their workspaces

_LIVE = tuple(state.value for state in AgentState if not state.is_terminal)
_FINISHED = tuple(state.value for state in AgentState if state.is_terminal)


@dataclass(frozen=True)
class AgentLeftovers:
    """Where a deleted run worked: a worktree of ``repo_path``, or a scratch folder."""

    agent_id: str
    workspace_path: str | None
    repo_path: str | None
    branch: str | None


def _finished_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [AgentRow.state.in_(_FINISHED), AgentRow.finished_at < cutoff]


async def finished_agent_ids(
    uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
) -> list[Key]:
    conditions = _finished_before(cutoff)
    return await keys_where(uow, AgentRow.id, conditions, after=after, limit=limit)


async def live_agent_ids(uow: UnitOfWork, agent_ids: Sequence[str]) -> set[str]:
    """Of ``agent_ids``, those not ended: created, running, waiting or paused."""
    if not agent_ids:
        return set()
    rows = await uow.session.scalars(
        select(AgentRow.id).where(AgentRow.id.in_(agent_ids), AgentRow.state.in_(_LIVE))
    )
    return set(rows)


async def agents_with_live_family(uow: UnitOfWork, agent_ids: Sequence[Key]) -> set[Key]:
    """Of ``agent_ids``, sub-agents of a live parent and parents of a live sub-agent."""
    parent = aliased(AgentRow)
    with_live_parent = (
        select(AgentRow.id)
        .join(parent, parent.id == AgentRow.parent_id)
        .where(AgentRow.id.in_(agent_ids), parent.state.in_(_LIVE))
    )
    with_live_child = select(AgentRow.parent_id).where(
        AgentRow.parent_id.in_(agent_ids), AgentRow.state.in_(_LIVE)
    )
    needed: set[Key] = set()
    for query in (with_live_parent, with_live_child):
        needed.update(key for key in await uow.session.scalars(query) if key is not None)
    return needed


async def delete_finished_agents(
    uow: UnitOfWork, agent_ids: Sequence[Key], cutoff: datetime
) -> list[AgentLeftovers]:
    """Delete the runs among ``agent_ids`` still finished before ``cutoff``: transcript,
    provider calls and tool calls first, then the runs (their sub-agents that stay
    lose the link to them)."""
    qualifying = select(AgentRow.id).where(AgentRow.id.in_(agent_ids), *_finished_before(cutoff))
    for child in (AgentToolCallRow, AgentCallRow, AgentMessageRow):
        await delete_where(uow, child, [child.agent_id.in_(qualifying)])
    await uow.session.execute(
        update(AgentRow)
        .where(AgentRow.parent_id.in_(qualifying))
        .values(parent_id=None)
        .execution_options(synchronize_session=False)
    )
    deleted = await uow.session.execute(
        delete(AgentRow)
        .where(AgentRow.id.in_(agent_ids), *_finished_before(cutoff))
        .returning(AgentRow.id, AgentRow.workspace_path, AgentRow.repo_path, AgentRow.branch)
        .execution_options(synchronize_session=False)
    )
    return [AgentLeftovers(*row) for row in deleted.all()]


# Statements of the hot path, built once (they need ``_table``, defined above).
_RECORD_OWN_CALL, _RECORD_ANCESTOR_CALL, _ADD_TREE_ACTIVE = _record_statements()
_INSERT_CALL = insert(_table(AgentCallRow))
_INSERT_MESSAGE = insert(_table(AgentMessageRow))
_AGENT = select(AgentRow).where(AgentRow.id == bindparam("agent_id"))
_AGENT_LOCKED = _AGENT.with_for_update()
_STATE = select(_table(AgentRow).c.state).where(_table(AgentRow).c.id == bindparam("agent_id"))
_RECORD_CHILD_RESULT = (
    update(_table(AgentToolCallRow))
    .where(
        _table(AgentToolCallRow).c.agent_id == bindparam("p_agent_id"),
        _table(AgentToolCallRow).c.tool_use_id == bindparam("p_tool_use_id"),
        _table(AgentToolCallRow).c.status != ToolCallStatus.DONE.value,
    )
    .values(
        status=ToolCallStatus.DONE.value,
        output=bindparam("p_output", type_=_table(AgentToolCallRow).c.output.type),
        is_error=bindparam("p_is_error", type_=_table(AgentToolCallRow).c.is_error.type),
        finished_at=bindparam("p_now", type_=_table(AgentToolCallRow).c.finished_at.type),
    )
)
_CHILDREN_AWAITED = (
    select(func.count())
    .select_from(_table(AgentToolCallRow))
    .where(
        _table(AgentToolCallRow).c.agent_id == bindparam("agent_id"),
        _table(AgentToolCallRow).c.status == ToolCallStatus.AWAITING_CHILD.value,
    )
)
_LINEAGE_BUDGETS = _lineage_budgets_query()
_START_CREATED = _start_created_statement()
_LINEAGES = _lineages_query()


async def usage_since(uow: UnitOfWork, since: datetime) -> tuple[int, int, int, Decimal]:
    """Runs started since ``since`` (sub-agents included), their tokens (input + output,
    cache reads and writes) and their cost: each run counts its own spending once."""
    row = (
        await uow.session.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(
                        AgentRow.input_tokens
                        + AgentRow.cache_read_tokens
                        + AgentRow.cache_write_tokens
                    ),
                    0,
                ),
                func.coalesce(func.sum(AgentRow.output_tokens), 0),
                func.coalesce(func.sum(AgentRow.cost_usd), 0),
            ).where(AgentRow.created_at >= since)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), Decimal(str(row[3]))


_FINISHED_STATES = tuple(state.value for state in AgentState if state.is_terminal)


def _stats_conditions(stats_filter: StatsFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if stats_filter.since is not None:
        conditions.append(AgentRow.created_at >= stats_filter.since)
    if stats_filter.agent_type is not None:
        conditions.append(AgentRow.type == stats_filter.agent_type)
    if stats_filter.model is not None:
        conditions.append(AgentRow.model == stats_filter.model)
    return conditions


async def stats_totals(uow: UnitOfWork, stats_filter: StatsFilter) -> list[GroupTotals]:
    """Per (type, model) with a run in the filter: runs by final state, runs under way,
    and the tokens and cost of the finished ones (one GROUP BY)."""
    finished = AgentRow.state.in_(_FINISHED_STATES)

    def count_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def finished_sum(column: Any) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((finished, column), else_=0)), 0)

    statement = (
        select(
            AgentRow.type,
            AgentRow.model,
            count_where(AgentRow.state == AgentState.COMPLETED.value),
            count_where(AgentRow.state == AgentState.FAILED.value),
            count_where(AgentRow.state == AgentState.CANCELLED.value),
            count_where(~finished),
            finished_sum(AgentRow.input_tokens),
            finished_sum(AgentRow.output_tokens),
            finished_sum(AgentRow.cost_usd),
        )
        .where(*_stats_conditions(stats_filter))
        .group_by(AgentRow.type, AgentRow.model)
    )
    return [
        GroupTotals(
            type=row[0],
            model=row[1],
            completed=int(row[2]),
            failed=int(row[3]),
            cancelled=int(row[4]),
            active=int(row[5]),
            input_tokens=int(row[6]),
            output_tokens=int(row[7]),
            # SQLite sums the column as a float: back to its six decimals, exactly.
            cost_usd=Decimal(str(row[8])).quantize(COST_QUANTUM),
        )
        for row in await uow.session.execute(statement)
    ]


async def stats_samples(uow: UnitOfWork, stats_filter: StatsFilter) -> list[FinishedSample]:
    """The turns and times of every finished run in the filter (for the percentiles)."""
    statement = select(
        AgentRow.type, AgentRow.model, AgentRow.turns, AgentRow.started_at, AgentRow.finished_at
    ).where(AgentRow.state.in_(_FINISHED_STATES), *_stats_conditions(stats_filter))
    return [
        FinishedSample(
            type=row[0], model=row[1], turns=row[2], started_at=row[3], finished_at=row[4]
        )
        for row in await uow.session.execute(statement)
    ]
