"""Security scanning's use cases: what the CLI, the API, pipelines and delivery call.

Scanning itself is in ``scan``; recorded scans in ``records``; this module is the
capability's one public face for the others.
"""

from __future__ import annotations

from orchestrate.core.uow import UnitOfWork
from orchestrate.security.formats import OutputFormat, render
from orchestrate.security.records import (
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

__all__ = [
    "fail_queued_scan",
    "finish_queued_scan",
    "get_finding",
    "get_scan",
    "latest_scan",
    "list_findings",
    "list_scans",
    "queue_scan",
    "record_scan",
    "render_stored_report",
    "stored_report",
]


async def render_stored_report(uow: UnitOfWork, scan_id: str, output: OutputFormat) -> str:
    """A recorded scan's report in ``output`` format."""
    return render(await stored_report(uow, scan_id), output)
