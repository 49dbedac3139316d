"""``orchestrate db status`` and ``orchestrate db upgrade`` on a database without a schema."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import make_url

from tests.integration.cli.support import Cli


def status(cli: Cli, **env: str) -> dict[str, Any]:
    result = cli("db", "status", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    state: dict[str, Any] = json.loads(result.stdout)
    return state


class TestStatus:
    def test_an_empty_database_has_every_migration_pending(self, empty_cli: Cli) -> None:
        state = status(empty_cli)

        assert state["current"] == []
        assert state["pending"]
        assert state["pending"][-1] == state["head"][0]
        assert state["up_to_date"] is False

    def test_the_table_tells_what_to_run(self, empty_cli: Cli) -> None:
        result = empty_cli("db", "status")

        assert result.exit_code == 0
        assert "(empty database)" in result.stdout
        assert "orchestrate db upgrade" in result.stdout

    def test_status_does_not_change_the_database(self, empty_cli: Cli) -> None:
        status(empty_cli)

        assert status(empty_cli)["current"] == []

    def test_the_database_password_is_not_printed(self, empty_cli: Cli, engine_name: str) -> None:
        url = make_url(str(empty_cli.env["ORCHESTRATE_DATABASE_URL"]))
        if engine_name == "postgresql":  # the test server trusts local connections
            url = url.set(password="hunter2-secret")

        result = empty_cli(
            "db", "status", env={"ORCHESTRATE_DATABASE_URL": url.render_as_string(False)}
        )

        assert result.exit_code == 0
        assert "hunter2-secret" not in result.output


class TestUpgrade:
    def test_upgrade_applies_every_pending_migration(self, empty_cli: Cli) -> None:
        pending = status(empty_cli)["pending"]

        result = empty_cli("db", "upgrade")

        assert result.exit_code == 0
        assert f"Applied {len(pending)} migration(s)" in result.stderr
        after = status(empty_cli)
        assert after["up_to_date"] is True
        assert after["current"] == after["head"]
        assert after["pending"] == []

    def test_a_second_upgrade_has_nothing_to_do(self, empty_cli: Cli) -> None:
        empty_cli("db", "upgrade")

        result = empty_cli("db", "upgrade")

        assert result.exit_code == 0
        assert "already up to date" in result.stderr

    def test_commands_work_on_a_fresh_database_without_an_explicit_upgrade(
        self, empty_cli: Cli
    ) -> None:
        result = empty_cli("token", "list", "--json")

        assert result.exit_code == 0
        assert json.loads(result.stdout) == []
        assert status(empty_cli)["up_to_date"] is True


class TestUnreachableDatabase:
    def test_a_database_that_cannot_be_reached_is_one_line_and_exit_1(self, cli: Cli) -> None:
        url = "postgresql+asyncpg://orchestrate@127.0.0.1:1/orchestrate"

        result = cli("db", "status", env={"ORCHESTRATE_DATABASE_URL": url})

        assert result.exit_code == 1
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Cannot reach the database" in result.stderr
