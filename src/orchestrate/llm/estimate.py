"""How many input tokens a request will cost, per provider, each message measured once.

The agent loop must know the size of its next request before sending it, so that it
never sends one the model cannot read. There is no offline tokenizer for every model,
so the estimate is the length of the request *as the provider sends it* (the JSON the
Anthropic Messages API or Chat Completions receives, built by the provider module's
own translation) divided by ``CHARS_PER_TOKEN``. The two wire formats differ: Chat
Completions turns every tool result into a message of its own and sends tool
arguments as a JSON string, the Messages API nests blocks, and Anthropic adds a
hidden tool-use system prompt (``TOOL_PROMPT_TOKENS``). JSON escaping and the keys
make the estimate err on the large side, which is the safe side.

Messages in a transcript never change, so a ``RequestEstimator`` measures each message
object once and remembers it: a turn costs one measurement of the new messages plus
a sum, not a re-serialisation of the whole conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrate.llm.models import CompletionRequest, Message, ToolSpec

CHARS_PER_TOKEN = 4
TOOL_PROMPT_TOKENS = {"anthropic": 350, "openai": 0}
"""Tokens a provider adds on its own when a request defines tools (Anthropic documents
a tool-use system prompt of about 350 tokens for current Claude models)."""
REQUEST_OVERHEAD_TOKENS = 16
"""Framing of the request itself (role markers, the reply's priming), on any provider."""

WireChars = Callable[[Message], int]
FixedChars = Callable[[str, Sequence[ToolSpec]], int]


@dataclass(frozen=True)
class _Wire:
    kind: str
    message_chars: WireChars
    fixed_chars: FixedChars


def _wire(kind: str) -> _Wire:
    # The vendor SDKs take seconds to import; only the run's provider is loaded.
    if kind == "anthropic":
        from orchestrate.llm import anthropic

        return _Wire(kind, anthropic.wire_chars, anthropic.fixed_chars)
    from orchestrate.llm import openai_compat

    return _Wire("openai", openai_compat.wire_chars, openai_compat.fixed_chars)


class RequestEstimator:
    """Estimates request sizes for one provider kind, remembering every message it saw.

    Messages are immutable, so a message object is measured once; the cache keeps the
    object itself so a recycled ``id()`` can never return another message's size.
    """

    def __init__(self, wires: Sequence[_Wire]) -> None:
        self._wires = tuple(wires)
        self._messages: dict[int, tuple[Message, int]] = {}
        self._fixed: tuple[str, tuple[ToolSpec, ...], int] | None = None
        self.measured = 0
        """How many messages were serialised so far (what the cache saves, for tests)."""

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(wire.kind for wire in self._wires)

    def message_tokens(self, message: Message) -> int:
        """Tokens ``message`` adds to a request; measured on first sight, then remembered."""
        entry = self._messages.get(id(message))
        if entry is not None and entry[0] is message:
            return entry[1]
        self.measured += 1
        chars = max(wire.message_chars(message) for wire in self._wires)
        tokens = -(-chars // CHARS_PER_TOKEN)
        self._messages[id(message)] = (message, tokens)
        return tokens

    def forget(self, message: Message) -> None:
        """Drop a message the caller will not send again (a one-off copy)."""
        entry = self._messages.get(id(message))
        if entry is not None and entry[0] is message:
            del self._messages[id(message)]

    def fixed_tokens(self, system: str, tools: Sequence[ToolSpec]) -> int:
        """Tokens of everything in a request besides its messages."""
        tools = tuple(tools)
        if self._fixed is not None and self._fixed[0] == system and self._fixed[1] == tools:
            return self._fixed[2]
        tokens = REQUEST_OVERHEAD_TOKENS + max(
            -(-wire.fixed_chars(system, tools) // CHARS_PER_TOKEN)
            + (TOOL_PROMPT_TOKENS.get(wire.kind, 0) if tools else 0)
            for wire in self._wires
        )
        self._fixed = (system, tools, tokens)
        return tokens

    def request_tokens(self, request: CompletionRequest) -> int:
        """The estimated input tokens of ``request`` (output not included)."""
        return self.fixed_tokens(request.system, request.tools) + sum(
            self.message_tokens(message) for message in request.messages
        )


def estimator_for(provider: str) -> RequestEstimator:
    """An estimator for the provider named ``provider`` (``anthropic``, ``openai``, …).

    A replay, or any name without a wire format of its own, is measured both ways and
    the larger size is taken: the recorded session may have come from either.
    """
    kind = provider.strip().partition(":")[0].lower()
    if kind in ("anthropic", "openai"):
        return RequestEstimator([_wire(kind)])
    return RequestEstimator([_wire("anthropic"), _wire("openai")])
