"""What parsing a report gives back, and the one error it raises."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from orchestrate.ci.models import ReportFormat, TestResult, TestStatus
from orchestrate.core.errors import ValidationFailed

# A report bigger than this is refused before it is read: the largest real JUnit
# reports seen are tens of MB, and a log is parsed whole in memory.
MAX_REPORT_BYTES = 64 * 1024 * 1024


class ReportError(ValidationFailed):
    """The input is not a test report Orchestrate can read: unrecognised, malformed,
    hostile (XML entities, DTDs) or too large."""

    title = "Unreadable test report"


@dataclass(frozen=True, slots=True)
class ParsedReport:
    """The results of one report, in the order the report gave them, and the format
    they were read as (the detected one when ``auto`` was asked)."""

    format: ReportFormat
    results: tuple[TestResult, ...]

    def counts(self) -> dict[TestStatus, int]:
        """How many results of each status, every status present (zero when none)."""
        counted = Counter(result.status for result in self.results)
        return {status: counted.get(status, 0) for status in TestStatus}

    @property
    def has_failures(self) -> bool:
        return any(result.status.is_failure for result in self.results)
