"""HTTP routes of the repository registry: ``/api/repositories``; ``{owner}/{name}`` names one.

Any token reads; operators and admins add, remove, declare dependencies and change merge
policies (the service checks the role and audits the change).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.repositories import service
from orchestrate.repositories.schemas import (
    GraphOut,
    MergePolicyIn,
    MergePolicyOut,
    RepositoryIn,
    RepositoryOut,
)
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(tags=["repositories"])


@router.get("/repositories", response_model=PageOut[RepositoryOut])
async def list_repositories(
    uow: UowDep,
    runtime: RuntimeDep,
    _actor: ActorDep,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[RepositoryOut]:
    """Registered repositories by name, the seed setting's included."""
    page = await service.repositories_page(uow, runtime.settings, limit=limit, cursor=cursor)
    return PageOut(items=[RepositoryOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/repositories", response_model=RepositoryOut, status_code=status.HTTP_201_CREATED)
async def add_repository(
    body: RepositoryIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> RepositoryOut:
    """Register a work tree, or clone a URL and register the clone (422 for bad input or a
    path outside any work tree, 409 for a registered name, 502 when the clone fails)."""
    added = await service.add_repository(uow, runtime.settings, body.to_request(), actor)
    return RepositoryOut.of(added)


@router.get("/repositories/graph", response_model=GraphOut)
async def repository_graph(uow: UowDep, runtime: RuntimeDep, _actor: ActorDep) -> GraphOut:
    """Dependencies between repositories, declared and detected from their manifests."""
    return GraphOut.of(await service.repository_graph(uow, runtime.settings))


@router.get("/repositories/{owner}/{name}", response_model=RepositoryOut)
async def get_repository(
    owner: str, name: str, uow: UowDep, runtime: RuntimeDep, _actor: ActorDep
) -> RepositoryOut:
    """One registered repository."""
    found = await service.get_repository(uow, runtime.settings, f"{owner}/{name}")
    return RepositoryOut.of(found)


@router.delete("/repositories/{owner}/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_repository(
    owner: str, name: str, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> Response:
    """Forget a repository (and delete its clone if Orchestrate made it); 409 for a seed."""
    await service.remove_repository(uow, runtime.settings, f"{owner}/{name}", actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/repositories/{owner}/{name}/dependencies/{other_owner}/{other_name}",
    response_model=RepositoryOut,
)
async def declare_dependency(
    owner: str,
    name: str,
    other_owner: str,
    other_name: str,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
) -> RepositoryOut:
    """Declare that the repository depends on another registered one (idempotent)."""
    changed = await service.declare_dependency(
        uow, runtime.settings, f"{owner}/{name}", f"{other_owner}/{other_name}", actor
    )
    return RepositoryOut.of(changed)


@router.delete(
    "/repositories/{owner}/{name}/dependencies/{other_owner}/{other_name}",
    response_model=RepositoryOut,
)
async def remove_dependency(
    owner: str,
    name: str,
    other_owner: str,
    other_name: str,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
) -> RepositoryOut:
    """Forget a declared dependency (404 when none was declared)."""
    changed = await service.remove_dependency(
        uow, runtime.settings, f"{owner}/{name}", f"{other_owner}/{other_name}", actor
    )
    return RepositoryOut.of(changed)


@router.get("/repositories/{owner}/{name}/merge-policy", response_model=MergePolicyOut)
async def get_merge_policy(
    owner: str, name: str, uow: UowDep, runtime: RuntimeDep, _actor: ActorDep
) -> MergePolicyOut:
    """The repository's merge policy (the default when none is stored)."""
    found = await service.get_merge_policy(uow, runtime.settings, f"{owner}/{name}")
    return MergePolicyOut.of(found)


@router.put("/repositories/{owner}/{name}/merge-policy", response_model=MergePolicyOut)
async def put_merge_policy(
    owner: str, name: str, body: MergePolicyIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> MergePolicyOut:
    """Replace the repository's merge policy (fields left out take their defaults); 422 for
    a bad value, 409 for a repository of the seed setting (register it first)."""
    changed = await service.change_merge_policy(
        uow, runtime.settings, f"{owner}/{name}", body.to_change(), actor
    )
    return MergePolicyOut.of(changed)
