"""``orchestrate cost report`` and ``orchestrate cost budget set|list|delete``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.integration.cli.support import Cli, make_cli
from tests.integration.costs.ledger_rows import seed_ledger


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


@pytest.fixture
def seeded(settings: Settings) -> None:
    async def main() -> None:
        runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
        try:
            await seed_ledger(runtime)
        finally:
            await runtime.close()

    asyncio.run(main())


@pytest.mark.usefixtures("seeded")
class TestReport:
    def test_the_table_has_a_row_per_model_and_a_total(self, cli: Cli) -> None:
        result = cli("cost", "report", "--by", "model")

        assert result.exit_code == 0, result.output
        assert "Model calls by model, all time" in result.stdout
        lines = result.stdout.splitlines()
        large = next(line for line in lines if "m-large" in line)
        assert "1.5000" in large
        total = next(line for line in lines if line.lstrip("│ ").startswith("total"))
        assert "1.8500" in total

    def test_json_is_the_api_shape(self, cli: Cli) -> None:
        result = cli("cost", "report", "--by", "story", "--since", "2026-12-01", "--json")

        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert set(body) == {"by", "since", "items", "total"}
        assert [(i["key"], i["cost_usd"]) for i in body["items"]] == [("st_1", "1.750000")]

    @pytest.mark.parametrize("args", [("--by", "colour"), ("--since", "the day before"), ("--by",)])
    def test_bad_options_exit_non_zero_with_a_message(
        self, cli: Cli, args: tuple[str, ...]
    ) -> None:
        result = cli("cost", "report", *args)

        assert result.exit_code != 0
        assert "Traceback" not in result.output
        assert result.output.strip()


class TestBudgets:
    def test_set_list_change_and_delete(self, cli: Cli) -> None:
        created = cli(
            "cost", "budget", "set", "25", "--period", "daily", "--agent-type", "reviewer"
        )
        changed = cli(
            "cost",
            "budget",
            "set",
            "$30",
            "--period",
            "daily",
            "--agent-type",
            "reviewer",
            "--warn-at",
            "50",
        )
        listed = cli("cost", "budget", "list", "--json")

        assert created.exit_code == 0, created.output
        assert "Created bud_" in created.output
        assert "the daily budget of agent type 'reviewer' is $25.000000, warning at 80%" in (
            created.output
        )
        assert changed.exit_code == 0, changed.output
        assert "Updated bud_" in changed.output
        (budget,) = json.loads(listed.stdout)
        assert (budget["limit_usd"], budget["warn_at"], budget["status"]) == (
            "30.000000",
            "0.5000",
            "ok",
        )
        table = cli("cost", "budget", "list")
        assert "agent-type reviewer" in table.stdout

        deleted = cli("cost", "budget", "delete", budget["id"])
        assert deleted.exit_code == 0, deleted.output
        assert json.loads(cli("cost", "budget", "list", "--json").stdout) == []
        again = cli("cost", "budget", "delete", budget["id"])
        assert again.exit_code != 0
        assert "No budget" in again.output

    @pytest.mark.parametrize(
        "args",
        [
            ("ten",),
            ("0",),
            ("NaN",),
            ("5", "--agent-type", "a", "--pipeline", "p"),
            ("5", "--period", "weekly"),
            ("5", "--warn-at", "0"),
            ("5", "--warn-at", "101"),
        ],
    )
    def test_a_budget_that_means_nothing_is_refused_and_nothing_stored(
        self, cli: Cli, args: tuple[str, ...]
    ) -> None:
        result = cli("cost", "budget", "set", *args)

        assert result.exit_code != 0
        assert "Traceback" not in result.output
        assert json.loads(cli("cost", "budget", "list", "--json").stdout) == []

    @pytest.mark.usefixtures("seeded")
    def test_a_new_budget_counts_the_ledger_of_its_current_period(self, cli: Cli) -> None:
        # The seeded calls are of November and December 2026; a budget counts only those of
        # its current period, so whatever today is, it starts at or below the seeded total.
        result = cli("cost", "budget", "set", "100", "--agent-type", "story-developer")
        (budget,) = json.loads(cli("cost", "budget", "list", "--json").stdout)

        assert result.exit_code == 0, result.output
        assert budget["spent_usd"] in {"0.000000", "1.750000"}
