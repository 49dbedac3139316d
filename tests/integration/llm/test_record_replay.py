"""Record a live session through the real SDK, then replay it with no server at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.llm.anthropic import AnthropicProvider
from orchestrate.llm.errors import ProviderError
from orchestrate.llm.models import CompletionRequest, CompletionResponse
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay import RecordingProvider, ReplayProvider
from orchestrate.testing import FakeAnthropic, finish, text_reply, tool_call
from tests.unit.llm.builders import continue_with_results, make_request

SCRIPT = [
    tool_call("read_file", {"path": "tests/test_app.py"}, text="Reading the test first."),
    tool_call("read_file", {"path": "app.py"}),
    text_reply("The off-by-one is in app.py line 3."),
    finish("completed", "Fixed the off-by-one."),
]


async def drive(provider: Provider) -> tuple[list[CompletionRequest], list[CompletionResponse]]:
    request = make_request()
    requests, responses = [], []
    for _ in SCRIPT:
        response = await provider.complete(request)
        requests.append(request)
        responses.append(response)
        request = continue_with_results(request, response)
    return requests, responses


async def record_session(path: Path) -> list[CompletionResponse]:
    with FakeAnthropic(SCRIPT) as api:
        live = AnthropicProvider(api_key=api.api_key, base_url=api.base_url)
        recorder = RecordingProvider(live, path)
        try:
            _, responses = await drive(recorder)
        finally:
            await recorder.aclose()
    return responses


async def test_a_replayed_session_gives_the_recorded_responses(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    recorded = await record_session(path)

    _, replayed = await drive(ReplayProvider(path))

    assert replayed == recorded
    assert recorded[-1].message.tool_uses[0].name == "finish"


async def test_the_recording_names_the_provider_and_model(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    await record_session(path)

    header = ReplayProvider(path).header

    assert header is not None
    assert (header.provider, header.model) == ("anthropic", "claude-sonnet-4-6")


async def test_an_agent_that_takes_another_path_gets_a_divergence_error(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    await record_session(path)
    replay = ReplayProvider(path)
    first = await replay.complete(make_request())
    skipped_the_tool = first.message.tool_uses[0].model_copy(update={"name": "grep"})
    changed = continue_with_results(
        make_request(),
        first.model_copy(
            update={"message": first.message.model_copy(update={"content": [skipped_the_tool]})}
        ),
    )

    with pytest.raises(ProviderError, match="diverged at call 2") as raised:
        await replay.complete(changed)

    assert "read_file" in str(raised.value)
    assert "grep" in str(raised.value)
