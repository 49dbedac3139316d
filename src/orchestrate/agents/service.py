"""Use cases of the agents capability: start, inspect, steer and clean up agent runs.

Running an agent is a durable job (``agents.run``, see ``execution.py``); these
functions only change stored state and enqueue that job, so they answer at once from
the CLI or the API. Every change is audited and goes through the state machine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from orchestrate.agents import _store as store
from orchestrate.agents.cleanup import cleanup_workspaces
from orchestrate.agents.definitions import get_definition, load_definitions
from orchestrate.agents.models import (
    AgentDefinition,
    AgentRun,
    AgentState,
    ControlRequest,
    Limits,
    ToolCallStatus,
    limits_to_json,
)
from orchestrate.agents.tables import AgentRow
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, InvalidTransition, ValidationFailed
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import enqueue, find_job_by_key
from orchestrate.core.pagination import Page, check_page_size, newest_first, page_of
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.llm.factory import check_credentials
from orchestrate.llm.models import Message
from orchestrate.stories import service as stories

RUN_JOB = "agents.run"

__all__ = [
    "RUN_JOB",
    "AgentRun",
    "AgentState",
    "StartAgent",
    "agent_types",
    "approve",
    "cancel",
    "cleanup_workspaces",
    "delete_agent",
    "deny",
    "get_agent",
    "list_agents",
    "pause",
    "resume",
    "start_agent",
    "transcript",
]


@dataclass(frozen=True)
class StartAgent:
    """What a caller asks for; unset fields come from the type, then from settings."""

    type: str
    task: str
    story: str | None = None
    repo: Path | None = None
    base_ref: str = "HEAD"
    provider: str | None = None
    model: str | None = None
    max_turns: int | None = None
    max_cost_usd: Decimal | None = None
    record: Path | None = None
    enqueue: bool = True


def agent_types(settings: Settings, repo: Path | None) -> list[AgentDefinition]:
    definitions = load_definitions(settings.home, repo)
    return [definitions[name] for name in sorted(definitions)]


async def start_agent(
    uow: UnitOfWork, settings: Settings, request: StartAgent, actor: Actor
) -> AgentRun:
    """Create a run and queue it; credentials and inputs are checked before anything is stored."""
    auth.authorize(actor, Permission.WRITE)
    if not request.task.strip():
        raise ValidationFailed("An agent needs a task: pass --task TEXT", field="task")
    repo = _checked_repo(request.repo)
    definition = get_definition(request.type, settings.home, repo)
    provider = _absolute_replay(
        request.provider or definition.provider or settings.default_provider
    )
    model = request.model or definition.model or _default_model(settings, provider)
    check_credentials(provider)
    story_id = None
    if request.story:
        story_id = (await stories.get_story(uow.sibling(read_only=True), request.story)).id
    limits = _limits(definition, request)
    async with uow:
        now = uow.now()
        row = AgentRow(
            id=new_id("agent", now),
            type=definition.name,
            state=AgentState.CREATED.value,
            task=request.task.strip(),
            story_id=story_id,
            provider=provider,
            model=model,
            repo_path=str(repo) if repo else None,
            base_ref=request.base_ref,
            limits=limits_to_json(limits),
            record_path=str(request.record.resolve()) if request.record else None,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.session.flush()
        store.record_created(uow, row)
        await auth.record_audit(
            uow, actor, "agent.start", row.id, {"type": row.type, "story_id": story_id}
        )
        if request.enqueue:
            await _enqueue_run(uow, row.id, "start")
        await uow.commit()
        return store.to_run(row)


async def start_created(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Queue an agent that was created without starting (idempotent)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.agent_row(uow, agent_id)
        if AgentState(row.state) is not AgentState.CREATED:
            raise InvalidTransition(
                f"Agent {agent_id} is {row.state}; only a created agent can be started",
                agent_id=agent_id,
            )
        if await find_job_by_key(uow, run_job_key(agent_id, "start")) is not None:
            raise Conflict(f"Agent {agent_id} is already queued to start", agent_id=agent_id)
        await _enqueue_run(uow, agent_id, "start")
        await auth.record_audit(uow, actor, "agent.start", agent_id, {})
        await uow.commit()
        return store.to_run(row)


async def get_agent(uow: UnitOfWork, agent_id: str) -> AgentRun:
    async with uow:
        return store.to_run(await store.agent_row(uow, agent_id))


async def list_agents(
    uow: UnitOfWork,
    *,
    state: AgentState | None = None,
    agent_type: str | None = None,
    story_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AgentRun]:
    """Agent runs, newest first."""
    check_page_size(limit)
    query = newest_first(select(AgentRow), AgentRow, limit, cursor)
    if state is not None:
        query = query.where(AgentRow.state == state.value)
    if agent_type is not None:
        query = query.where(AgentRow.type == agent_type)
    if story_id is not None:
        query = query.where(AgentRow.story_id == story_id)
    async with uow:
        rows, next_cursor = page_of(list(await uow.session.scalars(query)), limit)
    return Page(items=[store.to_run(row) for row in rows], next_cursor=next_cursor)


async def transcript(
    uow: UnitOfWork, agent_id: str, *, after_seq: int = -1, limit: int = 500
) -> list[tuple[int, datetime, Message]]:
    """Messages of a run in order, after a sequence number (for following a live run)."""
    async with uow:
        await store.agent_row(uow, agent_id)
        return list(await store.transcript_page(uow, agent_id, after_seq=after_seq, limit=limit))


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
        await _enqueue_run(uow, row.id, "resume")

    return await _steer(uow, agent_id, actor, "agent.resume", apply)


async def approve(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Let the tool call(s) the agent is waiting on run."""
    return await _decide(uow, agent_id, actor, ToolCallStatus.APPROVED)


async def deny(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Refuse the tool call(s) the agent is waiting on; it is told and carries on."""
    return await _decide(uow, agent_id, actor, ToolCallStatus.DENIED)


async def delete_agent(uow: UnitOfWork, agent_id: str, actor: Actor) -> AgentRun:
    """Forget a finished run and its transcript (its branch and worktree stay)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.agent_row(uow, agent_id)
        if not AgentState(row.state).is_terminal:
            raise Conflict(
                f"Agent {agent_id} is {row.state}; cancel it before deleting it",
                agent_id=agent_id,
            )
        run = store.to_run(row)
        await uow.session.delete(row)
        await auth.record_audit(uow, actor, "agent.delete", agent_id, {"type": run.type})
        await uow.commit()
        return run


# --- helpers ------------------------------------------------------------------------------


async def _decide(
    uow: UnitOfWork, agent_id: str, actor: Actor, decision: ToolCallStatus
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
                uow, row.id, call.tool_use_id, status=decision, decided_by=actor.name
            )
        store.transition(uow, row, AgentState.RUNNING)
        await _enqueue_run(uow, row.id, decision.value)

    action = "agent.approve" if decision is ToolCallStatus.APPROVED else "agent.deny"
    return await _steer(uow, agent_id, actor, action, apply)


async def _pause(uow: UnitOfWork, row: AgentRow) -> None:
    state = AgentState(row.state)
    if state is AgentState.RUNNING:
        row.control = ControlRequest.PAUSE.value
    else:
        store.transition(uow, row, AgentState.PAUSED)


async def _cancel(uow: UnitOfWork, row: AgentRow) -> None:
    state = AgentState(row.state)
    if state is AgentState.RUNNING:
        row.control = ControlRequest.CANCEL.value
    else:
        store.transition(uow, row, AgentState.CANCELLED)


_Change = Callable[[UnitOfWork, AgentRow], Awaitable[None]]


async def _steer(
    uow: UnitOfWork, agent_id: str, actor: Actor, action: str, apply: _Change
) -> AgentRun:
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.agent_row(uow, agent_id, for_update=True)
        before = row.state
        await apply(uow, row)
        row.updated_at = uow.now()
        await auth.record_audit(
            uow, actor, action, agent_id, {"from": before, "to": row.state, "control": row.control}
        )
        await uow.commit()
        return store.to_run(row)


def run_job_key(agent_id: str, reason: str, at: datetime | None = None) -> str:
    """Idempotency key of the job that runs an agent after ``reason`` (start, resume…).

    An agent starts once, so its start key is fixed; later runs are keyed by time.
    """
    return f"agent:{agent_id}:{reason}" + (f":{at.isoformat()}" if at else "")


async def _enqueue_run(uow: UnitOfWork, agent_id: str, reason: str) -> str:
    key = run_job_key(agent_id, reason, None if reason == "start" else uow.now())
    return await enqueue(
        uow, RUN_JOB, {"agent_id": agent_id, "reason": reason}, key=key, max_attempts=5
    )


async def run_job_of(uow: UnitOfWork, agent: AgentRun) -> str | None:
    """The id of the job queued to start this agent, for running it inline (``--wait``)."""
    async with uow:
        job = await find_job_by_key(uow, run_job_key(agent.id, "start"))
        return job.id if job else None


def _default_model(settings: Settings, provider: str) -> str:
    """The configured default model, unless it belongs to another provider."""
    kind = provider.partition(":")[0]
    if kind in (settings.default_provider.partition(":")[0], "replay"):
        return settings.default_model
    raise ValidationFailed(
        f"Choose a model for provider {kind!r} with --model (the default "
        f"{settings.default_model!r} is for {settings.default_provider!r})",
        field="model",
    )


def _absolute_replay(provider: str) -> str:
    """``replay:PATH`` relative to the caller's directory, pinned before a worker reads it."""
    kind, _, path = provider.partition(":")
    if kind == "replay" and path:
        return f"replay:{Path(path).expanduser().resolve()}"
    return provider


def _checked_repo(repo: Path | None) -> Path | None:
    if repo is None:
        return None
    resolved = repo.expanduser().resolve()
    if not resolved.is_dir():
        raise ValidationFailed(f"Repository path {repo} is not a directory", field="repo")
    if not (resolved / ".git").exists():
        raise ValidationFailed(
            f"{resolved} is not the top of a git repository; pass --repo with the repository root",
            field="repo",
        )
    return resolved


def _limits(definition: AgentDefinition, request: StartAgent) -> Limits:
    defaults = Limits()
    wall = (
        timedelta(minutes=definition.max_wall_minutes)
        if definition.max_wall_minutes
        else defaults.max_wall_time
    )
    max_turns = request.max_turns or definition.max_turns or defaults.max_turns
    if max_turns < 1:
        raise ValidationFailed("max_turns must be at least 1", field="max_turns")
    cost = request.max_cost_usd if request.max_cost_usd is not None else definition.max_cost_usd
    if cost is not None and cost <= 0:
        raise ValidationFailed("max_cost_usd must be more than 0", field="max_cost_usd")
    return Limits(
        max_turns=max_turns,
        max_tokens=definition.max_tokens,
        max_cost_usd=cost,
        max_wall_time=wall,
    )
