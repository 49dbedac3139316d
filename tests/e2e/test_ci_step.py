"""A ``ci:`` step end to end: real worker processes against the fake GitHub Actions.

The worker is SIGKILLed after GitHub carried out the dispatch but before the worker
heard back — the one moment a second dispatch could start a second run. The next
worker takes the step's job over, adopts the run the first one started, and the
pipeline ends with that run's conclusion: one dispatch in all.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrate.testing import FakeGitHub
from tests.e2e.processes import ORCHESTRATE, Background, cli, engine_env

REPO = "octo/app"
PIPELINE = """\
name: integrate
steps:
  - id: integration
    ci:
      workflow: ci.yml
      ref: main
      poll: 1s
      inputs:
        suite: smoke
  - id: report
    needs: integration
    run: echo "CI said ${{ needs.integration.outputs.conclusion }}"
"""


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(REPO)
        fake.add_workflow(REPO, "ci.yml", name="CI", jobs=(("test", "success", "ok\n"),))
        yield fake


@pytest.fixture
def env(engine_name: str, empty_db_url: str, tmp_path: Path, github: FakeGitHub) -> dict[str, str]:
    values = engine_env(
        tmp_path / "home",
        engine_name,
        empty_db_url,
        JOB_LEASE_SECONDS="3",
        CI_GITHUB_API_URL=github.api_url,
        CI_REPOSITORY=REPO,
        LOG_LEVEL="info",
    )
    stored = subprocess.run(
        [*ORCHESTRATE, "secret", "set", "GITHUB_TOKEN"],
        input=github.token,
        env=values,
        capture_output=True,
        text=True,
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    return values


def wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_after_the_dispatch_leaves_one_run_adopted_by_the_next(
    env: dict[str, str], github: FakeGitHub, tmp_path: Path
) -> None:
    pipeline = tmp_path / "integrate.yml"
    pipeline.write_text(PIPELINE)
    created = cli(env, "pipeline", "create", str(pipeline))
    assert created.returncode == 0, created.stderr
    held = github.hold_next("POST", "/dispatches")
    worker = Background(env, "worker")
    try:
        started = cli(env, "pipeline", "trigger", "integrate")
        assert started.returncode == 0, started.stderr
        run_id = started.stdout.strip()
        assert held.reached.wait(60), "the worker never dispatched the workflow"
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(10)
    finally:
        worker.stop()
        held.release.set()
    [ci_run] = github.workflow_runs(REPO)

    again = Background(env, "worker")
    try:
        github.advance_run(REPO, ci_run.id, "completed", "success")

        def ended() -> bool:
            shown = cli(env, "pipeline", "run-show", run_id, "--json")
            return shown.returncode == 0 and json.loads(shown.stdout)["status"] == "success"

        wait_for(ended, "the run to succeed")
    finally:
        again.stop()
    shown = json.loads(cli(env, "pipeline", "run-show", run_id, "--json").stdout)
    logs = cli(env, "pipeline", "logs", run_id)

    assert len(github.calls("POST", "/dispatches")) == 1
    assert len(github.workflow_runs(REPO)) == 1
    [integration] = [step for step in shown["steps"] if step["id"] == "integration"]
    assert integration["outputs"]["run_id"] == str(ci_run.id)
    assert integration["outputs"]["conclusion"] == "success"
    assert "CI said success" in logs.stdout
