"""Recording a session to JSON Lines and replaying it: format, order, divergence, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import ConfigurationError
from orchestrate.llm.errors import ContextWindowExceeded, ProviderError
from orchestrate.llm.models import CompletionRequest, CompletionResponse
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay import RecordingProvider, ReplayProvider
from orchestrate.testing import ScriptedProvider, finish, text_reply, tool_call
from tests.unit.llm.builders import continue_with_results, make_request

CLOCK = FrozenClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))


async def run_agent(provider: Provider, steps: int) -> list[CompletionResponse]:
    """Drive ``provider`` like the agent loop: reply, answer every tool call, repeat."""
    request: CompletionRequest = make_request()
    responses = []
    for _ in range(steps):
        response = await provider.complete(request)
        responses.append(response)
        request = continue_with_results(request, response)
    return responses


async def record(path: Path, *steps: CompletionResponse) -> list[CompletionResponse]:
    recorder = RecordingProvider(ScriptedProvider(steps), path, clock=CLOCK)
    responses = await run_agent(recorder, len(steps))
    await recorder.aclose()
    return responses


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestFormat:
    async def test_the_file_starts_with_a_session_header(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"

        await record(path, text_reply("hi"))

        assert lines(path)[0] == {
            "type": "session",
            "version": 1,
            "provider": "scripted",
            "model": "claude-sonnet-4-6",
            "created_at": "2026-03-01T09:30:00Z",
        }

    async def test_each_call_is_one_line_with_request_and_response(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"

        responses = await record(path, tool_call("read_file", {"path": "a"}), finish())

        calls = lines(path)[1:]
        assert [call["type"] for call in calls] == ["call", "call"]
        assert CompletionResponse.model_validate(calls[1]["response"]) == responses[1]
        assert CompletionRequest.model_validate(calls[0]["request"]).messages[0].text == (
            "Fix the failing test."
        )

    async def test_each_line_is_on_disk_before_the_next_call(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorder = RecordingProvider(
            ScriptedProvider([text_reply("one"), text_reply("two")]), path, clock=CLOCK
        )

        await recorder.complete(make_request())

        assert len(lines(path)) == 2  # header and the first call, without closing
        await recorder.aclose()

    async def test_recording_into_an_existing_session_appends(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("one"))

        await record(path, text_reply("two"))

        assert [line["type"] for line in lines(path)] == ["session", "call", "call"]

    async def test_a_failed_call_is_recorded_and_still_raised(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorder = RecordingProvider(
            ScriptedProvider([ContextWindowExceeded("prompt is too long")]), path, clock=CLOCK
        )

        with pytest.raises(ContextWindowExceeded):
            await recorder.complete(make_request())
        await recorder.aclose()

        assert lines(path)[1]["error"] == {
            "kind": "context_window_exceeded",
            "message": "prompt is too long",
        }


class TestReplay:
    async def test_replaying_gives_the_recorded_responses_in_order(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorded = await record(
            path, tool_call("read_file", {"path": "a"}), text_reply("Looked."), finish()
        )

        replayed = await run_agent(ReplayProvider(path), 3)

        assert replayed == recorded

    async def test_a_recorded_failure_fails_again_on_replay(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        recorder = RecordingProvider(
            ScriptedProvider([ContextWindowExceeded("prompt is too long"), text_reply("ok")]),
            path,
            clock=CLOCK,
        )
        with pytest.raises(ContextWindowExceeded):
            await recorder.complete(make_request())
        await recorder.complete(make_request())
        await recorder.aclose()
        replay = ReplayProvider(path)

        with pytest.raises(ContextWindowExceeded, match="prompt is too long"):
            await replay.complete(make_request())
        assert (await replay.complete(make_request())).message.text == "ok"

    async def test_asking_beyond_the_recording_says_how_far_it_goes(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("only"))
        replay = ReplayProvider(path)
        await replay.complete(make_request())

        with pytest.raises(ProviderError, match=r"only 1 recorded calls.*call 2"):
            await replay.complete(make_request())

    async def test_a_different_tool_call_history_is_a_divergence(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, tool_call("read_file", {"path": "a"}), finish())
        replay = ReplayProvider(path)
        first = await replay.complete(make_request())
        other = make_request().model_copy(
            update={"messages": [*make_request().messages, first.message]}
        )  # the agent did not answer the tool call this time

        with pytest.raises(ProviderError, match="diverged at call 2"):
            await replay.complete(other)

    async def test_different_wording_in_the_conversation_still_replays(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "session.jsonl"
        await record(path, text_reply("hi"))

        reply = await ReplayProvider(path).complete(make_request("Other words, same shape."))

        assert reply.message.text == "hi"


class TestBadFiles:
    def test_a_missing_file_is_a_configuration_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="does not exist"):
            ReplayProvider(tmp_path / "nope.jsonl")

    def test_a_malformed_line_is_reported_with_its_number(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        header = '{"type":"session","version":1,"provider":"x","model":"m","created_at":"t"}'
        path.write_text(header + "\n{not json\n")

        with pytest.raises(ConfigurationError, match="line 2"):
            ReplayProvider(path)

    def test_a_newer_format_version_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "session.jsonl"
        path.write_text(
            '{"type":"session","version":2,"provider":"x","model":"m","created_at":"t"}\n'
        )

        with pytest.raises(ConfigurationError, match="version 2"):
            ReplayProvider(path)
