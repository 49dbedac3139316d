"""Real Jest and mocha (mocha-junit-reporter) runs, with the tools ``make test-tools``
installs into the user's cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.ci.models import ReportFormat
from orchestrate.ci.parsing import parse_report
from tests.integration.ci.tools import NODE_TOOLS, require_node_tool, run, write_tree
from tests.unit.ci.fixtures import by_identity, outcomes

JEST_PROJECT = {
    "package.json": '{"name": "shop", "private": true}\n',
    "cart.test.js": """describe('cart', () => {
  test('totals items', () => {
    expect(1 + 1).toBe(2);
  });
  describe('discounts', () => {
    test('applies ten percent', () => {
      expect(10 * 0.9).toBe(8);
    });
    test.skip('stacks coupons', () => {});
  });
  test.todo('handles currencies');
});
""",
    "pay.test.js": """test('pays', () => {
  console.log('paying');
  throw new Error('gateway timeout');
});
test('refunds', () => {});
""",
}
JEST_EXPECTED = {
    "cart::totals items": "passed",
    "cart::handles currencies": "skipped",
    "cart \u203a discounts::applies ten percent": "failed",
    "cart \u203a discounts::stacks coupons": "skipped",
    "./pay.test.js::pays": "failed",
    "./pay.test.js::refunds": "passed",
}


@pytest.fixture(scope="module")
def jest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tool = require_node_tool("jest")
    return tool, write_tree(tmp_path_factory.mktemp("jest-project"), JEST_PROJECT)


def test_jest_verbose_output(jest: tuple[Path, Path]) -> None:
    tool, project = jest

    output = run([str(tool), "--ci", "--verbose", "--rootDir", "."], cwd=project)

    report = parse_report(output)
    assert report.format is ReportFormat.JEST, output
    assert outcomes(report.results) == JEST_EXPECTED
    [pays] = by_identity(report.results)["./pay.test.js::pays"]
    assert pays.message == "gateway timeout"
    assert "throw new Error('gateway timeout')" in pays.output


def test_jest_default_coloured_output_names_the_failures(jest: tuple[Path, Path]) -> None:
    tool, project = jest

    output = run([str(tool), "--ci", "--colors", "--rootDir", "."], cwd=project)

    report = parse_report(output)
    assert outcomes(report.results) == {
        "cart \u203a discounts::applies ten percent": "failed",
        "./pay.test.js::pays": "failed",
    }


def test_jest_json_report(jest: tuple[Path, Path], tmp_path: Path) -> None:
    tool, project = jest
    report_file = tmp_path / "jest.json"
    run([str(tool), "--ci", "--json", f"--outputFile={report_file}", "--rootDir", "."], cwd=project)

    report = parse_report(report_file.read_bytes())

    assert report.format is ReportFormat.JEST
    assert {(r.classname, r.name): r.status.value for r in report.results} == {
        ("cart", "totals items"): "passed",
        ("cart", "handles currencies"): "skipped",
        ("cart \u203a discounts", "applies ten percent"): "failed",
        ("cart \u203a discounts", "stacks coupons"): "skipped",
        ("", "pays"): "failed",
        ("", "refunds"): "passed",
    }


def test_jest_junit_xml(jest: tuple[Path, Path], tmp_path: Path) -> None:
    tool, project = jest
    reporter = NODE_TOOLS / "node_modules" / "jest-junit"
    if not reporter.is_dir():
        pytest.skip(f"jest-junit is not installed in {NODE_TOOLS} (make test-tools)")
    xml = tmp_path / "junit.xml"
    run(
        [str(tool), "--ci", "--rootDir", ".", "--reporters=default", f"--reporters={reporter}"],
        cwd=project,
        env={"JEST_JUNIT_OUTPUT_FILE": str(xml)},
    )

    report = parse_report(xml.read_bytes())

    assert report.format is ReportFormat.JUNIT
    # jest-junit's defaults: the describe block is the suite ("undefined" outside one),
    # the full title the class and the name; a todo is written as a plain test case.
    assert {(r.suite, r.name.strip()): r.status.value for r in report.results} == {
        ("cart", "cart totals items"): "passed",
        ("cart", "cart discounts applies ten percent"): "failed",
        ("cart", "cart discounts stacks coupons"): "skipped",
        ("cart", "cart handles currencies"): "passed",
        ("undefined", "pays"): "failed",
        ("undefined", "refunds"): "passed",
    }
    pays = next(r for r in report.results if r.name.strip() == "pays")
    assert pays.message == "Error: gateway timeout"


def test_mocha_junit_reporter_xml(tmp_path: Path) -> None:
    mocha = require_node_tool("mocha")
    reporter = NODE_TOOLS / "node_modules" / "mocha-junit-reporter"
    if not reporter.is_dir():
        pytest.skip(f"mocha-junit-reporter is not installed in {NODE_TOOLS} (make test-tools)")
    project = write_tree(
        tmp_path / "mocha-project",
        {
            "test/cart.spec.js": """const assert = require('assert');
describe('cart', function () {
  it('totals items', function () { assert.strictEqual(1 + 1, 2); });
  describe('discounts', function () {
    it('applies ten percent', function () { assert.strictEqual(9, 8, 'discount applied'); });
  });
});
"""
        },
    )
    xml = tmp_path / "report.xml"

    run(
        [
            str(mocha),
            "--reporter",
            str(reporter),
            "--reporter-options",
            f"mochaFile={xml}",
            "test/",
        ],
        cwd=project,
    )

    results = parse_report(xml.read_bytes()).results
    assert [(r.suite, r.name, r.status.value) for r in results] == [
        ("cart", "cart totals items", "passed"),
        ("discounts", "cart discounts applies ten percent", "failed"),
    ]
    assert results[1].file == str(project / "test" / "cart.spec.js")
    assert results[1].message.startswith("discount applied")
