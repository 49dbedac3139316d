"""HTTP routes of change sets: ``/api/changesets``.

Any token reads; operators and admins create and cancel (the service checks the role
and audits). A member that cannot be part of a change set (an agent not completed, a
repository not registered, two members in one repository, repositories depending on
each other) is a 4xx problem saying why.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from orchestrate.changesets import service
from orchestrate.changesets.schemas import ChangeSetCreate, ChangeSetOut, ChangeSetStatusOut
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(tags=["change sets"])


@router.get("/changesets", response_model=PageOut[ChangeSetOut])
async def list_change_sets(
    uow: UowDep,
    _actor: ActorDep,
    state: service.ChangeSetState | None = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[ChangeSetOut]:
    """Change sets newest first, optionally in one state."""
    page = await service.list_change_sets(uow, state=state, limit=limit, cursor=cursor)
    return PageOut(items=[ChangeSetOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/changesets", response_model=ChangeSetOut, status_code=status.HTTP_201_CREATED)
async def create_change_set(
    body: ChangeSetCreate, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> ChangeSetOut:
    """Record a change set; a job opens its pull requests in dependency order, then
    merges them in that order as each repository's merge policy allows."""
    created = await service.create_change_set(
        uow,
        runtime.settings,
        service.NewChangeSet(
            title=body.title,
            description=body.description,
            agent_ids=tuple(body.agents),
            pull_requests=tuple(body.pull_requests),
        ),
        actor,
    )
    return ChangeSetOut.of(created)


@router.get("/changesets/{change_set_id}", response_model=ChangeSetOut)
async def get_change_set(change_set_id: str, uow: UowDep, _actor: ActorDep) -> ChangeSetOut:
    """One change set with its members in merge order."""
    return ChangeSetOut.of(await service.get_change_set(uow, change_set_id))


@router.get("/changesets/{change_set_id}/status", response_model=ChangeSetStatusOut)
async def get_change_set_status(
    change_set_id: str, uow: UowDep, _actor: ActorDep
) -> ChangeSetStatusOut:
    """Each member in merge order: its pull request, its state, what it waits for."""
    change_set, statuses = await service.change_set_status(uow, change_set_id)
    return ChangeSetStatusOut.of(change_set, statuses)


@router.post("/changesets/{change_set_id}/cancel", response_model=ChangeSetOut)
async def cancel_change_set(change_set_id: str, uow: UowDep, actor: ActorDep) -> ChangeSetOut:
    """Stop an open or merging change set: nothing more is opened or merged (409 when it
    has finished)."""
    return ChangeSetOut.of(await service.cancel_change_set(uow, change_set_id, actor))
