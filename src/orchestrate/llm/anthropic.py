"""Claude through the official ``anthropic`` SDK: the Messages API with tools.

Retries are the SDK's own. Its retry loop (``anthropic._base_client``, checked in 2.14)
re-sends a request after 408, 409, 429, any 5xx including 529 ``overloaded_error``, and
connection errors; it waits what the server asked for in ``retry-after-ms`` or
``retry-after`` (seconds or an HTTP date), otherwise 0.5 s doubling up to 8 s with
jitter. The only knob is how many times it tries again, ``max_retries`` (5 here rather
than the SDK's 2: an agent run is worth waiting for). What is left after the retries is
raised as ``ProviderError``, or ``ContextWindowExceeded`` for a prompt that is too long.

Prompt caching: the system prompt block and the last tool carry
``cache_control: ephemeral`` so the fixed prefix of every turn is read from the cache,
and so does the last block of the conversation, so each turn also reuses the turns
before it (three of the four breakpoints the API allows).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

import anthropic
from anthropic import omit
from anthropic.types import (
    CacheControlEphemeralParam,
    ContentBlockParam,
    MessageParam,
    TextBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)

from orchestrate.llm.errors import ContextWindowExceeded, MissingCredentials, ProviderError
from orchestrate.llm.models import (
    CompletionRequest,
    CompletionResponse,
    ContentBlock,
    Message,
    Role,
    StopReason,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
)

API_KEY_ENV = "ANTHROPIC_API_KEY"
AUTH_TOKEN_ENV = "ANTHROPIC_AUTH_TOKEN"  # noqa: S105 - a variable name, not a secret
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_MAX_RETRIES = 5
DEFAULT_TIMEOUT_SECONDS = 600.0

_EPHEMERAL: CacheControlEphemeralParam = {"type": "ephemeral"}
# The API words it "prompt is too long: 208310 tokens > 200000 maximum" or "input length
# and `max_tokens` exceed context limit: …"; there is no stable error code for it.
_CONTEXT_TOO_LONG = re.compile(
    r"prompt is too long|context (window|limit|length)|too many (input )?tokens", re.IGNORECASE
)
_STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    # The output ran into the context window: for the loop that is a truncated reply.
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "refusal": StopReason.REFUSAL,
}


def require_credentials(api_key: str | None = None) -> None:
    """Raise ``MissingCredentials`` unless a key is given or in the environment."""
    if api_key or os.environ.get(API_KEY_ENV) or os.environ.get(AUTH_TOKEN_ENV):
        return
    raise MissingCredentials(
        f"{API_KEY_ENV} is not set; export it or choose --provider openai|replay.",
        provider="anthropic",
        variable=API_KEY_ENV,
    )


class AnthropicProvider:
    """A ``Provider`` for Claude models.

    ``api_key`` and ``base_url`` default to ``ANTHROPIC_API_KEY`` (or
    ``ANTHROPIC_AUTH_TOKEN``) and ``ANTHROPIC_BASE_URL``; explicit arguments win. The key
    is always handed to the SDK explicitly so it never falls back to profile files.
    """

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        require_credentials(api_key)
        api_key = api_key or os.environ.get(API_KEY_ENV) or None
        auth_token = None if api_key else os.environ.get(AUTH_TOKEN_ENV)
        self.max_retries = max_retries
        # An explicit timeout also stops the SDK refusing large max_tokens without streaming.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            auth_token=auth_token,
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        try:
            message = await self._client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                system=_system(request.system) or omit,
                messages=_messages(request.messages),
                tools=_tools(request.tools) or omit,
            )
        except anthropic.APIStatusError as error:
            raise self._status_error(error, request.model) from error
        except anthropic.APIConnectionError as error:
            raise ProviderError(
                f"Cannot reach the Anthropic API at {self.base_url} ({error.message}) after "
                f"{self.max_retries} retries; check the network and {BASE_URL_ENV}.",
                provider=self.name,
                model=request.model,
            ) from error
        return _response(message)

    async def aclose(self) -> None:
        await self._client.close()

    def _status_error(self, error: anthropic.APIStatusError, model: str) -> ProviderError:
        status = error.status_code
        kind = str(error.type or "error")
        detail = error.api_message or error.message
        context = {
            "provider": self.name,
            "model": model,
            "status": status,
            "error_type": kind,
            "request_id": error.request_id,
        }
        if status in (400, 413) and _CONTEXT_TOO_LONG.search(detail):
            return ContextWindowExceeded(
                f"The conversation does not fit the context window of {model}: {detail}",
                **context,
            )
        return ProviderError(
            f"Anthropic API answered {status} {kind}: {detail}{_hint(status, self.max_retries)}",
            **context,
        )


def wire_chars(message: Message) -> int:
    """Characters ``message`` takes in a Messages API request, for the size estimate."""
    param = {"role": message.role.value, "content": _content(message, is_last=False)}
    return len(json.dumps(param))


def fixed_chars(system: str, tools: Sequence[ToolSpec]) -> int:
    """Characters of the system prompt and tool definitions of a request."""
    return len(json.dumps(_system(system))) + len(json.dumps(_tools(tools)))


def _hint(status: int, max_retries: int) -> str:
    if status == 401:
        return f" Check {API_KEY_ENV}."
    if status == 403:
        return " The key may not use this model or workspace."
    if status == 404:
        return " Check the model name."
    if status == 429 or status >= 500:
        return f" Gave up after {max_retries} retries; try again later or run fewer agents."
    return ""


def _system(system: str) -> list[TextBlockParam]:
    # The API rejects empty text blocks, so an empty system prompt is left out.
    if not system:
        return []
    return [{"type": "text", "text": system, "cache_control": _EPHEMERAL}]


def _tools(tools: Sequence[ToolSpec]) -> list[ToolParam]:
    params: list[ToolParam] = []
    for position, tool in enumerate(tools, start=1):
        param: ToolParam = {
            "name": tool.name,
            "description": tool.description,
            "input_schema": tool.input_schema,
        }
        if position == len(tools):
            param["cache_control"] = _EPHEMERAL
        params.append(param)
    return params


def _messages(messages: Sequence[Message]) -> list[MessageParam]:
    params: list[MessageParam] = []
    messages = _alternating(messages)
    for position, message in enumerate(messages, start=1):
        content = _content(message, is_last=position == len(messages))
        if message.role is Role.USER:
            params.append({"role": "user", "content": content})
        else:
            params.append({"role": "assistant", "content": content})
    return params


def _alternating(messages: Sequence[Message]) -> list[Message]:
    """Consecutive messages of one role as one: the API wants roles to alternate, and a
    transcript may hold a note (e.g. the loop warning) right after a turn's tool results."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].role is message.role:
            previous = merged[-1]
            merged[-1] = Message(role=previous.role, content=[*previous.content, *message.content])
        else:
            merged.append(message)
    return merged


def _content(message: Message, *, is_last: bool) -> list[ContentBlockParam]:
    # The API wants the tool results of a user turn before anything else in it.
    blocks = sorted(message.content, key=lambda block: not isinstance(block, ToolResultBlock))
    blocks = [block for block in blocks if not (isinstance(block, TextBlock) and not block.text)]
    params: list[ContentBlockParam] = []
    for position, block in enumerate(blocks, start=1):
        cache = is_last and position == len(blocks)
        params.append(_block(block, cache=cache))
    return params


def _block(block: ContentBlock, *, cache: bool) -> ContentBlockParam:
    if isinstance(block, TextBlock):
        text: TextBlockParam = {"type": "text", "text": block.text}
        if cache:
            text["cache_control"] = _EPHEMERAL
        return text
    if isinstance(block, ToolUseBlock):
        tool_use: ToolUseBlockParam = {
            "type": "tool_use",
            "id": block.id,
            "name": block.name,
            "input": block.input,
        }
        if cache:
            tool_use["cache_control"] = _EPHEMERAL
        return tool_use
    result: ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "content": block.content,
    }
    if block.is_error:
        result["is_error"] = True
    if cache:
        result["cache_control"] = _EPHEMERAL
    return result


def _response(message: anthropic.types.Message) -> CompletionResponse:
    content: list[ContentBlock] = []
    for block in message.content:
        if isinstance(block, anthropic.types.TextBlock):
            content.append(TextBlock(text=block.text))
        elif isinstance(block, anthropic.types.ToolUseBlock):
            content.append(ToolUseBlock(id=block.id, name=block.name, input=dict(block.input)))
    usage = message.usage
    return CompletionResponse(
        message=Message(role=Role.ASSISTANT, content=content),
        stop_reason=_STOP_REASONS.get(message.stop_reason or "", StopReason.OTHER),
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            cache_write_tokens=usage.cache_creation_input_tokens or 0,
        ),
        model=message.model,
    )
