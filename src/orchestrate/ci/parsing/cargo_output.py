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
    r" \[\s*(?P<seconds>[\d.]+)?s?\s*\](?: \(\s*\d+/\d+\))? (?P<binary>\S+) (?P<name>\S+)\s*$"
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
# ``thread 'tests::adds' panicked at src/lib.rs:9:9:`` then the message (Rust ≥ 1.73),
# or ``thread 'tests::adds' panicked at 'message', src/lib.rs:9:9`` before;
# Rust 1.90+ adds the thread id: ``thread 'tests::adds' (15584) panicked at …``.
_PANIC_NEW = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at .*:\d+:\d+:$")
_PANIC_OLD = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at '(?P<message>.*)', \S+:\d+:\d+$")
_HASH = re.compile(r"-[0-9a-f]{16}$")


@dataclass
class _Attempt:
    suite: str
    path: str
    status: TestStatus
    duration: float | None = None
    message: str = ""
    output: list[str] = field(default_factory=list)
    retry: int = 0


def parse_cargo(text: str) -> list[TestResult]:
    attempts: list[_Attempt] = []
    by_key: dict[tuple[str, str], _Attempt] = {}  # latest attempt per (suite, path)
    suite = ""
    block: list[str] | None = None
    after_summary = False
    for line in text.split("\n"):
        new_suite = _suite_announced(line)
        if new_suite is not None:
            suite, block, after_summary = new_suite, None, False
            continue
        if _NEXTEST_SUMMARY.match(line):
            after_summary, block = True, None
            continue
        start = _LIBTEST_BLOCK.match(line) or _NEXTEST_BLOCK.match(line)
        if start:
            binary = start.groupdict().get("binary")
            attempt = by_key.get((binary or suite, start["name"]))
            block = attempt.output if attempt is not None and not after_summary else None
            continue
        if block is not None and (_LIBTEST_BLOCK_END.match(line) or _NEXTEST_OTHER.match(line)):
            block = None
        if block is not None and not _NEXTEST.match(line) and not _LIBTEST.match(line):
            block.append(line)
            continue
        block = None
        attempt = None if after_summary else _attempt_of(line, suite)
        if attempt is not None:
            attempts.append(attempt)
            by_key[(attempt.suite, attempt.path)] = attempt
    return [_result(attempt) for attempt in attempts]


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
            message="" if status is not TestStatus.ERROR else f"{word.lower()}",
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
