"""Scans of registered repositories run on a worker (``POST /api/security/scans``).

The request records a ``queued`` scan and its job in one transaction; the job scans the
repository's work tree, fills the scan in (or marks it failed with the reason) and,
when ``security_upload_sarif`` is on and the repository lives on GitHub, sends the
SARIF to code scanning for the work tree's commit.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import structlog

from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.core.identity import Actor, Permission, authorize
from orchestrate.core.jobs import JobContext, JobKind, JobPayload, JobRegistry, enqueue
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.forges import service as forges
from orchestrate.repositories import service as repositories
from orchestrate.security import _store as store
from orchestrate.security.models import Category, Severity, StoredScan
from orchestrate.security.records import fail_queued_scan, finish_queued_scan, queue_scan
from orchestrate.security.report import ScanReport
from orchestrate.security.sarif import to_sarif
from orchestrate.security.scan import ScanRequest, run_scan
from orchestrate.security.scanners import default_scanners, read_dependencies

log = structlog.get_logger(__name__)


class RepositoryScan(JobPayload):
    """Run queued scan ``scan_id``."""

    scan_id: str


SCAN_REPOSITORY = JobKind("security.scan_repository", RepositoryScan)


async def request_repository_scan(
    uow: UnitOfWork,
    settings: Settings,
    repository: str,
    *,
    categories: frozenset[Category],
    fail_on: Severity,
    actor: Actor,
) -> StoredScan:
    """Queue a scan of a registered repository's work tree; a worker runs it
    (operators and admins)."""
    authorize(actor, Permission.WRITE)
    found = await repositories.get_repository(uow.sibling(read_only=True), settings, repository)
    async with uow:
        scan = await queue_scan(
            uow,
            root=str(found.path),
            repository=found.name,
            categories=categories,
            fail_on=fail_on,
            actor=actor,
            source="api",
        )
        await enqueue(uow, SCAN_REPOSITORY, RepositoryScan(scan_id=scan.id), key=scan.id)
        await uow.commit()
    return scan


async def _run_repository_scan(job: JobContext[RepositoryScan]) -> None:
    runtime = job.runtime
    async with runtime.uow(read_only=True) as reader:
        scan = await store.find_scan(reader, job.payload.scan_id)
    if scan is None or scan.status not in ("queued", "running"):
        async with job.uow() as uow:
            await job.complete_in(uow, {"stale": True})
            await uow.commit()
        return
    try:
        report = await run_scan(
            runtime.uow(read_only=True),
            runtime.settings,
            runtime.clock,
            ScanRequest(
                root=Path(scan.root),
                categories=frozenset(Category(c) for c in scan.categories),
                fail_on=Severity(scan.fail_on),
            ),
            default_scanners(),
            read_dependencies=read_dependencies,
        )
    except OrchestrateError as error:
        async with job.uow() as uow:
            await fail_queued_scan(uow, scan, str(error))
            await job.complete_in(uow, {"status": "failed"})
            await uow.commit()
        return
    async with job.uow() as uow:
        done = await finish_queued_scan(uow, scan, report)
        await job.complete_in(uow, {"status": done.status, "passed": done.passed})
        await uow.commit()
    if runtime.settings.security_upload_sarif and scan.repository:
        await _upload(runtime, scan, report)


async def _upload(runtime: Runtime, scan: StoredScan, report: ScanReport) -> None:
    """Send the scan's SARIF to GitHub code scanning (a failure is logged: the scan
    itself is recorded either way)."""
    assert scan.repository is not None
    try:
        found = await repositories.get_repository(
            runtime.uow(read_only=True), runtime.settings, scan.repository
        )
        if found.forge.value != forges.GITHUB:
            return
        commit, ref = await _head(found.path)
        receipt = await forges.upload_sarif(
            runtime.uow(),
            runtime.settings,
            found.name,
            commit_sha=commit,
            ref=ref,
            sarif=json.dumps(to_sarif(report.sarif_input())).encode(),
        )
        log.info("security_sarif_uploaded", scan_id=scan.id, upload=receipt.id)
    except OrchestrateError as error:
        log.warning("security_sarif_upload_failed", scan_id=scan.id, error=str(error))


async def _head(path: Path) -> tuple[str, str]:
    """The work tree's commit and the full name of its branch."""
    process = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(path),
        "rev-parse",
        "HEAD",
        "--symbolic-full-name",
        "HEAD",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    lines = out.decode().split()
    if process.returncode != 0 or len(lines) < 2 or not lines[1].startswith("refs/"):
        raise ValidationFailed(f"{path} has no branch checked out to upload SARIF for")
    return lines[0], lines[1]


def register_security_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The worker's job that runs repository scans asked for over the API."""
    del runtime
    registry.register(SCAN_REPOSITORY, _run_repository_scan)
