"""End to end: `orchestrate serve` as a real process, driven over HTTP and through the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import ORCHESTRATE, Server, cli, engine_env, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server_env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    return engine_env(tmp_path / "home", engine_name, empty_db_url)


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    running = Server(server_env, free_port())
    try:
        yield running
    finally:
        running.stop()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_serve_prints_its_first_admin_token_once(server_env: dict[str, str]) -> None:
    first = Server(server_env, free_port())
    code, stdout, stderr = first.stop()
    token = stdout.strip()
    assert code == 0
    assert token.startswith("orc_")
    assert "running at http://127.0.0.1:" in stderr

    second = Server(server_env, free_port())
    assert httpx.get(f"{second.url}/api/audit", headers=auth(token)).status_code == 200
    _, stdout_again, _ = second.stop()
    assert stdout_again.strip() == ""


def test_stories_driven_over_http_and_through_the_cli_stay_in_step(
    server: Server, server_env: dict[str, str]
) -> None:
    created = cli(server_env, "token", "create", "--name", "e2e", "--role", "operator")
    assert created.returncode == 0, created.stderr
    operator = created.stdout.strip()
    assert operator.startswith("orc_")
    assert "\n" not in operator
    viewer = cli(server_env, "token", "create", "--name", "look", "--role", "viewer").stdout.strip()

    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/api/stories").status_code == 401
        response = http.post(
            "/api/stories",
            headers=auth(operator),
            json={"title": "Log in with SSO", "acceptance_criteria": ["SAML works"]},
        )
        assert response.status_code == 201, response.text
        story: dict[str, Any] = response.json()
        assert (
            http.post("/api/stories", headers=auth(viewer), json={"title": "x"}).status_code == 403
        )

        listed = cli(server_env, "story", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [s["id"] for s in json.loads(listed.stdout)] == [story["id"]]

        moved = cli(server_env, "story", "update", story["id"], "--status", "ready")
        assert moved.returncode == 0, moved.stderr
        assert (
            http.get(f"/api/stories/{story['id']}", headers=auth(viewer)).json()["status"]
            == "ready"
        )

        patched = http.patch(
            f"/api/stories/{story['id']}", headers=auth(operator), json={"status": "in_progress"}
        )
        assert patched.status_code == 200, patched.text
        shown = cli(server_env, "story", "show", story["id"], "--json")
        assert json.loads(shown.stdout)["status"] == "in_progress"

        refused = cli(server_env, "story", "update", story["id"], "--status", "done")
        assert refused.returncode == 1
        assert "in_progress" in refused.stderr

        missing = http.get("/api/stories/story_unknown", headers=auth(viewer))
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

        metrics = http.get("/metrics").text
        assert (
            'orchestrate_http_requests_total{method="POST",route="/api/stories",status="201"}'
            in metrics
        )

    audit = cli(server_env, "audit", "list", "--json")
    actions = {(r["action"], r["actor"], r["source"]) for r in json.loads(audit.stdout)}
    assert ("story.create", "token:e2e", "127.0.0.1") in actions
    assert any(
        action == "story.update" and actor.startswith("cli:") for action, actor, _ in actions
    )


def test_the_console_script_and_python_m_are_the_same_program(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("orchestrate")
    by_script = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True
    )
    by_module = subprocess.run(
        [*ORCHESTRATE, "--version"], capture_output=True, text=True, check=True
    )
    assert by_script.stdout == by_module.stdout
    assert by_script.stdout.startswith("orchestrate ")


def test_a_busy_port_is_one_clear_line_and_exit_2(server_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = cli(server_env, "serve", "--host", "127.0.0.1", "--port", str(port))

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"port {port} on 127.0.0.1 is in use" in line
    assert "Traceback" not in result.stderr
