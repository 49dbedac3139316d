"""End to end: the delivery loop driven by the fake GitHub's webhooks into ``orchestrate
serve``, with scripted models behind the fake Anthropic API, real git and a bare remote.

An issue opened on GitHub becomes a story and a story developer starts on it
(``ORCHESTRATE_AUTOMATION_ISSUE_DEVELOP``); its pull request is opened; a maintainer's
review is fixed, answered and resolved; a failing check is fixed from its log; the
approved, green pull request is merged by the shepherd, and the story is done. The
shepherd's timer is set far off, so only webhooks move it.

And a worker killed while the forge merges (the merge is carried out, its answer never
heard) leaves no second merge: the next worker finds it merged.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.testing import FakeAnthropic, FakeGitHub, Step, finish, tool_call
from tests.e2e.processes import Background, Server, cli, free_port
from tests.e2e.test_agents import MODEL, python_in_sandbox
from tests.integration.agents.conftest import git
from tests.integration.delivery.conftest import make_project

pytestmark = pytest.mark.slow

REPO = "octo/app"
SECRET = "webhook-secret"


def step_edit(old: str, new: str, message: str, summary: str) -> list[Step]:
    return [
        tool_call(
            "edit_file", {"path": "calc.py", "old_string": old, "new_string": new}, model=MODEL
        ),
        tool_call("git", {"action": "add", "paths": ["calc.py"]}, model=MODEL),
        tool_call("git", {"action": "commit", "message": message}, model=MODEL),
        finish("completed", summary, model=MODEL),
    ]


DEVELOP = step_edit("a - b", "a + b", "Make add() add", "Fixed add().")
DOCUMENT = step_edit(
    "def add(a, b):\n",
    'def add(a, b):\n    """The sum of a and b."""\n',
    "Document add",
    "Added the docstring.",
)
TYPE = step_edit("def add(a, b):", "def add(a: int, b: int):", "Type add", "Typed add().")


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    made = make_project(tmp_path / "project", tmp_path / "remote.git")
    return made.work_tree, made.remote


@pytest.fixture
def env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ORCHESTRATE_", "ANTHROPIC_", "OPENAI_"))
    }
    values |= {
        "ORCHESTRATE_HOME": str(tmp_path / "home"),
        "ORCHESTRATE_LOG_LEVEL": "info",
        "ORCHESTRATE_GITHUB_WEBHOOK_SECRET": SECRET,
        "ORCHESTRATE_SHEPHERD_POLL_SECONDS": "600",
        "ORCHESTRATE_JOB_LEASE_SECONDS": "3",
        "ORCHESTRATE_FORGE_RETRY_BASE_SECONDS": "0.05",
    }
    values |= python_in_sandbox()
    if engine_name == "postgresql":
        values["ORCHESTRATE_DATABASE_URL"] = empty_db_url
    return values


@pytest.fixture
def github(project: tuple[Path, Path]) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(REPO, git_dir=project[1])
        fake.add_user("maya", association="MEMBER")
        yield fake


def wait_for(check: Callable[[], object], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def set_up(env: dict[str, str], github: FakeGitHub, api: FakeAnthropic, work_tree: Path) -> None:
    env |= {
        "ORCHESTRATE_GITHUB_API_URL": github.api_url,
        "ORCHESTRATE_GITHUB_TOKEN": github.token,
        "ANTHROPIC_BASE_URL": api.base_url,
        "ANTHROPIC_API_KEY": api.api_key or "",
    }
    added = cli(env, "repo", "add", str(work_tree), "--name", REPO)
    assert added.returncode == 0, added.stderr
    policy = cli(env, "repo", "policy", REPO, "--auto-merge", "--approvals", "1")
    assert policy.returncode == 0, policy.stderr


def remote_head(remote: Path, branch: str) -> str:
    return git(remote, "rev-parse", f"refs/heads/{branch}").strip()


def test_an_issue_becomes_a_merged_pull_request_moved_by_webhooks(
    env: dict[str, str], project: tuple[Path, Path], github: FakeGitHub
) -> None:
    work_tree, remote = project
    env["ORCHESTRATE_AUTOMATION_ISSUE_DEVELOP"] = "true"
    env["ORCHESTRATE_SHEPHERD_BUDGET_USD"] = "0.50"
    with FakeAnthropic([*DEVELOP, *DOCUMENT, *TYPE]) as api:
        set_up(env, github, api, work_tree)
        server = Server(env, free_port())
        try:
            github.add_webhook(f"{server.url}/webhooks/github", secret=SECRET)
            github.open_issue(REPO, "Addition subtracts", "add(2, 3) is -1", user="maya")
            stories: list[dict[str, object]] = []

            def story_made() -> bool:
                stories[:] = json.loads(cli(env, "story", "list", "--json").stdout)
                return bool(stories)

            wait_for(story_made, "the issue's story")
            [story] = stories
            wait_for(lambda: github.pull_requests(REPO), "the pull request")
            [pull] = github.pull_requests(REPO)
            opened_head = remote_head(remote, pull.head)

            github.add_review(REPO, pull.number, user="maya", verdict="CHANGES_REQUESTED",
                              comments=[("calc.py", 1, "Please document add().")])  # fmt: skip
            wait_for(lambda: all(t.resolved for t in github.threads(REPO, pull.number)),
                     "the review thread resolved")  # fmt: skip
            documented = remote_head(remote, pull.head)
            assert documented != opened_head

            github.set_check(REPO, documented, "types", conclusion="failure",
                             log="calc.py:1: error: missing a type annotation")  # fmt: skip
            wait_for(lambda: remote_head(remote, pull.head) != documented, "the check's fix")
            typed = remote_head(remote, pull.head)
            github.set_check(REPO, typed, "types", conclusion="success")
            github.add_review(REPO, pull.number, user="maya", verdict="APPROVED")
            wait_for(lambda: github.pull_request(REPO, pull.number).merged, "the merge")

            shown: dict[str, object] = {}

            def story_done() -> bool:
                shown.update(
                    json.loads(cli(env, "story", "show", str(story["id"]), "--json").stdout)
                )
                return shown["status"] == "done"

            wait_for(story_done, "the story done", timeout=30)
            moves = json.loads(
                cli(env, "pr", "moves", str(pull.number), "--repo", REPO, "--json").stdout
            )
        finally:
            _, _, said = server.stop()
            print("\n".join(said.splitlines()[-150:]))  # shown when the test fails

    assert [(m["kind"], m["status"]) for m in moves] == [
        ("fix_review", "done"),
        ("fix_checks", "done"),
        ("merge", "done"),
    ]
    spent = sum(Decimal(str(m["cost_usd"])) for m in moves)
    assert Decimal(0) < spent <= Decimal("0.50")  # the fixers were paid for, within budget
    assert len(github.calls("PUT", "/merge")) == 1
    [thread] = github.threads(REPO, pull.number)
    assert [c.user.login for c in thread.comments] == ["maya", "orchestrate-bot"]
    assert "The sum of a and b" in git(remote, "show", f"{typed}:calc.py")
    assert "a: int" in git(remote, "show", f"{typed}:calc.py")


def test_a_worker_killed_while_the_forge_merges_does_not_merge_twice(
    env: dict[str, str], project: tuple[Path, Path], github: FakeGitHub
) -> None:
    work_tree, _remote = project
    with FakeAnthropic(DEVELOP) as api:
        set_up(env, github, api, work_tree)
        started = cli(env, "agent", "start", "story-developer", "--task", "Fix add()",
                      "--wait", cwd=work_tree)  # fmt: skip
        assert started.returncode == 0, started.stderr
        worker = Background(env, "worker")
        try:
            wait_for(lambda: github.pull_requests(REPO), "the pull request")
            [pull] = github.pull_requests(REPO)
            held = github.hold_next("PUT", "/merge")
            github.add_review(REPO, pull.number, user="maya", verdict="APPROVED")
            asked = cli(env, "pr", "shepherd", str(pull.number), "--repo", REPO)
            assert asked.returncode == 0, asked.stderr
            assert held.reached.wait(60), "the shepherd never merged"
            worker.process.send_signal(signal.SIGKILL)
            worker.process.wait(10)
        finally:
            worker.stop()
            held.release.set()
        assert github.pull_request(REPO, pull.number).merged

        again = Background(env, "worker")
        try:

            def recorded_merged() -> bool:
                listed = json.loads(cli(env, "pr", "list", "--json").stdout)
                return bool(listed) and listed[0]["state"] == "merged"

            wait_for(recorded_merged, "the merge recorded")
        finally:
            again.stop()
        moves = json.loads(
            cli(env, "pr", "moves", str(pull.number), "--repo", REPO, "--json").stdout
        )

    assert len(github.calls("PUT", "/merge")) == 1
    assert [(m["kind"], m["status"]) for m in moves] == [("merge", "interrupted")]
    listed = json.loads(cli(env, "pr", "list", "--json").stdout)
    assert listed[0]["shepherd"]["state"] == "done"
