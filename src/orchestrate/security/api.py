"""HTTP routes of security scanning: recorded scans, their findings and reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import PlainTextResponse, Response

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.security import service
from orchestrate.security.formats import OutputFormat
from orchestrate.security.models import Category, Severity
from orchestrate.security.schemas import FindingOut, ScanIn, ScanOut, ScanStatus
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(prefix="/security", tags=["security"])

Repo = Annotated[
    str | None, Query(max_length=200, description="Only scans of this registered repository.")
]


@router.get("/scans", response_model=PageOut[ScanOut])
async def list_scans(
    uow: UowDep,
    _actor: ActorDep,
    repository: Repo = None,
    scan_status: Annotated[
        ScanStatus | None, Query(alias="status", description="Only scans in this state.")
    ] = None,
    gate: Annotated[
        Literal["passed", "failed"] | None,
        Query(description="Only completed scans whose gate passed, or failed."),
    ] = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[ScanOut]:
    """Recorded scans, newest first (those of the CLI, the API and pipelines' scan steps)."""
    page = await service.list_scans(
        uow,
        repository=repository,
        status=scan_status,
        passed=None if gate is None else gate == "passed",
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[ScanOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@router.post(
    "/scans",
    response_model=ScanOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"description": "No registered repository of that name."}},
)
async def start_scan(body: ScanIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep) -> ScanOut:
    """Scan a registered repository's work tree on a worker (operator); the scan is
    ``queued`` until then: poll ``GET /security/scans/{id}``."""
    settings = runtime.settings
    scan = await service.request_repository_scan(
        uow,
        settings,
        body.repository,
        categories=frozenset(body.categories or Category),
        fail_on=body.fail_on or service.severity_of(settings.security_fail_on),
        actor=actor,
    )
    return ScanOut.of(scan)


@router.get("/scans/{scan_id}", response_model=ScanOut)
async def get_scan(scan_id: str, uow: UowDep, _actor: ActorDep) -> ScanOut:
    """A scan's state, gate verdict and counts."""
    return ScanOut.of(await service.get_scan(uow, scan_id))


@router.get(
    "/scans/{scan_id}/report",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The report in the asked format.",
            "content": {output.media_type: {} for output in OutputFormat},
        }
    },
)
async def scan_report(
    scan_id: str,
    uow: UowDep,
    _actor: ActorDep,
    output: Annotated[OutputFormat, Query(alias="format")] = OutputFormat.SARIF,
) -> Response:
    """A recorded scan as SARIF 2.1.0 (default), JSON, Markdown or HTML."""
    text = await service.render_stored_report(uow, scan_id, output)
    return Response(content=text, media_type=output.media_type)


@router.get(
    "/findings",
    response_model=PageOut[FindingOut],
    responses={404: {"description": "No such scan, or no scan recorded yet."}},
)
async def list_findings(
    uow: UowDep,
    _actor: ActorDep,
    scan: Annotated[
        str | None,
        Query(max_length=40, description="The scan (default: the latest, of `repository`)."),
    ] = None,
    repository: Repo = None,
    state: Annotated[
        str | None, Query(pattern="^(new|baselined)$", description="new or baselined.")
    ] = None,
    category: Category | None = None,
    severity: Annotated[Severity | None, Query(description="This severity and above.")] = None,
    rule: Annotated[str | None, Query(max_length=300)] = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[FindingOut]:
    """A scan's findings, most severe first."""
    if scan is not None and repository is not None:
        raise ValidationFailed("Give a scan or a repository, not both.", field="scan")
    scan_id = scan or (await service.latest_scan(uow, repository=repository)).id
    page = await service.list_findings(
        uow,
        scan_id,
        state=state,
        category=category,
        min_severity=severity,
        rule_id=rule,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[FindingOut.of(f) for f in page.items], next_cursor=page.next_cursor)


@router.get("/findings/{finding_id}", response_model=FindingOut)
async def get_finding(
    finding_id: Annotated[int, Path(ge=1, le=2**63 - 1)], uow: UowDep, _actor: ActorDep
) -> FindingOut:
    """One finding of a recorded scan."""
    return FindingOut.of(await service.get_finding(uow, finding_id))
