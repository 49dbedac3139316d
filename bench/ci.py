"""CI benchmark: how fast test reports are parsed, and the flaky analysis of a big history.

Each measurement is one function; ``main`` runs them and prints Markdown to paste into
docs/benchmarks.md (section "CI — bench/ci.py").

- *parse speed*: ``parse_report`` with format detection on generated inputs of a few MB
  in each format (console logs of pytest, Jest, cargo test, nextest, go test -v and
  -json, and Surefire-style JUnit XML with stack traces and re-runs), modelled on the
  real outputs in tests/fixtures/ci/logs; about one test in ten fails with a trace.
  Reported: input size, results found, best and median time, and MB/s (10^6 bytes/s)
  and results per second of the best run.

- *flaky analysis*: ``ci.history.flaky_tests`` of one repository's last 30 days over a
  history of 1,000,000 test results, on SQLite and PostgreSQL (``_ci_flaky.py``).

    .venv/bin/python bench/ci.py [--only parse|flaky] [--megabytes 4] [--runs 5]
        [--tests 2000] [--reports 500] [--repeat 5] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _ci_flaky import flaky_analysis
from _common import machine
from orchestrate.ci.models import ReportFormat
from orchestrate.ci.parsing import parse_report

_FAILS_EVERY = 10  # one test in ten fails, with its output


def _pytest_log(count: int) -> str:
    lines = ["============================= test session starts =============================="]
    failures = ["=================================== FAILURES ==================================="]
    summary = ["=========================== short test summary info ============================"]
    for index in range(count):
        node = f"tests/test_module_{index // 50}.py::TestCase{index % 7}::test_case_{index}"
        failed = index % _FAILS_EVERY == 0
        word = "\x1b[31mFAILED\x1b[0m" if failed else "\x1b[32mPASSED\x1b[0m"
        lines.append(f"{node} {word}                        [{index * 100 // count:3d}%]")
        if failed:
            failures.append(
                f"_________________ TestCase{index % 7}.test_case_{index} _________________"
            )
            failures += [
                "",
                f"    def test_case_{index}(self):",
                ">       assert 1 == 2",
                "E       assert 1 == 2",
                "",
                f"tests/test_module_{index // 50}.py:12: AssertionError",
            ]
            summary.append(f"FAILED {node} - assert 1 == 2")
    return "\n".join(lines + failures + summary) + "\n"


def _jest_log(count: int) -> str:
    lines: list[str] = []
    blocks: list[str] = []
    for index in range(count):
        if index % 40 == 0:
            lines += [*blocks, f" FAIL  src/module{index // 40}.test.js", "  component"]
            blocks = []
        if index % _FAILS_EVERY == 0:
            lines.append(f"    \u2715 renders case {index} (12 ms)")
            blocks += [
                f"  \u25cf component \u203a renders case {index}",
                "",
                "    expect(received).toBe(expected) // Object.is equality",
                "",
                "    Expected: 8",
                "    Received: 9",
                "",
                f"      at Object.toBe (src/module{index // 40}.test.js:7:24)",
                "",
            ]
        else:
            lines.append(f"    \u2713 renders case {index} (3 ms)")
    lines += [*blocks, "Test Suites: 1 failed, 1 total", f"Tests:       {count} total"]
    return "\n".join(lines) + "\n"


def _cargo_log(count: int) -> str:
    lines = [
        "     Running unittests src/lib.rs (target/debug/deps/shop-507999230d6984fa)",
        "",
        f"running {count} tests",
    ]
    blocks = ["", "failures:", ""]
    for index in range(count):
        failed = index % _FAILS_EVERY == 0
        lines.append(
            f"test module_{index // 50}::tests::case_{index} ... {'FAILED' if failed else 'ok'}"
        )
        if failed:
            blocks += [
                f"---- module_{index // 50}::tests::case_{index} stdout ----",
                f"thread 'module_{index // 50}::tests::case_{index}' panicked at src/lib.rs:9:9:",
                "assertion `left == right` failed",
                "  left: 1",
                " right: 2",
                "",
            ]
    return "\n".join(lines + blocks) + "\ntest result: FAILED.\n"


def _nextest_log(count: int) -> str:
    lines = [f"    Starting {count} tests across 1 binary"]
    for index in range(count):
        name = f"shop module_{index // 50}::tests::case_{index}"
        if index % _FAILS_EVERY == 0:
            lines += [
                f"   TRY 1 FAIL [   0.004s] {name}",
                f"--- TRY 1 STDERR:        {name} ---",
                f"thread 'case_{index}' panicked at src/lib.rs:9:9:",
                "first try fails",
                f"  RETRY 2/2 [         ] {name}",
                f"   TRY 2 PASS [   0.003s] {name}",
            ]
        else:
            lines.append(f"        PASS [   0.002s] {name}")
    return "\n".join(lines) + "\n------------\n     Summary [   1.000s]\n"


def _go_text_log(count: int) -> str:
    lines: list[str] = []
    for index in range(count):
        lines.append(f"=== RUN   TestCase{index}")
        if index % _FAILS_EVERY == 0:
            lines += [
                f"    case_test.go:{index % 90 + 10}: got 9, want 8",
                f"--- FAIL: TestCase{index} (0.00s)",
            ]
        else:
            lines.append(f"--- PASS: TestCase{index} (0.00s)")
        if index % 200 == 199:
            lines.append(f"FAIL\texample.com/shop/pkg{index // 200}\t0.412s")
    return "\n".join(lines) + "\n"


def _go_json_log(count: int) -> str:
    lines: list[str] = []
    for index in range(count):
        package = f"example.com/shop/pkg{index // 200}"
        head = (
            f'{{"Time":"2026-12-01T10:00:00.000000Z","Package":"{package}","Test":"TestCase{index}"'
        )
        lines += [
            head + ',"Action":"run"}',
            head + f',"Action":"output","Output":"=== RUN   TestCase{index}\\n"}}',
        ]
        if index % _FAILS_EVERY == 0:
            lines.append(
                head + ',"Action":"output","Output":"    case_test.go:12: got 9, want 8\\n"}'
            )
            lines.append(head + ',"Action":"fail","Elapsed":0.01}')
        else:
            lines.append(head + ',"Action":"pass","Elapsed":0}')
    return "\n".join(lines) + "\n"


_TRACE = "\n".join(
    f"\tat org.junit.runners.ParentRunner.runChild(ParentRunner.java:{n})" for n in range(25)
)


def _junit_xml(count: int) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>']
    for index in range(count):
        if index % 100 == 0:
            parts.append("</testsuite>" if index else "")
            parts.append(
                f'<testsuite name="com.shop.Module{index // 100}Test" tests="100">'
                '<properties><property name="java.version" value="17"/></properties>'
            )
        classname = f"com.shop.Module{index // 100}Test"
        case = f'<testcase name="case{index}" classname="{classname}" time="0.004"'
        if index % _FAILS_EVERY == 0:
            failure = (
                '<flakyFailure message="expected: &lt;8&gt; but was: &lt;9&gt;" '
                'type="AssertionError"><stackTrace><![CDATA['
                f"java.lang.AssertionError: expected: <8> but was: <9>\n{_TRACE}]]>"
                "</stackTrace></flakyFailure>"
            )
            parts.append(f"{case}>{failure}<system-out>case {index} output</system-out></testcase>")
        else:
            parts.append(f"{case}/>")
    parts.append("</testsuite></testsuites>\n")
    return "\n".join(parts)


GENERATORS: dict[str, tuple[ReportFormat, Callable[[int], str]]] = {
    "pytest -v -rA (coloured)": (ReportFormat.PYTEST, _pytest_log),
    "Jest --verbose": (ReportFormat.JEST, _jest_log),
    "cargo test (libtest)": (ReportFormat.CARGO, _cargo_log),
    "cargo nextest (retries)": (ReportFormat.CARGO, _nextest_log),
    "go test -v": (ReportFormat.GO, _go_text_log),
    "go test -json": (ReportFormat.GO, _go_json_log),
    "JUnit XML (Surefire, flaky re-runs)": (ReportFormat.JUNIT, _junit_xml),
}


@dataclass(frozen=True)
class ParseSpeed:
    name: str
    megabytes: float
    results: int
    best: float
    median: float

    @property
    def megabytes_per_second(self) -> float:
        return self.megabytes / self.best


def _sized(generate: Callable[[int], str], megabytes: float) -> str:
    """An input of about ``megabytes``: the generator's size per test, scaled."""
    sample = generate(1000)
    count = max(1000, int(1000 * megabytes * 1e6 / len(sample.encode())))
    return generate(count)


def parse_speed(megabytes: float, runs: int) -> Iterator[ParseSpeed]:
    """``parse_report`` (format detected) on each format's generated input."""
    for name, (expected, generate) in GENERATORS.items():
        data = _sized(generate, megabytes).encode()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            report = parse_report(data)
            times.append(time.perf_counter() - started)
            assert report.format is expected, (name, report.format)
        yield ParseSpeed(
            name, len(data) / 1e6, len(report.results), min(times), statistics.median(times)
        )


def print_parse_speed(rows: Iterator[ParseSpeed]) -> None:
    print("| input | size (MB) | results | best (s) | median (s) | MB/s | results/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.name} | {row.megabytes:.1f} | {row.results:,} | {row.best:.3f} "
            f"| {row.median:.3f} | {row.megabytes_per_second:.1f} "
            f"| {row.results / row.best:,.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["parse", "flaky"])
    parser.add_argument("--megabytes", type=float, default=4.0, help="size of each input")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "ORCHESTRATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}")
    if args.only in (None, "parse"):
        print(f"\nParse speed ({args.runs} runs per input):\n")
        print_parse_speed(parse_speed(args.megabytes, args.runs))
    if args.only in (None, "flaky"):
        print("\nFlaky analysis:\n")
        kinds = [args.engine] if args.engine else ["sqlite", "postgresql"]
        flaky_analysis(kinds, args.postgres, args.tests, args.reports, args.repeat)


if __name__ == "__main__":
    main()
