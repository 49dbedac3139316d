"""Input built to make a parser take quadratic or worse time.

Each input is a few hundred kilobytes (the last, 100,000 tests): a linear parser reads
it in milliseconds, while the patterns these replaced took seconds on a few thousand
characters (the pytest section rule was cubic: 11 s for 2,000 ``=``), and the Go parser
once looked for a failed parent's subtest by scanning every failed test. The timeout
turns a regression into a failure instead of a stuck suite.
"""

from __future__ import annotations

import contextlib

import pytest

from orchestrate.ci.models import ReportFormat
from orchestrate.ci.parsing import ReportError, parse_report

_N = 200_000

HOSTILE = {
    "a long rule of = (pytest section)": ("=" * _N + "x", ReportFormat.PYTEST),
    "a long rule of _ (pytest failure block)": (
        "=== FAILURES ===\n" + "_" * _N + " x " + "_ " * _N,
        ReportFormat.PYTEST,
    ),
    "spaces after a Jest file": (" PASS  a" + " " * _N + "b", ReportFormat.JEST),
    "spaces in a nextest bracket": ("  PASS [" + " " * _N + "x", ReportFormat.CARGO),
    "a carriage return before a long line": ("\r" + "a" * _N, ReportFormat.GO),
    "many blank lines to detect": ("\n" * _N + "x", ReportFormat.AUTO),
    "many blank lines then a nextest line": ("\n" * _N + "PASS [", ReportFormat.AUTO),
    "a pytest node with many words": ("a.py::b" + " x" * _N, ReportFormat.PYTEST),
    "a pytest summary with many dashes": ("FAILED a.py::b" + " -" * _N, ReportFormat.PYTEST),
    "a go result line without its time": ("--- PASS: " + "a" * _N, ReportFormat.GO),
    "a go package line of spaces": ("ok " + "a" * _N + " " * _N + "b", ReportFormat.GO),
    "a libtest line of dots": ("test " + "a ... " * (_N // 5) + "x", ReportFormat.CARGO),
    "a panic line of positions": (
        "running 1 test\ntest a ... FAILED\n---- a stdout ----\nthread 'a' panicked at "
        + ":1" * _N,
        ReportFormat.CARGO,
    ),
    "many unterminated XML comments": ("<!--" * _N, ReportFormat.AUTO),
    "many Jest summary counts": ("Tests:" + " 1 failed," * (_N // 10) + "x", ReportFormat.AUTO),
    "many failed Go tests, none with a reason": (
        "".join(f"--- FAIL: Test{n} (0.00s)\n" for n in range(_N // 2)) + "FAIL\tp\t1.0s\n",
        ReportFormat.GO,
    ),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_line_is_read_in_linear_time(name: str) -> None:
    text, fmt = HOSTILE[name]

    with contextlib.suppress(ReportError):  # refusing it is fine; hanging is not
        parse_report(text, fmt)
