"""Fitting a long conversation into the model's context window, deterministically.

Rule: when the estimated size of a request passes ``HIGH_WATER`` of the window, the
contents of the oldest tool results are replaced by a one-line note, oldest first,
until the estimate is below ``LOW_WATER``. The results of the last
``KEEP_RECENT_TURNS`` assistant turns are never elided, nor is any message text.
Blocks are shortened, never removed, so every ``tool_use`` keeps its ``tool_result``.
The stored transcript is not changed; only the request sent to the provider is.

Size is estimated as characters / 4 (plus the system prompt and tool schemas): crude,
but the same input always gives the same output, and the thresholds leave slack.
"""

from __future__ import annotations

import json

from orchestrate.llm.service import (
    CompletionRequest,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

HIGH_WATER = 0.8
LOW_WATER = 0.6
KEEP_RECENT_TURNS = 2
CHARS_PER_TOKEN = 4
ELIDED = "[output elided to fit the context window: {n} characters]"


def estimate_tokens(request: CompletionRequest) -> int:
    chars = len(request.system)
    chars += sum(
        len(json.dumps(tool.input_schema)) + len(tool.description) for tool in request.tools
    )
    for message in request.messages:
        for block in message.content:
            if isinstance(block, TextBlock):
                chars += len(block.text)
            elif isinstance(block, ToolUseBlock):
                chars += len(json.dumps(block.input)) + len(block.name)
            else:
                chars += len(block.content)
    return chars // CHARS_PER_TOKEN + 1


def fit_to_window(
    request: CompletionRequest, window_tokens: int, *, pressure: float = 1.0
) -> CompletionRequest:
    """The request with old tool outputs elided if it is too large for the window.

    ``pressure`` below 1 shrinks the targets, for a retry after the provider still
    reported the context exceeded.
    """
    high = window_tokens * HIGH_WATER * pressure
    low = window_tokens * LOW_WATER * pressure
    size = estimate_tokens(request)
    if size <= high:
        return request
    messages = list(request.messages)
    protected = _protected_from(messages)
    for index in range(protected):
        if size <= low:
            break
        message = messages[index]
        if message.role is not Role.USER:
            continue
        shortened, saved = _elide_results(message)
        if saved:
            messages[index] = shortened
            size -= saved // CHARS_PER_TOKEN
    return request.model_copy(update={"messages": messages})


def _protected_from(messages: list[Message]) -> int:
    """Index of the first message belonging to the last ``KEEP_RECENT_TURNS`` turns."""
    seen = 0
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is Role.ASSISTANT:
            seen += 1
            if seen == KEEP_RECENT_TURNS:
                return index
    return 0


def _elide_results(message: Message) -> tuple[Message, int]:
    saved = 0
    blocks = []
    for block in message.content:
        if isinstance(block, ToolResultBlock) and not block.content.startswith("[output elided"):
            note = ELIDED.format(n=len(block.content))
            if len(note) < len(block.content):
                saved += len(block.content) - len(note)
                block = block.model_copy(update={"content": note})
        blocks.append(block)
    return message.model_copy(update={"content": blocks}), saved
