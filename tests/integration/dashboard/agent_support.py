"""Agents for the dashboard's tests: real runs driven by scripted models, in the states a
page shows (finished, waiting for approval, waiting for an answer)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import httpx

from orchestrate.agents import service as agents
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.core.runtime import Runtime
from orchestrate.testing.scripted import ScriptedProvider, Step, finish, text_reply, tool_call
from tests.integration.agents.conftest import CALC, TEST_CALC, AgentRunner, git
from tests.integration.dashboard.conftest import Browser

READ_AND_FINISH: list[Step] = [
    text_reply("Let me look at calc.py first."),
    tool_call("read_file", {"path": "calc.py"}),
    tool_call("grep", {"pattern": "def add"}),
    finish("completed", "add() subtracts; it should add."),
]
WANTS_BASH: list[Step] = [
    tool_call("bash", {"command": "echo approved > out.txt"}),
    finish("completed", "wrote out.txt"),
]
ASKS: list[Step] = [finish("needs_input", "Which database should the tests use?")]


def make_repo(root: Path) -> Path:
    """A repository with calc.py (whose add subtracts) and its test, one commit on main."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return root


async def driven(
    runtime: Runtime,
    script: Sequence[Step],
    *,
    repo: Path | None = None,
    agent_type: str = "explorer",
    task: str = "Why does test_add fail?",
    story: str | None = None,
    max_turns: int | None = None,
) -> AgentRun:
    """An agent started through the service and run until it ends or waits."""
    agent = AgentRunner(runtime, ScriptedProvider(script))
    await agent.start(agent_type=agent_type, task=task, repo=repo, story=story, max_turns=max_turns)
    return await agent.drive()


async def waiting_for_approval(runtime: Runtime, repo: Path) -> AgentRun:
    """A story developer whose ``bash`` call waits for a person (``approval_tools``)."""
    runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
    run = await driven(runtime, WANTS_BASH, repo=repo, agent_type="story-developer")
    assert run.state is AgentState.WAITING_FOR_APPROVAL
    return run


async def waiting_for_input(runtime: Runtime, repo: Path | None = None) -> AgentRun:
    run = await driven(runtime, ASKS, repo=repo)
    assert run.state is AgentState.WAITING_FOR_INPUT, run.failure_reason
    return run


async def state_of(runtime: Runtime, agent_id: str) -> AgentState:
    return (await agents.get_agent(runtime.uow(read_only=True), agent_id)).state


async def landed(browser: Browser, posted: httpx.Response) -> httpx.Response:
    """The page a form post redirected to, as the browser shows it (with its message)."""
    assert posted.status_code == 303, posted.text
    return await browser.get(posted.headers["location"])


def forms_posting_to(html: str, action: str) -> int:
    return len(re.findall(rf'(?:action|formaction)="{re.escape(action)}"', html))
