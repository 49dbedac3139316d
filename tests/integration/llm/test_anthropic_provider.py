"""The Anthropic provider through the real ``anthropic`` SDK against a fake API on loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrate.llm.anthropic import AnthropicProvider
from orchestrate.llm.errors import ContextWindowExceeded, MissingCredentials, ProviderError
from orchestrate.llm.models import (
    Message,
    Role,
    StopReason,
    TextBlock,
    ToolResultBlock,
    Usage,
)
from orchestrate.testing import (
    FakeAnthropic,
    context_length_exceeded,
    finish,
    overloaded,
    rate_limited,
    server_error,
    text_reply,
    tool_call,
    tool_calls,
    tool_use,
)
from tests.unit.llm.builders import continue_with_results, make_request

Connect = Callable[..., AnthropicProvider]


async def test_a_text_reply_comes_back_as_an_assistant_message(anthropic_for: Connect) -> None:
    with FakeAnthropic([text_reply("The test passes now.")]) as api:
        reply = await anthropic_for(api).complete(make_request())

    assert reply.message.text == "The test passes now."
    assert reply.stop_reason is StopReason.END_TURN
    assert reply.model == "claude-sonnet-4-6"


async def test_a_tool_call_and_its_result_make_a_round_trip(anthropic_for: Connect) -> None:
    with FakeAnthropic([tool_call("read_file", {"path": "app.py"}), finish()]) as api:
        provider = anthropic_for(api)
        request = make_request()
        first = await provider.complete(request)
        second = await provider.complete(continue_with_results(request, first, "print(1)"))

    (use,) = first.message.tool_uses
    assert (use.name, use.input, first.stop_reason) == (
        "read_file",
        {"path": "app.py"},
        StopReason.TOOL_USE,
    )
    assert second.message.tool_uses[0].name == "finish"
    sent = api.requests[1].body["messages"]
    assert sent[1]["content"][0] == {
        "type": "tool_use",
        "id": use.id,
        "name": "read_file",
        "input": {"path": "app.py"},
    }
    assert sent[2]["content"][0]["tool_use_id"] == use.id
    assert sent[2]["content"][0]["content"] == "print(1)"


async def test_a_note_stored_after_tool_results_goes_in_the_same_user_turn(
    anthropic_for: Connect,
) -> None:
    # The agent loop stores its loop warning as a user message right after the results.
    with FakeAnthropic([tool_call("read_file", {"path": "app.py"}), finish()]) as api:
        provider = anthropic_for(api)
        request = make_request()
        first = await provider.complete(request)
        follow_up = continue_with_results(request, first, "print(1)")
        note = Message(role=Role.USER, content=[TextBlock(text="You appear to be looping.")])
        follow_up = follow_up.model_copy(update={"messages": [*follow_up.messages, note]})
        await provider.complete(follow_up)

    sent = api.requests[1].body["messages"]
    assert [message["role"] for message in sent] == ["user", "assistant", "user"]
    assert [block["type"] for block in sent[2]["content"]] == ["tool_result", "text"]
    assert sent[2]["content"][1]["text"] == "You appear to be looping."


async def test_usage_counts_cache_reads_and_writes_apart(anthropic_for: Connect) -> None:
    usage = Usage(input_tokens=12, output_tokens=34, cache_read_tokens=5600, cache_write_tokens=780)
    with FakeAnthropic([text_reply("ok", usage=usage)]) as api:
        reply = await anthropic_for(api).complete(make_request())

    assert reply.usage == usage


async def test_the_system_prompt_and_the_last_tool_are_marked_for_caching(
    anthropic_for: Connect,
) -> None:
    with FakeAnthropic([text_reply("ok")]) as api:
        await anthropic_for(api).complete(make_request())

    body = api.requests[0].body
    assert body["system"] == [
        {
            "type": "text",
            "text": "You are a careful software engineer.",
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]


async def test_the_latest_turn_is_marked_for_caching_so_the_next_turn_reuses_it(
    anthropic_for: Connect,
) -> None:
    with FakeAnthropic([tool_call("read_file", {"path": "a"}), text_reply("ok")]) as api:
        provider = anthropic_for(api)
        first = await provider.complete(make_request())
        await provider.complete(continue_with_results(make_request(), first))

    messages = api.requests[1].body["messages"]
    assert messages[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in block for block in messages[1]["content"])


async def test_tool_results_go_first_in_a_turn_and_empty_text_is_dropped(
    anthropic_for: Connect,
) -> None:
    use = tool_use("read_file", {"path": "a"})
    conversation = [
        *make_request().messages,
        Message(role=Role.ASSISTANT, content=[TextBlock(text=""), use]),
        Message(
            role=Role.USER,
            content=[
                TextBlock(text="Also note:"),
                ToolResultBlock(tool_use_id=use.id, content="x"),
            ],
        ),
    ]
    with FakeAnthropic([text_reply("ok")]) as api:
        await anthropic_for(api).complete(
            make_request().model_copy(update={"messages": conversation})
        )

    assert api.requests[0].status == 200
    sent = api.requests[0].body["messages"]
    assert [block["type"] for block in sent[1]["content"]] == ["tool_use"]
    assert [block["type"] for block in sent[2]["content"]] == ["tool_result", "text"]


async def test_an_empty_system_prompt_is_left_out(anthropic_for: Connect) -> None:
    with FakeAnthropic([text_reply("ok")]) as api:
        await anthropic_for(api).complete(make_request(system=""))

    assert "system" not in api.requests[0].body


async def test_parallel_tool_calls_over_several_turns_are_always_answered_in_pairs(
    anthropic_for: Connect,
) -> None:
    script = [
        tool_calls(tool_use("read_file", {"path": "a"}), tool_use("read_file", {"path": "b"})),
        tool_call("read_file", {"path": "c"}, text="One more."),
        finish(),
    ]
    with FakeAnthropic(script) as api:
        provider = anthropic_for(api)
        request = make_request()
        for _ in script:
            request = continue_with_results(request, await provider.complete(request))

    assert [recorded.status for recorded in api.requests] == [200, 200, 200]


async def test_a_rate_limit_is_retried_after_the_time_the_server_asked_for(
    anthropic_for: Connect,
) -> None:
    with FakeAnthropic([rate_limited(retry_after=1), text_reply("ok")]) as api:
        reply = await anthropic_for(api).complete(make_request())

    first, second = api.requests
    assert (first.status, second.status) == (429, 200)
    # The SDK's own first backoff is at most 0.5 s; only retry-after explains a 1 s wait.
    assert second.received_at - first.received_at >= 0.95
    assert reply.message.text == "ok"


async def test_an_overloaded_api_is_retried_until_it_answers(anthropic_for: Connect) -> None:
    with FakeAnthropic([overloaded(), overloaded(), text_reply("ok")]) as api:
        reply = await anthropic_for(api).complete(make_request())

    assert [recorded.status for recorded in api.requests] == [529, 529, 200]
    assert reply.message.text == "ok"


async def test_a_server_that_keeps_failing_is_a_provider_error_after_the_retries(
    anthropic_for: Connect,
) -> None:
    with (
        FakeAnthropic(when_exhausted=server_error(500, retry_after=0.01)) as api,
        pytest.raises(ProviderError) as raised,
    ):
        await anthropic_for(api, max_retries=2).complete(make_request())

    assert len(api.requests) == 3
    assert raised.value.context["status"] == 500
    assert "Gave up after 2 retries" in str(raised.value)


async def test_a_prompt_too_long_is_context_window_exceeded_and_not_retried(
    anthropic_for: Connect,
) -> None:
    with (
        FakeAnthropic([context_length_exceeded()]) as api,
        pytest.raises(ContextWindowExceeded, match="prompt is too long"),
    ):
        await anthropic_for(api).complete(make_request())

    assert len(api.requests) == 1


async def test_a_wrong_key_is_a_provider_error_that_does_not_repeat_the_key(
    anthropic_for: Connect,
) -> None:
    with (
        FakeAnthropic([text_reply("never")]) as api,
        pytest.raises(ProviderError) as raised,
    ):
        await anthropic_for(api, api_key="sk-ant-wrong-secret").complete(make_request())

    assert raised.value.context["status"] == 401
    assert "Check ANTHROPIC_API_KEY" in str(raised.value)
    assert "sk-ant-wrong-secret" not in str(raised.value)
    assert "sk-ant-wrong-secret" not in repr(raised.value.context)


async def test_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeAnthropic([text_reply("from the environment")]) as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key or "")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        provider = AnthropicProvider()
        try:
            reply = await provider.complete(make_request())
        finally:
            await provider.aclose()

    assert reply.message.text == "from the environment"


def test_no_key_anywhere_is_missing_credentials() -> None:
    with pytest.raises(MissingCredentials, match="ANTHROPIC_API_KEY is not set"):
        AnthropicProvider()


async def test_an_unreachable_api_is_a_provider_error_naming_the_address() -> None:
    with FakeAnthropic() as api:
        base_url = api.base_url  # the port is free again once the server stopped
    provider = AnthropicProvider(api_key="sk-ant-test", base_url=base_url, max_retries=0)
    try:
        with pytest.raises(ProviderError, match=f"Cannot reach the Anthropic API at {base_url}"):
            await provider.complete(make_request())
    finally:
        await provider.aclose()
