from __future__ import annotations

import pytest

from orchestrate.ci.models import ReportFormat
from orchestrate.ci.parsing import MAX_REPORT_BYTES, ReportError, detect_format, parse_report
from tests.unit.ci.fixtures import junit, log


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (log("pytest-verbose-color.txt"), ReportFormat.PYTEST),
        (log("pytest-ra.txt"), ReportFormat.PYTEST),
        (log("pytest-junit.xml"), ReportFormat.JUNIT),
        (log("go-test-v.txt"), ReportFormat.GO),
        (log("go-test-json.txt"), ReportFormat.GO),
        (log("cargo-test.txt"), ReportFormat.CARGO),
        (log("nextest.txt"), ReportFormat.CARGO),
        (log("jest-default-color.txt"), ReportFormat.JEST),
        (log("jest-verbose.txt"), ReportFormat.JEST),
        (log("jest.json"), ReportFormat.JEST),
        (log("surefire-2.22-reruns.xml"), ReportFormat.JUNIT),
        (junit("junitparser-jenkins.xml"), ReportFormat.JUNIT),
        (log("xunit-net-v2.xml"), ReportFormat.JUNIT),
    ],
)
def test_each_real_output_is_detected(data: bytes, expected: ReportFormat) -> None:
    assert parse_report(data).format is expected


def test_go_json_after_a_build_error_line_is_detected() -> None:
    text = '# example.com/x\n{"Action":"run","Package":"example.com/x","Test":"TestA"}\n'

    assert detect_format(text) is ReportFormat.GO


@pytest.mark.parametrize("text", ["", "hello world\n", "{}", "[1, 2]", "PASS\n"])
def test_unrecognised_input_raises_a_report_error_that_names_the_option(text: str) -> None:
    with pytest.raises(ReportError, match="--format"):
        parse_report(text)


def test_a_chosen_format_is_used_without_detection() -> None:
    report = parse_report("test a::b ... ok\n", ReportFormat.CARGO)

    assert (report.format, [r.identity for r in report.results]) == (ReportFormat.CARGO, ["a::b"])


def test_a_report_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(ReportError, match="limit"):
        parse_report(b" " * (MAX_REPORT_BYTES + 1))


def test_a_malformed_jest_json_report_is_a_report_error() -> None:
    with pytest.raises(ReportError, match="Jest JSON"):
        parse_report('{"testResults": [', ReportFormat.JEST)


@pytest.mark.parametrize(
    "name",
    ["pytest-verbose-color.txt", "go-test-v.txt", "cargo-test.txt", "jest-verbose.txt"],
)
def test_a_github_actions_log_of_the_run_gives_the_same_results(name: str) -> None:
    """Actions prefixes every line with a timestamp and wraps steps in group markers."""
    raw = log(name).decode()
    lines = [
        f"2026-12-01T10:00:0{n % 10}.1234567Z {line}" for n, line in enumerate(raw.split("\n"))
    ]
    actions_log = "\n".join(
        ["2026-12-01T10:00:00.0000000Z ##[group]Run make test", *lines, "##[endgroup]"]
    )

    assert parse_report(actions_log) == parse_report(raw)
