"""pytest's console output: verbose lines, the short test summary, failure sections.

Three sources describe a test and any of them may be missing: ``-v`` prints one line
per test (``path::Class::test PASSED [ 10%]``, or ``[gw0] [ 10%] PASSED path::test``
under xdist), ``-rA``/``-ra`` prints ``FAILED path::test - reason`` in the short test
summary, and the ``FAILURES``/``ERRORS`` sections hold each failure's traceback with
its ``E   `` lines. They are merged per node id; ``RERUN`` lines (pytest-rerunfailures)
become earlier attempts of the same test.

Names follow pytest's own JUnit XML: ``classname`` is the dotted module path plus any
classes (``tests.test_cart.TestTotals``), ``name`` the function with its parameters,
``suite`` and ``file`` the test file — so a test has the same identity whether its
console log or its ``--junitxml`` report was read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.parsing.text import excerpt, first_line

_STATUS_WORDS = {
    "PASSED": TestStatus.PASSED,
    "XPASS": TestStatus.PASSED,
    "FAILED": TestStatus.FAILED,
    "ERROR": TestStatus.ERROR,
    "SKIPPED": TestStatus.SKIPPED,
    "XFAIL": TestStatus.SKIPPED,  # an expected failure is reported as skipped, as in JUnit XML
    "RERUN": TestStatus.FAILED,
}
_WORDS = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS|RERUN"
# ``tests/test_a.py::TestX::test_y[1] PASSED  [ 10%]`` (the reason may follow the word)
_VERBOSE = re.compile(rf"^(?P<node>\S+\.py::\S.*?) (?P<word>{_WORDS})\b(?P<rest>.*)$")
# ``[gw1] [ 50%] PASSED tests/test_a.py::test_y`` (pytest-xdist)
_VERBOSE_XDIST = re.compile(
    rf"^\[gw\d+\] \[\s*\d+%\] (?P<word>{_WORDS}) (?P<node>\S+\.py::\S+)(?P<rest>.*)$"
)
# ``FAILED tests/test_a.py::test_y - AssertionError: …`` in the short test summary
# (parameter ids may hold spaces: the node runs up to `` - `` or the end of the line)
_SUMMARY = re.compile(rf"^(?P<word>{_WORDS}) (?P<node>\S+\.py::\S.*?)(?: - (?P<reason>.*))?$")
# ``SKIPPED [2] tests/test_a.py:14: no database``: a location, not a node id
_SUMMARY_SKIP = re.compile(
    r"^SKIPPED \[(?P<count>\d+)\] (?P<file>[^:\s]+):(?P<line>\d+): (?P<reason>.*)$"
)
_ERROR_AT = re.compile(r"^ERROR at (?:setup|teardown|call) of (?P<name>.+)$")
_PROGRESS = re.compile(r"\s*\[\s*\d+%\]\s*$")

_SEVERITY = {
    TestStatus.SKIPPED: 0,
    TestStatus.PASSED: 1,
    TestStatus.FAILED: 2,
    TestStatus.ERROR: 3,
}


@dataclass(slots=True)
class _Test:
    node: str
    status: TestStatus | None = None  # None while only RERUN lines were seen
    message: str = ""
    output: str = ""
    retries: list[str] = field(default_factory=list)  # messages of RERUN attempts
    is_skip_mark: bool = False  # reported as SKIPPED (not XFAIL)


def parse_pytest(text: str) -> list[TestResult]:
    tests: dict[str, _Test] = {}
    skips: list[tuple[str, str]] = []  # (file, reason) from summary lines without a node id
    blocks: list[tuple[str, str, list[str]]] = []  # (section, block title, lines)
    section = ""
    block: list[str] | None = None
    for line in text.split("\n"):
        heading = _framed(line, "=")
        if heading is not None:
            section, block = heading.upper(), None
            continue
        if section in ("FAILURES", "ERRORS"):
            opened = _framed(line, "_")
            if opened:
                block = []
                blocks.append((section, opened, block))
            elif block is not None:
                block.append(line)
            continue
        _read_status_line(line, tests, skips)
    by_title: dict[str, _Test] = {}
    for test in tests.values():
        by_title.setdefault(_block_title(test.node), test)
    for section_name, title, lines in blocks:
        _attach_block(tests, by_title, section_name, title, lines)
    unplaced = _place_skip_reasons(tests, skips)
    results = [result for test in tests.values() for result in _results(test)]
    return results + [_location_skip(file, reason) for file, reason in unplaced]


def _place_skip_reasons(
    tests: dict[str, _Test], skips: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Give the summary's ``SKIPPED [n] file:line: reason`` to the skipped tests of that
    file that have none (xdist's verbose lines carry no reason), in order; the skips of
    files without any skipped test named are returned, to be results of their own."""
    waiting: dict[str, list[_Test]] = {}
    for test in tests.values():
        if test.is_skip_mark:
            waiting.setdefault(_file_of(test.node), []).append(test)
    unplaced = []
    for file, reason in skips:
        if file not in waiting:
            unplaced.append((file, reason))
            continue
        without = next((test for test in waiting[file] if not test.message), None)
        if without is not None:
            without.message = reason
    return unplaced


def _framed(line: str, rule: str) -> str | None:
    """``=== FAILURES ===`` → ``FAILURES``, ``___ test_x ___`` → ``test_x``; None for a
    line not framed by at least three ``rule`` characters on each side. (String
    operations: the pattern this replaced took seconds on a long line of ``=``.)"""
    fence = rule * 3
    if not (line.startswith(fence) and line.endswith(fence)) or len(line) < 6:
        return None
    inner = line.lstrip(rule).rstrip(rule)
    return inner.removeprefix(" ").removesuffix(" ")


def _read_status_line(line: str, tests: dict[str, _Test], skips: list[tuple[str, str]]) -> None:
    if "::" not in line and not line.startswith("SKIPPED ["):
        return  # neither a test line nor a summary line: most of a log
    match = _VERBOSE.match(line) or _VERBOSE_XDIST.match(line)
    if match:
        rest = _PROGRESS.sub("", match["rest"]).strip()
        reason = rest[1:-1] if rest.startswith("(") and rest.endswith(")") else ""
        _record(tests, match["node"], match["word"], reason)
        return
    match = _SUMMARY.match(line)
    if match:
        _record(tests, match["node"], match["word"], match["reason"] or "")
        return
    skip = _SUMMARY_SKIP.match(line)
    if skip:
        # One entry per location, whatever its count: the tests there are not named.
        skips.append((skip["file"], skip["reason"]))


def _record(tests: dict[str, _Test], node: str, word: str, reason: str) -> None:
    test = tests.get(node)
    if test is None:
        test = tests[node] = _Test(node=node)
    if word == "RERUN":
        test.retries.append(reason)
        return
    # A test seen twice (verbose line and summary, or passed then errored at teardown)
    # keeps its worst outcome and the first reason given.
    status = _STATUS_WORDS[word]
    test.is_skip_mark = test.is_skip_mark or word == "SKIPPED"
    if test.status is None or _SEVERITY[status] > _SEVERITY[test.status]:
        test.status = status
    test.message = test.message or reason


def _attach_block(
    tests: dict[str, _Test],
    by_title: dict[str, _Test],
    section: str,
    title: str,
    lines: list[str],
) -> None:
    error_at = _ERROR_AT.match(title)
    name = error_at["name"] if error_at else title
    test = by_title.get(name)
    if test is None:
        if section != "ERRORS":
            return
        # An error outside any test (a collection error names the file): still a result.
        test = tests[name] = _Test(node=name, status=TestStatus.ERROR)
    body = "\n".join(lines)
    reasons = [line[1:].strip() for line in lines if line.startswith("E ")]
    if reasons and not test.message:
        test.message = reasons[0]
    if not test.output:
        test.output = body


def _block_title(node: str) -> str:
    """The title pytest gives a test's failure block: ``Class.test[param]``."""
    return ".".join(node.split("::")[1:])


def _file_of(node: str) -> str:
    return node.split("::", 1)[0]


def _results(test: _Test) -> list[TestResult]:
    path = _file_of(test.node)
    parts = test.node.split("::")
    module = path.removesuffix(".py").replace("/", ".").replace("\\", ".")
    if len(parts) == 1:  # a collection error names only the file
        classname, name = module, parts[0]
    else:
        classname, name = ".".join([module, *parts[1:-1]]), parts[-1]
    retries = [
        TestResult(
            suite=path,
            classname=classname,
            name=name,
            status=TestStatus.FAILED,
            message=first_line(reason),
            file=path,
            retry=number,
        )
        for number, reason in enumerate(test.retries)
    ]
    if test.status is None:
        return retries
    final = TestResult(
        suite=path,
        classname=classname,
        name=name,
        status=test.status,
        message=first_line(test.message) if test.status is not TestStatus.PASSED else "",
        output=excerpt(test.output),
        file=path,
        retry=len(test.retries),
    )
    return [*retries, final]


def _location_skip(file: str, reason: str) -> TestResult:
    module = file.removesuffix(".py").replace("/", ".")
    return TestResult(
        suite=file,
        classname=module,
        name=f"(skipped in {file})",
        status=TestStatus.SKIPPED,
        message=first_line(reason),
        file=file,
    )
