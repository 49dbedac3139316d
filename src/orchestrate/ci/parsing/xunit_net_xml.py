"""xunit.net's own XML report (``dotnet test`` with the xunit logger, ``xunit.console
-xml``): ``assemblies`` → ``assembly`` → ``collection`` → ``test``.

It is not JUnit XML, but it is what .NET projects leave behind, so it is read as the
``junit`` format with the mapping xunit.net itself uses to write JUnit XML (its
``JUnitXml.xslt``): a collection is a suite, a test's ``type`` its class, ``failure``
with ``message`` and ``stack-trace`` a failure, ``reason`` a skip, ``output`` the
test's output.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.parsing.text import excerpt, first_line

ROOTS = ("assemblies", "assembly")
_RESULTS = {
    "Pass": TestStatus.PASSED,
    "Fail": TestStatus.FAILED,
    "Skip": TestStatus.SKIPPED,
    "NotRun": TestStatus.SKIPPED,
}


def parse_xunit_net(root: Element) -> list[TestResult]:
    assemblies = [root] if root.tag == "assembly" else list(root.iter("assembly"))
    return [
        _result(collection.get("name") or assembly.get("name") or "", test)
        for assembly in assemblies
        for collection in assembly.iter("collection")
        for test in collection.iter("test")
    ]


def _result(suite: str, test: Element) -> TestResult:
    failure = test.find("failure")
    status = _RESULTS.get(test.get("result") or "", TestStatus.ERROR)
    if failure is not None and status is TestStatus.PASSED:
        status = TestStatus.FAILED
    message = trace = ""
    if failure is not None:
        message = _text(failure, "message") or failure.get("exception-type") or ""
        trace = _text(failure, "stack-trace")
    elif status is TestStatus.SKIPPED:
        message = (test.findtext("reason") or "").strip()
    output = "\n".join(part for part in (trace, _text(test, "output")) if part)
    return TestResult(
        suite=suite,
        classname=test.get("type") or "",
        name=test.get("name") or "",
        status=status,
        duration=_seconds(test.get("time")),
        message=first_line(message),
        output=excerpt(output),
    )


def _text(element: Element, child: str) -> str:
    return (element.findtext(child) or "").strip("\n")


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
