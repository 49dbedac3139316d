"""Jest's console output (default and ``--verbose``) and its ``--json`` report.

The console prints ``PASS``/``FAIL`` and the test file, then — verbose, or whenever
one file ran — one line per test under its ``describe`` blocks, indented two spaces a
level (``✓ adds (5 ms)``, ``✕ fails``, ``○ skipped …``, ``✎ todo …``), then a ``●``
block per failure titled ``describe \u203a test`` with the assertion and the code frame.
Without the per-test lines only failures are known. The summary of failing tests at
the end repeats the blocks; a test is kept once.

``suite`` is the test file, ``classname`` the describe path joined with Jest's ``\u203a`` and
``name`` the test's own title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.parsing.text import excerpt, first_line

_FILE = re.compile(r"^ ?(?P<word>PASS|FAIL) {1,2}(?P<file>\S.*)$")
# `` (5.123 s)`` after a file's path; matched on the last parenthesis only.
_FILE_TIME = re.compile(r"\d+(?:\.\d+)? ?m?s")
# check marks passed (\u2713, or \u221a on Windows), crosses failed (\u2715, or \u00d7),
# a circle skipped (\u25cb), a pencil todo (\u270e)
_TEST = re.compile(
    r"^(?P<indent> +)(?P<mark>[\u2713\u221a\u2715\u00d7\u25cb\u270e]) "
    r"(?:(?:skipped|todo) )?(?P<title>.*)$"
)
# ``(5 ms)`` or ``(1.2 s)`` after a title; matched apart so the title pattern stays greedy.
_DURATION = re.compile(r" \((?P<amount>\d+(?:\.\d+)?) ?(?P<unit>ms|s)\)$")
_MARKS = {
    "\u2713": TestStatus.PASSED,
    "\u221a": TestStatus.PASSED,
    "\u2715": TestStatus.FAILED,
    "\u00d7": TestStatus.FAILED,
    "\u25cb": TestStatus.SKIPPED,
    "\u270e": TestStatus.SKIPPED,
}
_DESCRIBE = re.compile(r"^(?P<indent> +)(?P<title>\S.*)$")
_BULLET = re.compile(r"^ {2}● (?P<title>.+)$")
# What a test file logged: ``● Console`` (non-verbose) or ``console.log`` (verbose)
# blocks. Not a failure, and not part of the failure block before it.
_CONSOLE = re.compile(r"^  (?:● Console|console\.(?:log|info|warn|error|debug|trace))$")
_END = re.compile(r"^(?:Test Suites:|Summary of all failing tests|Ran all test suites)")
_SEPARATOR = " \u203a "
# Deeper describe blocks than this are not real test files but input built to make
# every test carry an ever longer path.
_MAX_DEPTH = 64
_SUITE_FAILED = "Test suite failed to run"
_JSON_STATUS = {
    "passed": TestStatus.PASSED,
    "failed": TestStatus.FAILED,
    "pending": TestStatus.SKIPPED,
    "skipped": TestStatus.SKIPPED,
    "todo": TestStatus.SKIPPED,
    "disabled": TestStatus.SKIPPED,
    "focused": TestStatus.PASSED,
}


@dataclass(slots=True)
class _Test:
    file: str
    describes: tuple[str, ...]
    title: str
    status: TestStatus
    duration: float | None = None
    message: str = ""
    output: str = ""

    @property
    def full_title(self) -> str:
        return _SEPARATOR.join((*self.describes, self.title))


def parse_jest(text: str) -> list[TestResult]:
    reader = _Reader()
    for line in text.split("\n"):
        reader.read(line)
    return reader.results()


class _Reader:
    def __init__(self) -> None:
        self.tests: dict[tuple[str, str], _Test] = {}
        self.blocks: list[tuple[_Test, list[str]]] = []
        self.read_blocks: set[tuple[str, str]] = set()  # (file, full title) of blocks read
        self.file = ""
        self.describes: list[tuple[int, str]] = []  # (indent, title) of open describe blocks
        self._cached_path: tuple[str, ...] | None = None  # None: describes changed
        self.block: list[str] | None = None

    def read(self, line: str) -> None:
        if line[:1] not in (" ", ""):  # the listing and the blocks are indented
            self._read_unindented(line)
            return
        if line.startswith((" PASS", " FAIL")):
            header = _FILE.match(line)
            if header:
                self._start_file(_file_of(header["file"]))
                return
        if not self.file:
            return
        if line.startswith(("  \u25cf", "  console.")):
            if _CONSOLE.match(line):
                self.block = []  # read and dropped
                return
            bullet = _BULLET.match(line)
            if bullet:
                self.block = self._open_block(bullet["title"])
                return
        if self.block is not None:
            self.block.append(line)
        else:
            self._read_listing(line)

    def _read_unindented(self, line: str) -> None:
        """A file header without its leading space (no colours), or the run's summary."""
        if _END.match(line):
            self.file, self.block = "", None
            return
        header = _FILE.match(line)
        if header:
            self._start_file(_file_of(header["file"]))

    def _start_file(self, file: str) -> None:
        self.file, self.describes, self.block, self._cached_path = file, [], None, None

    def _read_listing(self, line: str) -> None:
        match = _TEST.match(line)
        if match:
            self._close_describes(len(match["indent"]))
            title = match["title"]
            took = _DURATION.search(title)
            test = _Test(
                file=self.file,
                describes=self._path(),
                title=title[: took.start()] if took else title,
                status=_MARKS[match["mark"]],
                duration=_seconds(took["amount"], took["unit"]) if took else None,
            )
            self.tests.setdefault((self.file, test.full_title), test)
            return
        describe = _DESCRIBE.match(line)
        if describe:
            indent = len(describe["indent"])
            self._close_describes(indent)
            if len(self.describes) < _MAX_DEPTH:
                self.describes.append((indent, describe["title"].rstrip()))
                self._cached_path = None

    def _close_describes(self, indent: int) -> None:
        while self.describes and self.describes[-1][0] >= indent:
            self.describes.pop()
            self._cached_path = None

    def _path(self) -> tuple[str, ...]:
        """The titles of the open describe blocks; built once per change, not per test."""
        if self._cached_path is None:
            self._cached_path = tuple(title for _, title in self.describes)
        return self._cached_path

    def _open_block(self, full_title: str) -> list[str] | None:
        """The list a failure block's lines go to; None when that test's block was read
        before (the summary of failing tests repeats them)."""
        key = (self.file, full_title)
        test = self.tests.get(key)
        if test is None:
            *describes, title = full_title.split(_SEPARATOR)
            status = TestStatus.ERROR if full_title == _SUITE_FAILED else TestStatus.FAILED
            test = self.tests[key] = _Test(self.file, tuple(describes), title, status)
        if key in self.read_blocks:
            return None
        self.read_blocks.add(key)
        lines: list[str] = []
        self.blocks.append((test, lines))
        return lines

    def results(self) -> list[TestResult]:
        for test, lines in self.blocks:
            body = _dedent(lines)
            test.output = body
            test.message = first_line(body)
        return [_result(test) for test in self.tests.values()]


def _file_of(header: str) -> str:
    """The path of `` PASS  src/cart.test.js (5.1 s)``, without the time."""
    path, opened, time = header.rstrip().rpartition(" (")
    if opened and time.endswith(")") and _FILE_TIME.fullmatch(time[:-1]):
        return path.rstrip()
    return header.rstrip()


def _dedent(lines: list[str]) -> str:
    """A failure block's text: Jest indents it four spaces under its title."""
    return "\n".join(line[4:] if line.startswith("    ") else line.strip() for line in lines)


def _seconds(amount: str, unit: str) -> float:
    value = float(amount)
    return value / 1000 if unit == "ms" else value


def _result(test: _Test) -> TestResult:
    return TestResult(
        suite=test.file,
        classname=_SEPARATOR.join(test.describes),
        name=test.title,
        status=test.status,
        duration=test.duration,
        message=test.message if test.status.is_failure else "",
        output=excerpt(test.output),
        file=test.file,
    )


def parse_jest_json(document: Any) -> list[TestResult]:
    """Jest's ``--json`` report (``testResults`` of files, each with ``assertionResults``)."""
    results: list[TestResult] = []
    for file_result in _list(document.get("testResults") if isinstance(document, dict) else None):
        if not isinstance(file_result, dict):
            continue
        file = str(file_result.get("name") or file_result.get("testFilePath") or "")
        assertions = _list(file_result.get("assertionResults"))
        for assertion in assertions:
            if isinstance(assertion, dict):
                results.append(_json_result(file, assertion))
        if not assertions and file_result.get("status") == "failed":
            message = str(file_result.get("message") or file_result.get("failureMessage") or "")
            results.append(
                TestResult(
                    suite=file,
                    classname="",
                    name=_SUITE_FAILED,
                    status=TestStatus.ERROR,
                    message=first_line(message),
                    output=excerpt(message),
                    file=file,
                )
            )
    return results


def _json_result(file: str, assertion: dict[str, Any]) -> TestResult:
    failures = "\n".join(str(message) for message in _list(assertion.get("failureMessages")))
    duration = assertion.get("duration")
    status = _JSON_STATUS.get(str(assertion.get("status")), TestStatus.ERROR)
    return TestResult(
        suite=file,
        classname=_SEPARATOR.join(str(title) for title in _list(assertion.get("ancestorTitles"))),
        name=str(assertion.get("title", "")),
        status=status,
        duration=duration / 1000 if isinstance(duration, int | float) else None,
        message=first_line(failures) if status.is_failure else "",
        output=excerpt(failures),
        file=file,
    )


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
