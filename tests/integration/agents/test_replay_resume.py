"""A recorded session replays to the same end when the agent paused, waited or asked.

Each scenario is recorded once (a scripted model behind the ``RecordingProvider``),
then run again on ``--provider replay:FILE`` through the worker's own provider
factory, which builds a fresh ``ReplayProvider`` for every job: the resumed job must
continue from the recorded call it stopped at, not from call 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from orchestrate.agents import service
from orchestrate.agents.execution import default_provider_factory, execute_agent
from orchestrate.agents.loop import ProviderFactory
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.agents.sessions import run_identity
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.llm.replay import RecordingProvider
from orchestrate.testing.scripted import ScriptedProvider, Step, finish, tool_call

Steer = Callable[[Runtime, str, asyncio.Task[AgentRun]], Awaitable[None]]

SLOW_ONCE = "if [ -f marker ]; then echo second run; else touch marker; sleep 60; fi"


async def start(runtime: Runtime, repo: Path, provider: str) -> str:
    request = service.StartAgent(
        type="story-developer",
        task="Fix add",
        repo=repo,
        provider=provider,
        model="scripted-model",
        enqueue=False,
    )
    return (
        await service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())
    ).id


async def play(
    runtime: Runtime, repo: Path, provider: str, factory: ProviderFactory, steer: Steer
) -> tuple[AgentRun, list[Any]]:
    """Start an agent, let ``steer`` interrupt and resume it once, drive it to the end."""
    agent_id = await start(runtime, repo, provider)
    first = asyncio.create_task(execute_agent(runtime, agent_id, factory))
    await steer(runtime, agent_id, first)
    run = await asyncio.wait_for(execute_agent(runtime, agent_id, factory), 30)
    page = await service.transcript(runtime.uow(read_only=True), agent_id)
    return run, [message.model_dump(mode="json") for _, _, message in page]


async def record_then_replay(
    runtime: Runtime, repo: Path, tmp_path: Path, script: Sequence[Step], steer: Steer
) -> tuple[tuple[AgentRun, list[Any]], tuple[AgentRun, list[Any]]]:
    session = tmp_path / "session.jsonl"
    model = ScriptedProvider(script)
    recorded = await play(
        runtime,
        repo,
        "openai",
        lambda run: RecordingProvider(model, session, identity=run_identity(run)),
        steer,
    )
    replayed = await play(
        runtime, repo, f"replay:{session}", default_provider_factory(runtime), steer
    )
    return recorded, replayed


async def approve(runtime: Runtime, agent_id: str, first: asyncio.Task[AgentRun]) -> None:
    assert (await first).state is AgentState.WAITING_FOR_APPROVAL
    await service.approve(runtime.uow(), agent_id, Actor.local_cli())


async def answer(runtime: Runtime, agent_id: str, first: asyncio.Task[AgentRun]) -> None:
    assert (await first).state is AgentState.WAITING_FOR_INPUT
    await service.resume(runtime.uow(), agent_id, Actor.local_cli(), message="No.")


async def pause_and_resume(runtime: Runtime, agent_id: str, first: asyncio.Task[AgentRun]) -> None:
    for _ in range(400):  # until the slow tool has started
        page = await service.transcript(runtime.uow(read_only=True), agent_id)
        if any(message.tool_uses for _, _, message in page):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # let the tool's process start
    await service.pause(runtime.uow(), agent_id, Actor.local_cli())
    assert (await asyncio.wait_for(first, 10)).state is AgentState.PAUSED
    await service.resume(runtime.uow(), agent_id, Actor.local_cli())


def assert_same_end(
    recorded: tuple[AgentRun, list[Any]], replayed: tuple[AgentRun, list[Any]]
) -> None:
    (recorded_run, recorded_transcript), (replayed_run, replayed_transcript) = recorded, replayed
    assert replayed_run.state is AgentState.COMPLETED, replayed_run.failure_reason
    assert recorded_run.state is AgentState.COMPLETED, recorded_run.failure_reason
    assert replayed_run.summary == recorded_run.summary
    assert replayed_run.turns == recorded_run.turns
    assert replayed_transcript == recorded_transcript


class TestAReplayedSessionResumes:
    async def test_after_an_approval(self, runtime: Runtime, repo: Path, tmp_path: Path) -> None:
        runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
        script = [
            tool_call("read_file", {"path": "calc.py"}),
            tool_call("bash", {"command": "echo approved > out.txt"}),
            finish("completed", "ran it once approved"),
        ]

        recorded, replayed = await record_then_replay(runtime, repo, tmp_path, script, approve)

        assert_same_end(recorded, replayed)

    async def test_after_an_answer(self, runtime: Runtime, repo: Path, tmp_path: Path) -> None:
        script = [
            tool_call("read_file", {"path": "calc.py"}),
            finish("needs_input", "Should add() accept strings?"),
            finish("completed", "used the answer"),
        ]

        recorded, replayed = await record_then_replay(runtime, repo, tmp_path, script, answer)

        assert_same_end(recorded, replayed)
        assert "No." in str(replayed[1])

    async def test_after_a_pause(self, runtime: Runtime, repo: Path, tmp_path: Path) -> None:
        script = [
            tool_call("read_file", {"path": "calc.py"}),
            tool_call("bash", {"command": SLOW_ONCE}),
            finish("completed", "resumed"),
        ]

        recorded, replayed = await record_then_replay(
            runtime, repo, tmp_path, script, pause_and_resume
        )

        assert_same_end(recorded, replayed)
        assert "second run" in str(replayed[1])
