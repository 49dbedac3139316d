"""Real pytest runs on a tiny project, parsed from their console output and JUnit XML."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import parse_report
from tests.integration.ci.tools import run, write_tree
from tests.unit.ci.fixtures import by_identity, outcomes

PROJECT = {
    "tests/test_cart.py": """
import pytest

def test_total():
    assert 1 + 1 == 2

def test_discount():
    assert 10 * 0.9 == 8, "discount applied"

@pytest.fixture
def broken():
    raise RuntimeError("database unreachable")

def test_needs_db(broken):
    pass

@pytest.mark.skip(reason="no payment sandbox")
def test_payment():
    pass

class TestTax:
    @pytest.mark.parametrize("rate", [5, 20])
    def test_rate(self, rate):
        print("computing", rate)
        assert rate < 10
""",
}
EXPECTED = {
    "tests.test_cart::test_total": "passed",
    "tests.test_cart::test_discount": "failed",
    "tests.test_cart::test_needs_db": "error",
    "tests.test_cart::test_payment": "skipped",
    "tests.test_cart.TestTax::test_rate[5]": "passed",
    "tests.test_cart.TestTax::test_rate[20]": "failed",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("pytest-project"), PROJECT)


def _pytest(project: Path, *args: str) -> str:
    # The project's own rootdir and no cache: nothing of this suite's configuration leaks in.
    return run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", ".", *args],
        cwd=project,
        env={"PYTEST_ADDOPTS": "", "PYTEST_XDIST_AUTO_NUM_WORKERS": "0"},
    )


def test_verbose_coloured_output(project: Path) -> None:
    output = _pytest(project, "-v", "-rA", "--color=yes", "tests")

    report = parse_report(output)

    assert report.format is ReportFormat.PYTEST
    assert outcomes(report.results) == EXPECTED
    [failed] = by_identity(report.results)["tests.test_cart.TestTax::test_rate[20]"]
    assert failed.message == "assert 20 < 10"
    assert "computing 20" in failed.output


def test_xdist_verbose_output(project: Path) -> None:
    pytest.importorskip("xdist")
    output = _pytest(project, "-n", "2", "-v", "-rA", "tests")

    report = parse_report(output)

    assert "[gw" in output
    assert outcomes(report.results) == EXPECTED
    [skipped] = by_identity(report.results)["tests.test_cart::test_payment"]
    assert skipped.message == "no payment sandbox"  # from the summary: xdist lines have none


def test_quiet_output_with_the_short_summary(project: Path) -> None:
    output = _pytest(project, "-q", "-ra", "tests")

    report = parse_report(output)

    # Without -v passing tests are not named, and a skip is known by its location only.
    assert outcomes(report.results) == {
        "tests.test_cart::test_discount": "failed",
        "tests.test_cart::test_needs_db": "error",
        "tests.test_cart.TestTax::test_rate[20]": "failed",
        "tests.test_cart::(skipped in tests/test_cart.py)": "skipped",
    }


def test_junit_xml_report_has_the_same_tests(project: Path, tmp_path: Path) -> None:
    xml = tmp_path / "report.xml"
    _pytest(project, "-q", f"--junitxml={xml}", "tests")

    report = parse_report(xml.read_bytes())

    assert report.format is ReportFormat.JUNIT
    assert outcomes(report.results) == EXPECTED
    [errored] = by_identity(report.results)["tests.test_cart::test_needs_db"]
    assert errored.status is TestStatus.ERROR
    assert "database unreachable" in errored.message
