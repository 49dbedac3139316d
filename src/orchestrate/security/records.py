"""Recorded scans: storing a finished scan, listing scans and findings, and rebuilding
a stored scan's report (``security report`` writes any format from it)."""

from __future__ import annotations

from dataclasses import replace

from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.identity import Actor
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.uow import UnitOfWork
from orchestrate.security import _store as store
from orchestrate.security._store import FindingFilter
from orchestrate.security.events import ScanCompleted, ScanFailed
from orchestrate.security.models import Category, Severity, StoredFinding, StoredScan
from orchestrate.security.report import ScanReport, ordered
from orchestrate.security.sarif import ToolNotice

SCAN_PREFIX = "scan"
QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"


def _summary(
    scan_id: str,
    report: ScanReport,
    *,
    actor_name: str,
    source: str,
    repository: str | None,
) -> StoredScan:
    return StoredScan(
        id=scan_id,
        root=report.root,
        repository=repository,
        source=source,
        status=COMPLETED,
        error=None,
        categories=tuple(sorted(category.value for category in report.categories)),
        fail_on=report.fail_on.value,
        has_baseline=report.has_baseline,
        passed=report.passed,
        new_count=len(report.new),
        baselined_count=len(report.baselined),
        failing_count=len(report.failing),
        by_severity=report.counts(),
        dependency_count=report.dependency_count,
        notices=tuple(
            {"tool": n.tool, "level": n.level, "message": n.message} for n in report.notices
        ),
        started_at=report.started_at,
        finished_at=report.finished_at,
        created_by=actor_name,
    )


async def record_scan(
    uow: UnitOfWork,
    report: ScanReport,
    *,
    actor: Actor,
    source: str,
    repository: str | None = None,
) -> StoredScan:
    """Store a finished scan and its findings, and announce it, in one transaction."""
    scan = _summary(
        new_id(SCAN_PREFIX, report.started_at),
        report,
        actor_name=actor.name,
        source=source,
        repository=repository,
    )
    async with uow:
        await store.add_scan(uow, scan)
        await _add_results(uow, scan, report)
        await uow.commit()
    return scan


async def queue_scan(
    uow: UnitOfWork,
    *,
    root: str,
    repository: str | None,
    categories: frozenset[Category],
    fail_on: Severity,
    actor: Actor,
    source: str,
) -> StoredScan:
    """A scan row a job will fill (the API's scans run on a worker), added within the
    caller's transaction so the job that runs it is enqueued with it."""
    scan = StoredScan(
        id=new_id(SCAN_PREFIX, uow.now()),
        root=root,
        repository=repository,
        source=source,
        status=QUEUED,
        error=None,
        categories=tuple(sorted(c.value for c in categories)),
        fail_on=fail_on.value,
        has_baseline=False,
        passed=False,
        new_count=0,
        baselined_count=0,
        failing_count=0,
        by_severity={},
        dependency_count=0,
        notices=(),
        started_at=uow.now(),
        finished_at=None,
        created_by=actor.name,
    )
    await store.add_scan(uow, scan)
    return scan


async def finish_queued_scan(uow: UnitOfWork, scan: StoredScan, report: ScanReport) -> StoredScan:
    """Fill a queued scan with its report, in the caller's transaction."""
    done = _summary(
        scan.id,
        report,
        actor_name=scan.created_by,
        source=scan.source,
        repository=scan.repository,
    )
    await store.update_scan(uow, done)
    await _add_results(uow, done, report)
    return done


async def fail_queued_scan(uow: UnitOfWork, scan: StoredScan, error: str) -> StoredScan:
    """Mark a queued scan failed (its scanners could not run), in the caller's transaction."""
    failed = replace(scan, status=FAILED, error=error, finished_at=uow.now())
    await store.update_scan(uow, failed)
    record_event(
        uow,
        ScanFailed(subject=scan.id, scan_id=scan.id, repository=scan.repository, error=error),
    )
    return failed


async def _add_results(uow: UnitOfWork, scan: StoredScan, report: ScanReport) -> None:
    await store.add_findings(
        uow,
        scan.id,
        [(f, "new") for f in ordered(report.new)]
        + [(f, "baselined") for f in ordered(report.baselined)],
    )
    record_event(
        uow,
        ScanCompleted(
            subject=scan.id,
            scan_id=scan.id,
            repository=scan.repository,
            passed=scan.passed,
            fail_on=scan.fail_on,
            new=scan.new_count,
            failing=scan.failing_count,
            baselined=scan.baselined_count,
        ),
    )


SCAN_STATUSES = ("queued", "running", "completed", "failed")


async def list_scans(
    uow: UnitOfWork,
    *,
    repository: str | None = None,
    status: str | None = None,
    passed: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[StoredScan]:
    """Recorded scans, newest first; ``status`` one of ``SCAN_STATUSES``, ``passed`` the
    gate's verdict (completed scans only)."""
    check_page_size(limit)
    if status is not None and status not in SCAN_STATUSES:
        raise ValidationFailed(
            f"Unknown scan status {status!r}; one of {', '.join(SCAN_STATUSES)}.",
            field="status",
        )
    async with uow:
        return await store.scans_page(uow, repository, limit, cursor, status=status, passed=passed)


async def get_scan(uow: UnitOfWork, scan_id: str) -> StoredScan:
    async with uow:
        scan = await store.find_scan(uow, scan_id)
    if scan is None:
        raise NotFound(f"No security scan {scan_id!r} is recorded (see `security scans`).")
    return scan


async def latest_scan(uow: UnitOfWork, *, repository: str | None = None) -> StoredScan:
    async with uow:
        scan = await store.latest_scan(uow, repository)
    if scan is None:
        where = f" of repository {repository!r}" if repository else ""
        raise NotFound(f"No security scan{where} is recorded yet; run `security scan` first.")
    return scan


async def list_findings(
    uow: UnitOfWork,
    scan_id: str,
    *,
    state: str | None = None,
    category: Category | None = None,
    min_severity: Severity | None = None,
    rule_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[StoredFinding]:
    """A scan's findings, most severe first, filtered; the cursor is opaque to callers."""
    check_page_size(limit)
    after = _finding_cursor(cursor)
    severities: tuple[str, ...] = ()
    if min_severity is not None:
        severities = tuple(s.value for s in Severity if s.at_least(min_severity))
    where = FindingFilter(
        scan_id=scan_id,
        state=state,
        category=category.value if category else None,
        severities=severities,
        rule_id=rule_id,
    )
    async with uow:
        if await store.find_scan(uow, scan_id) is None:
            raise NotFound(f"No security scan {scan_id!r} is recorded (see `security scans`).")
        return await store.findings_page(uow, where, limit, after)


async def get_finding(uow: UnitOfWork, finding_id: int) -> StoredFinding:
    async with uow:
        found = await store.find_finding(uow, finding_id)
    if found is None:
        raise NotFound(f"No security finding {finding_id} is recorded.")
    return found


async def stored_report(uow: UnitOfWork, scan_id: str) -> ScanReport:
    """A recorded scan as the report it was (rule descriptors aside)."""
    async with uow:
        scan = await store.find_scan(uow, scan_id)
        if scan is None:
            raise NotFound(f"No security scan {scan_id!r} is recorded (see `security scans`).")
        findings = await store.all_findings(uow, scan_id)
    return ScanReport(
        root=scan.root,
        categories=frozenset(Category(c) for c in scan.categories),
        fail_on=Severity(scan.fail_on),
        started_at=scan.started_at,
        finished_at=scan.finished_at or scan.started_at,
        new=tuple(f for f, state in findings if state == "new"),
        baselined=tuple(f for f, state in findings if state == "baselined"),
        notices=tuple(
            ToolNotice(n.get("tool", ""), n.get("message", ""), n.get("level", "warning"))
            for n in scan.notices
        ),
        has_baseline=scan.has_baseline,
        dependency_count=scan.dependency_count,
    )


def _finding_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise ValidationFailed(f"Invalid cursor {cursor[:40]!r}", field="cursor")
    return int(cursor)
