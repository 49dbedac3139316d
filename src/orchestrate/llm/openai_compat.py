"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio) through the ``openai`` SDK.

Chat Completions with function tools. Our conversation is Anthropic-shaped, so a turn is
translated: the system prompt becomes the first ``system`` message, an assistant's
``tool_use`` blocks become ``tool_calls`` (arguments as a JSON string), and each
``tool_result`` becomes a ``role: "tool"`` message with its ``tool_call_id``.

Retries are the SDK's own (``openai._base_client``, checked in 3.57): 408, 409, 429, 5xx
and connection errors are retried, waiting what ``retry-after-ms``/``retry-after`` says
when it is at most two minutes, otherwise 0.5 s doubling up to 8 s with jitter.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import openai
from openai import omit
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
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

API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
OPENAI_HOST = "api.openai.com"
KEYLESS_PLACEHOLDER = "orchestrate-no-key"
DEFAULT_MAX_RETRIES = 5
DEFAULT_TIMEOUT_SECONDS = 600.0

# OpenAI: code "context_length_exceeded", "This model's maximum context length is …";
# vLLM: "… maximum context length is 8192 tokens. However, you requested …".
_CONTEXT_TOO_LONG = re.compile(
    r"context[_ ]length|context window|prompt is too long|too many tokens", re.IGNORECASE
)
_FINISH_REASONS = {
    "stop": StopReason.END_TURN,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "length": StopReason.MAX_TOKENS,
    "content_filter": StopReason.REFUSAL,
}


def is_self_hosted(base_url: str | None) -> bool:
    """Whether ``base_url`` points somewhere other than OpenAI itself (Ollama, vLLM, …)."""
    return bool(base_url) and urlsplit(base_url).hostname != OPENAI_HOST


def require_credentials(api_key: str | None = None, base_url: str | None = None) -> None:
    """Raise ``MissingCredentials`` unless there is a key or a self-hosted base URL."""
    if api_key or os.environ.get(API_KEY_ENV):
        return
    if is_self_hosted(base_url or os.environ.get(BASE_URL_ENV)):
        return
    raise MissingCredentials(
        f"{API_KEY_ENV} is not set; export it, or set {BASE_URL_ENV} to a local "
        "OpenAI-compatible server (e.g. http://127.0.0.1:11434/v1 for Ollama), "
        "or choose --provider anthropic|replay.",
        provider="openai",
        variable=API_KEY_ENV,
    )


class OpenAIProvider:
    """A ``Provider`` for OpenAI's API and any server that speaks Chat Completions.

    ``api_key`` and ``base_url`` default to ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``;
    explicit arguments win. Servers such as Ollama and vLLM need no key: when the base URL
    is not ``api.openai.com`` and no key is set, the placeholder ``KEYLESS_PLACEHOLDER`` is
    sent, because the SDK refuses to start without one. The output limit goes out as
    ``max_completion_tokens`` to OpenAI (its o-series reject ``max_tokens``) and as
    ``max_tokens`` elsewhere, which is what compatible servers understand.
    """

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        require_credentials(api_key, base_url)
        base_url = base_url or os.environ.get(BASE_URL_ENV) or None
        api_key = api_key or os.environ.get(API_KEY_ENV) or KEYLESS_PLACEHOLDER
        self.max_retries = max_retries
        self._is_openai = not is_self_hosted(base_url)
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        tools = [_tool(tool) for tool in request.tools]
        try:
            completion = await self._client.chat.completions.create(
                model=request.model,
                messages=_messages(request.system, request.messages),
                tools=tools or omit,
                max_completion_tokens=request.max_tokens if self._is_openai else omit,
                max_tokens=omit if self._is_openai else request.max_tokens,
            )
        except openai.APIStatusError as error:
            raise self._status_error(error, request.model) from error
        except openai.APIConnectionError as error:
            raise ProviderError(
                f"Cannot reach the OpenAI-compatible API at {self.base_url} ({error.message}) "
                f"after {self.max_retries} retries; check the server and {BASE_URL_ENV}.",
                provider=self.name,
                model=request.model,
            ) from error
        return _response(completion, request.model)

    async def aclose(self) -> None:
        await self._client.close()

    def _status_error(self, error: openai.APIStatusError, model: str) -> ProviderError:
        status = error.status_code
        detail = _error_message(error)
        context = {
            "provider": self.name,
            "model": model,
            "status": status,
            "error_code": error.code,
            "request_id": error.request_id,
        }
        if 400 <= status < 500 and (
            error.code == "context_length_exceeded" or _CONTEXT_TOO_LONG.search(detail)
        ):
            return ContextWindowExceeded(
                f"The conversation does not fit the context window of {model}: {detail}",
                **context,
            )
        hint = ""
        if status == 401:
            hint = f" Check {API_KEY_ENV}."
        elif status == 404:
            hint = f" Check the model name and {BASE_URL_ENV}."
        elif status == 429 or status >= 500:
            hint = f" Gave up after {self.max_retries} retries; try again later."
        return ProviderError(
            f"OpenAI-compatible API at {self.base_url} answered {status}: {detail}{hint}",
            **context,
        )


def _error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return error.message


def wire_chars(message: Message) -> int:
    """Characters ``message`` takes in a Chat Completions request, for the size estimate.

    One of our user messages may become several (a ``tool`` message per result).
    """
    return len(json.dumps(_messages("", [message])))


def fixed_chars(system: str, tools: Sequence[ToolSpec]) -> int:
    """Characters of the system message and function definitions of a request."""
    return len(json.dumps(_messages(system, []))) + len(json.dumps([_tool(t) for t in tools]))


def _tool(tool: ToolSpec) -> ChatCompletionFunctionToolParam:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.input_schema,
        },
    }


def _messages(system: str, messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    params: list[ChatCompletionMessageParam] = []
    if system:
        params.append({"role": "system", "content": system})
    for message in messages:
        if message.role is Role.ASSISTANT:
            params.append(_assistant(message))
        else:
            params.extend(_user(message))
    return params


def _assistant(message: Message) -> ChatCompletionMessageParam:
    calls: list[ChatCompletionMessageFunctionToolCallParam] = [
        {
            "id": use.id,
            "type": "function",
            "function": {"name": use.name, "arguments": json.dumps(use.input)},
        }
        for use in message.tool_uses
    ]
    text = message.text or None
    if calls:
        return {"role": "assistant", "content": text, "tool_calls": calls}
    return {"role": "assistant", "content": text or ""}


def _user(message: Message) -> list[ChatCompletionMessageParam]:
    # Tool messages must directly follow the assistant message that asked for them,
    # so a user turn's results come first and its text after them.
    params: list[ChatCompletionMessageParam] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):
            content = f"Error: {block.content}" if block.is_error else block.content
            params.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": content})
    if message.text:
        params.append({"role": "user", "content": message.text})
    return params


def _arguments(raw: str) -> dict[str, Any]:
    """The call's arguments; unparsable JSON is passed on so the tool reports it."""
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        return {"_unparsed_arguments": raw}
    return parsed if isinstance(parsed, dict) else {"_unparsed_arguments": raw}


def _response(completion: ChatCompletion, model: str) -> CompletionResponse:
    if not completion.choices:
        raise ProviderError(
            f"The OpenAI-compatible API returned no choices for {model}.", model=model
        )
    choice = completion.choices[0]
    content: list[ContentBlock] = []
    if choice.message.content:
        content.append(TextBlock(text=choice.message.content))
    for call in choice.message.tool_calls or []:
        if isinstance(call, ChatCompletionMessageFunctionToolCall):
            content.append(
                ToolUseBlock(
                    # Some compatible servers leave the id empty; results must pair with one.
                    id=call.id or f"call_{uuid.uuid4().hex[:24]}",
                    name=call.function.name,
                    input=_arguments(call.function.arguments),
                )
            )
    has_tool_calls = any(isinstance(block, ToolUseBlock) for block in content)
    # Ollama reports "stop" even when it called tools; the calls are what matter.
    stop_reason = (
        StopReason.TOOL_USE
        if has_tool_calls
        else _FINISH_REASONS.get(choice.finish_reason, StopReason.OTHER)
    )
    return CompletionResponse(
        message=Message(role=Role.ASSISTANT, content=content),
        stop_reason=stop_reason,
        usage=_usage(completion),
        model=completion.model or model,
    )


def _usage(completion: ChatCompletion) -> Usage:
    usage = completion.usage
    if usage is None:
        return Usage()
    details = usage.prompt_tokens_details
    cache_read = (details.cached_tokens or 0) if details else 0
    cache_write = (details.cache_write_tokens or 0) if details else 0
    # prompt_tokens includes the cached part; ours counts cache reads and writes apart.
    return Usage(
        input_tokens=max(usage.prompt_tokens - cache_read - cache_write, 0),
        output_tokens=usage.completion_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
