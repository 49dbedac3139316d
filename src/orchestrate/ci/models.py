"""The per-test result every parser produces and the history and analysis consume.

A result is one *attempt* of one test: a framework that re-runs a failing test within
one run (Surefire's ``rerunFailure``/``flakyFailure``, pytest-rerunfailures, nextest's
retries) yields one result per try, numbered by ``retry`` from 0. A test that failed and
then passed within one run is therefore visible as flaky without a second run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_MESSAGE_CHARS = 2_000
MAX_OUTPUT_CHARS = 4_000


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class, despite the name

    PASSED = "passed"
    FAILED = "failed"  # an assertion did not hold
    ERROR = "error"  # the test could not run to its assertions (setup, crash, timeout)
    SKIPPED = "skipped"

    @property
    def is_failure(self) -> bool:
        return self in (TestStatus.FAILED, TestStatus.ERROR)


class ReportFormat(StrEnum):
    AUTO = "auto"
    JUNIT = "junit"
    PYTEST = "pytest"
    JEST = "jest"
    CARGO = "cargo"
    GO = "go"


@dataclass(frozen=True, slots=True)
class TestResult:
    """One attempt of one test, as a report or a log showed it.

    ``suite`` is the report's suite (a JUnit ``testsuite``, a Jest file, a Go package, a
    Rust crate's test binary); ``classname`` the class or module (may be empty);
    ``name`` the test itself. ``duration`` is in seconds when the source gave one.
    ``message`` is the failure's one-line reason and ``output`` an excerpt of what it
    printed (both capped: ``MAX_MESSAGE_CHARS``, ``MAX_OUTPUT_CHARS``, ANSI stripped).
    """

    __test__ = False

    suite: str
    classname: str
    name: str
    status: TestStatus
    duration: float | None = None
    message: str = ""
    output: str = ""
    file: str | None = None
    retry: int = 0

    @property
    def identity(self) -> str:
        """The key that names the same test across runs: ``classname::name`` (or the
        suite when there is no class), stable whatever the test's outcome or timing."""
        owner = self.classname or self.suite
        return f"{owner}::{self.name}" if owner else self.name
