"""``orchestrate secret``: the value comes from standard input, lists show no values."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner, Result

from orchestrate.app.cli import app
from orchestrate.secrets.loaded import cached_secret_value
from tests.integration.cli.support import Cli


def run(cli: Cli, *args: str, input: str | None = None) -> Result:
    """``cli(...)`` with standard input (the shared helper has none)."""
    result = CliRunner().invoke(app, list(args), env=cli.env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_set_reads_the_value_from_stdin_and_drops_one_trailing_newline_only(
    cli: Cli, tmp_path: Path
) -> None:
    result = run(cli, "secret", "set", "deploy_token", input="line one\nline two\n\n")
    assert result.exit_code == 0, result.output
    assert "DEPLOY_TOKEN" in result.output

    assert cached_secret_value("DEPLOY_TOKEN") == "line one\nline two\n"
    key_file = tmp_path / "home" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_an_empty_value_is_refused_with_exit_2(cli: Cli) -> None:
    result = run(cli, "secret", "set", "TOKEN", input="\n")
    assert result.exit_code == 2
    assert "No value for secret TOKEN" in result.output


def test_list_shows_names_and_dates_never_values(cli: Cli) -> None:
    run(cli, "secret", "set", "A_TOKEN", input="first-secret-value")
    run(cli, "secret", "set", "B_TOKEN", input="second-secret-value")

    table = cli("secret", "list")
    listed = cli("secret", "list", "--json")

    assert table.exit_code == listed.exit_code == 0
    assert "A_TOKEN" in table.output
    assert "B_TOKEN" in table.output
    secrets = json.loads(listed.stdout)
    assert [s["name"] for s in secrets] == ["A_TOKEN", "B_TOKEN"]
    assert all(set(s) == {"name", "created_at", "updated_at"} for s in secrets)
    assert "secret-value" not in table.output + listed.output


def test_delete_removes_it_and_a_missing_one_is_an_error(cli: Cli) -> None:
    run(cli, "secret", "set", "TOKEN", input="some-value")

    assert cli("secret", "delete", "TOKEN").exit_code == 0
    missing = cli("secret", "delete", "TOKEN")

    assert missing.exit_code == 1
    assert "No secret named 'TOKEN'" in missing.output
    assert json.loads(cli("secret", "list", "--json").stdout) == []


def test_an_invalid_name_is_usage_error_2(cli: Cli) -> None:
    result = run(cli, "secret", "set", "not-valid", input="value")
    assert result.exit_code == 2
    assert "letters, digits and underscores" in result.output


def test_rotate_key_reports_what_it_re_encrypted(cli: Cli) -> None:
    run(cli, "secret", "set", "TOKEN", input="some-value")

    result = cli("secret", "rotate-key")

    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 secret(s)" in result.output
    assert cached_secret_value("TOKEN") == "some-value"
