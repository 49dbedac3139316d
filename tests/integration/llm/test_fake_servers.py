"""The fake vendor servers reject what the real APIs reject and play their scripts faithfully."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrate.testing import (
    Delayed,
    ErrorReply,
    FakeAnthropic,
    FakeOpenAI,
    finish,
    text_reply,
)

ANTHROPIC_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
OPENAI_HEADERS = {"authorization": "Bearer test-key"}


def user(text: str = "hi") -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def assistant_calls(*ids: str) -> dict[str, Any]:
    blocks = [{"type": "tool_use", "id": id_, "name": "read_file", "input": {}} for id_ in ids]
    return {"role": "assistant", "content": blocks}


def results(*ids: str) -> dict[str, Any]:
    blocks = [{"type": "tool_result", "tool_use_id": id_, "content": "ok"} for id_ in ids]
    return {"role": "user", "content": blocks}


def post_messages(api: FakeAnthropic, messages: list[Any], **extra: Any) -> httpx.Response:
    body = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": messages, **extra}
    return httpx.post(f"{api.base_url}/v1/messages", json=body, headers=ANTHROPIC_HEADERS)


class TestFakeAnthropicRejects:
    def test_a_tool_use_without_a_result_in_the_next_message(self) -> None:
        with FakeAnthropic([text_reply("never")]) as api:
            answer = post_messages(api, [user(), assistant_calls("toolu_1"), user("and?")])

        assert answer.status_code == 400
        assert answer.json()["type"] == "error"
        assert answer.json()["error"]["type"] == "invalid_request_error"
        assert answer.json()["error"]["message"].startswith(
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
            "after: toolu_1."
        )
        assert api.remaining == 1  # a rejected request does not use up a step

    def test_a_tool_result_without_its_call(self) -> None:
        with FakeAnthropic() as api:
            answer = post_messages(
                api, [user(), assistant_calls("toolu_1"), results("toolu_1", "toolu_2")]
            )

        assert answer.status_code == 400
        assert (
            "unexpected `tool_use_id` found in `tool_result` blocks: toolu_2"
            in (answer.json()["error"]["message"])
        )

    def test_text_before_the_tool_results_of_a_turn(self) -> None:
        turn = {
            "role": "user",
            "content": [
                {"type": "text", "text": "here"},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"},
            ],
        }
        with FakeAnthropic() as api:
            answer = post_messages(api, [user(), assistant_calls("toolu_1"), turn])

        assert "must come before any other content" in answer.json()["error"]["message"]

    @pytest.mark.parametrize(
        ("messages", "message"),
        [
            ([], "at least one message"),
            ([{"role": "assistant", "content": "hi"}], 'first message must use the "user" role'),
            ([user(), user()], "roles must alternate"),
            ([{"role": "user", "content": [{"type": "text", "text": ""}]}], "must be non-empty"),
            ([{"role": "system", "content": "x"}], "Input should be 'user' or 'assistant'"),
        ],
    )
    def test_malformed_conversations(self, messages: list[Any], message: str) -> None:
        with FakeAnthropic() as api:
            answer = post_messages(api, messages)

        assert answer.status_code == 400
        assert message in answer.json()["error"]["message"]

    def test_a_missing_max_tokens(self) -> None:
        with FakeAnthropic() as api:
            answer = httpx.post(
                f"{api.base_url}/v1/messages",
                json={"model": "m", "messages": [user()]},
                headers=ANTHROPIC_HEADERS,
            )

        assert answer.json()["error"]["message"] == "max_tokens: Field required"

    def test_more_than_four_cache_breakpoints(self) -> None:
        cached = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
        with FakeAnthropic() as api:
            answer = post_messages(api, [user()], system=[cached] * 5)

        assert "A maximum of 4 blocks with cache_control" in answer.json()["error"]["message"]

    def test_a_request_without_a_key_or_version(self) -> None:
        with FakeAnthropic() as api:
            body = {"model": "m", "max_tokens": 1, "messages": [user()]}
            no_key = httpx.post(
                f"{api.base_url}/v1/messages", json=body, headers={"anthropic-version": "x"}
            )
            no_version = httpx.post(
                f"{api.base_url}/v1/messages", json=body, headers={"x-api-key": "test-key"}
            )

        assert no_key.status_code == 401
        assert no_key.json()["error"]["type"] == "authentication_error"
        assert no_version.status_code == 400
        assert "anthropic-version" in no_version.json()["error"]["message"]


class TestFakeAnthropicAccepts:
    def test_a_well_formed_tool_conversation(self) -> None:
        with FakeAnthropic([text_reply("fine")]) as api:
            answer = post_messages(api, [user(), assistant_calls("toolu_1"), results("toolu_1")])

        assert answer.status_code == 200
        assert answer.json()["content"] == [{"type": "text", "text": "fine"}]
        assert answer.json()["usage"]["input_tokens"] == 100


class TestFakeOpenAIRejects:
    def post(self, api: FakeOpenAI, messages: list[Any]) -> httpx.Response:
        body = {"model": "gpt-4o", "messages": messages}
        return httpx.post(f"{api.base_url}/chat/completions", json=body, headers=OPENAI_HEADERS)

    def call(self, call_id: str) -> dict[str, Any]:
        function = {"name": "read_file", "arguments": "{}"}
        return {"id": call_id, "type": "function", "function": function}

    def test_tool_calls_without_tool_messages(self) -> None:
        asked = {"role": "assistant", "content": None, "tool_calls": [self.call("call_1")]}
        with FakeOpenAI() as api:
            answer = self.post(api, [{"role": "user", "content": "hi"}, asked])

        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert set(error) == {"message", "type", "param", "code"}
        assert "did not have response messages: call_1" in error["message"]

    def test_a_tool_message_without_its_call(self) -> None:
        orphan = {"role": "tool", "tool_call_id": "call_9", "content": "ok"}
        with FakeOpenAI() as api:
            answer = self.post(api, [{"role": "user", "content": "hi"}, orphan])

        assert answer.status_code == 400
        assert (
            "must be a response to a preceeding message with 'tool_calls'"
            in (answer.json()["error"]["message"])
        )

    def test_a_wrong_bearer_token(self) -> None:
        with FakeOpenAI() as api:
            answer = httpx.post(
                f"{api.base_url}/chat/completions",
                json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                headers={"authorization": "Bearer nope"},
            )

        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_api_key"


class TestScripts:
    def test_a_callable_step_sees_the_request_body(self) -> None:
        seen: list[Any] = []

        def reply(body: dict[str, Any]) -> Any:
            seen.append(body["messages"][-1])
            return text_reply("dynamic")

        with FakeAnthropic([reply]) as api:
            answer = post_messages(api, [user("look at me")])

        assert seen == [user("look at me")]
        assert answer.json()["content"][0]["text"] == "dynamic"

    def test_an_error_step_answers_in_the_vendor_shape_with_retry_after(self) -> None:
        with FakeAnthropic([ErrorReply(429, retry_after=2.5)]) as api:
            answer = post_messages(api, [user()])

        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "3"
        assert answer.headers["retry-after-ms"] == "2500"
        assert answer.json()["error"]["type"] == "rate_limit_error"

    def test_a_delayed_step_holds_its_answer_past_a_shorter_client_timeout(self) -> None:
        body = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [user()]}
        with FakeAnthropic([Delayed(text_reply("slow"), 2), text_reply("next")]) as api:
            url = f"{api.base_url}/v1/messages"
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(url, json=body, headers=ANTHROPIC_HEADERS, timeout=0.1)
            following = httpx.post(url, json=body, headers=ANTHROPIC_HEADERS, timeout=30)

        assert api.requests[0].status == 200, "the held answer is the scripted reply"
        assert following.json()["content"][0]["text"] == "next", "only that step was delayed"

    def test_when_exhausted_answers_every_further_request(self) -> None:
        with FakeOpenAI([text_reply("first")], when_exhausted=finish()) as api:
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
            url = f"{api.base_url}/chat/completions"
            answers = [httpx.post(url, json=body, headers=OPENAI_HEADERS) for _ in range(4)]

        names = [
            answer.json()["choices"][0]["message"].get("tool_calls", [{}])[0].get("function")
            for answer in answers
        ]
        assert names[0] is None
        assert all(name["name"] == "finish" for name in names[1:])

    def test_an_exhausted_script_says_so(self) -> None:
        with FakeAnthropic() as api:
            answer = post_messages(api, [user()])

        assert answer.status_code == 400
        assert "script is exhausted" in answer.json()["error"]["message"]

    def test_every_request_is_recorded_with_its_headers_and_status(self) -> None:
        with FakeAnthropic([text_reply("ok")]) as api:
            post_messages(api, [user()])

        (recorded,) = api.requests
        assert recorded.path == "/v1/messages"
        assert recorded.headers["x-api-key"] == "test-key"
        assert recorded.status == 200
        assert api.bodies == [recorded.body]
