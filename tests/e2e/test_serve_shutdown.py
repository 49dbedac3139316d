"""``orchestrate serve`` stops promptly on SIGTERM and hands running work back.

A deploy or a ``systemctl stop`` sends SIGTERM and waits a few seconds before
SIGKILL: serve must stop accepting work, give its running steps back to the queue,
end open streams and exit 0 well within that, and another worker must then finish
the run.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.pipelines import service
from orchestrate.pipelines.models import PipelineRun
from tests.e2e.processes import ORCHESTRATE, Server, clean_env, cli, free_port, read_database

pytestmark = pytest.mark.slow

# The first attempt sleeps a minute; the attempt after the hand-back finds its marker
# in the run's workspace and finishes at once, so the test also sees the step re-run.
SLOW_ONCE_PIPELINE = """\
name: slow
steps:
  - id: wait
    run: |
      if [ -f started ]; then
        echo "result=rerun" >> "$ORCHESTRATE_OUTPUT"
      else
        touch started
        sleep 60
      fi
"""


@pytest.fixture
def env(empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    env = clean_env(tmp_path / "home")
    env["ORCHESTRATE_DATABASE_URL"] = empty_db_url
    env["ORCHESTRATE_WORKER_POLL_MAX_SECONDS"] = "0.2"
    return env


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)


def read_run(env: dict[str, str], run_id: str) -> PipelineRun:
    return read_database(env, lambda uow: service.get_run(uow, run_id))


def wait_until(env: dict[str, str], run_id: str, done: str) -> PipelineRun:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = read_run(env, run_id)
        if (done == "step running" and run.steps and run.steps[0].status.value == "running") or (
            run.status.value == done
        ):
            return run
        time.sleep(0.2)
    raise AssertionError(f"the run never reached {done}: {run}")


def test_sigterm_stops_serve_within_5_s_and_another_worker_finishes_the_run(
    env: dict[str, str], tmp_path: Path, workers: list[subprocess.Popen[str]]
) -> None:
    server = Server(env, free_port())
    try:
        pipeline = tmp_path / "slow.yml"
        pipeline.write_text(SLOW_ONCE_PIPELINE)
        assert cli(env, "pipeline", "create", str(pipeline)).returncode == 0
        run_id = cli(env, "pipeline", "trigger", "slow").stdout.strip()
        wait_until(env, run_id, "step running")
        time.sleep(0.5)  # the step's process is sleeping

        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=5)
    finally:
        code, _, stderr = server.stop()

    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert read_run(env, run_id).status.value == "running"  # handed back, not failed
    workers.append(
        subprocess.Popen(
            [*ORCHESTRATE, "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    finished = wait_until(env, run_id, "success")
    assert finished.steps[0].outputs == {"result": "rerun"}
