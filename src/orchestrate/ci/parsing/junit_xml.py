"""JUnit XML in the variants real tools write, read through junitparser.

Accepted: a ``testsuites`` root or a bare ``testsuite`` root; suites nested in suites
(Jenkins, mocha, jest-junit); ``properties``; ``system-out``/``system-err`` on cases;
``failure``, ``error`` and ``skipped``; and Surefire's re-run elements (junitparser's
``xunit2`` schema). Re-runs become attempts, numbered by ``retry``:

- ``<failure>`` then ``<rerunFailure>``/``<rerunError>`` n times: the test failed every time,
  the first result is the ``failure``, then one result per re-run (n + 1 in all);
- ``<flakyFailure>``/``<flakyError>`` n times and no final failure: it failed n times and
  then passed, n failed results and a last passed one.

The XML is parsed by defusedxml (no DTD, no entity expansion, no external resources)
before junitparser wraps the tree, so a hostile report is refused, not expanded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from junitparser import Attr, Error, Failure, Skipped, xunit2
from junitparser.junitparser import FinalResult

from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.parsing.report import ReportError
from orchestrate.ci.parsing.text import excerpt, first_line
from orchestrate.ci.parsing.xunit_net_xml import ROOTS as XUNIT_NET_ROOTS
from orchestrate.ci.parsing.xunit_net_xml import parse_xunit_net

_ROOTS = ("testsuites", "testsuite", *XUNIT_NET_ROOTS)
_RERUNS = (xunit2.RerunFailure, xunit2.RerunError)
_FLAKES = (xunit2.FlakyFailure, xunit2.FlakyError)
_INTERIM_ERRORS = (xunit2.RerunError, xunit2.FlakyError)


class _Case(xunit2.TestCase):
    # pytest (xunit1 family) and others name the test file on the case.
    file = Attr()


class _Suite(xunit2.TestSuite):
    testcase = _Case
    # mocha-junit-reporter names the test file on the suite.
    file = Attr()


class _Report(xunit2.JUnitXml):
    testsuite = _Suite


def parse_junit(text: str) -> list[TestResult]:
    root = _root(text)
    if root.tag in XUNIT_NET_ROOTS:
        return parse_xunit_net(root)
    # junitparser annotates ``fromroot`` with its own Element class, but it takes the
    # ElementTree element every parser returns.
    report = _Report.fromroot(cast(Any, root))
    results: list[TestResult] = []
    pending: list[_Suite] = list(reversed(list(report.iterchildren(_Suite))))  # type: ignore[no-untyped-call]
    while pending:  # depth first, in document order; no recursion on nesting depth
        suite = pending.pop()
        for case in suite.iterchildren(_Case):  # type: ignore[no-untyped-call]
            results.extend(_case_results(suite, case))
        pending.extend(reversed(list(suite.testsuites())))  # type: ignore[no-untyped-call]
    return results


def _root(text: str) -> Element:
    try:
        root = safe_fromstring(text, forbid_dtd=True)
    except DefusedXmlException as error:
        raise ReportError(
            f"The XML report declares a DTD or entities ({type(error).__name__}); "
            "they are refused as a protection against hostile XML. Remove the DOCTYPE."
        ) from None
    except ParseError as error:
        raise ReportError(f"The XML report is malformed: {error}.") from None
    if root.tag not in _ROOTS:
        raise ReportError(
            f"The XML root is <{root.tag}>, not <testsuites> or <testsuite> (nor xunit.net's "
            "<assemblies>): this is not a JUnit XML report."
        )
    return root


def _case_results(suite: _Suite, case: _Case) -> list[TestResult]:
    """One result per attempt of the case, numbered by ``retry`` from 0."""
    identity = _Identity(
        suite=suite.name or "",
        classname=case.classname or "",
        name=case.name or "",
        file=case.file or suite.file or None,
    )
    printed = _joined(case.system_out, case.system_err)
    final = _final(case.result)
    interim = [entry for entry in case if isinstance(entry, _RERUNS + _FLAKES)]
    flaky = [entry for entry in interim if isinstance(entry, _FLAKES)]
    if flaky and final is None:
        # It failed once per flaky element, then passed: the pass is the last attempt.
        tries = [_interim(identity, entry) for entry in flaky]
        last = identity.result(TestStatus.PASSED, _duration(case), "", printed)
        return _numbered([*tries, last])
    status, message, detail = _outcome(final)
    first = identity.result(status, _duration(case), message, _joined(detail, printed))
    reruns = [_interim(identity, entry) for entry in interim if isinstance(entry, _RERUNS)]
    return _numbered([first, *reruns])


@dataclass(frozen=True, slots=True)
class _Identity:
    suite: str
    classname: str
    name: str
    file: str | None

    def result(
        self, status: TestStatus, duration: float | None, message: str, output: str
    ) -> TestResult:
        return TestResult(
            suite=self.suite,
            classname=self.classname,
            name=self.name,
            status=status,
            duration=duration,
            message=first_line(message),
            output=excerpt(output),
            file=self.file,
        )


def _final(finals: list[FinalResult]) -> FinalResult | None:
    """The result that decides the status: an error before a failure before a skip."""
    for kind in (Error, Failure, Skipped):
        for entry in finals:
            if isinstance(entry, kind):
                return entry
    return None


def _outcome(final: FinalResult | None) -> tuple[TestStatus, str, str]:
    if final is None:
        return TestStatus.PASSED, "", ""
    status = (
        TestStatus.ERROR
        if isinstance(final, Error)
        else TestStatus.FAILED
        if isinstance(final, Failure)
        else TestStatus.SKIPPED
    )
    text = final.text or ""
    return status, _reason(final.message, final.type, text), text


def _interim(identity: _Identity, entry: xunit2.InterimResult) -> TestResult:
    status = TestStatus.ERROR if isinstance(entry, _INTERIM_ERRORS) else TestStatus.FAILED
    trace = entry.stack_trace or entry.text or ""
    message = _reason(entry.message, entry.type, trace)
    return identity.result(
        status, None, message, _joined(trace, entry.system_out, entry.system_err)
    )


def _reason(message: str | None, kind: str | None, text: str) -> str:
    """The one-line reason: the message attribute, else the text's first line, else the type."""
    return first_line(message or "") or first_line(text) or (kind or "")


def _duration(case: _Case) -> float | None:
    try:
        time: float | None = case.time
    except ValueError:  # ``time="n/a"``: no duration rather than no report
        return None
    return time


def _joined(*parts: str | None) -> str:
    return "\n".join(part.strip("\n") for part in parts if part and part.strip())


def _numbered(attempts: list[TestResult]) -> list[TestResult]:
    if len(attempts) == 1:  # most tests: built with retry 0 already
        return attempts
    return [replace(attempt, retry=retry) for retry, attempt in enumerate(attempts)]
