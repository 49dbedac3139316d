"""cargo test (libtest) output captured from a real run, and nextest output written from
nextest's documented format (nextest is not installed here; see tests/fixtures/ci/README.md)."""

from __future__ import annotations

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.unit.ci.fixtures import by_identity, log, outcomes


class TestLibtest:
    def test_every_test_binary_and_doc_test_is_read(self) -> None:
        report = parse_report(log("cargo-test.txt"))

        assert report.format is ReportFormat.CARGO
        assert outcomes(report.results) == {
            "tests::adds": "passed",
            "tests::panics": "failed",
            "tests::discounts": "failed",
            "tests::pays": "skipped",
            "checkout::checkout_works": "passed",
            "shop (doc-tests)::src/lib.rs - add (line 3)": "passed",
        }
        suites = {r.suite for r in report.results}
        assert suites == {"shop", "checkout", "shop (doc-tests)"}

    def test_the_panic_message_is_the_reason_and_the_stdout_block_the_output(self) -> None:
        grouped = by_identity(parse_report(log("cargo-test.txt")).results)

        [discounts] = grouped["tests::discounts"]
        assert discounts.message == "assertion `left == right` failed: discount applied"
        assert discounts.output.startswith("computing discount")
        [panics] = grouped["tests::panics"]
        assert panics.message == "index out of bounds: the len is 0 but the index is 3"

    def test_an_ignore_reason_is_kept(self) -> None:
        [pays] = by_identity(parse_report(log("cargo-test.txt")).results)["tests::pays"]

        assert (pays.status, pays.message) == (TestStatus.SKIPPED, "no payment sandbox")

    def test_the_panic_format_before_rust_1_73_is_read(self) -> None:
        text = (
            "running 1 test\n"
            "test parse::rejects ... FAILED\n\n"
            "failures:\n\n"
            "---- parse::rejects stdout ----\n"
            "thread 'parse::rejects' panicked at 'expected an error', src/parse.rs:40:9\n\n"
            "failures:\n    parse::rejects\n"
        )

        [result] = parse_report(text).results

        assert result.message == "expected an error"


class TestNextest:
    def test_each_try_of_a_retried_test_is_an_attempt(self) -> None:
        grouped = by_identity(parse_report(log("nextest.txt")).results)

        flaky = grouped["tests::flaky"]
        assert [(a.status, a.retry) for a in flaky] == [
            (TestStatus.FAILED, 0),
            (TestStatus.PASSED, 1),
        ]
        assert flaky[0].message == "first try fails"

    def test_statuses_binaries_and_durations(self) -> None:
        report = parse_report(log("nextest.txt"))

        assert outcomes(report.results) == {
            "tests::adds": "passed",
            "tests::discounts": "failed",
            "tests::flaky": "passed",
            "shop::checkout::checkout_works": "passed",
            "tests::crashes": "error",
            "tests::hangs": "error",
        }
        checkout = by_identity(report.results)["shop::checkout::checkout_works"][0]
        assert (checkout.suite, checkout.duration) == ("shop::checkout", 0.001)

    def test_the_summary_repeating_failures_adds_no_results(self) -> None:
        assert len(parse_report(log("nextest.txt")).results) == 7

    def test_the_libtest_run_inside_a_stdout_block_is_output_not_results(self) -> None:
        [discounts] = by_identity(parse_report(log("nextest.txt")).results)["tests::discounts"]

        assert "test tests::discounts ... FAILED" in discounts.output
        assert discounts.message == "assertion `left == right` failed: discount applied"

    def test_a_crash_and_a_timeout_say_so(self) -> None:
        grouped = by_identity(parse_report(log("nextest.txt")).results)

        assert grouped["tests::crashes"][0].message == "killed by SIGSEGV"
        assert grouped["tests::hangs"][0].message == "timed out"
