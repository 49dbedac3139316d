"""No input makes a parser raise anything but ReportError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrate.ci.models import ReportFormat
from orchestrate.ci.parsing import ReportError, parse_report
from tests.unit.ci.fixtures import log

# Fragments of real output, so that the fuzzer reaches deep into each parser.
_FRAGMENTS = [
    line
    for name in (
        "pytest-verbose-color.txt",
        "go-test-v.txt",
        "cargo-test.txt",
        "nextest.txt",
        "jest-verbose.txt",
        "go-test-json.txt",
        "surefire-2.22-reruns.xml",
    )
    for line in log(name).decode().splitlines()
] + [
    "<testsuite>",
    "</testsuite>",
    "<testcase name='x'>",
    "</testcase>",
    "<flakyFailure/>",
    "<rerunError message='m'/>",
    # numbers a pattern accepts but float() might not
    "--- PASS: TestX (1.2.3s)",
    "SKIPPED [99999999999] tests/test_a.py:3: a count that must not be multiplied out",
    "        PASS [   1.2.3s] shop tests::x",
    '{"Action":"pass","Package":"p","Test":"T","Elapsed":"soon"}',
    '<testcase name="t" time="1.2.3"/>',
    "    \u2713 renders (1.2.3 ms)",
    "\x1b[31m",
    "\r",
    "{",
    "}",
    "  \u25cf a \u203a b",
]

_inputs = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=400),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("\n".join),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=20)), max_size=30).map(
        "".join
    ),
)


@settings(max_examples=300, deadline=None)
@given(data=_inputs, fmt=st.sampled_from(list(ReportFormat)))
def test_any_input_either_parses_or_raises_a_report_error(
    data: str | bytes, fmt: ReportFormat
) -> None:
    try:
        report = parse_report(data, fmt)
    except ReportError:
        return
    assert report.format is not ReportFormat.AUTO
    for result in report.results:
        assert result.retry >= 0
