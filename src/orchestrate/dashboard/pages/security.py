"""Security: recorded scans (newest first, the latest one's verdict on top), one scan with
its findings and its report to download, one finding; operators queue a scan of a
registered repository, and hand a finding to the security-scanner agent.

Every read goes through ``security.service``, the same functions as ``/api/security``;
queueing a scan calls the function behind ``POST /api/security/scans`` and proposing a
fix the one behind ``POST /api/security/findings/{id}/fix``, with the person's actor, so
they are authorised and audited the same way. Everything a finding says came from the
scanned files, an advisory or a scanner: it is shown escaped, and a help address becomes
a link only when it is an http(s) one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.pages._security_lists import (
    CATEGORIES,
    FINDING_STATES,
    GATES,
    SCAN_STATUSES,
    SEVERITIES,
    category_of,
    one_of,
    only,
    report_format,
)
from orchestrate.dashboard.render import SECURITY_HEADERS, render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.security import service as security
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE = "/ui/security"
PAGE_SIZE = 50
Filter = Annotated[str | None, Query(max_length=200)]
Rule = Annotated[str | None, Query(max_length=300)]
Cursor = Annotated[str | None, Query(max_length=500)]
ScanId = Annotated[str, Path(max_length=100)]
FindingId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Field = Annotated[str, Form(max_length=200)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get(PAGE)
async def scan_list(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    repository: Filter = None,
    status: Filter = None,
    gate: Filter = None,
    cursor: Cursor = None,
) -> Response:
    chosen_gate = one_of(gate, GATES, "gate verdict")
    page = await security.list_scans(
        _read(runtime),
        repository=repository or None,
        status=one_of(status, SCAN_STATUSES, "scan status"),
        passed=None if chosen_gate is None else chosen_gate == "passed",
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    try:
        latest: security.StoredScan | None = await security.latest_scan(
            _read(runtime), repository=repository or None
        )
    except NotFound:
        latest = None
    names = await _repository_names(runtime)
    filter_names = list(names)
    if repository and repository not in filter_names:
        filter_names.append(repository)  # one no longer registered keeps its scans
    return render(
        request,
        "security/list.html",
        session,
        page=page,
        latest=latest,
        statuses=SCAN_STATUSES,
        gates=GATES,
        severities=SEVERITIES,
        categories=CATEGORIES,
        repositories=filter_names,
        registered=names,
        default_fail_on=runtime.settings.security_fail_on,
    )


@router.post(f"{PAGE}/scans")
async def request_scan(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    repository: Field = "",
    category: Annotated[list[str] | None, Form(max_length=20)] = None,
    fail_on: Field = "",
) -> Response:
    if not repository.strip():
        raise ValidationFailed("Choose the registered repository to scan.", field="repository")
    chosen = [name for name in category or [] if category_of(name)]
    scan = await security.request_repository_scan(
        runtime.uow(urgent=True),
        runtime.settings,
        repository.strip(),
        categories=security.parse_categories(chosen),
        fail_on=security.severity_of(fail_on or runtime.settings.security_fail_on),
        actor=actor,
    )
    return done(
        request,
        f"{PAGE}/scans/{scan.id}",
        f"Scan {scan.id} of {scan.repository} is queued; a worker runs it and its findings "
        "show here.",
    )


@router.get(PAGE + "/scans/{scan_id}")
async def scan_detail(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    scan_id: ScanId,
    severity: Filter = None,
    category: Filter = None,
    state: Filter = None,
    rule: Rule = None,
    cursor: Cursor = None,
) -> Response:
    scan = await security.get_scan(_read(runtime), scan_id)
    name = category_of(category)
    findings = await security.list_findings(
        _read(runtime),
        scan.id,
        state=one_of(state, FINDING_STATES, "finding state"),
        category=only(security.parse_categories([name])) if name else None,
        min_severity=security.severity_of(severity) if severity else None,
        rule_id=(rule or "").strip() or None,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return render(
        request,
        "security/scan.html",
        session,
        scan=scan,
        findings=findings,
        severities=SEVERITIES,
        categories=CATEGORIES,
        states=FINDING_STATES,
        formats=[(f.value, f.extension.upper()) for f in security.OutputFormat],
    )


@router.get(PAGE + "/scans/{scan_id}/report")
async def scan_report(
    runtime: RuntimeDep,
    session: SessionDep,
    scan_id: ScanId,
    output: Annotated[str, Query(alias="format", max_length=20)] = "sarif",
) -> Response:
    """The scan's report as a file to save (the API's ``/scans/{id}/report``, which the
    dashboard's session cookie does not open)."""
    del session  # signed in is enough: any role reads reports
    chosen = report_format(output)
    scan = await security.get_scan(_read(runtime), scan_id)
    text = await security.render_stored_report(_read(runtime), scan.id, chosen)
    return Response(
        text,
        media_type=chosen.media_type,
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{scan.id}.{chosen.extension}"',
        },
    )


@router.get(PAGE + "/findings/{finding_id}")
async def finding_detail(
    request: Request, runtime: RuntimeDep, session: SessionDep, finding_id: FindingId
) -> Response:
    stored = await security.get_finding(_read(runtime), finding_id)
    scan = await security.get_scan(_read(runtime), stored.scan_id)
    return render(
        request,
        "security/finding.html",
        session,
        stored=stored,
        finding=stored.finding,
        scan=scan,
        properties=sorted(stored.finding.properties.items()),
        registered=await _repository_names(runtime) if scan.repository is None else [],
    )


@router.post(PAGE + "/findings/{finding_id}/fix")
async def propose_fix(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    finding_id: FindingId,
    repository: Field = "",
) -> Response:
    started = await delivery.fix_finding(
        runtime, finding_id, actor, repository=repository.strip() or None
    )
    return done(
        request,
        f"/ui/agents/{started.agent.id}",
        f"The {started.agent.type} agent is working on finding {finding_id} "
        f"({started.finding.finding.rule_id}); its pull request opens when it completes.",
    )


async def _repository_names(runtime: Runtime) -> list[str]:
    index = await repositories.repository_index(_read(runtime), runtime.settings)
    return sorted(index.names(), key=str.casefold)
