"""Stuck detection in real runs: one warning, then failure; settings per type and per start.

Scripted models on a real repository and the real tools (bash in the sandbox), on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.agents.stuck import WARNING_HEADING
from orchestrate.auth.service import Actor
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.llm.models import CompletionRequest, CompletionResponse, Message, Role, TextBlock
from orchestrate.testing.scripted import (
    ScriptedProvider,
    Step,
    finish,
    tool_call,
    tool_calls,
    tool_use,
)


def read() -> CompletionResponse:
    """A fresh read_file call (each reply needs its own tool-use id)."""
    return tool_call("read_file", {"path": "calc.py"})


# Prints a new time to the nanosecond on every run: the same result once masked.
CAT_WITH_TIME = {"command": "date -u +%Y-%m-%dT%H:%M:%S.%NZ && cat calc.py"}
FIX = tool_call("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"})


def looping(cycles: int) -> list[Step]:
    """read_file and a timestamped bash alternating: A/B/A/B…, ``cycles`` times."""
    steps: list[Step] = []
    for _ in range(cycles):
        steps += [read(), tool_call("bash", CAT_WITH_TIME)]
    return steps


async def start(
    runtime: Runtime,
    repo: Path,
    *,
    agent_type: str = "story-developer",
    stuck_repeats: int | None = None,
) -> AgentRun:
    request = service.StartAgent(
        type=agent_type,
        task="Make the tests pass",
        repo=repo,
        provider="openai",
        model="scripted-model",
        stuck_repeats=stuck_repeats,
        enqueue=False,
    )
    return await service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())


async def drive(runtime: Runtime, run: AgentRun, provider: ScriptedProvider) -> AgentRun:
    return await execute_agent(runtime, run.id, lambda _run: provider)


async def warnings_in(runtime: Runtime, agent_id: str) -> list[Message]:
    page = await service.transcript(runtime.uow(read_only=True), agent_id)
    return [
        message
        for _, _, message in page
        if message.role is Role.USER
        and any(
            isinstance(block, TextBlock) and block.text.startswith(WARNING_HEADING)
            for block in message.content
        )
    ]


def last_text(request: CompletionRequest) -> str:
    block = request.messages[-1].content[-1]
    return block.text if isinstance(block, TextBlock) else ""


class TestALoopingAgent:
    async def test_an_alternating_loop_is_warned_once_then_failed(
        self, runtime: Runtime, repo: Path
    ) -> None:
        provider = ScriptedProvider(looping(10))
        run = await drive(runtime, await start(runtime, repo), provider)

        assert run.state is AgentState.FAILED
        assert run.failure_reason is not None
        assert run.failure_reason.startswith(
            'stuck: repeated the cycle bash {"command": "date -u'
        ), run.failure_reason
        assert 'read_file {"path": "calc.py"}' in run.failure_reason
        assert run.failure_reason.endswith("and kept repeating after a warning")
        # 8 replies (4 cycles) earn the warning; the 9th, one more repeat, fails the run.
        assert run.turns == 9
        assert len(provider.requests) == 9
        assert last_text(provider.requests[8]).startswith(WARNING_HEADING)
        (warning,) = await warnings_in(runtime, run.id)
        text = warning.content[0]
        assert isinstance(text, TextBlock)
        assert "finish" in text.text
        assert "blocked" in text.text

    async def test_an_agent_that_changes_course_after_the_warning_completes(
        self, runtime: Runtime, repo: Path
    ) -> None:
        def fix_after_warning(request: CompletionRequest) -> CompletionResponse:
            assert last_text(request).startswith(WARNING_HEADING)
            return FIX

        provider = ScriptedProvider(
            [*looping(4), fix_after_warning, read(), finish("completed", "fixed add")]
        )
        run = await drive(runtime, await start(runtime, repo), provider)

        assert run.state is AgentState.COMPLETED, run.failure_reason
        assert len(await warnings_in(runtime, run.id)) == 1
        assert provider.remaining == 0

    async def test_identical_parallel_calls_in_the_first_reply_are_not_a_loop(
        self, runtime: Runtime, repo: Path
    ) -> None:
        four_reads = tool_calls(*(tool_use("read_file", {"path": "calc.py"}) for _ in range(4)))
        provider = ScriptedProvider([four_reads, finish("completed", "read it")])
        run = await drive(runtime, await start(runtime, repo), provider)

        assert run.state is AgentState.COMPLETED, run.failure_reason
        assert await warnings_in(runtime, run.id) == []

    async def test_a_resumed_run_does_not_warn_twice(self, runtime: Runtime, repo: Path) -> None:
        # Every bash call waits for approval, so each step runs in a new loop that
        # reads the transcript afresh: the warning must be found there.
        runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
        same = {"command": "cat calc.py"}
        provider = ScriptedProvider([tool_call("bash", same) for _ in range(6)])
        run = await start(runtime, repo, stuck_repeats=3)
        for _ in range(4):
            waiting = await drive(runtime, run, provider)
            assert waiting.state is AgentState.WAITING_FOR_APPROVAL, waiting.failure_reason
            await service.approve(runtime.uow(), run.id, Actor.local_cli())

        failed = await drive(runtime, run, provider)

        assert failed.state is AgentState.FAILED
        assert failed.failure_reason == (
            'stuck: called bash {"command": "cat calc.py"} 4 times in a row with the same '
            "result, and kept repeating after a warning"
        )
        assert len(await warnings_in(runtime, run.id)) == 1
        assert provider.remaining == 2


class TestRepeatsSetting:
    async def test_a_start_sets_how_many_repeats_are_a_loop(
        self, runtime: Runtime, repo: Path
    ) -> None:
        provider = ScriptedProvider([read() for _ in range(10)])
        run = await start(runtime, repo, stuck_repeats=6)
        assert run.limits.stuck_repeats == 6

        failed = await drive(runtime, run, provider)

        assert failed.state is AgentState.FAILED
        assert failed.turns == 7  # warned after the 6th read, failed at the 7th
        assert failed.failure_reason is not None
        assert "7 times in a row" in failed.failure_reason

    async def test_the_agent_type_sets_it_and_a_start_overrides_it(
        self, runtime: Runtime, repo: Path
    ) -> None:
        folder = repo / ".orchestrate" / "agents"
        folder.mkdir(parents=True)
        (folder / "impatient.md").write_text(
            "---\nname: impatient\ndescription: Gives up early.\ntools: [read_file]\n"
            "stuck_repeats: 2\n---\nYou read files.\n"
        )
        provider = ScriptedProvider([read() for _ in range(10)])
        run = await start(runtime, repo, agent_type="impatient")
        assert run.limits.stuck_repeats == 2

        failed = await drive(runtime, run, provider)

        assert failed.state is AgentState.FAILED
        assert failed.turns == 3
        overridden = await start(runtime, repo, agent_type="impatient", stuck_repeats=5)
        assert overridden.limits.stuck_repeats == 5

    @pytest.mark.parametrize("repeats", [1, 0, -3])
    async def test_fewer_than_two_repeats_is_refused(
        self, runtime: Runtime, repo: Path, repeats: int
    ) -> None:
        with pytest.raises(ValidationFailed, match="stuck_repeats must be at least 2"):
            await start(runtime, repo, stuck_repeats=repeats)
        page = await service.list_agents(runtime.uow(read_only=True))
        assert page.items == []


class TestUnknownReplyModel:
    async def test_a_reply_naming_an_unknown_model_is_priced_as_the_runs_model(
        self, runtime: Runtime, repo: Path
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"pricing": {"scripted-model": {"input": Decimal(3), "output": Decimal(15)}}}
        )
        provider = ScriptedProvider(
            [
                tool_call("read_file", {"path": "calc.py"}, model="unlisted-alias"),
                finish("completed", "read it", model="unlisted-alias"),
            ]
        )
        run = await drive(runtime, await start(runtime, repo), provider)

        assert run.state is AgentState.COMPLETED, run.failure_reason
        assert run.cost_usd == Decimal("0.0012")  # 2 x (100 x $3/M + 20 x $15/M)
