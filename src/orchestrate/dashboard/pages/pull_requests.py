"""Pull requests: the list (by repository and state) and one pull request with the
shepherd's moves; operators ask the shepherd to look now, or merge.

Every read comes from our own records (the ``pull_requests`` and ``shepherd_moves``
tables, through the delivery service): rendering a page never calls the forge, so a
slow or unreachable forge cannot slow the dashboard, and a thousand open pages cost the
forge's rate limit nothing. What the forge says now is the shepherd's to find out (on
webhooks, on its timer, or when an operator asks it to look); the checks shown are
those its last look judged. Merging does call the forge, through the same service as
``pr merge``; a refusal (the policy's or the forge's) is shown on the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.core.errors import (
    ConfigurationError,
    Conflict,
    IntegrationError,
    NotFound,
    ValidationFailed,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.stories import service as stories
from orchestrate.web.deps import RuntimeDep
from orchestrate.web.errors import status_for

router = page_router()

PAGE_SIZE = 50
RECENT_MOVES = 20
"""Moves shown on a pull request, newest first (the shepherd's bounds keep them few)."""
Filter = Annotated[str | None, Query(max_length=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
Owner = Annotated[str, Path(max_length=100)]
Name = Annotated[str, Path(max_length=100)]
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/pull-requests")
async def pull_request_list(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    repository: Filter = None,
    state: Filter = None,
    cursor: Cursor = None,
) -> Response:
    page = await delivery.list_pull_requests(
        _read(runtime),
        repository=repository or None,
        state=_state(state),
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    index = await repositories.repository_index(_read(runtime), runtime.settings)
    names = sorted(index.names(), key=str.casefold)
    if repository and repository not in names:
        names.append(repository)  # one no longer registered still has its pull requests
    return render(
        request,
        "pull_requests/list.html",
        session,
        page=page,
        states=[s.value for s in delivery.PullRequestState],
        repositories=names,
    )


@router.get("/ui/pull-requests/{owner}/{name}/{number}")
async def pull_request_detail(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    owner: Owner,
    name: Name,
    number: Number,
) -> Response:
    return await _detail(request, runtime, session, f"{owner}/{name}", number)


@router.post("/ui/pull-requests/{owner}/{name}/{number}/shepherd")
async def ask_the_shepherd(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    owner: Owner,
    name: Name,
    number: Number,
) -> Response:
    repository = f"{owner}/{name}"
    await delivery.request_look_by_number(runtime.uow(urgent=True), repository, number, actor)
    return done(
        request,
        _path(repository, number),
        f"The shepherd will look at {repository}#{number} now; its move shows here.",
    )


@router.post("/ui/pull-requests/{owner}/{name}/{number}/merge")
async def merge(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    owner: Owner,
    name: Name,
    number: Number,
    method: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    repository = f"{owner}/{name}"
    chosen = _method(method)
    try:
        merged = await delivery.merge_pull_request(
            runtime.uow(urgent=True), runtime.settings, repository, number, actor, method=chosen
        )
    except (Conflict, IntegrationError, ConfigurationError) as refused:
        # Not ready, refused by the forge, or the forge unreachable: the page again, with
        # why (the forge's own words for a refusal), so the operator can act on it.
        reason = getattr(refused, "reason", "")
        message = refused.message
        if reason and reason not in message:
            message = f"{message} (the forge said: {reason})"
        return await _detail(
            request,
            runtime,
            session,
            repository,
            number,
            refusal=message,
            status_code=status_for(refused),
        )
    return done(
        request,
        _path(repository, number),
        f"Merged {merged.repository}#{merged.number} at {merged.head_sha[:12]}.",
    )


async def _detail(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    repository: str,
    number: int,
    *,
    refusal: str = "",
    status_code: int = 200,
) -> Response:
    pull = await delivery.get_pull_request(_read(runtime), repository, number)
    moves = await delivery.list_moves(_read(runtime), repository, number)
    story = None
    if pull.story_id:
        try:
            story = await stories.get_story(_read(runtime), pull.story_id)
        except NotFound:
            story = None  # deleted since: the id is still shown
    agent = None
    if pull.agent_id:
        try:
            agent = await agents.get_agent(_read(runtime), pull.agent_id)
        except NotFound:
            agent = None
    return render(
        request,
        "pull_requests/detail.html",
        session,
        status_code=status_code,
        pull=pull,
        checks=delivery.checks_as_judged(pull.shepherd),
        moves=list(reversed(moves))[:RECENT_MOVES],
        move_count=len(moves),
        story=story,
        agent=agent,
        methods=[m.value for m in delivery.MergeMethod],
        refusal=refusal,
    )


def _path(repository: str, number: int) -> str:
    return f"/ui/pull-requests/{repository}/{number}"


def _state(value: str | None) -> delivery.PullRequestState | None:
    if not value:
        return None
    try:
        return delivery.PullRequestState(value)
    except ValueError:
        allowed = ", ".join(s.value for s in delivery.PullRequestState)
        raise ValidationFailed(f"Unknown pull request state {value!r}; one of {allowed}") from None


def _method(value: str) -> delivery.MergeMethod | None:
    """The form's method, or None for the repository's merge policy's own."""
    if not value:
        return None
    try:
        return delivery.MergeMethod(value)
    except ValueError:
        allowed = ", ".join(m.value for m in delivery.MergeMethod)
        raise ValidationFailed(f"Unknown merge method {value!r}; one of {allowed}") from None
