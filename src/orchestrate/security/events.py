"""The events of security scanning (subject: the scan's id)."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class ScanCompleted(DomainEvent):
    """A scan was recorded: its verdict and counts (its findings are read by id)."""

    event_type: ClassVar[str] = "security.scan_completed"
    scan_id: str
    repository: str | None
    passed: bool
    fail_on: str
    new: int
    failing: int
    baselined: int


class ScanFailed(DomainEvent):
    """A queued scan could not run (its path vanished, a scanner broke)."""

    event_type: ClassVar[str] = "security.scan_failed"
    scan_id: str
    repository: str | None
    error: str
