"""Security scanning's use cases: what the CLI, the API, pipelines and delivery call.

Scanning itself is in ``scan`` (with the four scanners of ``scanners``); recorded scans
in ``records``; this module is the capability's one public face for the others.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate import __version__
from orchestrate.core.clock import Clock
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.identity import Actor
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.security import advisories
from orchestrate.security.advisories import DatabaseStatus, ImportSummary
from orchestrate.security.baseline import write_baseline
from orchestrate.security.formats import OutputFormat, render
from orchestrate.security.models import Severity, StoredFinding, StoredScan
from orchestrate.security.records import (
    SCAN_STATUSES,
    fail_queued_scan,
    finish_queued_scan,
    get_finding,
    get_scan,
    latest_scan,
    list_findings,
    list_scans,
    queue_scan,
    record_scan,
    stored_report,
)
from orchestrate.security.report import ScanReport
from orchestrate.security.repository_scans import request_repository_scan
from orchestrate.security.scan import ScanRequest, SecretSource, parse_categories, run_scan
from orchestrate.security.scanners import default_scanners, read_dependencies

__all__ = [
    "SCAN_STATUSES",
    "DatabaseStatus",
    "ImportSummary",
    "OutputFormat",
    "ScanReport",
    "ScanRequest",
    "SecretSource",
    "StoredFinding",
    "StoredScan",
    "advisory_database_status",
    "fail_queued_scan",
    "finish_queued_scan",
    "get_finding",
    "get_scan",
    "import_advisories",
    "latest_scan",
    "list_findings",
    "list_scans",
    "parse_categories",
    "queue_scan",
    "record_scan",
    "render",
    "render_stored_report",
    "request_repository_scan",
    "scan",
    "scan_and_record",
    "severity_of",
    "stored_report",
    "update_advisories",
    "write_baseline",
]


async def render_stored_report(uow: UnitOfWork, scan_id: str, output: OutputFormat) -> str:
    """A recorded scan's report in ``output`` format."""
    return render(await stored_report(uow, scan_id), output)


def severity_of(name: str) -> Severity:
    """A severity by name, or a message listing the names."""
    try:
        return Severity(name.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in Severity)
        raise ValidationFailed(f"Unknown severity {name!r}; use one of {names}.") from None


async def scan(
    uow: UnitOfWork, settings: Settings, clock: Clock, request: ScanRequest
) -> ScanReport:
    """Run the asked scanners over ``request.root`` (nothing is recorded)."""
    return await run_scan(
        uow,
        settings,
        clock,
        request,
        default_scanners(),
        read_dependencies=read_dependencies,
        tool_version=__version__,
    )


async def scan_and_record(
    uow: UnitOfWork,
    settings: Settings,
    clock: Clock,
    request: ScanRequest,
    *,
    actor: Actor,
    source: str,
    repository: str | None = None,
) -> tuple[ScanReport, StoredScan]:
    """Scan, then record the scan and its findings."""
    report = await scan(uow.sibling(read_only=True), settings, clock, request)
    stored = await record_scan(uow, report, actor=actor, source=source, repository=repository)
    return report, stored


async def import_advisories(uow: UnitOfWork, path: Path) -> ImportSummary:
    """Import an OSV export (a zip or a folder of OSV JSON records) into the offline
    database; older copies of a record never replace newer ones."""
    return await advisories.import_osv(uow, path)


async def update_advisories(uow: UnitOfWork, settings: Settings) -> ImportSummary:
    """Fetch every configured ecosystem's OSV export and import it (needs a network)."""
    return await advisories.update_osv(uow, settings)


async def advisory_database_status(uow: UnitOfWork) -> DatabaseStatus:
    """How many advisories the offline database holds, per ecosystem, and its last import."""
    return await advisories.database_status(uow)
