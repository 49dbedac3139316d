"""``orchestrate ci runs|show|logs|trigger|rerun|cancel`` against the fake platforms."""

from __future__ import annotations

import json
import threading

import pytest
from typer.testing import CliRunner, Result

from orchestrate.app.cli import app
from tests.integration.ci.conftest import PROJECT, REPO, Platforms
from tests.integration.cli.support import Cli


@pytest.fixture
def ci(cli: Cli, platforms: Platforms) -> Cli:
    cli.env |= {
        "ORCHESTRATE_CI_GITHUB_API_URL": platforms.github.api_url,
        "ORCHESTRATE_CI_GITLAB_URL": platforms.gitlab.url,
        "ORCHESTRATE_CI_CIRCLECI_URL": platforms.circleci.url,
        "ORCHESTRATE_CI_REPOSITORY": REPO,
        "ORCHESTRATE_CI_TRIGGER_TIMEOUT_SECONDS": "5",
        "ORCHESTRATE_FORGE_RETRY_BASE_SECONDS": "0.01",
    }
    for name, value in (
        ("GITHUB_TOKEN", platforms.github.token),
        ("GITLAB_TOKEN", platforms.gitlab.token),
    ):
        stored = CliRunner().invoke(app, ["secret", "set", name], env=cli.env, input=value)
        assert stored.exit_code == 0, stored.output
    return cli


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_runs_lists_the_default_repository_as_json(ci: Cli, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

    listed = json.loads(_ok(ci("ci", "runs", "--json")).output)
    table = _ok(ci("ci", "runs", "--status", "completed"))

    assert [(r["id"], r["conclusion"]) for r in listed] == [(str(run_id), "failure")]
    assert str(run_id) in table.output


def test_show_prints_the_run_and_its_jobs(ci: Cli, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

    shown = _ok(ci("ci", "show", str(run_id), "--provider", "github", "--repo", REPO))

    assert "CI" in shown.output
    assert "lint" in shown.output
    assert "test" in shown.output


def test_logs_prints_a_jobs_log(ci: Cli, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

    result = _ok(ci("ci", "logs", str(run_id), "--job", "test"))

    assert result.output == "FAILED test_y\n"


def test_trigger_with_inputs_and_wait_exits_1_when_the_run_fails(
    ci: Cli, platforms: Platforms
) -> None:
    def finish_when_dispatched() -> None:
        for _ in range(200):
            runs = platforms.github.workflow_runs(REPO)
            if runs:
                platforms.github.advance_run(REPO, runs[-1].id, "completed")
                return
            threading.Event().wait(0.05)

    finisher = threading.Thread(target=finish_when_dispatched)
    finisher.start()
    result = ci(
        "ci", "trigger", "--workflow", "ci.yml", "--ref", "main", "--input", "suite=smoke",
        "--wait", "--poll", "0.1", "--timeout", "10", "--json",
    )  # fmt: skip
    finisher.join()

    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["conclusion"] == "failure"
    assert platforms.github.workflow_runs(REPO)[-1].inputs == {"suite": "smoke"}


def test_rerun_failed_only_on_gitlab(ci: Cli, platforms: Platforms) -> None:
    triggered = json.loads(
        _ok(ci("ci", "trigger", "-p", "gitlab", "-r", PROJECT, "--ref", "main", "--json")).output
    )
    job_id = platforms.gitlab.jobs_of(PROJECT, int(triggered["id"]))["build"]
    platforms.gitlab.set_job(PROJECT, job_id, status="failed")

    rerun = json.loads(
        _ok(ci("ci", "rerun", triggered["id"], "-p", "gitlab", "-r", PROJECT, "--failed-only",
               "--json")).output
    )  # fmt: skip

    assert rerun["attempt"] == 2


def test_errors_are_a_message_and_an_exit_code(ci: Cli, platforms: Platforms) -> None:
    unknown = ci("ci", "runs", "--provider", "jenkins")
    no_token = ci("ci", "runs", "--provider", "circleci", "--repo", "gh/acme/app")
    missing = ci("ci", "show", "424242")
    bad_input = ci("ci", "trigger", "--workflow", "ci.yml", "--ref", "main", "--input", "oops")

    assert unknown.exit_code == 2
    assert "Unknown CI provider 'jenkins'" in unknown.output
    assert no_token.exit_code == 2
    assert "orchestrate secret set CIRCLECI_TOKEN" in no_token.output
    assert missing.exit_code == 1
    assert "Not found on GitHub" in missing.output
    assert bad_input.exit_code == 2
    assert "key=value" in bad_input.output


def test_cancel_stops_a_running_run_and_says_so(ci: Cli, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="in_progress")

    result = _ok(ci("ci", "cancel", str(run_id), "--provider", "github", "--repo", REPO))

    assert f"Cancelled run {run_id} of {REPO}" in result.output
    assert platforms.github.workflow_run(REPO, run_id).conclusion == "cancelled"


def test_cancel_of_an_ended_run_is_no_error(ci: Cli, platforms: Platforms) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

    said = _ok(ci("ci", "cancel", str(run_id)))
    shown = json.loads(
        _ok(ci("ci", "cancel", str(run_id), "-p", "github", "-r", REPO, "--json")).output
    )

    assert f"Run {run_id} of {REPO} had already ended failure; nothing to cancel." in said.output
    assert (shown["status"], shown["conclusion"]) == ("completed", "failure")


def test_cancel_of_an_unknown_run_exits_1(ci: Cli) -> None:
    missing = ci("ci", "cancel", "424242")

    assert missing.exit_code == 1
    assert "Not found on GitHub" in missing.output
