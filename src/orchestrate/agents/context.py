"""Fitting a long conversation into the model's context window, deterministically.

The stored transcript is never changed; only the request sent to the provider is.
Sizes come from a per-provider ``RequestEstimator`` (each message measured once).

The rule (documented for users in docs/agents.md, "Context window"):

- The *budget* is ``(window - max_tokens) * HIGH_WATER``: the input a request may
  have, with slack for the estimate's error. A request within it is sent as is.
- Savings are made in whole *chunks* of ``CHUNK`` of the budget: when a request is
  over by ``x`` tokens, ``ceil(x / chunk)`` chunks are saved. The cut points therefore
  move only when the conversation grows by another chunk, and between moves every
  request starts with the same bytes as the one before, which is what provider prompt
  caching needs.
- Protected, always sent as is: the first message (the task) and the last
  ``KEEP_RECENT_TURNS`` turns (an assistant message and the results that answer it).
- Step 1, shorten: old messages, oldest first, have their large tool-call inputs and
  tool results replaced by a note (an input keeps its small fields, e.g. a file's path,
  and says how long the rest was and how it began). Nothing is removed, so every
  ``tool_use`` keeps its ``tool_result``.
- Step 2, elide: if shortening every old message is not enough, the oldest whole turns
  are left out, from the message after the task up to an assistant message, and a note
  naming what was left out is added to the task message. The request still alternates
  user/assistant, and no ``tool_result`` is left without its ``tool_use``.
- If the task and the protected turns alone are too large, the protection shrinks to
  the last turn, then to none; if even that does not fit, ``ContextDoesNotFit``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrate.core.errors import OrchestrateError
from orchestrate.llm.service import (
    CHARS_PER_TOKEN,
    CompletionRequest,
    ContentBlock,
    Message,
    RequestEstimator,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

HIGH_WATER = 0.85
CHUNK = 0.25
KEEP_RECENT_TURNS = 2
SHORTEN_OVER = 400
"""Characters: a tool input value or result longer than this is shortened once old."""
HEAD = 120
"""Characters of a shortened input value that are kept, so the model sees what it was."""
ELIDED = "[output elided to fit the context window: {n} characters]"
ELIDED_INPUT = "[{n} characters elided to fit the context window; it began: {head}]"
ELIDED_TURNS = (
    "[Context note: {messages} earlier messages ({turns} turns of yours) are left out of "
    "this request to fit the context window. Tool calls in them: {tools}. Their "
    "effects (files written, commits) are still in the workspace.]"
)


class ContextDoesNotFit(OrchestrateError):
    """Even the task and the last turn, shortened, are larger than the model's window."""

    title = "Conversation does not fit the context window"


@dataclass(frozen=True)
class _Plan:
    messages: list[Message]
    tokens: int
    elided: int


class ContextFitter:
    """Fits requests of one agent run; remembers each message's shortened form."""

    def __init__(self, estimator: RequestEstimator) -> None:
        self.estimator = estimator
        self._short: dict[int, tuple[Message, Message, int]] = {}
        self.last_tokens = 0
        """Estimated input tokens of the last request fitted."""
        self.last_elided = 0
        """Messages left out of the last request fitted."""
        self.cut_moved = False
        """Whether the last request left out a different number of messages than the one before."""

    def fit(
        self, request: CompletionRequest, window_tokens: int, *, pressure: float = 1.0
    ) -> CompletionRequest:
        """``request`` shortened by the rule above so its estimate is within the budget.

        ``pressure`` below 1 shrinks the budget, for a retry after the provider still
        reported the context exceeded.
        """
        budget = int(max(window_tokens - request.max_tokens, 0) * HIGH_WATER * pressure)
        fixed = self.estimator.fixed_tokens(request.system, request.tools)
        sizes = [self.estimator.message_tokens(m) for m in request.messages]
        total = fixed + sum(sizes)
        if total <= budget:
            self._fitted(total, 0)
            return request
        chunk = max(int(budget * CHUNK), 1)
        for keep in dict.fromkeys((KEEP_RECENT_TURNS, 1, 0)):
            plan = self._plan(request.messages, sizes, fixed, budget, chunk, keep)
            if plan.tokens <= budget:
                self._fitted(plan.tokens, plan.elided)
                return request.model_copy(update={"messages": plan.messages})
        raise ContextDoesNotFit(
            f"With every earlier turn left out the request still needs about {plan.tokens} "
            f"tokens (system prompt and tool definitions: {fixed}), more than the {budget} "
            f"the context window of {request.model} leaves for input.",
            model=request.model,
            estimated_tokens=plan.tokens,
            budget_tokens=budget,
        )

    def _fitted(self, tokens: int, elided: int) -> None:
        self.cut_moved = elided != self.last_elided
        self.last_tokens, self.last_elided = tokens, elided

    def _plan(
        self,
        messages: Sequence[Message],
        sizes: Sequence[int],
        fixed: int,
        budget: int,
        chunk: int,
        keep: int,
    ) -> _Plan:
        out = list(messages)
        sizes = list(sizes)
        total = fixed + sum(sizes)
        protected = protected_from(messages, keep)
        # Step 1: shorten old messages, oldest first, until the chunked target is saved.
        target = _chunks(total - budget, chunk)
        saved = 0
        for index in range(1, protected):
            if saved >= target:
                break
            short, tokens = self._shortened(messages[index])
            if short is not messages[index]:
                saved += sizes[index] - tokens
                out[index], sizes[index] = short, tokens
        total -= saved
        if total <= budget:
            return _Plan(out, total, 0)
        # Step 2: leave out the oldest whole turns, in chunks, with a note on the task.
        target = _chunks(total - budget, chunk)
        cuts = {i for i in range(2, min(protected, len(out) - 1) + 1) if _is_assistant(out[i])}
        if not cuts:
            return _Plan(out, total, 0)
        cut, dropped, calls = max(cuts), 0, Counter[str]()
        for index in range(1, max(cuts)):
            dropped += sizes[index]
            calls.update(use.name for use in out[index].tool_uses)
            if index + 1 in cuts and dropped - _note_tokens(calls) >= target:
                cut = index + 1
                break
        left_out = out[1:cut]
        note = _note(left_out)
        task = out[0].model_copy(update={"content": [*out[0].content, TextBlock(text=note)]})
        task_tokens = sizes[0] + _note_tokens(_calls(left_out))
        total = total - sum(sizes[:cut]) + task_tokens
        return _Plan([task, *out[cut:]], total, len(left_out))

    def _shortened(self, message: Message) -> tuple[Message, int]:
        """The message with large tool inputs and results replaced by notes (cached)."""
        entry = self._short.get(id(message))
        if entry is not None and entry[0] is message:
            return entry[1], entry[2]
        short = shorten_message(message)
        tokens = self.estimator.message_tokens(short)
        self._short[id(message)] = (message, short, tokens)
        return short, tokens


def protected_from(messages: Sequence[Message], keep: int) -> int:
    """Index of the first message of the last ``keep`` turns (``len`` when ``keep`` is 0)."""
    if keep <= 0:
        return len(messages)
    seen = 0
    for index in range(len(messages) - 1, 0, -1):
        if messages[index].role is Role.ASSISTANT:
            seen += 1
            if seen == keep:
                return index
    return 1


def shorten_message(message: Message) -> Message:
    """``message`` with large tool-call inputs and tool results replaced by notes.

    Returns ``message`` itself when nothing in it is large enough to shorten.
    """
    blocks: list[ContentBlock] = []
    changed = False
    for block in message.content:
        new = block
        if isinstance(block, ToolResultBlock) and len(block.content) > SHORTEN_OVER:
            if not block.content.startswith("[output elided"):
                new = block.model_copy(update={"content": ELIDED.format(n=len(block.content))})
        elif isinstance(block, ToolUseBlock):
            arguments = {key: _shorten_value(value) for key, value in block.input.items()}
            if arguments != block.input:
                new = block.model_copy(update={"input": arguments})
        changed = changed or new is not block
        blocks.append(new)
    return message.model_copy(update={"content": blocks}) if changed else message


def _shorten_value(value: Any) -> Any:
    """A tool argument as it is sent once old: small values as they were, large ones noted."""
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) <= SHORTEN_OVER:
        return value
    return ELIDED_INPUT.format(n=len(text), head=json.dumps(text[:HEAD] + "…", ensure_ascii=False))


def _chunks(excess: int, chunk: int) -> int:
    """``excess`` rounded up to whole chunks (0 when nothing is in excess)."""
    return 0 if excess <= 0 else -(-excess // chunk) * chunk


def _is_assistant(message: Message) -> bool:
    return message.role is Role.ASSISTANT


def _calls(messages: Sequence[Message]) -> Counter[str]:
    return Counter(use.name for m in messages for use in m.tool_uses)


def _note(left_out: Sequence[Message]) -> str:
    calls = _calls(left_out)
    tools = ", ".join(f"{name} {n}" for name, n in sorted(calls.items())) or "none"
    turns = sum(1 for m in left_out if m.role is Role.ASSISTANT)
    return ELIDED_TURNS.format(messages=len(left_out), turns=turns, tools=tools)


def _note_tokens(calls: Counter[str]) -> int:
    """An upper bound of the note's tokens: JSON framing, counts of up to 6 digits."""
    tools = sum(len(json.dumps(name)) + 20 for name in calls)
    return -(-(len(ELIDED_TURNS) + 64 + tools) // CHARS_PER_TOKEN)
