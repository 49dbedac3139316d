"""Builders for the CI history tests: results, tree SHAs, recording a report."""

from __future__ import annotations

from orchestrate.auth.service import Actor
from orchestrate.ci import history
from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.core.identity import Role
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings

REPO = "acme/shop"
OPERATOR = Actor(name="test:operator", role=Role.OPERATOR, source="127.0.0.1")

P, F, E, S = TestStatus.PASSED, TestStatus.FAILED, TestStatus.ERROR, TestStatus.SKIPPED


def sha(number: int) -> str:
    return f"{number:040x}"


def result(name: str, status: TestStatus, *, retry: int = 0, message: str = "") -> TestResult:
    if status.is_failure and not message:
        message = f"AssertionError: assert {retry} == {retry + 1}"
    return TestResult("tests", "tests.test_shop", name, status, 0.25, message, "", None, retry)


def tid(name: str) -> str:
    """The identity of a test made by ``result``."""
    return f"tests.test_shop::{name}"


async def record(
    runtime: Runtime,
    tree: int,
    *results: TestResult,
    attempt: int = 1,
    repo: str = REPO,
    settings: Settings | None = None,
) -> history.RecordedReport:
    return await history.record_report(
        runtime.uow(),
        settings or runtime.settings,
        OPERATOR,
        repository=repo,
        tree_sha=sha(tree),
        attempt=attempt,
        results=list(results),
    )
