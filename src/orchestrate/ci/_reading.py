"""Reading a test report handed to ``ci ingest`` or ``POST /api/ci/test-results``.

The capability's report parsers (``orchestrate.ci.parsing``) are being written on their
own branch; until they land here this reads JUnit XML, the format every CI system can
produce, with junitparser. Input is untrusted: bounded in size, no DTD or entities.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

from orchestrate.ci.models import (
    MAX_MESSAGE_CHARS,
    MAX_OUTPUT_CHARS,
    ReportFormat,
    TestResult,
    TestStatus,
)
from orchestrate.core.errors import ValidationFailed

MAX_REPORT_BYTES = 50 * 1024 * 1024


def read_report(data: bytes, fmt: ReportFormat = ReportFormat.AUTO) -> list[TestResult]:
    """The per-test results of ``data``; ``ValidationFailed`` when it is no report."""
    if fmt not in (ReportFormat.AUTO, ReportFormat.JUNIT):
        raise ValidationFailed(
            f"reading {fmt.value} reports is not available yet: give JUnit XML "
            "(--format junit), which pytest, Jest, go test and cargo can all write",
            field="format",
        )
    if len(data) > MAX_REPORT_BYTES:
        raise ValidationFailed(
            f"the report is {len(data):,} bytes, over the {MAX_REPORT_BYTES:,}-byte limit",
            field="report",
        )
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data or not head.startswith(b"<"):
        raise ValidationFailed(
            "the report is not JUnit XML (no XML, or a DTD, which reports never need)",
            field="report",
        )
    try:
        document = JUnitXml.fromstring(data.decode("utf-8", "replace"))
    except Exception as error:  # junitparser raises the XML parser's errors as they come
        raise ValidationFailed(
            f"the report is not well-formed JUnit XML: {error}", field="report"
        ) from None
    results = list(_results(document))
    if not results:
        raise ValidationFailed("the report holds no test cases", field="report")
    return results


def _suites(document: Any) -> Iterator[TestSuite]:
    if isinstance(document, TestSuite):
        yield document
        return
    yield from document


def _results(document: Any) -> Iterator[TestResult]:
    for suite in _suites(document):
        for case in suite:
            yield _result(str(suite.name or ""), case)


def _result(suite: str, case: Any) -> TestResult:
    status, message, text = TestStatus.PASSED, "", ""
    for outcome in case.result:
        if isinstance(outcome, Error):
            status = TestStatus.ERROR
        elif isinstance(outcome, Failure):
            status = TestStatus.FAILED
        elif isinstance(outcome, Skipped):
            status = TestStatus.SKIPPED
        else:
            continue
        message, text = str(outcome.message or ""), str(outcome.text or "")
        break
    output = text or str(case.system_out or "")
    return TestResult(
        suite=suite,
        classname=str(case.classname or ""),
        name=str(case.name or ""),
        status=status,
        duration=float(case.time) if case.time is not None else None,
        message=(message or text.strip().split("\n", 1)[0])[:MAX_MESSAGE_CHARS],
        output=output[:MAX_OUTPUT_CHARS],
    )
