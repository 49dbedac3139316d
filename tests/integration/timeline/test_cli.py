"""``orchestrate events forget-consumer``: one line either way, nothing else touched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.core.db import create_database
from orchestrate.core.events import _store as consumer_store
from orchestrate.core.events import consumer_statuses
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.integration.cli.support import Cli, make_cli


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def consumers_named(db_url: str, *create: str) -> list[str]:
    """Create consumers ``create`` (if given), then the names of all of them."""

    async def main() -> list[str]:
        runtime = Runtime(Settings(database_url=db_url), create_database(db_url))
        try:
            for name in create:
                await consumer_store.ensure_consumer(runtime.uow(), name)
            return [s.name for s in await consumer_statuses(runtime.uow(read_only=True))]
        finally:
            await runtime.close()

    return asyncio.run(main())


def test_forgetting_a_consumer_removes_only_it(cli: Cli, db_url: str) -> None:
    consumers_named(db_url, "alerts", "old-mailer")

    result = cli("events", "forget-consumer", "old-mailer")

    assert result.exit_code == 0, result.stderr
    assert "Forgot event consumer 'old-mailer'" in result.stderr
    assert consumers_named(db_url) == ["alerts"]


def test_an_unknown_consumer_is_one_line_and_a_non_zero_exit(cli: Cli, db_url: str) -> None:
    result = cli("events", "forget-consumer", "nobody")

    assert result.exit_code != 0
    assert result.stderr.strip() == "Error: No event consumer named 'nobody'"
