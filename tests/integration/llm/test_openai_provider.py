"""The OpenAI-compatible provider through the real ``openai`` SDK against a fake API."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrate.llm.errors import ContextWindowExceeded, MissingCredentials, ProviderError
from orchestrate.llm.models import StopReason, Usage
from orchestrate.llm.openai_compat import KEYLESS_PLACEHOLDER, OpenAIProvider
from orchestrate.testing import (
    FakeOpenAI,
    context_length_exceeded,
    finish,
    rate_limited,
    server_error,
    text_reply,
    tool_call,
    tool_calls,
    tool_use,
)
from tests.unit.llm.builders import continue_with_results, make_request

Connect = Callable[..., OpenAIProvider]


async def test_a_text_reply_comes_back_as_an_assistant_message(openai_for: Connect) -> None:
    with FakeOpenAI([text_reply("Hello from a local model.")]) as api:
        reply = await openai_for(api).complete(make_request(model="llama3.1:8b"))

    assert reply.message.text == "Hello from a local model."
    assert reply.stop_reason is StopReason.END_TURN
    assert reply.model == "llama3.1:8b"


async def test_the_system_prompt_is_the_first_message_and_tools_are_functions(
    openai_for: Connect,
) -> None:
    with FakeOpenAI([text_reply("ok")]) as api:
        await openai_for(api).complete(make_request())

    body = api.requests[0].body
    assert body["messages"][0] == {
        "role": "system",
        "content": "You are a careful software engineer.",
    }
    assert body["messages"][1] == {"role": "user", "content": "Fix the failing test."}
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file of the workspace.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }


async def test_tool_calls_and_results_make_a_round_trip(openai_for: Connect) -> None:
    script = [
        tool_calls(tool_use("read_file", {"path": "a"}), tool_use("read_file", {"path": "b"})),
        finish(),
    ]
    with FakeOpenAI(script) as api:
        provider = openai_for(api)
        request = make_request()
        first = await provider.complete(request)
        second = await provider.complete(continue_with_results(request, first, "contents"))

    assert first.stop_reason is StopReason.TOOL_USE
    assert [use.input for use in first.message.tool_uses] == [{"path": "a"}, {"path": "b"}]
    assert second.message.tool_uses[0].name == "finish"
    sent = api.requests[1].body["messages"]
    assistant, *results = sent[2:]
    assert [call["id"] for call in assistant["tool_calls"]] == [
        use.id for use in first.message.tool_uses
    ]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"path": "a"}
    assert results == [
        {"role": "tool", "tool_call_id": use.id, "content": "contents"}
        for use in first.message.tool_uses
    ]
    assert [recorded.status for recorded in api.requests] == [200, 200]


async def test_usage_separates_cached_prompt_tokens(openai_for: Connect) -> None:
    usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=900)
    with FakeOpenAI([text_reply("ok", usage=usage)]) as api:
        reply = await openai_for(api).complete(make_request())

    assert reply.usage == usage


async def test_a_self_hosted_server_gets_max_tokens(openai_for: Connect) -> None:
    with FakeOpenAI([text_reply("ok")]) as api:
        await openai_for(api).complete(make_request())

    assert api.requests[0].body["max_tokens"] == 8192
    assert "max_completion_tokens" not in api.requests[0].body


async def test_a_rate_limit_is_retried_after_the_time_the_server_asked_for(
    openai_for: Connect,
) -> None:
    with FakeOpenAI([rate_limited(retry_after=1), text_reply("ok")]) as api:
        reply = await openai_for(api).complete(make_request())

    first, second = api.requests
    assert (first.status, second.status) == (429, 200)
    assert second.received_at - first.received_at >= 0.95
    assert reply.message.text == "ok"


async def test_a_server_that_keeps_failing_is_a_provider_error_after_the_retries(
    openai_for: Connect,
) -> None:
    with (
        FakeOpenAI(when_exhausted=server_error(503, retry_after=0.01)) as api,
        pytest.raises(ProviderError, match="answered 503") as raised,
    ):
        await openai_for(api, max_retries=1).complete(make_request())

    assert len(api.requests) == 2
    assert raised.value.context["status"] == 503


async def test_a_context_length_error_is_context_window_exceeded(openai_for: Connect) -> None:
    with (
        FakeOpenAI([context_length_exceeded()]) as api,
        pytest.raises(ContextWindowExceeded, match="maximum context length"),
    ):
        await openai_for(api).complete(make_request())

    assert len(api.requests) == 1


async def test_a_wrong_key_is_a_provider_error_that_says_which_variable(
    openai_for: Connect,
) -> None:
    with (
        FakeOpenAI([text_reply("never")]) as api,
        pytest.raises(ProviderError, match="Check OPENAI_API_KEY") as raised,
    ):
        await openai_for(api, api_key="sk-wrong-secret").complete(make_request())

    assert "sk-wrong-secret" not in str(raised.value)


async def test_a_local_server_from_openai_base_url_works_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOpenAI([text_reply("no key needed")], api_key=None) as api:
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        provider = OpenAIProvider()
        try:
            reply = await provider.complete(make_request(model="qwen2.5-coder"))
        finally:
            await provider.aclose()

    assert reply.message.text == "no key needed"
    assert api.requests[0].headers["authorization"] == f"Bearer {KEYLESS_PLACEHOLDER}"


async def test_the_key_comes_from_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI([text_reply("ok")], api_key="sk-from-env") as api:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        provider = OpenAIProvider(base_url=api.base_url)
        try:
            await provider.complete(make_request())
        finally:
            await provider.aclose()

    assert api.requests[0].status == 200


def test_no_key_and_no_local_server_is_missing_credentials() -> None:
    with pytest.raises(MissingCredentials, match="OPENAI_API_KEY is not set"):
        OpenAIProvider()


async def test_a_server_that_reports_stop_with_tool_calls_still_means_tool_use(
    openai_for: Connect,
) -> None:
    def like_ollama(body: dict[str, object]) -> dict[str, object]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "read_file", "arguments": "not json"},
                            }
                        ],
                    },
                }
            ],
        }

    with FakeOpenAI([like_ollama]) as api:
        reply = await openai_for(api).complete(make_request())

    assert reply.stop_reason is StopReason.TOOL_USE
    assert reply.message.tool_uses[0].input == {"_unparsed_arguments": "not json"}
    assert reply.usage == Usage()


async def test_a_tool_call_id_from_the_script_is_kept(openai_for: Connect) -> None:
    with FakeOpenAI([tool_call("read_file", {"path": "x"}, id="call_abc")]) as api:
        reply = await openai_for(api).complete(make_request())

    assert reply.message.tool_uses[0].id == "call_abc"
