"""The one protocol every language-model provider implements."""

from __future__ import annotations

from typing import Protocol

from orchestrate.llm.models import CompletionRequest, CompletionResponse


class Provider(Protocol):
    """Sends a conversation to a model and returns its next message.

    Implementations retry transient failures themselves (429, 529, 5xx, honouring
    ``retry-after``) and raise ``ProviderError`` when they give up,
    ``ContextWindowExceeded`` when the request is too long for the model.
    """

    name: str

    async def complete(self, request: CompletionRequest) -> CompletionResponse: ...

    async def aclose(self) -> None: ...
