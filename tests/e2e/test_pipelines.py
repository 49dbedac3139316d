"""End to end: pipelines run by real processes, driven through the CLI and over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import Server, cli, engine_env, free_port, sse

pytestmark = pytest.mark.slow

CHAIN = """\
name: chain
inputs:
  who: {default: world}
steps:
  - id: build
    run: |
      echo "building for ${{ inputs.who }}"
      echo "artifact=app-${{ inputs.who }}.tar" >> "$ORCHESTRATE_OUTPUT"
  - id: test
    needs: build
    run: echo "testing ${{ needs.build.outputs.artifact }}"
  - id: ship
    needs: [build, test]
    if: inputs.who != 'nobody'
    run: echo "shipping ${{ needs.build.outputs.artifact }}"
"""

GATED = """\
name: gated
steps:
  - id: build
    run: echo built
  - id: release
    needs: build
    approval:
      approvers: [releaser]
  - id: ship
    needs: release
    run: echo "shipped after ${{ needs.release.outputs.approved_by }}"
"""


@pytest.fixture
def env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    return engine_env(tmp_path / "home", engine_name, empty_db_url, LOG_LEVEL="warning")


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Server]:
    running = Server(env, free_port())
    try:
        yield running
    finally:
        running.stop()


def run_json(env: dict[str, str], run_id: str) -> dict[str, Any]:
    result = cli(env, "pipeline", "run-show", run_id, "--json")
    assert result.returncode == 0, result.stderr
    run: dict[str, Any] = json.loads(result.stdout)
    return run


def test_a_pipeline_written_validated_and_run_from_the_cli(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "chain.yml"
    path.write_text(CHAIN)
    assert cli(env, "pipeline", "validate", str(path)).returncode == 0
    assert cli(env, "pipeline", "create", str(path)).returncode == 0

    result = cli(env, "pipeline", "trigger", "chain", "--input", "who=ada", "--wait")

    assert result.returncode == 0, result.stderr
    run = run_json(env, result.stdout.strip())
    assert run["status"] == "success"
    assert [(s["id"], s["status"]) for s in run["steps"]] == [
        ("build", "success"),
        ("test", "success"),
        ("ship", "success"),
    ]
    assert run["steps"][0]["outputs"] == {"artifact": "app-ada.tar"}
    logs = cli(env, "pipeline", "logs", run["id"], "ship")
    assert "shipping app-ada.tar" in logs.stdout


def test_a_failing_step_makes_trigger_wait_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "chain.yml"
    path.write_text(CHAIN.replace('echo "testing', 'false && echo "testing'))
    cli(env, "pipeline", "create", str(path))

    result = cli(env, "pipeline", "trigger", "chain", "--wait")

    assert result.returncode == 1
    assert "✗ test" in result.stderr
    assert run_json(env, result.stdout.strip())["status"] == "failure"


def test_a_run_over_http_is_followed_live_and_resumes_when_its_approver_approves(
    server: Server, env: dict[str, str]
) -> None:
    releaser = cli(env, "token", "create", "--name", "releaser", "--role", "operator")
    other = cli(env, "token", "create", "--name", "other", "--role", "operator")
    headers = {"Authorization": f"Bearer {releaser.stdout.strip()}"}

    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        created = http.post(
            "/api/pipelines", content=GATED, headers={"Content-Type": "application/yaml"}
        )
        assert created.status_code == 201, created.text
        run_id = http.post("/api/pipelines/gated/trigger").json()["id"]
        seen: list[dict[str, Any]] = []
        with http.stream(
            "GET", f"/api/pipeline-runs/{run_id}/logs", params={"follow": "true"}
        ) as stream:
            for event in sse(stream.iter_lines()):
                seen.append(event)
                data = event["data"]
                if event["event"] == "status" and data["type"] == "pipeline.step.waiting":
                    refused = http.post(
                        f"/api/pipeline-runs/{run_id}/steps/release/approve",
                        headers={"Authorization": f"Bearer {other.stdout.strip()}"},
                    )
                    assert refused.status_code == 403
                    pending = http.get("/api/approvals").json()["items"]
                    assert [(p["run_id"], p["step"]) for p in pending] == [(run_id, "release")]
                    approved = http.post(f"/api/pipeline-runs/{run_id}/steps/release/approve")
                    assert approved.status_code == 200, approved.text
                if event["event"] == "end":
                    break

    assert seen[-1]["data"]["status"] == "success"
    lines = [line for e in seen if e["event"] == "log" for line in e["data"]["lines"]]
    assert "shipped after releaser" in lines
    assert run_json(env, run_id)["status"] == "success"
