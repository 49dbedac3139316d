"""A fake Anthropic Messages API on 127.0.0.1, for tests that run the real ``anthropic`` SDK.

    with FakeAnthropic([tool_call("read_file", {"path": "x"}), rate_limited(1), finish()]) as api:
        provider = AnthropicProvider(api_key=api.api_key, base_url=api.base_url)
        ...
        assert api.requests[0].body["tools"][-1]["cache_control"] == {"type": "ephemeral"}

It checks what the real API checks and answers errors in its shape
(``{"type": "error", "error": {"type": "invalid_request_error", "message": …}}``):
a key in ``x-api-key`` or ``Authorization: Bearer`` (anthropic 2.x sends the latter),
the ``anthropic-version`` header, ``model``/``max_tokens``/``messages``, roles that
alternate starting with ``user``, non-empty text blocks, unique tool names, at most four
``cache_control`` breakpoints, and that every ``tool_use`` is answered by a
``tool_result`` with its id at the start of the very next user message, with no orphan
results. The reply reports the request's model, whatever the scripted response says.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from orchestrate.llm.models import CompletionResponse, TextBlock, ToolUseBlock
from orchestrate.testing._fake_server import ErrorReply, FakeModelServer, JsonObject

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    429: "Number of request tokens has exceeded your per-minute rate limit.",
    529: "Overloaded",
}
_CONTEXT_MESSAGE = "prompt is too long: 215000 tokens > 200000 maximum"


class FakeAnthropic(FakeModelServer):
    """``POST /v1/messages``; ``base_url`` is what to give the SDK or ANTHROPIC_BASE_URL."""

    vendor = "anthropic"
    path = "/v1/messages"

    @property
    def base_url(self) -> str:
        return self.origin

    def check(self, headers: Mapping[str, str], body: Any) -> ErrorReply | None:
        key = headers.get("x-api-key") or _bearer(headers.get("authorization", ""))
        if not key:
            return ErrorReply(401, message="x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return ErrorReply(401, message="invalid x-api-key")
        if not headers.get("anthropic-version"):
            return ErrorReply(400, message="anthropic-version: header is required")
        problem = validate_messages_request(body)
        return ErrorReply(400, message=problem) if problem else None

    def render(self, response: CompletionResponse, body: JsonObject) -> JsonObject:
        content: list[JsonObject] = []
        for block in response.message.content:
            if isinstance(block, TextBlock):
                content.append({"type": "text", "text": block.text})
            elif isinstance(block, ToolUseBlock):
                content.append(
                    {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                )
        usage = response.usage
        return {
            "id": f"msg_fake_{uuid.uuid4().hex[:20]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", response.model),
            "content": content,
            "stop_reason": response.stop_reason.value
            if response.stop_reason.value != "other"
            else "pause_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_input_tokens": usage.cache_read_tokens,
                "cache_creation_input_tokens": usage.cache_write_tokens,
            },
        }

    def render_error(self, error: ErrorReply) -> JsonObject:
        if error.code == "context_length_exceeded":
            message = error.message or _CONTEXT_MESSAGE
        else:
            message = error.message or _DEFAULT_MESSAGES.get(error.status, "Internal server error")
        return {
            "type": "error",
            "error": {
                "type": error.type or _ERROR_TYPES.get(error.status, "api_error"),
                "message": message,
            },
            "request_id": f"req_fake_{uuid.uuid4().hex[:20]}",
        }


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def validate_messages_request(body: Any) -> str | None:
    """The message the real API would give for a malformed request body, else ``None``."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    max_tokens = body["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        return "max_tokens: Input should be a valid integer greater than or equal to 0"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    return (
        _check_system(body.get("system"))
        or _check_tools(body.get("tools"))
        or _check_messages(messages)
        or _check_tool_pairing(messages)
        or _check_cache_breakpoints(body)
    )


def _check_system(system: Any) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list):
        return "system: Input should be a valid string or a list of text blocks"
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            return f"system.{index}: Input should be a text block"
        if not block.get("text"):
            return f"system.{index}.text: text content blocks must be non-empty"
    return None


def _check_tools(tools: Any) -> str | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "tools: Input should be a valid list"
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return f"tools.{index}.name: Field required"
        if not isinstance(tool.get("input_schema"), dict):
            return f"tools.{index}.input_schema: Field required"
        if tool["name"] in names:
            return "tools: Tool names must be unique."
        names.add(tool["name"])
    return None


def _check_messages(messages: list[Any]) -> str | None:
    previous_role = None
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        role = message["role"]
        if index == 0 and role != "user":
            return 'messages: first message must use the "user" role'
        if role == previous_role:
            return f'messages.{index}: roles must alternate between "user" and "assistant"'
        previous_role = role
        is_final_assistant = index == len(messages) - 1 and role == "assistant"
        problem = _check_content(index, role, message.get("content"), is_final_assistant)
        if problem:
            return problem
    return None


def _check_content(index: int, role: str, content: Any, may_be_empty: bool) -> str | None:
    empty = (
        f"messages.{index}: all messages must have non-empty content except for the "
        "optional final assistant message"
    )
    if isinstance(content, str):
        return None if content or may_be_empty else empty
    if not isinstance(content, list):
        return f"messages.{index}.content: Input should be a valid string or list"
    if not content and not may_be_empty:
        return empty
    seen_other = False
    for position, block in enumerate(content):
        where = f"messages.{index}.content.{position}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            if not block.get("text"):
                return f"{where}.text: text content blocks must be non-empty"
            seen_other = True
        elif kind == "tool_use":
            if role != "assistant":
                return f"{where}: tool_use blocks may only appear in assistant messages"
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                return f"{where}: tool_use blocks need an id and a name"
            if not isinstance(block.get("input"), dict):
                return f"{where}.input: Input should be a valid dictionary"
        elif kind == "tool_result":
            if role != "user":
                return f"{where}: tool_result blocks may only appear in user messages"
            if not isinstance(block.get("tool_use_id"), str):
                return f"{where}.tool_use_id: Field required"
            if seen_other:
                return (
                    f"{where}: tool_result blocks must come before any other content "
                    "in a user message"
                )
        else:
            return (
                f"{where}.type: Input tag {kind!r} found using 'type' does not match any "
                "of the expected tags"
            )
    return None


def _blocks(message: JsonObject, kind: str) -> list[JsonObject]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict) and block.get("type") == kind]


def _check_tool_pairing(messages: list[JsonObject]) -> str | None:
    seen_ids: set[str] = set()
    for index, message in enumerate(messages):
        uses = [block["id"] for block in _blocks(message, "tool_use")]
        duplicates = [use for use in uses if use in seen_ids]
        if duplicates:
            return f"messages.{index}: `tool_use` ids must be unique: {', '.join(duplicates)}"
        seen_ids.update(uses)
        following = messages[index + 1] if index + 1 < len(messages) else {}
        answered = {block["tool_use_id"] for block in _blocks(following, "tool_result")}
        missing = [use for use in uses if use not in answered]
        if missing:
            return (
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        previous = messages[index - 1] if index > 0 else {}
        asked = {block["id"] for block in _blocks(previous, "tool_use")}
        for position, block in enumerate(_blocks(message, "tool_result")):
            if block["tool_use_id"] not in asked:
                return (
                    f"messages.{index}.content.{position}: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {block['tool_use_id']}. Each `tool_result` block "
                    "must have a corresponding `tool_use` block in the previous message."
                )
    return None


def _check_cache_breakpoints(body: JsonObject) -> str | None:
    blocks: list[Any] = []
    for section in (body.get("system"), body.get("tools")):
        if isinstance(section, list):
            blocks.extend(section)
    for message in body["messages"]:
        if isinstance(message.get("content"), list):
            blocks.extend(message["content"])
    found = sum(1 for block in blocks if isinstance(block, dict) and block.get("cache_control"))
    if found > 4:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {found}."
    return None
