"""Fixtures for agent tests: a real git repository with a failing test, and agent runs."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent
from orchestrate.agents.models import AgentRun
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.llm.models import CompletionRequest, CompletionResponse
from orchestrate.llm.provider import Provider
from orchestrate.testing.scripted import ScriptedProvider, Step

CALC = "def add(a, b):\n    return a - b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose one test fails: ``add`` subtracts."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return root


def checkout_state(repo: Path) -> tuple[str, str, str]:
    """What the user would notice: HEAD, branch, and status of their own checkout."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "branch", "--show-current"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
    )


class SlowProvider:
    """A fake model that takes a while per call and counts calls in flight at once."""

    name = "slow"
    in_flight = 0
    peak = 0

    def __init__(self, inner: Provider, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds
        self.called = asyncio.Event()
        """Set once a call is under way."""

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.called.set()
        SlowProvider.in_flight += 1
        SlowProvider.peak = max(SlowProvider.peak, SlowProvider.in_flight)
        try:
            await asyncio.sleep(self.seconds)
            return await self.inner.complete(request)
        finally:
            SlowProvider.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


class AgentRunner:
    """Starts an agent through the service and drives it with a scripted provider."""

    def __init__(self, runtime: Runtime, provider: Provider) -> None:
        self.runtime = runtime
        self.provider = provider
        self.agent_id = ""

    async def start(
        self,
        *,
        agent_type: str = "story-developer",
        task: str = "Make the tests pass",
        repo: Path | None = None,
        story: str | None = None,
        max_turns: int | None = None,
        max_cost_usd: Decimal | None = None,
    ) -> AgentRun:
        run = await service.start_agent(
            self.runtime.uow(),
            self.runtime.settings,
            service.StartAgent(
                type=agent_type,
                task=task,
                repo=repo,
                story=story,
                provider="openai",
                model="scripted-model",
                max_turns=max_turns,
                max_cost_usd=max_cost_usd,
                enqueue=False,
            ),
            Actor.local_cli(),
        )
        self.agent_id = run.id
        return run

    async def drive(self) -> AgentRun:
        """Run the agent until it finishes, waits or fails (what one job does)."""
        return await execute_agent(self.runtime, self.agent_id, lambda _run: self.provider)


@pytest.fixture(autouse=True)
def _provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # start_agent checks credentials of the named provider; tests use a scripted one.
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def scripted() -> Callable[[Iterable[Step]], ScriptedProvider]:
    return ScriptedProvider
