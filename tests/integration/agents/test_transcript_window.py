"""Reading a transcript from its end (the dashboard's view of a long run), and the tool
calls still waiting for their result."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents import service
from orchestrate.agents.models import ToolCallStatus
from orchestrate.auth.service import Actor
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.agents.conftest import AgentRunner

LISTS_THREE_TIMES = [
    tool_call("list_files", {"pattern": "*.py"}),
    tool_call("list_files", {"pattern": "*.md"}),
    tool_call("list_files", {"pattern": "*.txt"}),
    finish("completed", "listed"),
]


async def completed_run(runtime: Runtime, repo: Path) -> str:
    agent = AgentRunner(runtime, ScriptedProvider(LISTS_THREE_TIMES))
    await agent.start(agent_type="explorer", repo=repo)
    run = await agent.drive()
    assert run.state.value == "completed", run.failure_reason
    return agent.agent_id


async def test_the_newest_window_ends_with_the_last_message_and_says_older_ones_exist(
    runtime: Runtime, repo: Path
) -> None:
    agent_id = await completed_run(runtime, repo)
    everything = await service.transcript(runtime.uow(read_only=True), agent_id)

    window = await service.transcript_window(runtime.uow(read_only=True), agent_id, limit=3)

    assert [seq for seq, _, _ in window.messages] == [seq for seq, _, _ in everything[-3:]]
    assert window.has_earlier
    assert window.first_seq == everything[-3][0]


async def test_paging_back_from_a_window_reaches_the_first_message_once(
    runtime: Runtime, repo: Path
) -> None:
    agent_id = await completed_run(runtime, repo)
    everything = await service.transcript(runtime.uow(read_only=True), agent_id)

    seen: list[int] = []
    before: int | None = None
    while True:
        window = await service.transcript_window(
            runtime.uow(read_only=True), agent_id, before_seq=before, limit=3
        )
        seen = [seq for seq, _, _ in window.messages] + seen
        if not window.has_earlier:
            break
        before = window.first_seq

    assert seen == [seq for seq, _, _ in everything]


async def test_a_window_of_an_unknown_agent_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        await service.transcript_window(runtime.uow(read_only=True), "agent_nope")


async def test_a_window_larger_than_a_page_is_refused(runtime: Runtime, repo: Path) -> None:
    agent_id = await completed_run(runtime, repo)
    with pytest.raises(ValidationFailed):
        await service.transcript_window(runtime.uow(read_only=True), agent_id, limit=100_000)


async def test_a_call_waiting_for_approval_is_unfinished_until_it_ran(
    runtime: Runtime, repo: Path
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
    agent = AgentRunner(
        runtime,
        ScriptedProvider([tool_call("bash", {"command": "echo hi"}), finish("completed", "ok")]),
    )
    await agent.start(repo=repo)
    await agent.drive()
    other = await completed_run(runtime, repo)

    waiting = await service.unfinished_tool_calls(
        runtime.uow(read_only=True), [agent.agent_id, other]
    )

    (call,) = waiting[agent.agent_id]
    assert (call.name, call.arguments, call.status) == (
        "bash",
        {"command": "echo hi"},
        ToolCallStatus.AWAITING_APPROVAL,
    )
    assert other not in waiting

    await service.approve(runtime.uow(), agent.agent_id, Actor.local_cli())
    await agent.drive()
    assert await service.unfinished_tool_calls(runtime.uow(read_only=True), [agent.agent_id]) == {}
