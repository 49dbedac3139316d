"""``go test -v`` text and the ``go test -json`` event stream.

Text: ``=== RUN   TestCart/empty`` starts a test (``=== CONT``/``=== NAME`` resume one),
the indented lines after it are what it logged (``cart_test.go:12: got 1, want 2``),
``--- FAIL: TestCart/empty (0.00s)`` ends it (subtests' result lines are indented),
and the package's ``ok``/``FAIL`` line names the package of the tests before it.

JSON: one event per line (``Action`` run/output/pass/fail/skip, ``Package``, ``Test``,
``Elapsed``, ``Output``); lines that are not JSON (a build error on the same stream)
are skipped. A package that failed without any failed test (a panic in ``TestMain``,
a timeout, a build failure) gives one ``error`` result named ``(package)``.

``suite`` is the package, ``classname`` empty, ``name`` the test with its subtest path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.parsing.text import excerpt, first_line

_START = re.compile(r"^=== (?:RUN|CONT|NAME|PAUSE)\s+(?P<name>\S+)")
_END = re.compile(
    r"^(?P<indent>\s*)--- (?P<word>PASS|FAIL|SKIP): (?P<name>\S+) \((?P<seconds>\d+(?:\.\d+)?)s\)$"
)
_PACKAGE = re.compile(
    r"^(?P<word>ok|FAIL|\?)\s+(?P<package>\S+)(?:\s+(?:[\d.]+s|\(cached\)|\[[^\]]*\]).*)?$"
)
_WORDS = {"PASS": TestStatus.PASSED, "FAIL": TestStatus.FAILED, "SKIP": TestStatus.SKIPPED}
_ACTIONS = {"pass": TestStatus.PASSED, "fail": TestStatus.FAILED, "skip": TestStatus.SKIPPED}
_PACKAGE_TEST = "(package)"
_LOGGED = re.compile(r"^\S+\.go:\d+: ")


@dataclass(slots=True)
class _Test:
    name: str
    status: TestStatus | None = None
    duration: float | None = None
    output: list[str] = field(default_factory=list)


def parse_go(text: str) -> list[TestResult]:
    results: list[TestResult] = []
    pending: dict[str, _Test] = {}  # tests of the package whose result line is still ahead
    current: _Test | None = None
    stray: list[str] = []  # output outside any test: a panic, a build error
    for line in text.split("\n"):
        start = _START.match(line)
        if start:
            current = pending.setdefault(start["name"], _Test(start["name"]))
            continue
        end = _END.match(line)
        if end:
            test = pending.setdefault(end["name"], _Test(end["name"]))
            test.status, test.duration = _WORDS[end["word"]], float(end["seconds"])
            # Lines logged after the result belong to the failed test (a panic's trace).
            current = test if test.status is TestStatus.FAILED else None
            continue
        package = _PACKAGE.match(line)
        if package and (pending or package["word"] != "?"):
            results.extend(_package_results(package["package"], package["word"], pending, stray))
            pending, current, stray = {}, None, []
            continue
        if line in ("PASS", "FAIL") or line.startswith("exit status "):
            continue
        (current.output if current is not None else stray).append(line)
    if pending:
        results.extend(_package_results("", "", pending, stray))
    return results


def _package_results(
    package: str, word: str, tests: dict[str, _Test], stray: list[str]
) -> list[TestResult]:
    results = _with_subtest_reasons(
        [_result(package, test) for test in tests.values() if test.status is not None]
    )
    if word == "FAIL" and not any(r.status.is_failure for r in results):
        # A panic or a timeout is printed while a test runs: that test never ends.
        lost = [test for test in tests.values() if test.status is None]
        printed = [line.strip() for test in lost for line in test.output]
        unfinished = [f"(unfinished: {test.name})" for test in lost]
        output = "\n".join(stray + printed + unfinished)
        results.append(_package_error(package, output))
    return results


def _package_error(package: str, output: str) -> TestResult:
    return TestResult(
        suite=package,
        classname="",
        name=_PACKAGE_TEST,
        status=TestStatus.ERROR,
        message=first_line(output) or "the package failed without a failing test",
        output=excerpt(output),
    )


def _result(package: str, test: _Test) -> TestResult:
    lines = [line[4:] if line.startswith("    ") else line for line in test.output]
    status = test.status or TestStatus.ERROR
    return TestResult(
        suite=package,
        classname="",
        name=test.name,
        status=status,
        duration=test.duration,
        message=_reason(lines) if status is not TestStatus.PASSED else "",
        output=excerpt("\n".join(lines)),
    )


def _reason(lines: list[str]) -> str:
    """A panic, else the last ``file_test.go:12: …`` line (``t.Fatal`` ends the test, and
    ``t.Log`` lines come before the failure they explain), else the first line."""
    panic = next((line for line in lines if line.startswith("panic: ")), None)
    logged = [line for line in lines if _LOGGED.match(line)]
    return first_line(panic or (logged[-1] if logged else "\n".join(lines)))


def _with_subtest_reasons(results: list[TestResult]) -> list[TestResult]:
    """A parent that failed only because a subtest did says which one."""
    first_failed_child: dict[str, str] = {}  # each ancestor of a failed subtest → that subtest
    for result in results:
        if result.status is TestStatus.FAILED:
            parent = result.name
            while "/" in parent:
                parent = parent.rsplit("/", 1)[0]
                first_failed_child.setdefault(parent, result.name)
    if not first_failed_child:
        return results
    return [
        replace(result, message=f"subtest {first_failed_child[result.name]} failed")
        if result.status is TestStatus.FAILED
        and not result.message
        and result.name in first_failed_child
        else result
        for result in results
    ]


@dataclass(slots=True)
class _Package:
    tests: dict[str, _Test] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    status: TestStatus | None = None


def parse_go_json(text: str) -> list[TestResult]:
    packages: dict[str, _Package] = {}
    for line in text.split("\n"):
        event = _event(line)
        if event is None:
            continue
        package = packages.setdefault(str(event.get("Package", "")), _Package())
        name, action = event.get("Test"), event.get("Action")
        if not isinstance(name, str) or not name:
            _package_event(package, action, event.get("Output"))
            continue
        test = package.tests.setdefault(name, _Test(name))
        output = event.get("Output")
        if action == "output" and isinstance(output, str):
            line = output.rstrip("\n")
            if not _START.match(line) and not _END.match(line):
                test.output.append(line)
        elif action in _ACTIONS:
            elapsed = event.get("Elapsed")
            test.status = _ACTIONS[action]
            test.duration = float(elapsed) if isinstance(elapsed, int | float) else None
    results: list[TestResult] = []
    for name, package in packages.items():
        tests = _with_subtest_reasons(
            [_result(name, test) for test in package.tests.values() if test.status is not None]
        )
        results.extend(tests)
        if package.status is TestStatus.FAILED and not any(r.status.is_failure for r in tests):
            results.append(_package_error(name, "\n".join(package.output)))
    return results


def _package_event(package: _Package, action: object, output: object) -> None:
    if action == "output" and isinstance(output, str):
        line = output.rstrip("\n")
        if line not in ("PASS", "FAIL") and not _PACKAGE.match(line):
            package.output.append(line)
    elif action in _ACTIONS:
        package.status = _ACTIONS[str(action)]


def _event(line: str) -> dict[str, object] | None:
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "Action" in event else None
