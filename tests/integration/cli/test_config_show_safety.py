"""``config show`` masks every form a database password takes and warns about no sandbox."""

from __future__ import annotations

import json

import pytest

from tests.integration.cli.support import Cli

PASSWORD = "hunter2-do-not-print"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+asyncpg://orchestrate@db.internal/orchestrate?password={PASSWORD}",
        f"postgresql+asyncpg://db.internal/o?user=orchestrate&password={PASSWORD}&ssl=require",
        f"postgresql+asyncpg://orchestrate:x@db.internal/o?sslmode=verify-full&sslpassword={PASSWORD}",
    ],
    ids=["password-parameter", "among-others", "sslpassword"],
)
def test_a_password_in_the_query_of_the_database_url_is_masked(cli: Cli, url: str) -> None:
    json_result = cli("config", "show", "--json", env={"ORCHESTRATE_DATABASE_URL": url})
    table_result = cli("config", "show", env={"ORCHESTRATE_DATABASE_URL": url})

    assert json_result.exit_code == 0, json_result.stderr
    shown = json.loads(json_result.stdout)["database_url"]["value"]
    assert PASSWORD not in shown
    assert "=***" in shown
    assert PASSWORD not in table_result.output


def test_without_a_sandbox_the_table_is_preceded_by_a_warning_on_stderr(cli: Cli) -> None:
    result = cli("config", "show", env={"ORCHESTRATE_SANDBOX": "none"})

    assert result.exit_code == 0
    assert "warning: sandbox is 'none'" in result.stderr
    assert "unconfined" in result.stderr
    assert "warning" not in result.stdout


def test_the_json_lists_the_warnings_and_none_with_the_default_sandbox(cli: Cli) -> None:
    unconfined = json.loads(
        cli("config", "show", "--json", env={"ORCHESTRATE_SANDBOX": "none"}).stdout
    )
    default = json.loads(cli("config", "show", "--json").stdout)

    assert len(unconfined["warnings"]) == 1
    assert "unconfined" in unconfined["warnings"][0]
    assert default["warnings"] == []
