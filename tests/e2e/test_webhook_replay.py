"""End to end: ``webhook replay`` from the CLI while ``orchestrate serve`` runs.

Both processes work the same job queue, so serve's worker often claims the processing
job the CLI queued; the CLI must still wait for it and report what it did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import Server, cli, engine_env, free_port
from tests.support import GITHUB_WEBHOOKS

pytestmark = pytest.mark.slow

ON_PUSH = """\
name: on-push
on:
  github:
    - event: push
      repositories: [Codertocat/Hello-World]
steps:
  - id: hello
    run: echo hello
"""

REPLAYS = 3


@pytest.fixture
def server_env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    return engine_env(tmp_path / "home", engine_name, empty_db_url, LOG_LEVEL="warning")


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    running = Server(server_env, free_port())
    try:
        yield running
    finally:
        running.stop()


def test_replay_reports_the_processed_delivery_whichever_process_takes_its_job(
    server: Server, server_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = tmp_path / "on-push.yml"
    pipeline.write_text(ON_PUSH)
    assert cli(server_env, "pipeline", "create", str(pipeline)).returncode == 0
    payload = GITHUB_WEBHOOKS / "push" / "payload.json"

    replays = [
        cli(server_env, "webhook", "replay", str(payload), "--event", "push", "--json")
        for _ in range(REPLAYS)
    ]

    for result in replays:
        assert result.returncode == 0, result.stdout + result.stderr
        delivery = json.loads(result.stdout)
        assert delivery["status"] == "processed"
        assert [run["pipeline"] for run in delivery["result"]["runs"]] == ["on-push"]
    runs = cli(server_env, "pipeline", "runs", "--json")
    assert len(json.loads(runs.stdout)) == REPLAYS


def test_redeliver_wait_reports_the_processed_delivery_while_serve_runs(
    server: Server, server_env: dict[str, str]
) -> None:
    payload = GITHUB_WEBHOOKS / "push" / "payload.json"
    first = cli(server_env, "webhook", "replay", str(payload), "--event", "push", "--json")
    delivery_id = json.loads(first.stdout)["id"]

    again = [cli(server_env, "webhook", "redeliver", delivery_id, "--wait") for _ in range(2)]

    for result in again:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "processed" in result.stdout
