"""``cargo test`` (libtest's output) and ``cargo nextest run``.

libtest prints ``test tests::adds ... ok`` per test (``FAILED``, ``ignored``,
``ignored, reason``), then a ``---- tests::adds stdout ----`` block per failure with
what the test printed and its panic. ``suite`` is the test binary cargo announced
(``Running unittests src/lib.rs (target/debug/deps/shop-1a2b)`` → ``shop``,
``Doc-tests shop`` → ``shop (doc-tests)``).

nextest prints ``PASS [   0.004s] shop tests::adds`` (its binary id, then the test),
``FAIL``, ``SKIP``, ``TIMEOUT``, a signal name for a crash, and for retried tests
``TRY 2 PASS`` / ``TRY 1 FAIL``: each try is one result, numbered by ``retry``. Its
``--- STDOUT:``/``--- STDERR:`` blocks are the output; the repeat of failures after
``Summary`` is not read twice.

``classname`` is the module path (``tests``), ``name`` the function (``adds``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.ci.parsing.text import excerpt, first_line

_RUNNING = re.compile(r"^\s*Running (?:unittests )?(?P<source>\S+) \((?P<binary>[^)]+)\)")
_DOC_TESTS = re.compile(r"^\s*Doc-tests (?P<crate>\S+)")
_LIBTEST = re.compile(
    r"^test (?P<name>.+?) \.\.\. (?P<word>ok|FAILED|ignored)(?:, (?P<reason>.*))?$"
)
_LIBTEST_BLOCK = re.compile(r"^---- (?P<name>.+?) (?:stdout|stderr) ----$")
_LIBTEST_BLOCK_END = re.compile(r"^(?:failures:|test result: |successes:)")
_LIBTEST_STATUS = {
    "ok": TestStatus.PASSED,
    "FAILED": TestStatus.FAILED,
    "ignored": TestStatus.SKIPPED,
}
# ``        PASS [   0.004s] shop tests::adds`` and ``   TRY 2 FAIL [   0.004s] (1/3) shop …``
_NEXTEST = re.compile(
    r"^\s*(?:TRY (?P<try>\d+) )?(?P<word>PASS|FAIL|SKIP|TIMEOUT|LEAK|LEAK-FAIL|ABORT|SIG[A-Z]+)"
    r" \[ *(?:(?P<seconds>\d+(?:\.\d+)?)s *)?\](?: \( *\d+/\d+\))?"
    r" (?P<binary>\S+) (?P<name>\S+) *$"
)
_NEXTEST_BLOCK = re.compile(
    r"^\s*(?:-{3}|\u2500{2,}) (?:TRY \d+ )?STD(?:OUT|ERR):\s+"
    r"(?P<binary>\S+) (?P<name>\S+)\s*(?:-{3}|\u2500*)$"
)
# nextest's other progress lines end an output block without being results.
_NEXTEST_OTHER = re.compile(r"^\s*(?:RETRY \d+/\d+|START|SLOW|Starting|Cancelling|Canceling) ")
_NEXTEST_SUMMARY = re.compile(r"^\s*-{3,}\s*$|^\s*Summary \[")
_NEXTEST_STATUS = {
    "PASS": TestStatus.PASSED,
    "LEAK": TestStatus.PASSED,
    "FAIL": TestStatus.FAILED,
    "LEAK-FAIL": TestStatus.FAILED,
    "SKIP": TestStatus.SKIPPED,
    "TIMEOUT": TestStatus.ERROR,
}
_CRASHES = {"TIMEOUT": "timed out", "ABORT": "aborted"}
# ``thread 'tests::adds' panicked at src/lib.rs:9:9:`` then the message (Rust ≥ 1.73),
# or ``thread 'tests::adds' panicked at 'message', src/lib.rs:9:9`` before;
# Rust 1.90+ adds the thread id: ``thread 'tests::adds' (15584) panicked at …``.
_PANIC_NEW = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at .*:\d+:\d+:$")
_PANIC_OLD = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at '(?P<message>.*)', \S+:\d+:\d+$")
_HASH = re.compile(r"-[0-9a-f]{16}$")


@dataclass(slots=True)
class _Attempt:
    suite: str
    path: str
    status: TestStatus
    duration: float | None = None
    message: str = ""
    output: list[str] = field(default_factory=list)
    retry: int = 0


def parse_cargo(text: str) -> list[TestResult]:
    reader = _Reader()
    for line in text.split("\n"):
        reader.read(line)
    return [_result(attempt) for attempt in reader.attempts]


class _Reader:
    def __init__(self) -> None:
        self.attempts: list[_Attempt] = []
        self.latest: dict[tuple[str, str], _Attempt] = {}  # per (suite, test path)
        self.suite = ""
        self.block: list[str] | None = None
        # A nextest block holds a whole libtest run (``test … FAILED``, ``failures:``):
        # only nextest's own lines end it.
        self.is_nextest_block = False
        self.after_summary = False

    def read(self, line: str) -> None:
        if self.block is not None and not self._ends_block(line):
            self.block.append(line)
            return
        self.block = None
        if line.startswith("test "):  # most lines of a libtest log: skip the other patterns
            if not self.after_summary:
                self._read_test_line(line)
            return
        suite = _suite_announced(line) if "Running" in line or "Doc-tests" in line else None
        if suite is not None:
            self.suite, self.after_summary = suite, False
        elif _NEXTEST_SUMMARY.match(line):
            self.after_summary = True  # nextest repeats the failures there
        elif not self.after_summary:
            self._read_test_line(line)

    def _ends_block(self, line: str) -> bool:
        if self.is_nextest_block:
            return bool(
                _NEXTEST.match(line)
                or _NEXTEST_BLOCK.match(line)
                or _NEXTEST_OTHER.match(line)
                or _NEXTEST_SUMMARY.match(line)
            )
        return bool(_LIBTEST_BLOCK.match(line) or _LIBTEST_BLOCK_END.match(line))

    def _read_test_line(self, line: str) -> None:
        libtest_block = _LIBTEST_BLOCK.match(line)
        nextest_block = _NEXTEST_BLOCK.match(line)
        if libtest_block:
            self._open_block((self.suite, libtest_block["name"]), is_nextest=False)
            return
        if nextest_block:
            self._open_block((nextest_block["binary"], nextest_block["name"]), is_nextest=True)
            return
        attempt = _attempt_of(line, self.suite)
        if attempt is not None:
            self.attempts.append(attempt)
            self.latest[(attempt.suite, attempt.path)] = attempt

    def _open_block(self, key: tuple[str, str], *, is_nextest: bool) -> None:
        attempt = self.latest.get(key)
        self.block = attempt.output if attempt is not None else []  # unknown test: dropped
        self.is_nextest_block = is_nextest


def _attempt_of(line: str, suite: str) -> _Attempt | None:
    libtest = _LIBTEST.match(line)
    if libtest:
        return _Attempt(
            suite=suite,
            path=libtest["name"],
            status=_LIBTEST_STATUS[libtest["word"]],
            message=libtest["reason"] or "",
        )
    nextest = _NEXTEST.match(line)
    if nextest:
        word = nextest["word"]
        status = _NEXTEST_STATUS.get(word, TestStatus.ERROR)  # a signal or an abort: a crash
        seconds = nextest["seconds"]
        return _Attempt(
            suite=nextest["binary"],
            path=nextest["name"],
            status=status,
            duration=float(seconds) if seconds else None,
            message=_CRASHES.get(word, f"killed by {word}") if status is TestStatus.ERROR else "",
            retry=int(nextest["try"]) - 1 if nextest["try"] else 0,
        )
    return None


def _suite_announced(line: str) -> str | None:
    running = _RUNNING.match(line)
    if running:
        return _suite_of(running["binary"])
    doc = _DOC_TESTS.match(line)
    return f"{doc['crate']} (doc-tests)" if doc else None


def _suite_of(binary: str) -> str:
    """``target/debug/deps/shop-1a2b3c4d5e6f7a8b`` → ``shop``."""
    return _HASH.sub("", binary.replace("\\", "/").rsplit("/", 1)[-1])


def _panic_message(lines: list[str]) -> str:
    for index, line in enumerate(lines):
        old = _PANIC_OLD.match(line)
        if old:
            return old["message"]
        if _PANIC_NEW.match(line):
            return first_line("\n".join(lines[index + 1 : index + 2]))
    return ""


def _result(attempt: _Attempt) -> TestResult:
    if attempt.suite.endswith("(doc-tests)"):  # ``src/lib.rs - Cart::add (line 12)``
        classname, name = "", attempt.path
    else:
        classname, _, name = attempt.path.rpartition("::")
    output = "\n".join(attempt.output)
    message = attempt.message
    if attempt.status.is_failure:
        message = _panic_message(attempt.output) or message or first_line(output)
    return TestResult(
        suite=attempt.suite,
        classname=classname,
        name=name,
        status=attempt.status,
        duration=attempt.duration,
        message=first_line(message),
        output=excerpt(output),
        retry=attempt.retry,
    )
