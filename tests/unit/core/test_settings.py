"""Settings: defaults, environment, ``orchestrate.toml``, precedence and clear errors."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings, load_settings, setting_sources


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ORCHESTRATE_* variables and an empty working directory, whatever the shell has."""
    for name in list(os.environ):
        if name.startswith("ORCHESTRATE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(directory: Path, text: str, name: str = "orchestrate.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


class TestDefaults:
    def test_without_configuration_the_server_listens_on_localhost_8080(self) -> None:
        settings = load_settings()

        assert (settings.host, settings.port) == ("127.0.0.1", 8080)

    def test_the_home_directory_defaults_to_dot_orchestrate_in_the_working_directory(
        self, clean_environment: Path
    ) -> None:
        assert load_settings().home == clean_environment.resolve() / ".orchestrate"

    def test_a_relative_home_is_made_absolute_once_when_settings_are_read(
        self, clean_environment: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_HOME", "data/here")
        settings = load_settings()

        monkeypatch.chdir("/")

        home = clean_environment.resolve() / "data" / "here"
        assert settings.home == home
        assert settings.database_url_value == f"sqlite+aiosqlite:///{home / 'orchestrate.db'}"

    def test_a_home_under_the_user_directory_is_expanded(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("ORCHESTRATE_HOME", "~/orchestrate-home")

        assert load_settings().home == tmp_path.resolve() / "orchestrate-home"

    def test_the_database_defaults_to_a_sqlite_file_in_the_home(self, tmp_path: Path) -> None:
        settings = load_settings(home=tmp_path / "data")

        expected = (tmp_path / "data" / "orchestrate.db").resolve()
        assert settings.database_url_value == f"sqlite+aiosqlite:///{expected}"

    def test_every_setting_reports_default_as_its_source(self) -> None:
        sources = setting_sources(load_settings())

        assert set(sources.values()) == {"default"}
        assert set(sources) == set(Settings.model_fields)


class TestEnvironment:
    def test_environment_variables_override_the_defaults(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_HOST", "0.0.0.0")
        monkeypatch.setenv("ORCHESTRATE_PORT", "9001")
        monkeypatch.setenv("ORCHESTRATE_HOME", "/srv/orchestrate")

        settings = load_settings()

        assert (settings.host, settings.port, settings.home) == (
            "0.0.0.0",
            9001,
            Path("/srv/orchestrate"),
        )

    def test_the_database_url_comes_from_orchestrate_database_url(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = "postgresql+asyncpg://orchestrate:s3cret@db.internal/orchestrate"
        monkeypatch.setenv("ORCHESTRATE_DATABASE_URL", url)

        assert load_settings().database_url_value == url

    def test_the_database_password_does_not_show_in_the_settings_repr(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_DATABASE_URL", "postgresql+asyncpg://u:s3cret@h/db")

        assert "s3cret" not in repr(load_settings())

    def test_unrelated_orchestrate_variables_are_ignored(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_TEST_POSTGRES_URL", "postgresql://elsewhere/db")

        assert load_settings().port == 8080

    def test_explicit_arguments_beat_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_PORT", "9001")

        assert load_settings(port=9500).port == 9500

    def test_sources_name_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_PORT", "9001")

        sources = setting_sources(load_settings())

        assert sources["port"] == "env"
        assert sources["host"] == "default"


class TestConfigFile:
    def test_orchestrate_toml_in_the_working_directory_is_read(self, tmp_path: Path) -> None:
        write_config(tmp_path, 'port = 9100\nhost = "10.0.0.5"\n')

        settings = load_settings()

        assert (settings.host, settings.port) == ("10.0.0.5", 9100)

    def test_the_environment_beats_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_config(tmp_path, "port = 9100\n")
        monkeypatch.setenv("ORCHESTRATE_PORT", "9200")

        settings = load_settings()

        assert settings.port == 9200
        assert setting_sources(settings)["port"] == "env"

    def test_orchestrate_config_names_another_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        other = write_config(tmp_path, "port = 9300\n", name="production.toml")
        write_config(tmp_path, "port = 9100\n")
        monkeypatch.setenv("ORCHESTRATE_CONFIG", str(other))

        settings = load_settings()

        assert settings.port == 9300
        assert setting_sources(settings)["port"] == f"file:{other}"

    def test_sources_name_the_file_for_values_it_sets(self, tmp_path: Path) -> None:
        write_config(tmp_path, "port = 9100\n")

        sources = setting_sources(load_settings())

        assert sources["port"] == "file:orchestrate.toml"
        assert sources["host"] == "default"

    def test_a_malformed_file_is_one_clear_error_naming_the_file(self, tmp_path: Path) -> None:
        write_config(tmp_path, "port = \n[broken\n")

        with pytest.raises(ConfigurationError, match=r"settings file orchestrate\.toml"):
            load_settings()

    def test_an_unknown_key_in_the_file_is_refused(self, tmp_path: Path) -> None:
        write_config(tmp_path, "prot = 9100\n")

        with pytest.raises(ConfigurationError, match="PROT"):
            load_settings()


class TestInvalidValues:
    def test_a_non_numeric_port_names_orchestrate_port_and_the_value(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_PORT", "abc")

        with pytest.raises(ConfigurationError) as raised:
            load_settings()

        assert "ORCHESTRATE_PORT" in raised.value.message
        assert "'abc'" in raised.value.message

    @pytest.mark.parametrize("port", ["0", "65536", "-1"])
    def test_a_port_out_of_range_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, port: str
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_PORT", port)

        with pytest.raises(ConfigurationError, match="ORCHESTRATE_PORT"):
            load_settings()

    def test_an_unknown_log_level_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_LOG_LEVEL", "loud")

        with pytest.raises(ConfigurationError, match="ORCHESTRATE_LOG_LEVEL"):
            load_settings()

    def test_log_levels_are_case_insensitive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_LOG_LEVEL", "DEBUG")

        assert load_settings().log_level == "debug"

    def test_an_unknown_log_format_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_LOG_FORMAT", "xml")

        with pytest.raises(ConfigurationError, match="ORCHESTRATE_LOG_FORMAT"):
            load_settings()

    def test_retention_defaults_keep_runs_a_month_and_events_two_weeks(self) -> None:
        settings = load_settings()

        assert settings.retention_period("retention_runs") == timedelta(days=30)
        assert settings.retention_period("retention_agents") == timedelta(days=30)
        assert settings.retention_period("retention_deliveries") == timedelta(days=14)
        assert settings.retention_period("retention_events") == timedelta(days=14)
        assert settings.retention_period("retention_audit") == timedelta(days=365)
        assert settings.retention_period("retention_jobs") == timedelta(days=7)

    def test_a_retention_of_off_keeps_forever(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_RETENTION_EVENTS", "Off")

        settings = load_settings()

        assert settings.retention_events == "off"
        assert settings.retention_period("retention_events") is None

    def test_a_retention_without_a_unit_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_RETENTION_RUNS", "30")

        with pytest.raises(ConfigurationError) as raised:
            load_settings()

        assert "Invalid setting ORCHESTRATE_RETENTION_RUNS" in raised.value.message
        assert "e.g. 30d, 12h" in raised.value.message

    def test_a_retention_number_in_the_settings_file_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        config = tmp_path / "orchestrate.toml"
        config.write_text("retention_audit = 365\n")
        monkeypatch.setenv("ORCHESTRATE_CONFIG", str(config))

        with pytest.raises(ConfigurationError, match=r"ORCHESTRATE_RETENTION_AUDIT.*not text"):
            load_settings()

    def test_a_retry_cap_below_the_base_delay_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_JOB_RETRY_BASE_SECONDS", "60")
        monkeypatch.setenv("ORCHESTRATE_JOB_RETRY_MAX_SECONDS", "10")

        with pytest.raises(ConfigurationError, match="job_retry_max_seconds"):
            load_settings()

    def test_every_invalid_setting_is_reported_at_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_PORT", "abc")
        monkeypatch.setenv("ORCHESTRATE_WORKER_CONCURRENCY", "0")

        with pytest.raises(ConfigurationError) as raised:
            load_settings()

        assert "ORCHESTRATE_PORT" in raised.value.message
        assert "ORCHESTRATE_WORKER_CONCURRENCY" in raised.value.message

    def test_a_bad_value_in_the_file_names_the_key_and_the_file(self, tmp_path: Path) -> None:
        write_config(tmp_path, 'port = "high"\n')

        with pytest.raises(ConfigurationError) as raised:
            load_settings()

        assert "ORCHESTRATE_PORT ('port' in orchestrate.toml)" in raised.value.message


def test_the_replaced_job_retention_setting_is_refused_not_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORCHESTRATE_JOB_RETENTION_DAYS", "3")
    monkeypatch.delenv("ORCHESTRATE_RETENTION_JOBS", raising=False)

    with pytest.raises(ConfigurationError, match="replaced by ORCHESTRATE_RETENTION_JOBS"):
        load_settings()

    monkeypatch.setenv("ORCHESTRATE_RETENTION_JOBS", "3d")
    assert load_settings().retention_jobs == "3d"
