"""HTTP routes of CI: runs (``/api/ci/runs``, a run, its logs, triggering, re-running
and cancelling) and the test history (``/api/ci/test-results``, ``/flaky``,
``/quarantine``, ``/analysis``).

Any token reads; triggering, re-running, cancelling and recording test reports need an
operator (the services check the role). The platform of a run is named by ``provider`` and
``repo`` (query or body), defaulting to ``ORCHESTRATE_CI_PROVIDER`` and
``ORCHESTRATE_CI_REPOSITORY``. A platform that fails answers 502 (its status and words
in the problem), a missing token 503, an unknown provider or bad input 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from orchestrate.ci import history, runs
from orchestrate.ci.models import ReportFormat
from orchestrate.ci.providers import RunFilter, RunStatus
from orchestrate.ci.run_analysis import analyze_run
from orchestrate.ci.schemas import (
    CancelIn,
    CiRunDetailsOut,
    CiRunOut,
    FailureAnalysisOut,
    FlakyTestOut,
    QuarantineOut,
    RecordedReportOut,
    RerunIn,
    RunAnalysisOut,
    TriggerIn,
)
from orchestrate.core.identity import Permission, authorize
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, page_in_memory
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


@router.get("/ci/runs/{run_id}/analysis", response_model=RunAnalysisOut)
async def run_analysis(
    run_id: str,
    runtime: RuntimeDep,
    _actor: ActorDep,
    provider: Provider = None,
    repo: Repo = None,
    sha: Annotated[
        str | None,
        Query(max_length=64, description="The tree SHA the run tested (default: read)."),
    ] = None,
) -> RunAnalysisOut:
    """The run's failures grouped by error signature, each with its likely cause and next
    action, read from its failed jobs' test reports or logs (``orchestrate ci analyze``)."""
    target = runs.resolve_target(runtime.settings, provider, repo)
    found = await analyze_run(
        lambda: runtime.uow(read_only=True), runtime.settings, target, run_id, tree_sha=sha
    )
    return RunAnalysisOut.of(found)


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


@router.post("/ci/runs/{run_id}/cancel", response_model=CiRunOut)
async def cancel(
    run_id: str,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
    body: CancelIn | None = None,
) -> CiRunOut:
    """Stop the run's unfinished jobs; the run as it then stands.

    The platform may show it ``in_progress`` a little longer; a run that had already
    ended comes back as it ended (no error). The body (``provider``, ``repo``) may be
    left out."""
    chosen = body or CancelIn()
    target = runs.resolve_target(runtime.settings, chosen.provider, chosen.repo)
    return CiRunOut.of(await runs.cancel(uow, runtime.settings, target, run_id, actor))


# --- the test history ---------------------------------------------------------------

RepoQuery = Annotated[str, Query(max_length=200, description="The repository, e.g. acme/shop.")]
ShaQuery = Annotated[
    str, Query(max_length=64, description="The git tree SHA the tests ran on (40 or 64 hex).")
]
FormatQuery = Annotated[ReportFormat, Query(description="The report's format (auto: detected).")]
_REPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The test report as the test runner wrote it (e.g. JUnit XML).",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/ci/test-results",
    response_model=RecordedReportOut,
    responses={201: {"model": RecordedReportOut, "description": "A new report was recorded."}},
    openapi_extra=_REPORT_BODY,
)
async def record_test_results(
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
    response: Response,
    repo: RepoQuery,
    sha: ShaQuery,
    attempt: Annotated[int, Query(ge=1, le=1000, description="The CI run attempt.")] = 1,
    format: FormatQuery = ReportFormat.AUTO,
) -> RecordedReportOut:
    """Record a test report for (repository, tree SHA, attempt): 201 when none of its
    tests was recorded for these before, 200 when some were (their results are
    replaced). 422 for a malformed report or a SHA that is not a full tree SHA."""
    results = history.read_report(await request.body(), format)
    recorded = await history.record_report(
        uow,
        runtime.settings,
        actor,
        repository=repo,
        tree_sha=sha,
        attempt=attempt,
        results=results,
    )
    if recorded.replaced == 0:
        response.status_code = status.HTTP_201_CREATED
    return RecordedReportOut.of(recorded)


@router.get(
    "/ci/flaky",
    response_model=PageOut[FlakyTestOut],
    responses={404: {"description": "No test history of that repository."}},
)
async def list_flaky_tests(
    uow: UowDep,
    runtime: RuntimeDep,
    _actor: ActorDep,
    repo: Annotated[str | None, Query(max_length=200, description="Only this repository.")] = None,
    window: Annotated[
        str | None,
        Query(max_length=16, description="The window: 30d, 2w, 72h (default: ci_flaky_window)."),
    ] = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[FlakyTestOut]:
    """Tests that both passed and failed on one tree SHA within the window, by repository
    and test; 404 for a repository without history."""
    found = await history.flaky_tests(
        uow, runtime.settings, repository=repo, window=history.window_of(window)
    )
    page = page_in_memory(found, lambda test: test.key, limit, cursor)
    return PageOut(items=[FlakyTestOut.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get(
    "/ci/quarantine",
    response_model=PageOut[QuarantineOut],
    responses={404: {"description": "No test history of that repository."}},
)
async def list_quarantined_tests(
    uow: UowDep,
    _actor: ActorDep,
    repo: Annotated[str | None, Query(max_length=200, description="Only this repository.")] = None,
    include_released: bool = False,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[QuarantineOut]:
    """Quarantined tests (and released ones when asked), by repository and test."""
    found = await history.quarantined_tests(uow, repository=repo, include_released=include_released)
    page = page_in_memory(found, lambda q: f"{q.repository}\n{q.identity}", limit, cursor)
    return PageOut(items=[QuarantineOut.of(q) for q in page.items], next_cursor=page.next_cursor)


@router.post("/ci/analysis", response_model=FailureAnalysisOut, openapi_extra=_REPORT_BODY)
async def analyse_failures(
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
    repo: RepoQuery,
    sha: ShaQuery,
    format: FormatQuery = ReportFormat.AUTO,
) -> FailureAnalysisOut:
    """Group a report's failures by error signature and name each group's likely cause
    (flaky, new since a tree SHA, infrastructure, regression) with the next action; the
    ``brief`` is the Markdown task for an issue-fixing agent. Nothing is recorded, but
    reading a report big enough to matter is work: an operator's."""
    authorize(actor, Permission.WRITE)
    results = history.read_report(await request.body(), format)
    analysis = await history.analyze_failures(
        uow, runtime.settings, repository=repo, tree_sha=sha, results=results
    )
    return FailureAnalysisOut.of(analysis)
