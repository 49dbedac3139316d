"""Request and response models of ``/api/security``: scans and their findings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.security.models import Category, Finding, Severity, StoredFinding, StoredScan

ScanStatus = Literal["queued", "running", "completed", "failed"]


class NoticeOut(BaseModel):
    tool: str
    level: str
    message: str


class ScanOut(BaseModel):
    """A scan and its summary; its findings are under ``/findings?scan=ID``."""

    id: str
    status: ScanStatus
    error: str | None
    root: str
    repository: str | None
    source: str
    categories: list[Category]
    fail_on: Severity
    has_baseline: bool
    passed: bool
    new: int
    baselined: int
    failing: int
    by_severity: dict[str, int]
    dependencies: int
    notices: list[NoticeOut]
    started_at: datetime
    finished_at: datetime | None
    created_by: str

    @classmethod
    def of(cls, scan: StoredScan) -> ScanOut:
        return cls(
            id=scan.id,
            status=scan.status,
            error=scan.error,
            root=scan.root,
            repository=scan.repository,
            source=scan.source,
            categories=[Category(c) for c in scan.categories],
            fail_on=Severity(scan.fail_on),
            has_baseline=scan.has_baseline,
            passed=scan.passed,
            new=scan.new_count,
            baselined=scan.baselined_count,
            failing=scan.failing_count,
            by_severity=scan.by_severity,
            dependencies=scan.dependency_count,
            notices=[
                NoticeOut(
                    tool=n.get("tool", ""),
                    level=n.get("level", "warning"),
                    message=n.get("message", ""),
                )
                for n in scan.notices
            ],
            started_at=scan.started_at,
            finished_at=scan.finished_at,
            created_by=scan.created_by,
        )


class LocationOut(BaseModel):
    path: str
    start_line: int | None
    end_line: int | None
    start_column: int | None
    end_column: int | None
    commit: str | None


class FixOut(BaseModel):
    """A dependency bump: the first version that fixes every advisory on the package."""

    model_config = ConfigDict(populate_by_name=True)

    ecosystem: str
    package: str
    current: str
    fixed: str
    file: str


class FindingOut(BaseModel):
    id: int
    scan_id: str
    state: Literal["new", "baselined"]
    rule_id: str
    category: Category
    severity: Severity
    title: str
    message: str
    tool: str
    fingerprint: str
    location: LocationOut
    snippet: str
    help_uri: str | None
    properties: dict[str, str]
    fix: FixOut | None

    @classmethod
    def of(cls, stored: StoredFinding) -> FindingOut:
        finding: Finding = stored.finding
        where = finding.location
        fix = finding.fix
        return cls(
            id=stored.id,
            scan_id=stored.scan_id,
            state="baselined" if stored.state == "baselined" else "new",
            rule_id=finding.rule_id,
            category=finding.category,
            severity=finding.severity,
            title=finding.title,
            message=finding.message,
            tool=finding.tool,
            fingerprint=finding.fingerprint,
            location=LocationOut(
                path=where.path,
                start_line=where.start_line,
                end_line=where.end_line,
                start_column=where.start_column,
                end_column=where.end_column,
                commit=where.commit,
            ),
            snippet=finding.snippet,
            help_uri=finding.help_uri,
            properties=dict(finding.properties),
            fix=None
            if fix is None
            else FixOut(
                ecosystem=fix.ecosystem.value,
                package=fix.package,
                current=fix.current,
                fixed=fix.fixed,
                file=fix.source,
            ),
        )


class ScanIn(BaseModel):
    """Scan a registered repository's work tree on a worker."""

    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=200)
    categories: list[Category] | None = Field(
        default=None, description="Scanners to run; all four when left out."
    )
    fail_on: Severity | None = Field(
        default=None, description="The gate's severity; settings.security_fail_on by default."
    )
