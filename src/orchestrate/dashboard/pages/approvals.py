"""The approvals inbox: everything waiting on a person, with the decision at hand.

Three lists, each paginated with its own cursor: pipeline approval steps naming the
signed-in person as an approver (``pipelines.pending_approvals_page``), agents waiting
for a tool call to be approved, and agents waiting for an answer. Deciding here calls
the same service functions as ``/api/pipeline-runs/{id}/steps/{step}/approve|reject``
and ``/api/agents/{id}/…`` (the agents' forms post to the agent detail page's routes),
so who may decide, and the audit record, are the API's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.pages.agent_detail import MAX_ANSWER
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.pipelines import service as pipelines
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
MAX_COMMENT = 10_000
"""As the API's ``DecisionIn.comment``."""

Cursor = Annotated[str | None, Query(max_length=500)]
RunId = Annotated[str, Path(max_length=100)]
StepKey = Annotated[str, Path(max_length=300)]
Comment = Annotated[str, Form(max_length=MAX_COMMENT)]
Next = Annotated[str, Form(max_length=2000)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/approvals")
async def approvals_inbox(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    cursor: Cursor = None,
    approval_cursor: Cursor = None,
    input_cursor: Cursor = None,
) -> Response:
    steps = await pipelines.pending_approvals_page(
        _read(runtime), session.actor, limit=PAGE_SIZE, cursor=cursor or None
    )
    asking_approval = await agents.list_agents(
        _read(runtime),
        state=agents.AgentState.WAITING_FOR_APPROVAL,
        limit=PAGE_SIZE,
        cursor=approval_cursor or None,
    )
    asking_input = await agents.list_agents(
        _read(runtime),
        state=agents.AgentState.WAITING_FOR_INPUT,
        limit=PAGE_SIZE,
        cursor=input_cursor or None,
    )
    calls = await agents.unfinished_tool_calls(
        _read(runtime), [agent.id for agent in asking_approval.items]
    )
    return render(
        request,
        "approvals/inbox.html",
        session,
        steps=steps,
        asking_approval=asking_approval,
        asking_input=asking_input,
        waiting_calls={
            agent_id: [c for c in found if c.status.value == "awaiting_approval"]
            for agent_id, found in calls.items()
        },
        max_comment=MAX_COMMENT,
        max_reason=agents.MAX_DENIAL_REASON,
        max_answer=MAX_ANSWER,
    )


@router.post("/ui/approvals/{run_id}/{step}/approve")
async def approve_step(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    run_id: RunId,
    step: StepKey,
    comment: Comment = "",
    next: Next = "",
) -> Response:
    run = await pipelines.decide_approval(
        runtime.uow(urgent=True), run_id, step, actor, "approve", comment.strip() or None
    )
    return done(request, next or "/ui/approvals", f"Approved step {step} of {run.pipeline}")


@router.post("/ui/approvals/{run_id}/{step}/reject")
async def reject_step(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    run_id: RunId,
    step: StepKey,
    comment: Comment = "",
    next: Next = "",
) -> Response:
    run = await pipelines.decide_approval(
        runtime.uow(urgent=True), run_id, step, actor, "reject", comment.strip() or None
    )
    return done(request, next or "/ui/approvals", f"Rejected step {step} of {run.pipeline}")
