"""A finished scan: what was scanned, what was found, what the gate decided.

Every output format (SARIF, JSON, Markdown, HTML), the stored scan and the pipeline
gate read this one value. ``new`` findings are those neither in the baseline nor
suppressed; the gate fails when one of them is at or above ``fail_on``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from orchestrate.security.models import Category, Finding, Severity
from orchestrate.security.sarif import RuleDescriptor, SarifInput, ToolNotice


@dataclass(frozen=True)
class ScanReport:
    """The outcome of one ``security scan``."""

    root: str
    categories: frozenset[Category]
    fail_on: Severity
    started_at: datetime
    finished_at: datetime
    new: tuple[Finding, ...]
    baselined: tuple[Finding, ...] = ()
    notices: tuple[ToolNotice, ...] = ()
    rules: dict[str, RuleDescriptor] = field(default_factory=dict)
    has_baseline: bool = False
    dependency_count: int = 0
    tool_version: str = "0"

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The new findings at or above the gate's severity."""
        return tuple(f for f in self.new if f.severity.at_least(self.fail_on))

    @property
    def passed(self) -> bool:
        return not self.failing

    def counts(self) -> dict[str, int]:
        """New findings per severity, every severity present (most severe first)."""
        counted = Counter(finding.severity for finding in self.new)
        return {severity.value: counted[severity] for severity in reversed(Severity)}

    def sarif_input(self) -> SarifInput:
        return SarifInput(
            findings=self.new,
            baselined=self.baselined,
            rules=self.rules,
            notices=self.notices,
            tool_version=self.tool_version,
            has_baseline=self.has_baseline,
        )


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then by place: the order every human-readable report uses."""
    return sorted(
        findings,
        key=lambda f: (-f.severity.rank, f.location.path, f.location.start_line or 0, f.rule_id),
    )
