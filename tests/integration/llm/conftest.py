"""Providers connected to the fake vendor servers, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from orchestrate.llm.anthropic import AnthropicProvider
from orchestrate.llm.openai_compat import OpenAIProvider
from orchestrate.testing import FakeAnthropic, FakeOpenAI

VENDOR_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_CUSTOM_HEADERS",
)


@pytest.fixture(autouse=True)
def no_vendor_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real keys and endpoints must never reach a test."""
    for name in VENDOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def anthropic_for() -> AsyncIterator[Callable[..., AnthropicProvider]]:
    providers: list[AnthropicProvider] = []

    def connect(api: FakeAnthropic, **options: Any) -> AnthropicProvider:
        options.setdefault("api_key", api.api_key)
        provider = AnthropicProvider(base_url=api.base_url, **options)
        providers.append(provider)
        return provider

    yield connect
    for provider in providers:
        await provider.aclose()


@pytest.fixture
async def openai_for() -> AsyncIterator[Callable[..., OpenAIProvider]]:
    providers: list[OpenAIProvider] = []

    def connect(api: FakeOpenAI, **options: Any) -> OpenAIProvider:
        options.setdefault("api_key", api.api_key)
        provider = OpenAIProvider(base_url=api.base_url, **options)
        providers.append(provider)
        return provider

    yield connect
    for provider in providers:
        await provider.aclose()
