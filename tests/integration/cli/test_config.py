"""``orchestrate config show`` and how invalid settings end a command."""

from __future__ import annotations

import json
from typing import Any

from orchestrate import __version__
from tests.integration.cli.support import Cli

PASSWORD = "hunter2-do-not-print"
POSTGRES_URL = f"postgresql+asyncpg://orchestrate:{PASSWORD}@db.internal:5432/orchestrate"


def shown(cli: Cli, **env: str | None) -> dict[str, dict[str, Any]]:
    result = cli("config", "show", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    settings: dict[str, dict[str, Any]] = json.loads(result.stdout)
    return settings


class TestConfigShow:
    def test_the_password_of_a_postgresql_url_is_masked(self, cli: Cli) -> None:
        settings = shown(cli, ORCHESTRATE_DATABASE_URL=POSTGRES_URL)

        assert settings["database_url"]["value"] == (
            "postgresql+asyncpg://orchestrate:***@db.internal:5432/orchestrate"
        )
        assert settings["database_url"]["source"] == "env"

    def test_the_table_never_prints_the_password_either(self, cli: Cli) -> None:
        result = cli("config", "show", env={"ORCHESTRATE_DATABASE_URL": POSTGRES_URL})

        assert result.exit_code == 0
        assert PASSWORD not in result.output
        assert "database_url" in result.stdout

    def test_the_title_names_the_settings_file_only_when_it_exists(self, cli: Cli) -> None:
        without = cli("config", "show")
        (cli.workdir / "orchestrate.toml").write_text("port = 9555\n", encoding="utf-8")
        with_file = cli("config", "show")

        assert without.exit_code == with_file.exit_code == 0
        flat_without = " ".join(without.stdout.split())
        assert "(file:" not in flat_without
        assert "environment and defaults; no orchestrate.toml" in flat_without
        assert "(file:" in " ".join(with_file.stdout.split())

    def test_each_setting_names_its_source(self, cli: Cli) -> None:
        (cli.workdir / "orchestrate.toml").write_text('host = "10.1.2.3"\n', encoding="utf-8")

        settings = shown(cli, ORCHESTRATE_PORT="9123")

        assert settings["port"] == {"value": 9123, "source": "env"}
        assert settings["host"] == {"value": "10.1.2.3", "source": "file:orchestrate.toml"}
        assert settings["log_level"] == {"value": "info", "source": "default"}

    def test_orchestrate_toml_is_read_from_the_working_directory(self, cli: Cli) -> None:
        (cli.workdir / "orchestrate.toml").write_text("port = 9555\n", encoding="utf-8")

        assert shown(cli)["port"] == {"value": 9555, "source": "file:orchestrate.toml"}

    def test_a_file_in_another_directory_is_not_read(self, cli: Cli) -> None:
        elsewhere = cli.workdir.parent / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "orchestrate.toml").write_text("port = 9555\n", encoding="utf-8")

        assert shown(cli)["port"] == {"value": 8080, "source": "default"}

    def test_the_environment_wins_over_the_file(self, cli: Cli) -> None:
        (cli.workdir / "orchestrate.toml").write_text("port = 9555\n", encoding="utf-8")

        assert shown(cli, ORCHESTRATE_PORT="9666")["port"] == {"value": 9666, "source": "env"}

    def test_the_default_database_is_a_sqlite_file_in_the_home(self, cli: Cli) -> None:
        home = cli.workdir.parent / "somewhere"

        settings = shown(cli, ORCHESTRATE_DATABASE_URL=None, ORCHESTRATE_HOME=str(home))

        assert settings["database_url"] == {
            "value": f"sqlite+aiosqlite:///{(home / 'orchestrate.db').resolve()}",
            "source": "default",
        }
        assert settings["home"] == {"value": str(home), "source": "env"}


class TestInvalidSettings:
    def test_a_non_numeric_port_exits_2_naming_orchestrate_port(self, cli: Cli) -> None:
        result = cli("config", "show", env={"ORCHESTRATE_PORT": "abc"})

        assert result.exit_code == 2
        assert "ORCHESTRATE_PORT" in result.stderr
        assert "'abc'" in result.stderr
        assert result.stdout == ""

    def test_any_command_refuses_to_run_with_invalid_settings(self, cli: Cli) -> None:
        result = cli("token", "list", env={"ORCHESTRATE_PORT": "abc"})

        assert result.exit_code == 2
        assert "ORCHESTRATE_PORT" in result.stderr

    def test_a_malformed_orchestrate_toml_exits_2_naming_the_file(self, cli: Cli) -> None:
        (cli.workdir / "orchestrate.toml").write_text("port = = 8080\n", encoding="utf-8")

        result = cli("config", "show")

        assert result.exit_code == 2
        assert "orchestrate.toml" in result.stderr
        assert "line 1" in result.stderr

    def test_a_bad_value_in_orchestrate_toml_names_the_key_and_the_file(self, cli: Cli) -> None:
        (cli.workdir / "orchestrate.toml").write_text('port = "eighty"\n', encoding="utf-8")

        result = cli("config", "show")

        assert result.exit_code == 2
        assert "'port' in orchestrate.toml" in result.stderr

    def test_an_unsupported_database_driver_exits_2(self, cli: Cli) -> None:
        result = cli("token", "list", env={"ORCHESTRATE_DATABASE_URL": "mysql://u@h/db"})

        assert result.exit_code == 2
        assert "ORCHESTRATE_DATABASE_URL" in result.stderr


class TestVersion:
    def test_version_prints_the_package_version(self, cli: Cli) -> None:
        result = cli("--version")

        assert result.exit_code == 0
        assert result.stdout.strip() == f"orchestrate {__version__}"

    def test_an_unknown_command_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("frobnicate")

        assert result.exit_code == 2
        assert "frobnicate" in result.output
