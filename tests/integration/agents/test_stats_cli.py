"""``orchestrate agent stats``: a table for people, the API's JSON for scripts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.integration.agents.stats_rows import seed_runs
from tests.integration.cli.support import Cli, make_cli


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


@pytest.fixture
def seeded(settings: Settings) -> None:
    async def main() -> None:
        runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
        try:
            await seed_runs(runtime)
        finally:
            await runtime.close()

    asyncio.run(main())


@pytest.mark.usefixtures("seeded")
def test_the_table_has_a_row_per_type_and_model_and_one_for_all(cli: Cli) -> None:
    result = cli("agent", "stats", "--since", "2026-11-01")

    assert result.exit_code == 0, result.output
    assert "Agent runs, since 2026-11-01 00:00 UTC" in result.stdout
    lines = result.stdout.splitlines()
    large = next(line for line in lines if "m-large" in line)
    assert "developer" in large
    assert "50%" in large  # 2 of 4 finished runs completed
    assert "36s" in large  # p90 duration
    assert "0.6000" in large
    everything = next(line for line in lines if line.lstrip("│ ").startswith("all "))
    assert "60%" in everything
    assert "old-type" not in result.stdout


@pytest.mark.usefixtures("seeded")
def test_json_is_the_api_shape_with_exact_decimal_strings(cli: Cli) -> None:
    result = cli("agent", "stats", "--json", "--type", "reviewer")

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == {"since", "type", "model", "items", "total"}
    assert body["type"] == "reviewer"
    [reviewer] = body["items"]
    assert (reviewer["runs"], reviewer["active"], reviewer["success_rate"]) == (0, 2, None)
    assert reviewer["total_cost_usd"] == "0.000000"
    assert body["total"]["runs"] == 0


def test_nothing_to_show_on_an_empty_database(cli: Cli) -> None:
    result = cli("agent", "stats")

    assert result.exit_code == 0
    assert "Nothing to show." in result.stderr


def test_a_bad_since_exits_2_with_the_forms_it_takes(cli: Cli) -> None:
    result = cli("agent", "stats", "--since", "yesterday")

    assert result.exit_code == 2
    assert "'yesterday'" in result.stderr
    assert "30d" in result.stderr
