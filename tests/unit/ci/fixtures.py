"""The committed reports and logs the parsers are tested on (see tests/fixtures/ci/)."""

from __future__ import annotations

from pathlib import Path

from orchestrate.ci.models import TestResult

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ci"


def log(name: str) -> bytes:
    """A real tool's output captured on a test project (tests/fixtures/ci/logs)."""
    return (FIXTURES / "logs" / name).read_bytes()


def junit(name: str) -> bytes:
    """A JUnit XML file from a project's own test suite (tests/fixtures/ci/junit)."""
    return (FIXTURES / "junit" / name).read_bytes()


def by_identity(results: tuple[TestResult, ...]) -> dict[str, list[TestResult]]:
    """Every attempt of each test, in order."""
    grouped: dict[str, list[TestResult]] = {}
    for result in results:
        grouped.setdefault(result.identity, []).append(result)
    return grouped


def outcomes(results: tuple[TestResult, ...]) -> dict[str, str]:
    """The last attempt's status of each test: what a reader of the report would say."""
    return {
        identity: attempts[-1].status.value for identity, attempts in by_identity(results).items()
    }
