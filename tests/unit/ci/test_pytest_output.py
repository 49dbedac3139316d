"""pytest console output, captured from a real run (tests/fixtures/ci/logs/pytest-*)."""

from __future__ import annotations

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.unit.ci.fixtures import by_identity, log, outcomes


class TestVerboseWithSummary:
    """``pytest -v -rA --color=yes``: every test, coloured."""

    def test_every_test_has_its_status(self) -> None:
        report = parse_report(log("pytest-verbose-color.txt"))

        assert report.format is ReportFormat.PYTEST
        assert outcomes(report.results) == {
            "tests.test_cart::test_total": "passed",
            "tests.test_cart::test_discount": "failed",
            "tests.test_cart::test_needs_db": "error",
            "tests.test_cart::test_payment": "skipped",
            "tests.test_cart.TestTax::test_rate[5]": "passed",
            "tests.test_cart.TestTax::test_rate[20]": "failed",
            "tests.test_cart::test_rounding": "skipped",
        }

    def test_a_failure_has_its_reason_and_its_traceback(self) -> None:
        report = parse_report(log("pytest-verbose-color.txt"))
        [failed] = by_identity(report.results)["tests.test_cart.TestTax::test_rate[20]"]

        assert failed.message == "assert 20 < 10"
        assert ">       assert rate < 10" in failed.output
        assert "computing 20" in failed.output  # the captured stdout section
        assert failed.file == "tests/test_cart.py"

    def test_a_setup_error_has_the_fixture_exception(self) -> None:
        report = parse_report(log("pytest-verbose-color.txt"))
        [errored] = by_identity(report.results)["tests.test_cart::test_needs_db"]

        assert errored.message == "RuntimeError: database unreachable"
        assert 'raise RuntimeError("database unreachable")' in errored.output

    def test_skip_and_xfail_reasons_are_kept(self) -> None:
        grouped = by_identity(parse_report(log("pytest-verbose-color.txt")).results)

        assert grouped["tests.test_cart::test_payment"][0].message == "no payment sandbox"
        assert grouped["tests.test_cart::test_rounding"][0].message == "known rounding bug"


class TestSummaryOnly:
    """``pytest -ra``: only what did not pass is named."""

    def test_failures_errors_and_skips_are_read_from_the_summary(self) -> None:
        report = parse_report(log("pytest-ra.txt"))

        assert outcomes(report.results) == {
            "tests.test_cart::test_rounding": "skipped",
            "tests.test_cart::test_needs_db": "error",
            "tests.test_cart::test_discount": "failed",
            "tests.test_cart.TestTax::test_rate[20]": "failed",
            "tests.test_cart::(skipped in tests/test_cart.py)": "skipped",
        }
        failed = by_identity(report.results)["tests.test_cart::test_discount"][0]
        assert failed.message == "AssertionError: discount applied"

    def test_the_same_test_has_the_same_identity_as_in_pytest_junit_xml(self) -> None:
        console = parse_report(log("pytest-verbose-color.txt"))
        junit = parse_report(log("pytest-junit.xml"))

        assert outcomes(console.results) == outcomes(junit.results)


class TestXdist:
    """``pytest -n 2 -v -rA``: ``[gw0] [ 14%] PASSED node`` lines, without skip reasons."""

    def test_every_test_has_its_status(self) -> None:
        report = parse_report(log("pytest-xdist.txt"))

        assert outcomes(report.results) == outcomes(
            parse_report(log("pytest-verbose-color.txt")).results
        )

    def test_a_skip_gets_its_reason_from_the_summary(self) -> None:
        grouped = by_identity(parse_report(log("pytest-xdist.txt")).results)

        assert grouped["tests.test_cart::test_payment"][0].message == "no payment sandbox"


class TestReruns:
    def test_rerun_lines_become_earlier_failed_attempts(self) -> None:
        text = (
            "tests/test_net.py::test_fetch RERUN                 [ 50%]\n"
            "tests/test_net.py::test_fetch RERUN                 [ 50%]\n"
            "tests/test_net.py::test_fetch PASSED                [ 50%]\n"
            "tests/test_net.py::test_parse PASSED                [100%]\n"
        )

        attempts = by_identity(parse_report(text, ReportFormat.PYTEST).results)

        fetch = attempts["tests.test_net::test_fetch"]
        assert [(a.status, a.retry) for a in fetch] == [
            (TestStatus.FAILED, 0),
            (TestStatus.FAILED, 1),
            (TestStatus.PASSED, 2),
        ]
        assert [a.retry for a in attempts["tests.test_net::test_parse"]] == [0]

    def test_xdist_verbose_lines_are_read(self) -> None:
        text = (
            "[gw0] [ 50%] PASSED tests/test_a.py::test_one \n"
            "[gw1] [100%] FAILED tests/test_a.py::TestB::test_two \n"
        )

        report = parse_report(text, ReportFormat.PYTEST)

        assert outcomes(report.results) == {
            "tests.test_a::test_one": "passed",
            "tests.test_a.TestB::test_two": "failed",
        }

    def test_parameter_ids_with_spaces_are_kept_whole(self) -> None:
        text = (
            "tests/test_a.py::test_name[a b] PASSED                [ 50%]\n"
            "=========================== short test summary info ============================\n"
            "FAILED tests/test_a.py::test_name[c d] - assert 'c d' == 'x'\n"
        )

        assert outcomes(parse_report(text, ReportFormat.PYTEST).results) == {
            "tests.test_a::test_name[a b]": "passed",
            "tests.test_a::test_name[c d]": "failed",
        }

    def test_a_test_that_passed_then_errored_at_teardown_is_an_error(self) -> None:
        text = (
            "tests/test_a.py::test_one PASSED                [100%]\n"
            "tests/test_a.py::test_one ERROR                 [100%]\n"
        )

        assert outcomes(parse_report(text, ReportFormat.PYTEST).results) == {
            "tests.test_a::test_one": "error"
        }
