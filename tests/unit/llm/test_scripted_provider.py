"""The scripted provider: plays its steps in order, remembers requests, says when it runs out."""

from __future__ import annotations

import pytest

from orchestrate.llm.errors import ContextWindowExceeded, ProviderError
from orchestrate.llm.models import (
    CompletionRequest,
    CompletionResponse,
    StopReason,
    ToolUseBlock,
    Usage,
)
from orchestrate.testing import (
    DEFAULT_USAGE,
    ScriptedProvider,
    ScriptExhausted,
    finish,
    text_reply,
    tool_call,
    tool_calls,
    tool_use,
)
from tests.unit.llm.builders import continue_with_results, make_request


async def test_steps_are_answered_in_order() -> None:
    provider = ScriptedProvider([tool_call("read_file", {"path": "a.py"}), text_reply("Done.")])
    request = make_request()

    first = await provider.complete(request)
    second = await provider.complete(continue_with_results(request, first))

    assert first.message.tool_uses[0].input == {"path": "a.py"}
    assert second.message.text == "Done."
    assert provider.remaining == 0


async def test_every_request_is_remembered_for_assertions() -> None:
    provider = ScriptedProvider([text_reply("one"), text_reply("two")])

    await provider.complete(make_request("first"))
    await provider.complete(make_request("second"))

    assert [request.messages[-1].text for request in provider.requests] == ["first", "second"]


async def test_a_callable_step_builds_its_reply_from_the_request() -> None:
    def echo(request: CompletionRequest) -> CompletionResponse:
        return text_reply(f"you said: {request.messages[-1].text}")

    provider = ScriptedProvider([echo])

    reply = await provider.complete(make_request("hello"))

    assert reply.message.text == "you said: hello"


async def test_an_exception_step_is_raised() -> None:
    provider = ScriptedProvider([ContextWindowExceeded("too long"), text_reply("after eliding")])

    with pytest.raises(ContextWindowExceeded):
        await provider.complete(make_request())
    reply = await provider.complete(make_request())

    assert reply.message.text == "after eliding"


async def test_running_out_of_steps_is_a_provider_error_that_says_so() -> None:
    provider = ScriptedProvider([text_reply("only one")])
    await provider.complete(make_request())

    with pytest.raises(ScriptExhausted, match="no step for call 2") as raised:
        await provider.complete(make_request("still there?"))

    assert isinstance(raised.value, ProviderError)
    assert "still there?" in str(raised.value)


async def test_steps_can_be_added_after_construction() -> None:
    provider = ScriptedProvider()
    provider.add(text_reply("late"))

    reply = await provider.complete(make_request())

    assert reply.message.text == "late"


def test_a_tool_call_reply_stops_for_tool_use_with_a_fresh_id() -> None:
    first, second = tool_call("read_file", {"path": "x"}), tool_call("read_file", {"path": "x"})

    assert first.stop_reason is StopReason.TOOL_USE
    assert first.message.tool_uses[0].id.startswith("toolu_")
    assert first.message.tool_uses[0].id != second.message.tool_uses[0].id


def test_a_tool_call_can_have_a_chosen_id_and_a_preamble() -> None:
    reply = tool_call("read_file", {"path": "x"}, id="toolu_1", text="Let me look.")

    assert reply.message.text == "Let me look."
    assert reply.message.tool_uses == [
        ToolUseBlock(id="toolu_1", name="read_file", input={"path": "x"})
    ]


def test_several_tool_calls_fit_in_one_reply() -> None:
    reply = tool_calls(tool_use("read_file", {"path": "a"}), tool_use("read_file", {"path": "b"}))

    assert [use.input["path"] for use in reply.message.tool_uses] == ["a", "b"]


def test_finish_calls_the_finish_tool_with_status_and_summary() -> None:
    reply = finish("failed", "Could not reproduce the bug.")

    (use,) = reply.message.tool_uses
    assert use.name == "finish"
    assert use.input == {"status": "failed", "summary": "Could not reproduce the bug."}


def test_replies_carry_default_usage_unless_told_otherwise() -> None:
    assert text_reply("x").usage == DEFAULT_USAGE
    assert text_reply("x", usage=Usage(output_tokens=1)).usage == Usage(output_tokens=1)
    assert text_reply("x").stop_reason is StopReason.END_TURN


async def test_closing_is_remembered() -> None:
    provider = ScriptedProvider()

    await provider.aclose()

    assert provider.is_closed
