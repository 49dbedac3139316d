"""HTTP routes of agents: start, list, inspect, steer, read transcripts; their analytics.

``GET /api/monitoring/agents`` lives here, not in ``monitoring``: the agents capability
owns the table it reads, and monitoring and agents sit on one layer (neither imports
the other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from orchestrate.agents import service
from orchestrate.agents.models import AgentState
from orchestrate.agents.schemas import (
    AgentDenyIn,
    AgentOut,
    AgentResumeIn,
    AgentStartIn,
    AgentStatsOut,
    AgentTypeOut,
    MessageOut,
    MessagesOut,
)
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import MAX_SEQUENCE, PageCursor, PageLimit, PageOut, ServerPath

router = APIRouter(prefix="/agents", tags=["agents"])
monitoring_router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@monitoring_router.get("/agents", response_model=AgentStatsOut)
async def agent_stats(
    uow: UowDep,
    _actor: ActorDep,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only runs created since: a date (midnight UTC), a date and time "
            "(UTC unless it has an offset) or a period back from now (30d, 12h, 2w). "
            "Default: all runs kept.",
            examples=["2026-12-01", "2026-12-01T09:30:00Z", "30d"],
        ),
    ] = None,
    type: Annotated[str | None, Query(max_length=100, description="Only this type.")] = None,
    model: Annotated[str | None, Query(max_length=200, description="Only this model.")] = None,
) -> AgentStatsOut:
    """Runs, success rate, turns, duration, tokens and cost per agent type and model.

    ``runs`` counts finished runs (completed, failed, cancelled); a ``since`` that is no
    date, time or period is a 422.
    """
    report = await service.agent_stats(uow, since=since, agent_type=type, model=model)
    return AgentStatsOut.of(report)


@router.get("/types", response_model=PageOut[AgentTypeOut])
async def agent_types(
    runtime: RuntimeDep,
    _actor: ActorDep,
    repo: ServerPath | None = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[AgentTypeOut]:
    """Agent types by name: the built-in ones, overridden by the server's home's, then by
    the repository's."""
    page = service.agent_types_page(
        runtime.settings, Path(repo) if repo else None, limit=limit, cursor=cursor
    )
    return PageOut(items=[AgentTypeOut.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.get("", response_model=PageOut[AgentOut])
async def list_agents(
    uow: UowDep,
    _actor: ActorDep,
    state: AgentState | None = None,
    type: str | None = None,
    story_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> PageOut[AgentOut]:
    """Agent runs, newest first."""
    page = await service.list_agents(
        uow, state=state, agent_type=type, story_id=story_id, limit=limit, cursor=cursor
    )
    return PageOut(items=[AgentOut.of(a) for a in page.items], next_cursor=page.next_cursor)


@router.post("", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
async def start_agent(
    body: AgentStartIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> AgentOut:
    """Create an agent run and queue it for a worker.

    409 when another agent is active on the story (the problem names it in
    ``agent_id``; ``force: true`` starts anyway) or when the story is done.
    """
    request = service.StartAgent(
        type=body.type,
        task=body.task,
        story=body.story_id,
        repo=Path(body.repo) if body.repo else None,
        base_ref=body.base_ref,
        provider=body.provider,
        model=body.model,
        max_turns=body.max_turns,
        max_cost_usd=body.max_cost_usd,
        stuck_repeats=body.stuck_repeats,
        enqueue=body.start,
        force=body.force,
    )
    return AgentOut.of(await service.start_agent(uow, runtime.settings, request, actor))


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: str, uow: UowDep, _actor: ActorDep) -> AgentOut:
    """One agent run: its state, budgets used, branch and result."""
    return AgentOut.of(await service.get_agent(uow, agent_id))


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: str, uow: UowDep, actor: ActorDep) -> Response:
    """Forget a finished run and its transcript; 409 while it is still active."""
    await service.delete_agent(uow, agent_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{agent_id}/messages", response_model=MessagesOut)
async def agent_messages(
    agent_id: str,
    uow: UowDep,
    _actor: ActorDep,
    after: Annotated[int, Query(ge=-1, le=MAX_SEQUENCE)] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> MessagesOut:
    """The transcript, tool calls and results included, after a sequence number."""
    page = await service.transcript(uow, agent_id, after_seq=after, limit=limit)
    items = [MessageOut.of(seq, created_at, message) for seq, created_at, message in page]
    return MessagesOut(items=items, next_after=items[-1].seq if items else after)


@router.post("/{agent_id}/start", response_model=AgentOut)
async def start_created(agent_id: str, uow: UowDep, actor: ActorDep) -> AgentOut:
    """Queue a run created with ``start: false`` for a worker."""
    return AgentOut.of(await service.start_created(uow, agent_id, actor))


@router.post("/{agent_id}/pause", response_model=AgentOut)
async def pause(agent_id: str, uow: UowDep, actor: ActorDep) -> AgentOut:
    """Pause the run after its current turn; ``resume`` continues it."""
    return AgentOut.of(await service.pause(uow, agent_id, actor))


@router.post("/{agent_id}/resume", response_model=AgentOut)
async def resume(
    agent_id: str, uow: UowDep, actor: ActorDep, body: AgentResumeIn | None = None
) -> AgentOut:
    """Continue a paused run, or answer one waiting for input with ``message``."""
    message = body.message if body else None
    return AgentOut.of(await service.resume(uow, agent_id, actor, message=message))


@router.post("/{agent_id}/cancel", response_model=AgentOut)
async def cancel(agent_id: str, uow: UowDep, actor: ActorDep) -> AgentOut:
    """Cancel the run; it ends ``cancelled``."""
    return AgentOut.of(await service.cancel(uow, agent_id, actor))


@router.post("/{agent_id}/approve", response_model=AgentOut)
async def approve(agent_id: str, uow: UowDep, actor: ActorDep) -> AgentOut:
    """Allow the tool call a run waiting for approval asked for."""
    return AgentOut.of(await service.approve(uow, agent_id, actor))


@router.post("/{agent_id}/deny", response_model=AgentOut)
async def deny(
    agent_id: str, uow: UowDep, actor: ActorDep, body: AgentDenyIn | None = None
) -> AgentOut:
    """Refuse the tool call a run waiting for approval asked for (the model is told, with
    ``reason`` when given)."""
    reason = body.reason if body else None
    return AgentOut.of(await service.deny(uow, agent_id, actor, reason=reason))
