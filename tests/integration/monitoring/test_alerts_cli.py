"""``orchestrate alert …`` as the README shows it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.core.db import create_database
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines.events import RunFailed
from tests.integration.cli.support import Cli, make_cli

ALERTS = """\
rules:
  - name: pipeline-failures
    metric: pipeline_runs_failed      # failed runs within the window, from the metric catalogue
    window: 5m
    condition: "> 0"
    for: 0s
    severity: critical
    labels: {team: platform}
    annotations: {summary: "Pipelines are failing"}
"""


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def failed_run(settings: Settings) -> None:
    async def main() -> None:
        runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
        try:
            async with runtime.uow() as uow:
                record_event(uow, RunFailed(subject="run_1", pipeline="deploy", from_="running"))
                await uow.commit()
        finally:
            await runtime.close()

    asyncio.run(main())


def test_apply_evaluate_list_ack_silence(cli: Cli, settings: Settings) -> None:
    (cli.workdir / "alerts.yml").write_text(ALERTS)

    applied = cli("alert", "rules", "apply", "alerts.yml")
    failed_run(settings)
    evaluated = cli("alert", "evaluate")
    listed = cli("alert", "list", "--state", "firing", "--json")

    assert applied.exit_code == 0, applied.output
    assert "Applied 1 rule(s)" in applied.output
    assert evaluated.exit_code == 0, evaluated.output
    assert "1 firing" in evaluated.output
    (alert,) = json.loads(listed.stdout)
    assert alert["rule"] == "pipeline-failures"
    assert alert["labels"]["team"] == "platform"
    rules = cli("alert", "rules")
    assert "pipeline-failures" in rules.stdout
    assert "pipeline_runs_failed" in rules.stdout

    acked = cli("alert", "ack", alert["id"])
    silenced = cli(
        "alert", "silence", "--match", "team=platform", "--for", "2h", "--comment", "on it"
    )
    silences = cli("alert", "silences", "--json")

    assert acked.exit_code == 0, acked.output
    assert silenced.exit_code == 0, silenced.output
    (silence,) = json.loads(silences.stdout)
    assert silence["matchers"] == ["team=platform"]
    assert silence["comment"] == "on it"
    assert cli("alert", "unsilence", silence["id"]).exit_code == 0
    assert json.loads(cli("alert", "silences", "--json").stdout) == []


def test_rules_in_the_homes_alerts_folder_are_applied_without_a_file_argument(
    cli: Cli, settings: Settings
) -> None:
    folder = settings.home / "alerts"
    folder.mkdir(parents=True)
    (folder / "team.yml").write_text(ALERTS)

    result = cli("alert", "rules", "apply")

    assert result.exit_code == 0, result.output
    assert "Applied 1 file(s)" in result.output
    assert "pipeline-failures" in cli("alert", "rules").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("alert", "rules", "apply", "missing.yml"),
        ("alert", "list", "--state", "burning"),
        ("alert", "ack", "alr_nope"),
        ("alert", "silence", "--match", "team", "--for", "1h"),
        ("alert", "silence", "--match", "team=a", "--for", "forever"),
        ("alert", "unsilence", "sil_nope"),
        ("alert", "rules", "remove", "nothing.yml"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)

    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.output.strip()


def test_a_bad_file_names_its_line(cli: Cli) -> None:
    (cli.workdir / "alerts.yml").write_text("rules:\n  - name: x\n    metric: [\n")

    result = cli("alert", "rules", "apply", "alerts.yml")

    assert result.exit_code != 0
    assert "line" in result.output
