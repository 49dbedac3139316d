"""End to end: agents started from the CLI, run by real processes, talking to a fake
Anthropic API through the real ``anthropic`` SDK."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrate.agents import service as agents
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.testing import FakeAnthropic, Step, finish, rate_limited, tool_call
from tests.e2e.processes import ORCHESTRATE, cli, read_database
from tests.integration.agents.conftest import CALC, TEST_CALC, checkout_state, git

pytestmark = pytest.mark.slow

MODEL = "claude-sonnet-4-6"


def python_in_sandbox() -> dict[str, str]:
    """Settings that let the sandboxed agent run this virtualenv's python and pytest."""
    return {
        "ORCHESTRATE_SANDBOX_READ_ONLY_PATHS": f"{sys.prefix},{sys.base_prefix}",
        "ORCHESTRATE_SANDBOX_PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return root


@pytest.fixture
def env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ORCHESTRATE_", "ANTHROPIC_", "OPENAI_"))
    }
    values["ORCHESTRATE_HOME"] = str(tmp_path / "home")
    values["ORCHESTRATE_LOG_LEVEL"] = "warning"
    values.update(python_in_sandbox())
    if engine_name == "postgresql":
        values["ORCHESTRATE_DATABASE_URL"] = empty_db_url
    return values


def stored_agent(env: dict[str, str], agent_id: str) -> AgentRun:
    """The agent as stored, read in this process (cheap enough to poll)."""
    return read_database(env, lambda uow: agents.get_agent(uow, agent_id))


def show(env: dict[str, str], agent_id: str) -> dict[str, Any]:
    result = cli(env, "agent", "show", agent_id, "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


FIX: list[Step] = [
    tool_call("read_file", {"path": "calc.py"}, model=MODEL),
    tool_call("bash", {"command": "python -m pytest -q test_calc.py"}, model=MODEL),
    rate_limited(1),
    tool_call(
        "edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}, model=MODEL
    ),
    tool_call("bash", {"command": "python -m pytest -q test_calc.py"}, model=MODEL),
    tool_call("git", {"action": "add", "paths": ["calc.py"]}, model=MODEL),
    tool_call("git", {"action": "commit", "message": "Make add() add"}, model=MODEL),
    finish("completed", "Fixed add(); test_calc passes.", model=MODEL),
]


def test_a_story_developer_fixes_a_failing_test_from_the_cli(
    env: dict[str, str], repo: Path
) -> None:
    before = checkout_state(repo)
    story = cli(env, "story", "create", "--title", "Addition adds", "--criterion", "2+3 is 5")
    assert story.returncode == 0, story.stderr
    story_id = story.stdout.strip()

    with FakeAnthropic(FIX) as api:
        env = env | {"ANTHROPIC_BASE_URL": api.base_url, "ANTHROPIC_API_KEY": api.api_key or ""}
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
            cwd=repo,
        )
        bodies = api.bodies

    assert started.returncode == 0, started.stderr
    agent = show(env, started.stdout.strip())
    assert agent["state"] == "completed"
    assert agent["model"] == MODEL
    assert agent["turns"] == 7
    assert agent["input_tokens"] > 0
    assert float(agent["cost_usd"]) > 0
    assert git(repo, "log", "--format=%s", f"main..{agent['branch']}").strip() == "Make add() add"
    assert checkout_state(repo) == before
    story_json = json.loads(cli(env, "story", "show", story_id, "--json").stdout)
    assert (story_json["status"], story_json["branch"]) == ("review", agent["branch"])
    assert bodies[0]["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "Addition adds" in json.dumps(bodies[0]["messages"][0])
    logs = cli(env, "agent", "logs", agent["id"])
    assert "edit_file" in logs.stdout
    assert "1 passed" in logs.stdout


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [*ORCHESTRATE, "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def wait_for(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_a_run_killed_with_sigkill_resumes_on_another_worker_without_repeating_tools(
    env: dict[str, str], repo: Path, workers: list[Worker]
) -> None:
    slow_once = "if [ -f marker ]; then echo resumed; else touch marker; sleep 120; fi"
    script = [
        tool_call("bash", {"command": "echo ran >> counter.txt"}, model=MODEL),
        tool_call("bash", {"command": slow_once}, model=MODEL),
        finish("completed", "survived a crash", model=MODEL),
    ]
    with FakeAnthropic(script) as api:
        env = env | {
            "ANTHROPIC_BASE_URL": api.base_url,
            "ANTHROPIC_API_KEY": api.api_key or "",
            "ORCHESTRATE_JOB_LEASE_SECONDS": "2",
        }
        started = cli(env, "agent", "start", "story-developer", "--task", "t", "--repo", str(repo))
        assert started.returncode == 0, started.stderr
        agent_id = started.stdout.strip()
        first = Worker(env)
        workers.append(first)
        wait_for(lambda: stored_agent(env, agent_id).workspace_path is not None)
        workspace = Path(str(stored_agent(env, agent_id).workspace_path))
        wait_for(lambda: (workspace / "marker").exists())

        first.kill()
        workers.append(Worker(env))
        wait_for(lambda: stored_agent(env, agent_id).state is AgentState.COMPLETED, timeout=90)

    assert (workspace / "counter.txt").read_text() == "ran\n"
    logged = cli(env, "agent", "logs", agent_id, "--json").stdout
    messages = [json.loads(line) for line in logged.splitlines() if line.strip()]
    results = [
        block["content"]
        for message in messages
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    assert results[-1].startswith("resumed")


def sleeping(pattern: str) -> bool:
    """Whether a process whose command line contains ``pattern`` is alive."""
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, check=False)
    return found.returncode == 0


def test_a_tree_survives_sigkill_with_exactly_one_child_per_spawn_call(
    env: dict[str, str], repo: Path, workers: list[Worker]
) -> None:
    from tests.integration.agents.tree_support import add_tree_types

    add_tree_types(repo)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "types")
    nap = f"sleep {4000 + os.getpid() % 1000}"  # a command line no other test runs
    slow_once = f"if [ -f marker ]; then echo resumed; else touch marker; {nap}; fi"
    script = [
        tool_call("spawn_agent", {"type": "worker", "task": "sleep once"}, model=MODEL),
        tool_call("bash", {"command": slow_once}, model=MODEL),
        finish("completed", "the child survived a crash", model=MODEL),
        finish("completed", "the tree survived a crash", model=MODEL),
    ]
    with FakeAnthropic(script) as api:
        env = env | {
            "ANTHROPIC_BASE_URL": api.base_url,
            "ANTHROPIC_API_KEY": api.api_key or "",
            "ORCHESTRATE_JOB_LEASE_SECONDS": "2",
        }
        started = cli(env, "agent", "start", "delegator", "--task", "t", "--repo", str(repo))
        assert started.returncode == 0, started.stderr
        root_id = started.stdout.strip()
        first = Worker(env)
        workers.append(first)
        wait_for(lambda: len(stored_agent(env, root_id).children) == 1)
        child_id = stored_agent(env, root_id).children[0].id
        wait_for(lambda: sleeping(nap))
        assert stored_agent(env, root_id).state is AgentState.WAITING_FOR_CHILDREN

        first.kill()
        wait_for(lambda: not sleeping(nap), timeout=2)  # the child's command died with it
        workers.append(Worker(env))
        wait_for(lambda: stored_agent(env, root_id).state.is_terminal, timeout=90)

    root = show(env, root_id)
    assert root["state"] == "completed", root["failure_reason"]
    assert [c["id"] for c in root["children"]] == [child_id], "one child for one spawn call"
    child = show(env, child_id)
    assert child["state"] == "completed"
    assert child["parent_id"] == root_id
    assert root["tree"]["turns"] == root["turns"] + child["turns"]


EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_demo_session_replays_offline_and_fixes_the_sample_project(
    env: dict[str, str], tmp_path: Path
) -> None:
    sample = tmp_path / "calculator"
    shutil.copytree(EXAMPLES / "calculator", sample)
    git(sample, "init", "-q", "-b", "main")
    git(sample, "add", ".")
    git(sample, "-c", "user.name=D", "-c", "user.email=d@e", "commit", "-qm", "init")

    result = cli(
        env,
        "agent",
        "start",
        "story-developer",
        "--task",
        "Make the calculator's tests pass",
        "--repo",
        str(sample),
        "--provider",
        f"replay:{EXAMPLES / 'calculator.session.jsonl'}",
        "--wait",
    )

    assert result.returncode == 0, result.stderr
    agent = show(env, result.stdout.strip())
    assert agent["state"] == "completed"
    assert "return a + b" in git(sample, "show", f"{agent['branch']}:calc.py")
    # The agent's first test run cached calc.py's bytecode; its one-character fix within
    # the same second keeps the size and the (whole-second) mtime the cache checks.
    shutil.rmtree(Path(agent["workspace_path"]) / "__pycache__", ignore_errors=True)
    tests = subprocess.run(
        [sys.executable, "-m", "unittest", "test_calc.py"],
        cwd=agent["workspace_path"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stderr
