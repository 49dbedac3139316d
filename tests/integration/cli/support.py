"""Running the real ``orchestrate`` command in process, against a test database."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from orchestrate.app.cli import app


@dataclass
class Cli:
    """``cli("token", "list")`` runs ``orchestrate token list`` with this environment."""

    env: dict[str, str | None]
    workdir: Path

    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
        """Run the command; ``env`` adds variables, or removes those set to None."""
        result = CliRunner().invoke(app, list(args), env={**self.env, **(env or {})})
        # Every error must end as a message and an exit code; anything else escaped.
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output
        return result


def make_cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """A CLI on ``database_url`` in an empty working directory, with logging restored after."""
    for name in list(os.environ):
        if name.startswith("ORCHESTRATE_") and not name.startswith("ORCHESTRATE_TEST_"):
            monkeypatch.delenv(name)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    env: dict[str, str | None] = {
        "ORCHESTRATE_DATABASE_URL": database_url,
        "ORCHESTRATE_HOME": str(tmp_path / "home"),
    }
    try:
        yield Cli(env=env, workdir=workdir)
    finally:
        # The CLI points logging at the runner's stderr, which is closed after each call.
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The ``orchestrate`` command on a migrated test database (SQLite and PostgreSQL)."""
    yield from make_cli(db_url, tmp_path, monkeypatch)


@pytest.fixture
def empty_cli(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The ``orchestrate`` command on a database without any schema yet."""
    yield from make_cli(empty_db_url, tmp_path, monkeypatch)
