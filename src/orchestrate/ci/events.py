"""The events of the CI test history (subject: the repository name as CI reports gave it).

A flaky test is quarantined, and later released, by the report whose recording made
the rule hold; the event is written in that report's transaction.
"""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class TestQuarantined(DomainEvent):
    """A flaky test crossed the quarantine thresholds with enough runs to judge."""

    __test__ = False
    event_type: ClassVar[str] = "ci.test_quarantined"
    repository: str
    test: str
    tree_sha: str
    runs: int
    failure_rate: float
    flaky_rate: float
    disruption_rate: float
    window: str


class TestReleased(DomainEvent):
    """A quarantined test passed cleanly enough times in a row to be trusted again."""

    __test__ = False
    event_type: ClassVar[str] = "ci.test_released"
    repository: str
    test: str
    tree_sha: str
    consecutive_passes: int
    quarantined_at: str
