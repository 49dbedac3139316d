"""A fake OpenAI Chat Completions API on 127.0.0.1, for tests that run the real ``openai`` SDK.

    with FakeOpenAI([tool_call("grep", {"pattern": "TODO"}), text_reply("none")]) as api:
        provider = OpenAIProvider(api_key=api.api_key, base_url=api.base_url)

It checks ``Authorization: Bearer`` (any key when ``api_key=None``, like Ollama),
``model`` and ``messages``, function tools, and that every assistant ``tool_calls`` entry
is answered by a ``role: "tool"`` message with its ``tool_call_id`` before the next
non-tool message, with no orphan tool messages. Errors come in OpenAI's shape
(``{"error": {"message", "type", "param", "code"}}``). Scripted responses are rendered
with ``prompt_tokens`` = input + cache reads + cache writes and the cache counts in
``prompt_tokens_details``; the reply reports the request's model.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from orchestrate.llm.models import CompletionResponse, StopReason, ToolUseBlock
from orchestrate.testing._fake_server import ErrorReply, FakeModelServer, JsonObject

_FINISH_REASONS = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.MAX_TOKENS: "length",
    StopReason.REFUSAL: "content_filter",
    StopReason.OTHER: "stop",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
_CONTEXT_MESSAGE = (
    "This model's maximum context length is 128000 tokens. However, your messages resulted "
    "in 130000 tokens. Please reduce the length of the messages."
)


class FakeOpenAI(FakeModelServer):
    """``POST /v1/chat/completions``; ``base_url`` ends in ``/v1`` like OPENAI_BASE_URL."""

    vendor = "openai"
    path = "/v1/chat/completions"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def check(self, headers: Mapping[str, str], body: Any) -> ErrorReply | None:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if self.api_key is not None and (scheme.lower() != "bearer" or key != self.api_key):
            return ErrorReply(
                401,
                message="Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        problem = validate_chat_request(body)
        return ErrorReply(400, message=problem) if problem else None

    def render(self, response: CompletionResponse, body: JsonObject) -> JsonObject:
        message: JsonObject = {"role": "assistant", "content": response.message.text or None}
        calls = [
            {
                "id": block.id,
                "type": "function",
                "function": {"name": block.name, "arguments": json.dumps(block.input)},
            }
            for block in response.message.content
            if isinstance(block, ToolUseBlock)
        ]
        if calls:
            message["tool_calls"] = calls
        usage = response.usage
        prompt_tokens = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        return {
            "id": f"chatcmpl-fake{uuid.uuid4().hex[:20]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", response.model),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": _FINISH_REASONS[response.stop_reason],
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": prompt_tokens + usage.output_tokens,
                "prompt_tokens_details": {
                    "cached_tokens": usage.cache_read_tokens,
                    "cache_write_tokens": usage.cache_write_tokens,
                },
            },
        }

    def render_error(self, error: ErrorReply) -> JsonObject:
        if error.code == "context_length_exceeded":
            message = error.message or _CONTEXT_MESSAGE
        else:
            message = error.message or _default_message(error.status)
        return {
            "error": {
                "message": message,
                "type": error.type or _ERROR_TYPES.get(error.status, "server_error"),
                "param": "messages" if error.code == "context_length_exceeded" else None,
                "code": error.code,
            }
        }


def _default_message(status: int) -> str:
    if status == 429:
        return "Rate limit reached for requests. Please try again in 1s."
    if status >= 500:
        return "The server had an error while processing your request. Sorry about that!"
    return "Invalid request."


def validate_chat_request(body: Any) -> str | None:
    """The message the real API would give for a malformed request body, else ``None``."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "Invalid 'messages': empty array. Expected an array with minimum length 1."
    return _check_tools(body.get("tools")) or _check_messages(messages)


def _check_tools(tools: Any) -> str | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "Invalid type for 'tools': expected an array."
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return f"Invalid value for 'tools[{index}].type': expected 'function'."
        function = tool.get("function")
        if not isinstance(function, dict):
            return f"Missing required parameter: 'tools[{index}].function'."
        if not isinstance(function.get("name"), str):
            return f"Missing required parameter: 'tools[{index}].function.name'."
    return None


def _unanswered(pending: list[str]) -> str:
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(pending)
    )


def _check_messages(messages: list[Any]) -> str | None:
    pending: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return (
                f"Invalid value: '{role}'. Supported values are: 'system', 'developer', "
                "'user', 'assistant', and 'tool'."
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return (
                    f"Invalid parameter: messages with role 'tool' must be a response to a "
                    f"preceeding message with 'tool_calls' (messages[{index}], "
                    f"tool_call_id {call_id!r})."
                )
            pending.remove(call_id)
            continue
        if pending:
            return _unanswered(pending)
        if role == "assistant":
            problem = _check_tool_calls(index, message.get("tool_calls"))
            if problem:
                return problem
            pending = [call["id"] for call in message.get("tool_calls") or []]
            if not pending and message.get("content") is None:
                return (
                    f"Invalid value for 'messages[{index}].content': expected a string, got null."
                )
        elif not isinstance(message.get("content"), str | list):
            return f"Missing required parameter: 'messages[{index}].content'."
    return _unanswered(pending) if pending else None


def _check_tool_calls(index: int, calls: Any) -> str | None:
    if calls is None:
        return None
    if not isinstance(calls, list):
        return f"Invalid type for 'messages[{index}].tool_calls': expected an array."
    for position, call in enumerate(calls):
        where = f"messages[{index}].tool_calls[{position}]"
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            return f"Missing required parameter: '{where}.id'."
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return f"Missing required parameter: '{where}.function.name'."
        if not isinstance(function.get("arguments"), str):
            return f"Invalid type for '{where}.function.arguments': expected a string."
    return None
