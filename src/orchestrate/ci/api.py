"""HTTP routes of CI runs: ``/api/ci/runs``, a run, its logs, triggering and re-running.

Any token reads; triggering and re-running need an operator (the service checks the
role and audits them). The platform is named by ``provider`` and ``repo`` (query or
body), defaulting to ``ORCHESTRATE_CI_PROVIDER`` and ``ORCHESTRATE_CI_REPOSITORY``.
A platform that fails answers 502 (its status and words in the problem), a missing
token 503, an unknown provider or bad input 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import PlainTextResponse

from orchestrate.ci import runs
from orchestrate.ci.providers import RunFilter, RunStatus
from orchestrate.ci.schemas import CiRunDetailsOut, CiRunOut, RerunIn, TriggerIn
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(
    tags=["ci"],
    responses={
        502: {
            "description": "The CI platform failed, refused the stored token or kept "
            "rate-limiting (a problem with its provider, status and words)."
        }
    },
)

Provider = Annotated[str | None, Query(max_length=40, description="github, gitlab or circleci.")]
Repo = Annotated[
    str | None,
    Query(max_length=200, description="owner/name, group/project or gh/org/repo."),
]


@router.get("/ci/runs", response_model=PageOut[CiRunOut])
async def list_runs(
    uow: UowDep,
    runtime: RuntimeDep,
    _actor: ActorDep,
    provider: Provider = None,
    repo: Repo = None,
    branch: Annotated[str | None, Query(max_length=255)] = None,
    run_status: Annotated[RunStatus | None, Query(alias="status")] = None,
    workflow: Annotated[str | None, Query(max_length=200)] = None,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> PageOut[CiRunOut]:
    """The repository's runs on its CI platform, newest first."""
    target = runs.resolve_target(runtime.settings, provider, repo)
    filters = RunFilter(branch=branch, status=run_status, workflow=workflow)
    page = await runs.list_runs(
        uow, runtime.settings, target, filters, limit=min(limit, 100), cursor=cursor
    )
    return PageOut(items=[CiRunOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/ci/runs/{run_id}", response_model=CiRunDetailsOut)
async def show_run(
    run_id: str,
    uow: UowDep,
    runtime: RuntimeDep,
    _actor: ActorDep,
    provider: Provider = None,
    repo: Repo = None,
    attempt: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> CiRunDetailsOut:
    """A run and its jobs (of ``attempt``, else the latest)."""
    target = runs.resolve_target(runtime.settings, provider, repo)
    details = await runs.show_run(uow, runtime.settings, target, run_id, attempt=attempt)
    return CiRunDetailsOut.of(details)


@router.get("/ci/runs/{run_id}/logs", response_class=PlainTextResponse)
async def run_logs(
    run_id: str,
    uow: UowDep,
    runtime: RuntimeDep,
    _actor: ActorDep,
    provider: Provider = None,
    repo: Repo = None,
    job: Annotated[str | None, Query(max_length=200, description="A job's id or name.")] = None,
) -> PlainTextResponse:
    """A job's log as text, or every job's, each after a ``==> name (id) <==`` line."""
    target = runs.resolve_target(runtime.settings, provider, repo)
    text = await runs.run_logs(uow, runtime.settings, target, run_id, job=job)
    return PlainTextResponse(text)


@router.post("/ci/trigger", response_model=CiRunOut, status_code=status.HTTP_201_CREATED)
async def trigger(body: TriggerIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep) -> CiRunOut:
    """Start a workflow (GitHub workflow_dispatch, a GitLab pipeline, a CircleCI pipeline)
    on a ref; the run it started."""
    target = runs.resolve_target(runtime.settings, body.provider, body.repo)
    request = runs.Trigger(body.workflow, body.ref, body.inputs)
    return CiRunOut.of(await runs.trigger(uow, runtime.settings, target, request, actor))


@router.post("/ci/runs/{run_id}/rerun", response_model=CiRunOut)
async def rerun(
    run_id: str, body: RerunIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> CiRunOut:
    """Run it again, whole, only its failed jobs or one job; the run as it now stands."""
    target = runs.resolve_target(runtime.settings, body.provider, body.repo)
    run = await runs.rerun(
        uow, runtime.settings, target, run_id, actor, failed_only=body.failed_only, job=body.job
    )
    return CiRunOut.of(run)
