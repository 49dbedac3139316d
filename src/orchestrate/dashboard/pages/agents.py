"""Agents: the list (by state, type and repository) and, in ``agent_detail``, one run.

The list is the model every list page follows: filters as a GET form (the URL is the
state, so a filtered page can be bookmarked and shared), cursor pagination, and the
table marked ``data-live`` so agent events refresh it in place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.core.errors import ValidationFailed
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep
from orchestrate.repositories import service as repositories
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
Filter = Annotated[str | None, Query(max_length=200)]


@router.get("/ui/agents")
async def agent_list(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    state: Filter = None,
    type: Filter = None,
    repository: Filter = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    chosen_state = _state(state)
    known = await repositories.list_repositories(runtime.uow(read_only=True), runtime.settings)
    repo_path = None
    if repository:
        match = next((r for r in known if r.name == repository), None)
        if match is None:
            raise ValidationFailed(f"No repository named {repository!r} is registered")
        repo_path = str(match.path)
    page = await agents.list_agents(
        runtime.uow(read_only=True, urgent=True),
        state=chosen_state,
        agent_type=type or None,
        repo_path=repo_path,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    types = agents.agent_types(runtime.settings, None)
    return render(
        request,
        "agents/list.html",
        session,
        page=page,
        states=[s.value for s in agents.AgentState],
        types=sorted(d.name for d in types),
        repositories=sorted(r.name for r in known),
        repository_names={str(r.path): r.name for r in known},
    )


def _state(value: str | None) -> agents.AgentState | None:
    if not value:
        return None
    try:
        return agents.AgentState(value)
    except ValueError:
        allowed = ", ".join(s.value for s in agents.AgentState)
        raise ValidationFailed(f"Unknown agent state {value!r}; one of {allowed}") from None
