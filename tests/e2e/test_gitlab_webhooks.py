"""End to end: GitLab delivers to a running ``orchestrate serve`` over HTTP, a pipeline
with ``on: gitlab`` runs, and the CLI shows and redelivers the delivery."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import Server, cli, engine_env, free_port
from tests.support import GITLAB_WEBHOOKS

pytestmark = pytest.mark.slow

TOKEN = "e2e-gitlab-token"

ON_MERGE_REQUEST = """\
name: on-mr
on:
  gitlab:
    - event: merge_request
      actions: [opened]
      repositories: [gitlabhq/gitlab-test]
steps:
  - id: hello
    run: echo hello
"""


@pytest.fixture
def server_env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    return engine_env(
        tmp_path / "home",
        engine_name,
        empty_db_url,
        LOG_LEVEL="warning",
        GITLAB_WEBHOOK_SECRET=TOKEN,
    )


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    running = Server(server_env, free_port())
    try:
        yield running
    finally:
        running.stop()


def gitlab_deliveries(env: dict[str, str]) -> list[dict[str, Any]]:
    listed = cli(env, "webhook", "list", "--forge", "gitlab", "--json")
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def wait_processed(env: dict[str, str], count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = gitlab_deliveries(env)
        if len(found) == count and all(d["status"] == "processed" for d in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.3)


def test_a_gitlab_merge_request_runs_its_pipeline_once_and_can_be_redelivered(
    server: Server, server_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = tmp_path / "on-mr.yml"
    pipeline.write_text(ON_MERGE_REQUEST)
    assert cli(server_env, "pipeline", "create", str(pipeline)).returncode == 0
    body = (GITLAB_WEBHOOKS / "merge_request.open.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Token": TOKEN,
        "Idempotency-Key": str(uuid.uuid4()),
    }

    with httpx.Client(base_url=server.url, timeout=30) as http:
        first = http.post("/webhooks/gitlab", content=body, headers=headers)
        retry = http.post("/webhooks/gitlab", content=body, headers=headers)
        refused = http.post(
            "/webhooks/gitlab", content=body, headers={**headers, "X-Gitlab-Token": "nope"}
        )

    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    assert retry.json()["status"] == "duplicate"
    assert refused.status_code == 401
    [delivery] = wait_processed(server_env, 1)
    assert (delivery["forge"], delivery["event"], delivery["action"]) == (
        "gitlab",
        "merge_request",
        "opened",
    )
    assert [run["pipeline"] for run in delivery["result"]["runs"]] == ["on-mr"]

    again = cli(server_env, "webhook", "redeliver", delivery["id"], "--wait")

    assert again.returncode == 0, again.stdout + again.stderr
    runs = cli(server_env, "pipeline", "runs", "--json")
    assert len(json.loads(runs.stdout)) == 2
