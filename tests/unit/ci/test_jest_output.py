"""Jest output captured from a real run (tests/fixtures/ci/logs/jest-*)."""

from __future__ import annotations

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.unit.ci.fixtures import by_identity, log, outcomes

ALL_TESTS = {
    "cart::totals items": "passed",
    "cart::handles currencies": "skipped",
    "cart \u203a discounts::applies ten percent": "failed",
    "cart \u203a discounts::stacks coupons": "skipped",
    "./pay.test.js::pays": "failed",
    "./pay.test.js::refunds": "passed",
}


class TestVerbose:
    def test_every_test_has_its_describe_path_and_status(self) -> None:
        report = parse_report(log("jest-verbose.txt"))

        assert report.format is ReportFormat.JEST
        assert outcomes(report.results) == ALL_TESTS

    def test_a_failure_block_gives_the_reason_and_the_code_frame(self) -> None:
        grouped = by_identity(parse_report(log("jest-verbose.txt")).results)

        [discount] = grouped["cart \u203a discounts::applies ten percent"]
        assert discount.message == "expect(received).toBe(expected) // Object.is equality"
        assert "Expected: 8\nReceived: 9" in discount.output
        assert (discount.suite, discount.duration) == ("./cart.test.js", 0.016)

    def test_console_output_of_the_next_file_is_not_part_of_a_failure(self) -> None:
        grouped = by_identity(parse_report(log("jest-verbose.txt")).results)

        [discount] = grouped["cart \u203a discounts::applies ten percent"]
        assert "paying" not in discount.output

    def test_sibling_and_nested_describe_blocks_each_get_their_tests(self) -> None:
        text = (
            " PASS  src/shop.test.js\n"
            "  cart\n"
            "    \u2713 adds (1 ms)\n"
            "    totals\n"
            "      \u2713 sums (2 ms)\n"
            "    \u2713 empties\n"
            "  refunds\n"
            "    \u2713 refunds (1 ms)\n"
            "  \u2713 top level\n"
        )

        assert list(outcomes(parse_report(text, ReportFormat.JEST).results)) == [
            "cart::adds",
            "cart \u203a totals::sums",
            "cart::empties",
            "refunds::refunds",
            "src/shop.test.js::top level",
        ]

    def test_a_slow_files_time_is_not_part_of_its_path(self) -> None:
        text = " PASS  src/slow (1).test.js (5.123 s)\n  \u2713 waits (5001 ms)\n"

        [result] = parse_report(text, ReportFormat.JEST).results

        assert (result.suite, result.duration) == ("src/slow (1).test.js", 5.001)


class TestDefault:
    """Several files without ``--verbose``: only the failures are named."""

    def test_failures_are_read_from_the_bullet_blocks(self) -> None:
        report = parse_report(log("jest-default-color.txt"))

        assert outcomes(report.results) == {
            "cart \u203a discounts::applies ten percent": "failed",
            "./pay.test.js::pays": "failed",
        }
        [pays] = by_identity(report.results)["./pay.test.js::pays"]
        assert pays.message == "gateway timeout"

    def test_a_suite_that_failed_to_run_is_an_error(self) -> None:
        text = (
            " FAIL  src/broken.test.js\n"
            "  \u25cf Test suite failed to run\n\n"
            "    Cannot find module './missing' from 'src/broken.test.js'\n\n"
            "Test Suites: 1 failed, 1 total\n"
        )

        [result] = parse_report(text).results

        assert (result.name, result.status) == ("Test suite failed to run", TestStatus.ERROR)
        assert result.message == "Cannot find module './missing' from 'src/broken.test.js'"


class TestJson:
    def test_the_json_report_gives_the_same_tests(self) -> None:
        report = parse_report(log("jest.json"))

        assert report.format is ReportFormat.JEST
        statuses = {(r.classname, r.name): r.status.value for r in report.results}
        assert statuses == {
            ("cart", "totals items"): "passed",
            ("cart", "handles currencies"): "skipped",
            ("cart \u203a discounts", "applies ten percent"): "failed",
            ("cart \u203a discounts", "stacks coupons"): "skipped",
            ("", "pays"): "failed",
            ("", "refunds"): "passed",
        }

    def test_failure_messages_are_kept(self) -> None:
        report = parse_report(log("jest.json"))
        pays = next(r for r in report.results if r.name == "pays")

        assert pays.message == "Error: gateway timeout"
        assert pays.suite.endswith("pay.test.js")
