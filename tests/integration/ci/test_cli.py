"""``orchestrate ci parse FILE [--format] [--json]``: no database is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orchestrate.app.cli import app
from tests.unit.ci.fixtures import FIXTURES


def ci(*args: str) -> Result:
    result = CliRunner().invoke(app, ["ci", *args])
    # Every error must end as a message and an exit code; anything else escaped.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result


LOGS = FIXTURES / "logs"


def test_the_table_shows_each_test_and_the_totals() -> None:
    result = ci("parse", str(LOGS / "pytest-verbose-color.txt"))

    assert result.exit_code == 0, result.output
    assert "pytest-verbose-color.txt (pytest)" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "test_rate[20]" in line)
    assert "failed" in row
    assert "assert 20 < 10" in row
    assert "7 results (pytest): 2 passed, 2 failed, 1 error, 2 skipped" in result.stderr


def test_retries_are_shown_per_attempt() -> None:
    result = ci("parse", str(LOGS / "surefire-2.22-reruns.xml"))

    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "shop.CartTest::discounts" in line]
    assert len(rows) == 3
    assert "│ 2 " in rows[-1]


def test_json_has_the_format_counts_and_every_result() -> None:
    result = ci("parse", str(LOGS / "go-test-json.txt"), "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["format"] == "go"
    assert document["counts"] == {"passed": 2, "failed": 3, "error": 0, "skipped": 1}
    discount = next(r for r in document["results"] if r["name"] == "TestDiscount")
    assert discount == {
        "suite": "example.com/shop",
        "classname": "",
        "name": "TestDiscount",
        "identity": "example.com/shop::TestDiscount",
        "status": "failed",
        "duration": 0.0,
        "message": "cart_test.go:15: discount: got 9, want 8",
        "output": "cart_test.go:13: computing discount\ncart_test.go:15: discount: got 9, want 8",
        "file": None,
        "retry": 0,
    }


def test_a_format_can_be_forced() -> None:
    result = ci("parse", str(LOGS / "nextest.txt"), "--format", "cargo", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == "cargo"


class TestErrors:
    def test_a_missing_file_is_a_message_and_exit_2(self, tmp_path: Path) -> None:
        result = ci("parse", str(tmp_path / "nope.xml"))

        assert result.exit_code == 2
        assert "There is no file" in result.stderr

    def test_a_directory_is_refused_with_a_message(self, tmp_path: Path) -> None:
        result = ci("parse", str(tmp_path))

        assert result.exit_code == 2
        assert "is a directory" in result.stderr

    def test_an_unrecognised_file_says_to_use_format(self, tmp_path: Path) -> None:
        notes = tmp_path / "notes.txt"
        notes.write_text("just some notes\n")

        result = ci("parse", str(notes))

        assert result.exit_code == 2
        assert "--format" in result.stderr

    def test_malformed_xml_is_a_message_not_a_traceback(self, tmp_path: Path) -> None:
        broken = tmp_path / "report.xml"
        broken.write_text("<testsuite><testcase name='a'>")

        result = ci("parse", str(broken))

        assert result.exit_code == 2
        assert "malformed" in result.stderr

    @pytest.mark.parametrize("value", ["xml", "AUTO", ""])
    def test_an_unknown_format_is_a_usage_error(self, value: str) -> None:
        result = ci("parse", str(LOGS / "nextest.txt"), "--format", value)

        assert result.exit_code == 2
        assert "--format" in result.output
