"""``orchestrate ci ingest|flaky|quarantine|analyze-report`` on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ci.history_rows import sha
from tests.integration.ci.reports import junit
from tests.integration.cli.support import Cli, make_cli


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def report(cli: Cli, name: str, *cases: tuple[str, str]) -> str:
    path = cli.workdir / name
    path.write_text(junit(*cases), encoding="utf-8")
    return str(path)


class TestIngestAndFlaky:
    def test_a_test_failing_then_passing_on_one_sha_is_listed_flaky_with_that_sha(
        self, cli: Cli
    ) -> None:
        first = report(cli, "run1.xml", ("test_total", "failed"), ("test_ok", "passed"))
        second = report(cli, "run2.xml", ("test_total", "passed"), ("test_ok", "passed"))

        one = cli("ci", "ingest", first, "--repo", "acme/shop", "--sha", sha(1))
        two = cli("ci", "ingest", second, "--repo", "acme/shop", "--sha", sha(1), "--attempt", "2")
        listed = cli("ci", "flaky", "--repo", "acme/shop", "--json")

        assert one.exit_code == 0, one.output
        assert "Recorded 2 tests of acme/shop" in one.output
        assert "1 failed" in one.output
        assert two.exit_code == 0, two.output
        assert listed.exit_code == 0, listed.output
        [entry] = json.loads(listed.stdout)
        assert entry["test"] == "tests.test_shop::test_total"
        assert entry["flaky_shas"] == [sha(1)]
        assert (entry["runs"], entry["failed_runs"], entry["flaky_failures"]) == (2, 1, 1)
        assert entry["failure_rate"] == 0.5
        assert entry["disruption_rate"] == 0.5
        assert entry["quarantine"] == "none"

    def test_a_pytest_log_and_a_go_test_log_are_ingested_like_junit(self, cli: Cli) -> None:
        pytest_log = cli.workdir / "pytest.txt"
        pytest_log.write_text(
            "tests/test_shop.py::test_total FAILED                     [ 50%]\n"
            "tests/test_shop.py::test_ok PASSED                        [100%]\n"
            "FAILED tests/test_shop.py::test_total - AssertionError: assert 1 == 2\n",
            encoding="utf-8",
        )
        go_log = cli.workdir / "go.txt"
        go_log.write_text(
            "=== RUN   TestTotal\n--- PASS: TestTotal (0.00s)\nPASS\nok  \tshop\t0.01s\n",
            encoding="utf-8",
        )

        first = cli("ci", "ingest", str(pytest_log), "--repo", "acme/shop", "--sha", sha(1))
        second = cli(
            "ci", "ingest", str(go_log), "--repo", "acme/go", "--sha", sha(1), "--format", "go"
        )
        listed = json.loads(cli("ci", "flaky", "--json").stdout)

        assert first.exit_code == 0, first.output
        assert "Recorded 2 tests of acme/shop" in first.output
        assert "1 failed" in first.output
        assert second.exit_code == 0, second.output
        assert "Recorded 1 tests of acme/go" in second.output or "Recorded 1 test" in second.output
        assert listed == []

    def test_ingesting_the_same_file_twice_does_not_double_count(self, cli: Cli) -> None:
        path = report(cli, "run.xml", ("test_total", "failed"), ("test_total", "passed"))
        cli("ci", "ingest", path, "--repo", "acme/shop", "--sha", sha(1))

        again = cli("ci", "ingest", path, "--repo", "acme/shop", "--sha", sha(1), "--json")
        listed = json.loads(cli("ci", "flaky", "--json").stdout)

        assert json.loads(again.stdout)["replaced"] == 1
        assert listed[0]["runs"] == 1
        assert listed[0]["repository_runs"] == 1

    def test_the_table_names_the_test_its_rates_and_shas(self, cli: Cli) -> None:
        cli(
            "ci",
            "ingest",
            report(cli, "a.xml", ("test_total", "failed")),
            "--repo",
            "acme/shop",
            "--sha",
            sha(1),
        )
        cli(
            "ci",
            "ingest",
            report(cli, "b.xml", ("test_total", "passed")),
            "--repo",
            "acme/shop",
            "--sha",
            sha(1),
            "--attempt",
            "2",
        )

        table = cli("ci", "flaky")

        assert table.exit_code == 0, table.output
        assert "tests.test_shop::test_total" in table.stdout
        assert sha(1)[:12] in table.stdout
        assert "50.0%" in table.stdout

    def test_no_flaky_tests_says_so(self, cli: Cli) -> None:
        cli(
            "ci",
            "ingest",
            report(cli, "a.xml", ("test_ok", "passed")),
            "--repo",
            "acme/shop",
            "--sha",
            sha(1),
        )

        result = cli("ci", "flaky")

        assert result.exit_code == 0
        assert "No flaky tests" in result.output
        assert cli("ci", "quarantine").exit_code == 0


class TestBadInput:
    def test_an_unknown_repository_is_a_clear_error(self, cli: Cli) -> None:
        result = cli("ci", "flaky", "--repo", "acme/nope")

        assert result.exit_code == 1
        assert "No test history for repository 'acme/nope'" in result.output

    def test_a_short_sha_is_bad_usage(self, cli: Cli) -> None:
        result = cli(
            "ci",
            "ingest",
            report(cli, "a.xml", ("t", "passed")),
            "--repo",
            "acme/shop",
            "--sha",
            "abc1234",
        )

        assert result.exit_code == 2
        assert "not a git tree SHA" in result.output

    def test_a_malformed_report_is_bad_usage_and_records_nothing(self, cli: Cli) -> None:
        broken = cli.workdir / "broken.xml"
        broken.write_text("<testsuites><testsuite><testcase name='x'>", encoding="utf-8")

        result = cli("ci", "ingest", str(broken), "--repo", "acme/shop", "--sha", sha(1))

        assert result.exit_code == 2
        assert "The XML report is malformed" in result.output
        assert "No test history" in cli("ci", "flaky", "--repo", "acme/shop").output

    def test_a_bad_window_is_bad_usage(self, cli: Cli) -> None:
        result = cli("ci", "flaky", "--window", "soon")

        assert result.exit_code == 2
        assert "not a window" in result.output


class TestAnalyzeReport:
    def test_the_brief_explains_a_new_failure_with_the_last_passing_sha(self, cli: Cli) -> None:
        cli(
            "ci",
            "ingest",
            report(cli, "a.xml", ("test_total", "passed")),
            "--repo",
            "acme/shop",
            "--sha",
            sha(1),
        )
        failing = report(cli, "b.xml", ("test_total", "failed"), ("test_db", "error"))

        result = cli("ci", "analyze-report", failing, "--repo", "acme/shop", "--sha", sha(2))
        as_json = json.loads(
            cli(
                "ci", "analyze-report", failing, "--repo", "acme/shop", "--sha", sha(2), "--json"
            ).stdout
        )

        assert result.exit_code == 0, result.output
        assert "## 1. New failure: 1 test(s)" in result.stdout
        assert f"Last passing tree SHA: `{sha(1)}`; first failing: `{sha(2)}`" in result.stdout
        assert "Infrastructure" in result.stdout  # the connection refused error
        assert [g["cause"] for g in as_json["groups"]] == ["new", "infrastructure"]
        assert as_json["next_action"] == "fix"
