"""One agent run: what it is doing and for whom, what it spent against its limits, its
pull requests, its transcript as it grows, and the controls an operator steers it with.

The transcript is read from its end, a window at a time (``agents.transcript_window``),
so a run of thousands of messages costs the same as a short one. The page refreshes on
the run's events — every state it enters and every message it records
(``agent.message_recorded``) — and on its sub-agents' and pull requests' events.

Every control posts to the same service function as ``/api/agents/{id}/…`` with the
signed-in person as the actor, so the checks, the state machine and the audit record
are the API's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.agents.service import MAX_DENIAL_REASON, AgentRun, AgentState, ToolCallStatus
from orchestrate.core.errors import NotFound
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.pages._transcript import shown_messages
from orchestrate.dashboard.render import count, duration, money, render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.delivery import service as delivery
from orchestrate.llm.service import Message
from orchestrate.stories import service as stories
from orchestrate.web.deps import RuntimeDep
from orchestrate.web.schemas import MAX_SEQUENCE

router = page_router()

WINDOW = 50
"""Messages per window of the transcript."""
PULL_REQUESTS_SHOWN = 10
PULL_REQUEST_EVENTS = ("pull_request.opened", "pull_request.state_changed")
"""A pull request event names the pull request, not the agent: any opened or changed
one refreshes the page (throttled by ``live.js``)."""
MAX_ANSWER = 20_000

AgentId = Annotated[str, Path(max_length=100)]
Next = Annotated[str, Form(max_length=2000)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@dataclass(frozen=True)
class BudgetLine:
    """One limit of a run: what it and its sub-agents used against it."""

    label: str
    own: str
    tree: str
    limit: str
    used: float | None
    """The tree's share of the limit, 0 to 1 (None without a limit)."""


def budget_lines(run: AgentRun) -> list[BudgetLine]:
    """Turns, tokens, dollars and time: the limits apply to the run with its sub-agents."""
    limits = run.limits
    wall = limits.max_wall_time.total_seconds() if limits.max_wall_time else None
    cost_limit = float(limits.max_cost_usd) if limits.max_cost_usd is not None else None
    return [
        BudgetLine(
            "Turns",
            count(run.turns),
            count(run.tree.turns),
            count(limits.max_turns),
            _share(run.tree.turns, limits.max_turns),
        ),
        BudgetLine(
            "Tokens",
            count(run.total_tokens),
            count(run.tree.tokens),
            count(limits.max_tokens) if limits.max_tokens else "no limit",
            _share(run.tree.tokens, limits.max_tokens),
        ),
        BudgetLine(
            "Dollars",
            money(run.cost_usd),
            money(run.tree.cost_usd),
            money(limits.max_cost_usd) if limits.max_cost_usd is not None else "no limit",
            _share(float(run.tree.cost_usd), cost_limit),
        ),
        BudgetLine(
            "Active time",
            duration(run.active_seconds),
            duration(run.tree.active_seconds),
            duration(wall) if wall else "no limit",
            _share(run.tree.active_seconds, wall),
        ),
    ]


def _share(used: float, limit: float | None) -> float | None:
    if not limit:
        return None
    return min(max(used / limit, 0.0), 1.0)


Position = Annotated[int | None, Query(ge=-1, le=MAX_SEQUENCE)]


@router.get("/ui/agents/{agent_id}")
async def agent_detail(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    agent_id: AgentId,
    before: Position = None,
    after: Position = None,
) -> Response:
    agent = await agents.get_agent(_read(runtime), agent_id)
    window = await _window(runtime, agent_id, before=before, after=after)
    unfinished = (await agents.unfinished_tool_calls(_read(runtime), [agent_id])).get(agent_id, [])
    pull_requests = await delivery.list_pull_requests(
        _read(runtime), agent_id=agent_id, limit=PULL_REQUESTS_SHOWN
    )
    return render(
        request,
        "agents/detail.html",
        session,
        agent=agent,
        story=await _story(runtime, agent.story_id),
        budget=budget_lines(agent),
        messages=shown_messages(window.messages, unfinished),
        window=window,
        waiting_calls=[c for c in unfinished if c.status is ToolCallStatus.AWAITING_APPROVAL],
        pull_requests=pull_requests.items,
        live_tokens=" ".join(
            [agent.id, *(child.id for child in agent.children), *PULL_REQUEST_EVENTS]
        ),
        running=agent.state is AgentState.RUNNING,
        max_reason=MAX_DENIAL_REASON,
        max_answer=MAX_ANSWER,
    )


@dataclass(frozen=True)
class Window:
    """The messages a page shows and where the links around them lead."""

    messages: list[tuple[int, datetime, Message]]
    earlier: int | None
    """``?before=`` for the window before this one (None: this one starts the transcript)."""
    later: int | None
    """``?after=`` for the window after this one (None: this one ends it, as far as read)."""
    is_latest: bool


async def _window(
    runtime: Runtime, agent_id: str, *, before: int | None, after: int | None
) -> Window:
    """The newest messages, or those before ``before``, or those after ``after``."""
    if after is not None:
        found = await agents.transcript(_read(runtime), agent_id, after_seq=after, limit=WINDOW + 1)
        messages = found[:WINDOW]
        first = messages[0][0] if messages else after + 1
        return Window(
            messages=messages,
            earlier=first if first > 0 else None,
            later=messages[-1][0] if len(found) > WINDOW else None,
            is_latest=False,
        )
    newest = await agents.transcript_window(
        _read(runtime), agent_id, before_seq=before, limit=WINDOW
    )
    return Window(
        messages=newest.messages,
        earlier=newest.first_seq if newest.has_earlier else None,
        later=newest.messages[-1][0] if before is not None and newest.messages else None,
        is_latest=before is None,
    )


@dataclass(frozen=True)
class StoryRef:
    """The story a run works on, as its page names it."""

    key: str | None
    title: str
    status: str


async def _story(runtime: Runtime, story_id: str | None) -> StoryRef | None:
    if story_id is None:
        return None
    try:
        story = await stories.get_story(_read(runtime), story_id)
    except NotFound:  # deleted since: the page still links the id it worked on
        return None
    return StoryRef(key=story.key, title=story.title, status=story.status.value)


# --- controls: the API's service calls, with the signed-in person as the actor ----------


def _back(next_page: str, agent_id: str) -> str:
    return next_page or f"/ui/agents/{agent_id}"


@router.post("/ui/agents/{agent_id}/pause")
async def pause(
    request: Request, runtime: RuntimeDep, actor: WriterDep, agent_id: AgentId, next: Next = ""
) -> Response:
    run = await agents.pause(runtime.uow(urgent=True), agent_id, actor)
    message = (
        f"Pause requested: agent {run.id} stops after its current step"
        if run.control is not None
        else f"Agent {run.id} is paused"
    )
    return done(request, _back(next, agent_id), message)


@router.post("/ui/agents/{agent_id}/resume")
async def resume(
    request: Request, runtime: RuntimeDep, actor: WriterDep, agent_id: AgentId, next: Next = ""
) -> Response:
    run = await agents.resume(runtime.uow(urgent=True), agent_id, actor)
    return done(request, _back(next, agent_id), f"Agent {run.id} resumed")


@router.post("/ui/agents/{agent_id}/cancel")
async def cancel(
    request: Request, runtime: RuntimeDep, actor: WriterDep, agent_id: AgentId, next: Next = ""
) -> Response:
    run = await agents.cancel(runtime.uow(urgent=True), agent_id, actor)
    message = (
        f"Cancel requested: agent {run.id} stops within seconds"
        if run.control is not None
        else f"Agent {run.id} is cancelled"
    )
    return done(request, _back(next, agent_id), message)


@router.post("/ui/agents/{agent_id}/approve")
async def approve(
    request: Request, runtime: RuntimeDep, actor: WriterDep, agent_id: AgentId, next: Next = ""
) -> Response:
    run = await agents.approve(runtime.uow(urgent=True), agent_id, actor)
    return done(request, _back(next, agent_id), f"Approved: agent {run.id} runs the tool call")


@router.post("/ui/agents/{agent_id}/deny")
async def deny(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    agent_id: AgentId,
    reason: Annotated[str, Form(max_length=MAX_DENIAL_REASON)] = "",
    next: Next = "",
) -> Response:
    run = await agents.deny(runtime.uow(urgent=True), agent_id, actor, reason=reason or None)
    told = "with your reason" if reason.strip() else "without a reason"
    return done(request, _back(next, agent_id), f"Denied: agent {run.id} is told, {told}")


@router.post("/ui/agents/{agent_id}/answer")
async def answer(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    agent_id: AgentId,
    message: Annotated[str, Form(max_length=MAX_ANSWER)],
    next: Next = "",
) -> Response:
    run = await agents.resume(runtime.uow(urgent=True), agent_id, actor, message=message)
    return done(request, _back(next, agent_id), f"Answer sent: agent {run.id} carries on")
