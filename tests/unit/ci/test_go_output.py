"""go test output, captured from a real run (tests/fixtures/ci/logs/go-test-*)."""

from __future__ import annotations

import pytest

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.unit.ci.fixtures import by_identity, log, outcomes

EXPECTED = {
    "example.com/shop::TestTotal": "passed",
    "example.com/shop::TestDiscount": "failed",
    "example.com/shop::TestPayment": "skipped",
    "example.com/shop::TestTax": "failed",
    "example.com/shop::TestTax/rate_1": "passed",
    "example.com/shop::TestTax/rate_4": "failed",
}


@pytest.mark.parametrize("name", ["go-test-v.txt", "go-test-json.txt"])
class TestBothForms:
    def test_every_test_and_subtest_has_its_status_and_package(self, name: str) -> None:
        report = parse_report(log(name))

        assert report.format is ReportFormat.GO
        assert outcomes(report.results) == EXPECTED

    def test_the_failure_reason_is_the_last_logged_line_not_a_log_before_it(
        self, name: str
    ) -> None:
        [discount] = by_identity(parse_report(log(name)).results)["example.com/shop::TestDiscount"]

        assert discount.message == "cart_test.go:15: discount: got 9, want 8"
        assert "cart_test.go:13: computing discount" in discount.output

    def test_a_parent_failed_by_its_subtest_names_it(self, name: str) -> None:
        [parent] = by_identity(parse_report(log(name)).results)["example.com/shop::TestTax"]

        assert parent.message == "subtest TestTax/rate_4 failed"

    def test_a_skip_keeps_its_reason(self, name: str) -> None:
        [skip] = by_identity(parse_report(log(name)).results)["example.com/shop::TestPayment"]

        assert skip.message == "cart_test.go:20: no payment sandbox"


def test_a_package_that_failed_without_a_failing_test_is_an_error() -> None:
    text = (
        "=== RUN   TestSlow\n"
        "panic: test timed out after 1s\n"
        "running tests:\n"
        "\tTestSlow (1s)\n"
        "FAIL\texample.com/slow\t1.012s\n"
    )

    [result] = parse_report(text).results

    assert (result.suite, result.name, result.status) == (
        "example.com/slow",
        "(package)",
        TestStatus.ERROR,
    )
    assert result.message == "panic: test timed out after 1s"
    assert "(unfinished: TestSlow)" in result.output


def test_non_json_lines_in_a_json_stream_are_skipped() -> None:
    text = (
        "# example.com/broken\n"
        '{"Action":"run","Package":"example.com/ok","Test":"TestA"}\n'
        "not json at all {\n"
        '{"Action":"pass","Package":"example.com/ok","Test":"TestA","Elapsed":0.25}\n'
    )

    [result] = parse_report(text, ReportFormat.GO).results

    assert (result.identity, result.status, result.duration) == (
        "example.com/ok::TestA",
        TestStatus.PASSED,
        0.25,
    )
