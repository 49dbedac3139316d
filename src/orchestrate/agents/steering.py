"""Steering running agents: pause, cancel, resume (or answer), approve and deny.

Part of the agents service (re-exported there). Each request changes stored state
through the state machine, is audited, and queues the agent again when it must run.
Pause and resume reach the agent's sub-agents too; a cancelled (or otherwise ended)
agent cancels its live sub-agents as it ends (``_store.transition``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from orchestrate.agents import _store as store
from orchestrate.agents import tree
from orchestrate.agents.models import (
    MAX_DENIAL_REASON,
    AgentRun,
    AgentState,
    ControlRequest,
    ToolCallStatus,
)
from orchestrate.agents.queueing import enqueue_run
from orchestrate.agents.tables import AgentRow
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import InvalidTransition, ValidationFailed
from orchestrate.core.uow import UnitOfWork


async def pause(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Pause a running agent within seconds; one waiting for approval pauses at once."""
    return await _steer(uow, agent_id, actor, "agent.pause", _pause)


async def cancel(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Cancel an agent: at once when it is not running, within seconds when it is."""
    return await _steer(uow, agent_id, actor, "agent.cancel", _cancel)


async def resume(
    uow: UnitOfWork, agent_id: str, actor: Actor, *, message: str | None = None
) -> AgentRun:
    """Continue a paused agent, or answer an agent that asked for input."""

    async def apply(uow: UnitOfWork, row: AgentRow) -> None:
        state = AgentState(row.state)
        if state is AgentState.WAITING_FOR_INPUT:
            if not message or not message.strip():
                raise ValidationFailed(
                    f"Agent {row.id} asked: {row.summary or '(no question)'} - "
                    "answer with --message TEXT",
                    field="message",
                )
            await store.answer_question(uow, row.id, message.strip())
        elif state is not AgentState.PAUSED:
            raise InvalidTransition(
                f"Agent {row.id} is {state.value}; only a paused agent or one waiting for "
                "input can be resumed",
                agent_id=row.id,
                current=state.value,
            )
        store.transition(uow, row, AgentState.RUNNING)
        await enqueue_run(uow, row.id, "resume")
        if state is AgentState.PAUSED:
            await tree.resume_descendants(uow, row.id)

    return await _steer(uow, agent_id, actor, "agent.resume", apply)


async def approve(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Let the tool call(s) the agent is waiting on run."""
    return await _decide(uow, agent_id, actor, ToolCallStatus.APPROVED)


async def deny(
    uow: UnitOfWork, agent_id: str, actor: Actor, *, reason: str | None = None
) -> AgentRun:
    """Refuse the tool call(s) the agent is waiting on; it is told (with ``reason``, so it
    can choose another way) and carries on."""
    reason = reason.strip() if reason else None
    if reason and len(reason) > MAX_DENIAL_REASON:
        raise ValidationFailed(
            f"A reason is at most {MAX_DENIAL_REASON} characters, got {len(reason)}", field="reason"
        )
    return await _decide(uow, agent_id, actor, ToolCallStatus.DENIED, reason or None)


async def _decide(
    uow: UnitOfWork,
    agent_id: str,
    actor: Actor,
    decision: ToolCallStatus,
    reason: str | None = None,
) -> AgentRun:
    async def apply(uow: UnitOfWork, row: AgentRow) -> None:
        if AgentState(row.state) is not AgentState.WAITING_FOR_APPROVAL:
            raise InvalidTransition(
                f"Agent {row.id} is {row.state}; nothing is waiting for approval",
                agent_id=row.id,
            )
        waiting = await store.awaiting_approval(uow, row.id)
        for call in waiting:
            await store.set_tool_call(
                uow,
                row.id,
                call.tool_use_id,
                status=decision,
                output=reason,
                decided_by=actor.name,
            )
        store.transition(uow, row, AgentState.RUNNING)
        await enqueue_run(uow, row.id, decision.value)

    action = "agent.approve" if decision is ToolCallStatus.APPROVED else "agent.deny"
    details = {"reason": reason} if reason else {}
    return await _steer(uow, agent_id, actor, action, apply, details)


async def _pause(uow: UnitOfWork, row: AgentRow) -> None:
    state = AgentState(row.state)
    if state is AgentState.RUNNING:
        row.control = ControlRequest.PAUSE.value
    else:
        store.transition(uow, row, AgentState.PAUSED)
    await tree.pause_descendants(uow, row.id)


async def _cancel(uow: UnitOfWork, row: AgentRow) -> None:
    state = AgentState(row.state)
    if state is AgentState.RUNNING:
        row.control = ControlRequest.CANCEL.value
    else:
        store.transition(uow, row, AgentState.CANCELLED)


_Change = Callable[[UnitOfWork, AgentRow], Awaitable[None]]


async def _steer(
    uow: UnitOfWork,
    agent_id: str,
    actor: Actor,
    action: str,
    apply: _Change,
    details: Mapping[str, object] | None = None,
) -> AgentRun:
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.agent_row(uow, agent_id, for_update=True)
        before = row.state
        await apply(uow, row)
        row.updated_at = uow.now()
        await auth.record_audit(
            uow,
            actor,
            action,
            agent_id,
            {"from": before, "to": row.state, "control": row.control, **(details or {})},
        )
        await uow.commit()
        return await store.with_children(uow, store.to_run(row))
