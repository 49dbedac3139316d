"""A long run's requests always fit the window, at a flat cost per turn (SQLite and PostgreSQL).

The agent writes a 40 KB file every turn for 200 turns, more than ten times what a
128k-token window holds. The scripted model reports as input the size of what it was
sent, measured its own way (the request's JSON / 4), so the run's cost is what a
provider would bill.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent
from orchestrate.agents.models import AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.llm.anthropic import AnthropicProvider
from orchestrate.llm.models import (
    CompletionRequest,
    CompletionResponse,
    Role,
    TextBlock,
    ToolUseBlock,
    Usage,
)
from orchestrate.llm.openai_compat import OpenAIProvider
from orchestrate.llm.pricing import cost_of
from orchestrate.llm.provider import Provider
from orchestrate.testing import (
    ErrorReply,
    FakeAnthropic,
    FakeOpenAI,
    Step,
    context_length_exceeded,
)
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.integration.agents.conftest import AgentRunner
from tests.unit.agents.transcripts import assert_valid_request

TURNS = 200
FILE_BYTES = 40_000
TASK = "Write the generated files."
PRICE = {"input": Decimal(3), "output": Decimal(15)}


def sent_tokens(request: CompletionRequest) -> int:
    """What the scripted model bills: the request as JSON, four characters a token."""
    return len(request.model_dump_json()) // 4


def billed(
    step: Callable[[], CompletionResponse],
) -> Callable[[CompletionRequest], CompletionResponse]:
    def answer(request: CompletionRequest) -> CompletionResponse:
        reply = step()
        usage = Usage(input_tokens=sent_tokens(request), output_tokens=FILE_BYTES // 4)
        return reply.model_copy(update={"usage": usage})

    return answer


def content(n: int, size: int = FILE_BYTES) -> str:
    line = f"# generated file {n:03d}: " + "x" * 70 + "\n"
    return (line * (size // len(line) + 1))[:size]


def write(n: int, size: int = FILE_BYTES) -> Callable[[], CompletionResponse]:
    arguments = {"path": f"gen/f{n:03d}.txt", "content": content(n, size)}
    return lambda: tool_call("write_file", arguments)


@pytest.mark.parametrize("window", [128_000, 40_000])
async def test_200_turns_of_40kb_writes_stay_under_the_window_at_a_flat_cost(
    runtime: Runtime, repo: Path, window: int
) -> None:
    pricing = {"scripted-model": {**PRICE, "context_window": Decimal(window)}}
    runtime.settings = runtime.settings.model_copy(update={"pricing": pricing})
    steps = [billed(write(n)) for n in range(TURNS)]
    provider = ScriptedProvider([*steps, billed(lambda: finish("completed", "all written"))])
    agent = AgentRunner(runtime, provider)
    await agent.start(repo=repo, task=TASK, max_turns=TURNS + 5, max_cost_usd=Decimal(10_000))
    run = await agent.drive()

    assert run.state is AgentState.COMPLETED, run.failure_reason
    assert len(provider.requests) == TURNS + 1
    sizes = [sent_tokens(request) for request in provider.requests]
    for request in provider.requests:
        assert_valid_request(request, TASK)
        assert sent_tokens(request) + request.max_tokens <= window
    # Flat: once the window is reached, no request is larger than the window allows,
    # and a turn of the second half costs on average what one of the first half did.
    full_from = next(i for i, size in enumerate(sizes) if size > window // 2)
    assert full_from < TURNS // 2
    steady = sizes[full_from:]
    half = len(steady) // 2
    assert max(steady) <= window - provider.requests[-1].max_tokens
    assert sum(steady[half:]) / len(steady[half:]) <= 1.2 * sum(steady[:half]) / half
    per_turn = cost_of("scripted-model", Usage(input_tokens=window), runtime.settings.pricing)
    output = cost_of(
        "scripted-model", Usage(output_tokens=FILE_BYTES // 4), runtime.settings.pricing
    )
    assert run.cost_usd <= (per_turn + output) * (TURNS + 1)
    # Old writes are sent as their path and size; the newest ones whole.
    last = provider.requests[-1]
    uses = [b for m in last.messages for b in m.content if isinstance(b, ToolUseBlock)]
    assert uses[-1].input["content"] == content(TURNS - 1)
    assert uses[0].input["path"].startswith("gen/f")
    assert str(uses[0].input["content"]).startswith(f"[{FILE_BYTES} characters elided")
    if window == 40_000:
        note = last.messages[0].content[-1]
        assert isinstance(note, TextBlock)
        assert note.text.startswith("[Context note:")
        assert "Tool calls in them: write_file " in note.text
    # Only what was sent is shortened: the stored transcript has every file whole.
    stored = await service.transcript(runtime.uow(read_only=True), agent.agent_id, limit=1000)
    written = [
        block.input["content"]
        for _, _, message in stored
        if message.role is Role.ASSISTANT
        for block in message.content
        if isinstance(block, ToolUseBlock) and block.name == "write_file"
    ]
    assert written == [content(n) for n in range(TURNS)]
    assert (agent_workspace(run.workspace_path) / "gen" / "f199.txt").read_text() == content(199)


def agent_workspace(path: str | None) -> Path:
    assert path is not None
    return Path(path)


SMALL_WINDOW = 12_000
VENDOR_TURNS = 40
VENDOR_FILE_BYTES = 8_000


def within(window: int, reply: CompletionResponse) -> Step:
    """The vendor's answer, or its prompt-too-long error for a body over the window."""

    def answer(body: dict[str, Any]) -> CompletionResponse | ErrorReply:
        if len(json.dumps(body)) // 4 + int(body["max_tokens"]) > window:
            return context_length_exceeded()
        return reply

    return answer


def connect(server: FakeAnthropic | FakeOpenAI) -> Provider:
    if isinstance(server, FakeAnthropic):
        return AnthropicProvider(api_key=server.api_key, base_url=server.base_url)
    return OpenAIProvider(api_key=server.api_key, base_url=server.base_url)


@pytest.mark.parametrize("vendor", ["anthropic", "openai"])
async def test_the_vendor_apis_accept_every_fitted_request_without_a_retry(
    runtime: Runtime, repo: Path, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real SDKs send the fitted requests; the fakes check pairing and the window."""
    writes = [write(n, VENDOR_FILE_BYTES)() for n in range(VENDOR_TURNS)]
    replies = [*writes, finish("completed", "all written")]
    script = [within(SMALL_WINDOW, reply) for reply in replies]
    server = FakeAnthropic(script) if vendor == "anthropic" else FakeOpenAI(script)
    model = "claude-sonnet-4-5" if vendor == "anthropic" else "gpt-4o"
    pricing = {model: {"context_window": Decimal(SMALL_WINDOW)}}
    runtime.settings = runtime.settings.model_copy(update={"pricing": pricing})
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    with server:
        provider = connect(server)
        run = await service.start_agent(
            runtime.uow(),
            runtime.settings,
            service.StartAgent(
                type="story-developer",
                task=TASK,
                repo=repo,
                provider=vendor,
                model=model,
                max_turns=VENDOR_TURNS + 5,
                enqueue=False,
            ),
            Actor.local_cli(),
        )
        try:
            run = await execute_agent(runtime, run.id, lambda _run: provider)
        finally:
            await provider.aclose()

    assert run.state is AgentState.COMPLETED, run.failure_reason
    assert [request.status for request in server.requests] == [200] * (VENDOR_TURNS + 1)
    last = json.dumps(server.bodies[-1])
    assert "[Context note:" in last
    assert f"[{VENDOR_FILE_BYTES} characters elided" in last
