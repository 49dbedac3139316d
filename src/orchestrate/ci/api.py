"""HTTP routes of the CI test history: record a report, read flaky and quarantined tests,
analyse a run's failures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from orchestrate.ci import service
from orchestrate.ci.models import ReportFormat
from orchestrate.ci.schemas import (
    FailureAnalysisOut,
    FlakyTestOut,
    QuarantineOut,
    RecordedReportOut,
)
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, page_in_memory
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(prefix="/ci", tags=["ci"])

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
    "/test-results",
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
    results = service.read_report(await request.body(), format)
    recorded = await service.record_report(
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


@router.get("/flaky", response_model=PageOut[FlakyTestOut])
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
    found = await service.flaky_tests(
        uow, runtime.settings, repository=repo, window=service.window_of(window)
    )
    page = page_in_memory(found, lambda test: test.key, limit, cursor)
    return PageOut(items=[FlakyTestOut.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/quarantine", response_model=PageOut[QuarantineOut])
async def list_quarantined_tests(
    uow: UowDep,
    _actor: ActorDep,
    repo: Annotated[str | None, Query(max_length=200, description="Only this repository.")] = None,
    include_released: bool = False,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[QuarantineOut]:
    """Quarantined tests (and released ones when asked), by repository and test."""
    found = await service.quarantined_tests(uow, repository=repo, include_released=include_released)
    page = page_in_memory(found, lambda q: f"{q.repository}\n{q.identity}", limit, cursor)
    return PageOut(items=[QuarantineOut.of(q) for q in page.items], next_cursor=page.next_cursor)


@router.post("/analysis", response_model=FailureAnalysisOut, openapi_extra=_REPORT_BODY)
async def analyse_failures(
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    _actor: ActorDep,
    repo: RepoQuery,
    sha: ShaQuery,
    format: FormatQuery = ReportFormat.AUTO,
) -> FailureAnalysisOut:
    """Group a report's failures by error signature and name each group's likely cause
    (flaky, new since a tree SHA, infrastructure, regression) with the next action; the
    ``brief`` is the Markdown task for an issue-fixing agent. Nothing is recorded."""
    results = service.read_report(await request.body(), format)
    analysis = await service.analyze_failures(
        uow, runtime.settings, repository=repo, tree_sha=sha, results=results
    )
    return FailureAnalysisOut.of(analysis)
