"""HTTP routes of pull requests: ``/api/pull-requests``; ``{owner}/{name}/{number}`` names one.

Any token reads; operators and admins open and merge (the service checks the role and
audits). Opening for an agent that has nothing to deliver is a 409 saying why; so is a merge
the merge policy does not allow yet, and one the forge refuses (with its reason).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.delivery import service
from orchestrate.delivery.schemas import (
    PullRequestCreate,
    PullRequestDetailOut,
    PullRequestMerge,
    PullRequestOut,
    SecurityFixIn,
    SecurityFixOut,
    ShepherdMoveOut,
    ShepherdMovesOut,
)
from orchestrate.delivery.security_fix import fix_finding
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(tags=["pull requests"])

Number = Annotated[
    int, Path(ge=1, le=2**31 - 1, description="The pull request's number (GitLab: its iid).")
]


@router.get("/pull-requests", response_model=PageOut[PullRequestOut])
async def list_pull_requests(
    uow: UowDep,
    _actor: ActorDep,
    repository: str | None = None,
    state: service.PullRequestState | None = None,
    story_id: str | None = None,
    agent_id: str | None = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[PullRequestOut]:
    """Pull requests Orchestrate opened, newest first, optionally filtered."""
    page = await service.list_pull_requests(
        uow,
        repository=repository,
        state=state,
        story_id=story_id,
        agent_id=agent_id,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[PullRequestOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/pull-requests", response_model=PullRequestOut, status_code=status.HTTP_201_CREATED)
async def create_pull_request(
    body: PullRequestCreate,
    response: Response,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
) -> PullRequestOut:
    """Push a completed agent's branch and open its pull request (200 when it was opened
    before; 409 when the agent has nothing to deliver, saying why)."""
    opened = await service.open_for_agent(
        uow, runtime.settings, body.agent_id, actor, draft=body.draft
    )
    if not opened.is_new:
        response.status_code = status.HTTP_200_OK
    return PullRequestOut.of(opened.pull_request)


@router.get("/pull-requests/{owner}/{name}/{number}", response_model=PullRequestDetailOut)
async def get_pull_request(
    owner: str, name: str, number: Number, uow: UowDep, runtime: RuntimeDep, _actor: ActorDep
) -> PullRequestDetailOut:
    """One pull request, refreshed from its forge with its checks and reviews when the
    forge can be reached (``fresh`` says whether it was)."""
    view = await service.show_pull_request(uow, runtime.settings, f"{owner}/{name}", number)
    return PullRequestDetailOut.of_view(view)


@router.post("/pull-requests/{owner}/{name}/{number}/merge", response_model=PullRequestOut)
async def merge_pull_request(
    owner: str,
    name: str,
    number: Number,
    body: PullRequestMerge,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
) -> PullRequestOut:
    """Merge through the forge if the repository's merge policy says it is ready (409
    saying why not, or with the forge's reason when it refuses)."""
    merged = await service.merge_pull_request(
        uow,
        runtime.settings,
        f"{owner}/{name}",
        number,
        actor,
        method=None if body.method is None else service.MergeMethod(body.method),
    )
    return PullRequestOut.of(merged)


@router.get("/pull-requests/{owner}/{name}/{number}/moves", response_model=ShepherdMovesOut)
async def list_shepherd_moves(
    owner: str, name: str, number: Number, uow: UowDep, _actor: ActorDep
) -> ShepherdMovesOut:
    """The shepherd's moves on the pull request, oldest first."""
    repository = f"{owner}/{name}"
    moves = await service.list_moves(uow, repository, number)
    return ShepherdMovesOut(
        repository=repository, number=number, moves=[ShepherdMoveOut.of(m) for m in moves]
    )


@router.post(
    "/pull-requests/{owner}/{name}/{number}/shepherd",
    response_model=PullRequestOut,
    status_code=status.HTTP_202_ACCEPTED,
)
async def shepherd_pull_request(
    owner: str, name: str, number: Number, uow: UowDep, actor: ActorDep
) -> PullRequestOut:
    """Have the shepherd look at the pull request now (a stopped one is set going again;
    its bounds still hold). 202: the look is queued; its outcome shows in ``shepherd``."""
    pull = await service.request_look_by_number(uow, f"{owner}/{name}", number, actor)
    return PullRequestOut.of(pull)


@router.post(
    "/security/findings/{finding_id}/fix",
    response_model=SecurityFixOut,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["security"],
)
async def fix_security_finding(
    finding_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: SecurityFixIn,
    runtime: RuntimeDep,
    actor: ActorDep,
) -> SecurityFixOut:
    """Start the security-scanner agent on a finding (operator); its pull request is
    opened when it completes. The same finding again returns the same agent."""
    started = await fix_finding(
        runtime,
        finding_id,
        actor,
        repository=body.repository,
        agent_type=body.agent_type,
        max_cost_usd=body.max_cost_usd,
    )
    return SecurityFixOut(
        finding_id=finding_id, rule_id=started.finding.finding.rule_id, agent_id=started.agent.id
    )
