"""End to end: a story developer started from the CLI, on a registered repository whose
remote is a bare repository served by the fake GitHub; a worker process pushes its
branch and opens the pull request, and ``pr`` shows and merges it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate.testing import FakeAnthropic, FakeGitHub, finish, tool_call
from tests.e2e.processes import Background, cli
from tests.e2e.test_agents import MODEL, python_in_sandbox
from tests.integration.agents.conftest import CALC, TEST_CALC, git

pytestmark = pytest.mark.slow

FIX = [
    tool_call(
        "edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}, model=MODEL
    ),
    tool_call("git", {"action": "add", "paths": ["calc.py"]}, model=MODEL),
    tool_call("git", {"action": "commit", "message": "Make add() add"}, model=MODEL),
    finish("completed", "Fixed add().", model=MODEL),
]


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A clone (to register) and the bare repository it pushes to."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    return root, remote


@pytest.fixture
def env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ORCHESTRATE_", "ANTHROPIC_", "OPENAI_"))
    }
    values |= {"ORCHESTRATE_HOME": str(tmp_path / "home"), "ORCHESTRATE_LOG_LEVEL": "warning"}
    values |= python_in_sandbox()
    if engine_name == "postgresql":
        values["ORCHESTRATE_DATABASE_URL"] = empty_db_url
    return values


def wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_a_worker_opens_the_pull_request_of_a_completed_agent(
    env: dict[str, str], project: tuple[Path, Path]
) -> None:
    work_tree, remote = project
    with FakeGitHub() as github, FakeAnthropic(FIX) as api:
        github.add_repository("octo/app", git_dir=remote)
        env |= {
            "ORCHESTRATE_GITHUB_API_URL": github.api_url,
            "ORCHESTRATE_GITHUB_TOKEN": github.token,
            "ANTHROPIC_BASE_URL": api.base_url,
            "ANTHROPIC_API_KEY": api.api_key or "",
        }
        added = cli(env, "repo", "add", str(work_tree), "--name", "octo/app")
        assert added.returncode == 0, added.stderr
        story_id = cli(env, "story", "create", "--title", "Addition adds").stdout.strip()
        started = cli(
            env,
            "agent",
            "start",
            "story-developer",
            "--task",
            "Make the tests pass",
            "--story",
            story_id,
            "--wait",
            cwd=work_tree,
        )
        assert started.returncode == 0, started.stderr
        worker = Background(env, "worker")
        try:
            wait_for(lambda: bool(github.pull_requests("octo/app")))
            wait_for(lambda: json.loads(cli(env, "pr", "list", "--json").stdout) != [])
        finally:
            worker.stop()

        [listed] = json.loads(cli(env, "pr", "list", "--repo", "octo/app", "--json").stdout)
        shown = cli(env, "pr", "show", str(listed["number"]), "--repo", "octo/app")
        github.add_review("octo/app", listed["number"], user="alice", verdict="APPROVED")
        merged = cli(env, "pr", "merge", str(listed["number"]), "--repo", "octo/app")
        story = json.loads(cli(env, "story", "show", story_id, "--json").stdout)

    assert (listed["story_id"], listed["agent_id"]) == (story_id, started.stdout.strip())
    assert git(remote, "rev-parse", f"refs/heads/{listed['branch']}").strip() == listed["head_sha"]
    assert (story["status"], story["pr_url"]) == ("done", listed["url"])
    assert shown.returncode == 0, shown.stderr
    assert "Addition adds" in shown.stdout
    assert merged.returncode == 0, merged.stderr
    assert github.pull_request("octo/app", listed["number"]).merged
