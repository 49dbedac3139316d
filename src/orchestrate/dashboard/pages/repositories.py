"""Repositories: the registry (``repo add`` and the seed setting) and one repository with
its merge policy and its open pull requests.

Read-only on purpose: adding a repository clones or inspects a path on the server's
disk, and removing one may delete a clone, which are the CLI's and the API's
(``orchestrate repo add/remove``, ``/api/repositories``) — docs/dashboard/delivery.md
says so.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import Response

from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
Cursor = Annotated[str | None, Query(max_length=500)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/repositories")
async def repository_list(
    request: Request, runtime: RuntimeDep, session: SessionDep, cursor: Cursor = None
) -> Response:
    page = await repositories.repositories_page(
        _read(runtime), runtime.settings, limit=PAGE_SIZE, cursor=cursor or None
    )
    return render(
        request,
        "repositories/list.html",
        session,
        page=page,
        seed_setting=repositories.SEED_SETTING,
    )


@router.get("/ui/repositories/{owner}/{name}")
async def repository_detail(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    owner: Annotated[str, Path(max_length=100)],
    name: Annotated[str, Path(max_length=100)],
    cursor: Cursor = None,
) -> Response:
    repository = await repositories.get_repository(
        _read(runtime), runtime.settings, f"{owner}/{name}"
    )
    policy = await repositories.get_merge_policy(_read(runtime), runtime.settings, repository.name)
    open_pulls = await delivery.list_pull_requests(
        _read(runtime),
        repository=repository.name,
        state=delivery.PullRequestState.OPEN,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return render(
        request,
        "repositories/detail.html",
        session,
        repository=repository,
        policy=policy,
        open_pulls=open_pulls,
        seed_setting=repositories.SEED_SETTING,
    )
