"""SQL of recorded scans and findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from orchestrate.core.pagination import Page, TimeCursor
from orchestrate.core.uow import UnitOfWork
from orchestrate.security.models import (
    Category,
    DependencyBump,
    Ecosystem,
    Finding,
    Location,
    Severity,
    StoredFinding,
    StoredScan,
)
from orchestrate.security.tables import SecurityFindingRow, SecurityScanRow

MAX_TEXT = 8_000
MAX_SNIPPET = 2_000
_INSERT_BATCH = 500


async def add_scan(uow: UnitOfWork, scan: StoredScan) -> None:
    uow.session.add(SecurityScanRow(id=scan.id, **_values(scan)))
    await uow.session.flush()


async def update_scan(uow: UnitOfWork, scan: StoredScan) -> None:
    """Write a scan's new state and summary over its row (queued → running → ended)."""
    await uow.session.execute(
        update(SecurityScanRow).where(SecurityScanRow.id == scan.id).values(**_values(scan))
    )


def _values(scan: StoredScan) -> dict[str, Any]:
    return {
        "root": scan.root[:4096],
        "repository": scan.repository,
        "source": scan.source,
        "status": scan.status,
        "error": scan.error[:MAX_TEXT] if scan.error else None,
        "categories": list(scan.categories),
        "fail_on": scan.fail_on,
        "has_baseline": scan.has_baseline,
        "passed": scan.passed,
        "new_count": scan.new_count,
        "baselined_count": scan.baselined_count,
        "failing_count": scan.failing_count,
        "by_severity": scan.by_severity,
        "dependency_count": scan.dependency_count,
        "notices": [{k: v[:MAX_TEXT] for k, v in n.items()} for n in scan.notices],
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "created_by": scan.created_by,
    }


async def add_findings(
    uow: UnitOfWork, scan_id: str, findings: Sequence[tuple[Finding, str]]
) -> None:
    """Insert a scan's findings in batches (a history scan can have thousands)."""
    rows = [_row(scan_id, finding, state) for finding, state in findings]
    for start in range(0, len(rows), _INSERT_BATCH):
        await uow.session.execute(insert(SecurityFindingRow), rows[start : start + _INSERT_BATCH])


def _row(scan_id: str, finding: Finding, state: str) -> dict[str, Any]:
    location = finding.location
    fix = finding.fix
    return {
        "scan_id": scan_id,
        "state": state,
        "fingerprint": finding.fingerprint[:200],
        "rule_id": finding.rule_id[:300],
        "category": finding.category.value,
        "severity": finding.severity.value,
        "tool": finding.tool[:100],
        "title": finding.title[:1000],
        "message": finding.message[:MAX_TEXT],
        "path": location.path[:4096],
        "start_line": location.start_line,
        "end_line": location.end_line,
        "start_column": location.start_column,
        "end_column": location.end_column,
        "commit": location.commit[:64] if location.commit else None,
        "snippet": finding.snippet[:MAX_SNIPPET],
        "help_uri": finding.help_uri[:2000] if finding.help_uri else None,
        "properties": {str(k)[:200]: str(v)[:MAX_TEXT] for k, v in finding.properties.items()},
        "fix": None
        if fix is None
        else {
            "ecosystem": fix.ecosystem.value,
            "package": fix.package,
            "current": fix.current,
            "fixed": fix.fixed,
            "source": fix.source,
        },
    }


async def find_scan(uow: UnitOfWork, scan_id: str) -> StoredScan | None:
    row = await uow.session.get(SecurityScanRow, scan_id)
    return None if row is None else _scan(row)


async def latest_scan(uow: UnitOfWork, repository: str | None) -> StoredScan | None:
    query = select(SecurityScanRow).order_by(
        SecurityScanRow.started_at.desc(), SecurityScanRow.id.desc()
    )
    if repository is not None:
        query = query.where(SecurityScanRow.repository == repository)
    row = await uow.session.scalar(query.limit(1))
    return None if row is None else _scan(row)


async def scans_page(
    uow: UnitOfWork,
    repository: str | None,
    limit: int,
    cursor: str | None,
    *,
    status: str | None = None,
    passed: bool | None = None,
) -> Page[StoredScan]:
    """Scans, newest first by (started_at, id). ``passed`` keeps completed scans whose
    gate passed (True) or failed (False): a queued or failed scan has no verdict."""
    query = select(SecurityScanRow).order_by(
        SecurityScanRow.started_at.desc(), SecurityScanRow.id.desc()
    )
    if repository is not None:
        query = query.where(SecurityScanRow.repository == repository)
    if status is not None:
        query = query.where(SecurityScanRow.status == status)
    if passed is not None:
        query = query.where(
            (SecurityScanRow.status == "completed") & (SecurityScanRow.passed == passed)
        )
    if cursor:
        after = TimeCursor.decode(cursor)
        query = query.where(
            (SecurityScanRow.started_at < after.created_at)
            | ((SecurityScanRow.started_at == after.created_at) & (SecurityScanRow.id < after.id))
        )
    rows = list(await uow.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = TimeCursor(rows[-1].started_at, rows[-1].id).encode() if more else None
    return Page(items=[_scan(row) for row in rows], next_cursor=next_cursor)


@dataclass(frozen=True)
class FindingFilter:
    scan_id: str
    state: str | None = None
    category: str | None = None
    severities: tuple[str, ...] = ()
    rule_id: str | None = None


async def findings_page(
    uow: UnitOfWork, where: FindingFilter, limit: int, after_id: int | None
) -> Page[StoredFinding]:
    """A scan's findings in the order they were recorded (most severe first)."""
    query = (
        select(SecurityFindingRow)
        .where(SecurityFindingRow.scan_id == where.scan_id)
        .order_by(SecurityFindingRow.id)
    )
    if where.state is not None:
        query = query.where(SecurityFindingRow.state == where.state)
    if where.category is not None:
        query = query.where(SecurityFindingRow.category == where.category)
    if where.severities:
        query = query.where(SecurityFindingRow.severity.in_(where.severities))
    if where.rule_id is not None:
        query = query.where(SecurityFindingRow.rule_id == where.rule_id)
    if after_id is not None:
        query = query.where(SecurityFindingRow.id > after_id)
    rows = list(await uow.session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [StoredFinding(row.id, row.scan_id, row.state, _finding(row)) for row in rows]
    return Page(items=items, next_cursor=str(rows[-1].id) if more else None)


async def all_findings(uow: UnitOfWork, scan_id: str) -> list[tuple[Finding, str]]:
    rows = await uow.session.scalars(
        select(SecurityFindingRow)
        .where(SecurityFindingRow.scan_id == scan_id)
        .order_by(SecurityFindingRow.id)
    )
    return [(_finding(row), row.state) for row in rows]


async def find_finding(uow: UnitOfWork, finding_id: int) -> StoredFinding | None:
    row = await uow.session.get(SecurityFindingRow, finding_id)
    return None if row is None else StoredFinding(row.id, row.scan_id, row.state, _finding(row))


async def scans_finished_before(
    uow: UnitOfWork, cutoff: datetime, after: str | None, limit: int
) -> list[str]:
    query = (
        select(SecurityScanRow.id)
        .where(SecurityScanRow.finished_at < cutoff)
        .order_by(SecurityScanRow.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(SecurityScanRow.id > after)
    return list(await uow.session.scalars(query))


async def delete_scans(uow: UnitOfWork, scan_ids: Sequence[str], cutoff: datetime) -> int:
    """Delete those of ``scan_ids`` still finished before ``cutoff``, findings first
    (explicitly: SQLite may run without foreign keys)."""
    if not scan_ids:
        return 0
    expired = select(SecurityScanRow.id).where(
        SecurityScanRow.id.in_(scan_ids), SecurityScanRow.finished_at < cutoff
    )
    findings = await uow.session.execute(
        delete(SecurityFindingRow).where(SecurityFindingRow.scan_id.in_(expired))
    )
    scans = await uow.session.execute(
        delete(SecurityScanRow).where(
            SecurityScanRow.id.in_(scan_ids), SecurityScanRow.finished_at < cutoff
        )
    )
    return int(getattr(scans, "rowcount", 0) or 0) + int(getattr(findings, "rowcount", 0) or 0)


async def count_scans(uow: UnitOfWork) -> int:
    return int(await uow.session.scalar(select(func.count()).select_from(SecurityScanRow)) or 0)


def _scan(row: SecurityScanRow) -> StoredScan:
    return StoredScan(
        id=row.id,
        root=row.root,
        repository=row.repository,
        source=row.source,
        status=row.status,
        error=row.error,
        categories=tuple(row.categories),
        fail_on=row.fail_on,
        has_baseline=row.has_baseline,
        passed=row.passed,
        new_count=row.new_count,
        baselined_count=row.baselined_count,
        failing_count=row.failing_count,
        by_severity=dict(row.by_severity),
        dependency_count=row.dependency_count,
        notices=tuple(row.notices),
        started_at=row.started_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
    )


def _finding(row: SecurityFindingRow) -> Finding:
    fix = None
    if row.fix:
        fix = DependencyBump(
            ecosystem=Ecosystem(row.fix["ecosystem"]),
            package=str(row.fix["package"]),
            current=str(row.fix["current"]),
            fixed=str(row.fix["fixed"]),
            source=str(row.fix["source"]),
        )
    return Finding(
        rule_id=row.rule_id,
        category=Category(row.category),
        severity=Severity(row.severity),
        title=row.title,
        message=row.message,
        location=Location(
            path=row.path,
            start_line=row.start_line,
            end_line=row.end_line,
            start_column=row.start_column,
            end_column=row.end_column,
            commit=row.commit,
        ),
        fingerprint=row.fingerprint,
        tool=row.tool,
        snippet=row.snippet,
        help_uri=row.help_uri,
        fix=fix,
        properties=dict(row.properties),
    )
