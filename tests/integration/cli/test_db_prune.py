"""``orchestrate db prune``: what each rule removes, dry runs, and bad durations."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from typer.testing import CliRunner

from orchestrate.cli import db
from orchestrate.cli.wiring import CliWiring, wired_by
from orchestrate.core.clock import FrozenClock
from orchestrate.core.db import create_database
from orchestrate.core.jobs.retention import FinishedJobs
from orchestrate.core.retention import Deleted, Key, Retention, RetentionPlan, RetentionRule
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from tests.integration.cli.support import Cli
from tests.integration.retention.rows import Rows
from tests.integration.retention.support import stored

T = TypeVar("T")


def on_database(db_url: str, days_ago: int, work: Callable[[Rows], Awaitable[T]]) -> T:
    """Run ``work`` with row builders whose clock is ``days_ago`` days in the past."""

    async def main() -> T:
        settings = Settings(database_url=db_url)
        clock = FrozenClock(datetime.now(UTC) - timedelta(days=days_ago))
        runtime = Runtime(settings, create_database(db_url), clock=clock)
        try:
            return await work(Rows(runtime))
        finally:
            await runtime.close()

    return asyncio.run(main())


async def old_data(rows: Rows, logs: Path) -> str:
    run_id, _ = await rows.run(steps=2, logs=logs)
    await rows.agent()
    await rows.delivery()
    await rows.job()
    await rows.job("queued")
    return run_id


def what_is_stored(db_url: str) -> dict[str, set[Any]]:
    async def read(rows: Rows) -> dict[str, set[Any]]:
        return await stored(rows.runtime)

    return on_database(db_url, 0, read)


def pruned(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("db", "prune", "--json", *args)
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def audited_prunes(cli: Cli) -> list[dict[str, Any]]:
    listed = cli("audit", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    return [record for record in json.loads(listed.stdout) if record["action"] == "db.prune"]


def rows_by_rule(report: dict[str, Any]) -> dict[str, int]:
    return {rule["rule"]: rule["rows"] for rule in report["rules"]}


class TestPrune:
    def test_prune_removes_old_finished_data_and_says_what(
        self, cli: Cli, db_url: str, tmp_path: Path
    ) -> None:
        run_id = on_database(db_url, 40, lambda rows: old_data(rows, tmp_path / "logs"))

        result = cli("db", "prune")

        assert result.exit_code == 0, result.stderr
        assert "pipeline_runs" in result.stdout
        assert "Removed 4 row(s) and 1 file(s) or folder(s)." in result.stderr
        left = what_is_stored(db_url)
        assert left["runs"] == left["agents"] == left["deliveries"] == set()
        assert len(left["jobs"]) == 1  # the queued job
        assert not (tmp_path / "logs" / run_id).exists()

    def test_a_dry_run_reports_counts_and_cutoffs_and_removes_nothing(
        self, cli: Cli, db_url: str, tmp_path: Path
    ) -> None:
        run_id = on_database(db_url, 40, lambda rows: old_data(rows, tmp_path / "logs"))
        before = what_is_stored(db_url)

        report = pruned(cli, "--dry-run")

        assert report["dry_run"] is True
        counts = rows_by_rule(report)
        assert counts["pipeline_runs"] == counts["agents"] == counts["webhook_deliveries"] == 1
        assert counts["jobs"] == 1
        runs = next(rule for rule in report["rules"] if rule["rule"] == "pipeline_runs")
        assert runs["older_than"] == "30d"
        assert runs["setting"] == "ORCHESTRATE_RETENTION_RUNS"
        cutoff = datetime.fromisoformat(runs["cutoff"])
        assert abs(cutoff - (datetime.now(UTC) - timedelta(days=30))) < timedelta(minutes=5)
        assert what_is_stored(db_url) == before
        assert (tmp_path / "logs" / run_id).is_dir()

    def test_a_prune_is_audited_with_what_it_removed_and_a_dry_run_is_not(
        self, cli: Cli, db_url: str, tmp_path: Path
    ) -> None:
        on_database(db_url, 40, lambda rows: old_data(rows, tmp_path / "logs"))

        pruned(cli, "--dry-run")
        assert audited_prunes(cli) == []
        pruned(cli, "--older-than", "7d")

        [record] = audited_prunes(cli)
        assert record["actor"].startswith("cli:")
        assert record["subject"] == "database"
        assert record["details"]["older_than"] == "7d"
        assert rows_by_rule(record["details"])["pipeline_runs"] == 1

    def test_the_human_dry_run_says_nothing_changed(self, cli: Cli) -> None:
        result = cli("db", "prune", "--dry-run")

        assert result.exit_code == 0, result.stderr
        assert "would remove" in result.stdout
        assert "nothing was changed" in result.stderr

    def test_older_than_overrides_each_rules_age(
        self, cli: Cli, db_url: str, tmp_path: Path
    ) -> None:
        on_database(db_url, 3, lambda rows: old_data(rows, tmp_path / "logs"))

        default = pruned(cli)
        assert rows_by_rule(default)["pipeline_runs"] == 0  # 3 days < 30d

        report = pruned(cli, "--older-than", "2d")

        assert report["older_than"] == "2d"
        assert rows_by_rule(report)["pipeline_runs"] == 1
        assert rows_by_rule(report)["agents"] == 1
        assert what_is_stored(db_url)["runs"] == set()

    def test_a_rule_set_to_off_is_left_alone(self, cli: Cli, db_url: str, tmp_path: Path) -> None:
        on_database(db_url, 40, lambda rows: old_data(rows, tmp_path / "logs"))

        result = cli(
            "db", "prune", "--json", "--older-than", "1d", env={"ORCHESTRATE_RETENTION_RUNS": "off"}
        )

        assert result.exit_code == 0, result.stderr
        runs = next(r for r in json.loads(result.stdout)["rules"] if r["rule"] == "pipeline_runs")
        assert runs["older_than"] == "off"
        assert runs["cutoff"] is None
        assert len(what_is_stored(db_url)["runs"]) == 1

    def test_a_bad_duration_is_one_line_and_exit_2(self, cli: Cli) -> None:
        result = cli("db", "prune", "--older-than", "30")

        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.strip() == (
            "Error: --older-than: '30' is not a duration: use a whole number and a unit "
            "(m, h, d or w), e.g. 30d, 12h, 90m, 2w"
        )

    def test_a_bad_retention_setting_is_one_line_and_exit_2(self, cli: Cli) -> None:
        result = cli("db", "prune", env={"ORCHESTRATE_RETENTION_EVENTS": "two weeks"})

        assert result.exit_code == 2
        assert "Invalid setting ORCHESTRATE_RETENTION_EVENTS" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


class _BrokenRule(RetentionRule):
    name = "broken"
    setting = "retention_events"
    removes = "nothing: it always fails"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        raise RuntimeError("the [table] is gone")

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        raise AssertionError("never reached")


def test_a_failing_rule_is_named_the_others_run_and_the_exit_code_is_1(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    on_database(db_url, 40, lambda rows: old_data(rows, tmp_path / "logs"))
    plan = RetentionPlan.of([Retention(rules=(_BrokenRule(), FinishedJobs()))])

    with wired_by(CliWiring(retention=lambda: plan)):
        result = CliRunner().invoke(db.app, ["prune"], env=cli.env)

    assert result.exit_code == 1
    assert "Error: rule broken stopped: RuntimeError: the [table] is gone" in result.stderr
    assert "Removed 1 row(s)" in result.stderr
    assert len(what_is_stored(db_url)["jobs"]) == 1  # the queued one
