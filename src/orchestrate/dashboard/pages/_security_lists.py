"""What the security pages read beyond one service call, and their filters' values.

The security service lists scans by repository only; the page also filters them by
status and by the gate's verdict (``filtered_scans``). Filter values arrive in the
query string: each is parsed here into the service's own type, and a value that is not
one of them is a ``ValidationFailed`` naming the allowed ones (a 422 page, never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.pagination import Page
from orchestrate.core.uow import UnitOfWork
from orchestrate.security import service as security

T = TypeVar("T")

PAGE_SIZE = 50
SCAN_STATUSES = ("queued", "running", "completed", "failed")
GATES = ("passed", "failed")
FINDING_STATES = ("new", "baselined")
SEVERITIES = ("critical", "high", "medium", "low", "info")
"""Most severe first, the order every count and select shows them in."""
CATEGORIES = ("secret", "sast", "dependency", "license")
REPORT_FORMATS = {
    security.OutputFormat.SARIF: ("application/sarif+json", "sarif"),
    security.OutputFormat.JSON: ("application/json", "json"),
    security.OutputFormat.MARKDOWN: ("text/markdown; charset=utf-8", "md"),
    security.OutputFormat.HTML: ("text/html; charset=utf-8", "html"),
}
"""Each report format's media type and file extension (the API's, downloaded)."""

_BATCH = 200
"""Scans read at a time while filtering by status or gate."""
_EXAMINED = 2_000
"""Scans one page reads at most while filtering: past that the page is shorter than
``PAGE_SIZE`` and its next page goes on from where it stopped."""

Reader = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class ScanFilter:
    repository: str | None = None
    status: str | None = None
    gate: str | None = None

    @property
    def is_narrowed(self) -> bool:
        """Whether a filter the service does not apply is set."""
        return self.status is not None or self.gate is not None

    def matches(self, scan: security.StoredScan) -> bool:
        if self.status is not None and scan.status != self.status:
            return False
        if self.gate is None:
            return True
        # Only a completed scan has a verdict: a queued or failed one neither passed nor failed.
        return scan.status == "completed" and scan.passed == (self.gate == "passed")


async def filtered_scans(
    read: Reader, wanted: ScanFilter, cursor: str | None
) -> Page[security.StoredScan]:
    """Scans newest first, ``PAGE_SIZE`` a page, that match ``wanted``.

    Status and gate are filtered here over the service's list, read in batches. Every
    cursor handed out is the service's own: when a batch holds more matches than the page
    has room for, the batch is read again only up to the last one that fits, so the next
    page starts right after it.
    """
    if not wanted.is_narrowed:
        return await security.list_scans(
            read(), repository=wanted.repository, limit=PAGE_SIZE, cursor=cursor
        )
    found: list[security.StoredScan] = []
    examined = 0
    while True:
        missing = PAGE_SIZE - len(found)
        batch = await security.list_scans(
            read(), repository=wanted.repository, limit=_BATCH, cursor=cursor
        )
        at = [i for i, scan in enumerate(batch.items) if wanted.matches(scan)]
        if len(at) > missing:
            prefix = await security.list_scans(
                read(), repository=wanted.repository, limit=at[missing - 1] + 1, cursor=cursor
            )
            found += [scan for scan in prefix.items if wanted.matches(scan)][:missing]
            return Page(found, prefix.next_cursor)
        found += [batch.items[i] for i in at]
        examined += len(batch.items)
        if batch.next_cursor is None or len(found) == PAGE_SIZE or examined >= _EXAMINED:
            return Page(found, batch.next_cursor)
        cursor = batch.next_cursor


def one_of(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    """``value`` if it is one of ``allowed``; None when empty."""
    if not value:
        return None
    if value not in allowed:
        raise ValidationFailed(f"Unknown {what} {value!r}; one of {', '.join(allowed)}")
    return value


def category_of(value: str | None) -> str | None:
    """A category's name, checked (the service's parser also takes the CLI's aliases)."""
    return one_of(value, CATEGORIES, "category")


def only(chosen: frozenset[T]) -> T | None:
    """The one member of ``chosen`` (a parsed filter of one value), or None."""
    return next(iter(chosen)) if len(chosen) == 1 else None


def report_format(value: str) -> security.OutputFormat:
    try:
        return security.OutputFormat(value)
    except ValueError:
        allowed = ", ".join(f.value for f in security.OutputFormat)
        raise ValidationFailed(f"Unknown report format {value!r}; one of {allowed}") from None
