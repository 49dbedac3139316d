"""What a model costs and how much it can read, so budgets and context elision have numbers.

Prices are USD per million tokens, published list prices at the time of writing. A
model is looked up by exact name first, then by the longest known prefix, so a dated
snapshot (``claude-sonnet-4-5-20250929``) or a newer release of a known family
(``claude-sonnet-4-6``, ``claude-opus-5``) gets its family's price. Anything else (a local
Ollama or vLLM model, a fine-tune) costs nothing and is assumed to read ``DEFAULT_CONTEXT_WINDOW``
tokens (a reply naming an unknown model is priced as the model the run asked for,
see ``cost_of``); set ``ORCHESTRATE_PRICING`` (``Settings.pricing``) to correct either::

    {"my-model": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75,
                  "context_window": 200000}}

An override may name only the fields it changes; it is matched like the built-in table
(exact name, then longest prefix) and applied on top of the built-in entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from orchestrate.core.errors import ConfigurationError
from orchestrate.llm.models import Usage

PER_TOKENS = Decimal(1_000_000)
DEFAULT_CONTEXT_WINDOW = 128_000
"""Context window assumed for unknown models; most current local models read at least this."""

Overrides = Mapping[str, Mapping[str, Decimal]]
_Entry = TypeVar("_Entry")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens of each kind, and the context window in tokens."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    context_window: int = DEFAULT_CONTEXT_WINDOW


FREE = ModelPrice(Decimal(0), Decimal(0), Decimal(0), Decimal(0), DEFAULT_CONTEXT_WINDOW)


def _claude(input_price: str, output_price: str) -> ModelPrice:
    # Anthropic bills a 5-minute cache write at 1.25x input and a cache read at 0.1x input.
    base = Decimal(input_price)
    return ModelPrice(
        input=base,
        output=Decimal(output_price),
        cache_read=base * Decimal("0.1"),
        cache_write=base * Decimal("1.25"),
        context_window=200_000,
    )


def _openai(input_price: str, output_price: str, cached: str, context_window: int) -> ModelPrice:
    # OpenAI caches automatically and does not charge extra for writing the cache.
    base = Decimal(input_price)
    return ModelPrice(base, Decimal(output_price), Decimal(cached), base, context_window)


_OPUS_4_5_AND_LATER = _claude("5", "25")
_OPUS_4_AND_4_1 = _claude("15", "75")

BUILT_IN_PRICES: Mapping[str, ModelPrice] = {
    # Anthropic. Family prefixes cover dated snapshots and later minor versions; a Claude
    # model newer than this table is priced like the latest of its family, so budgets
    # still hold (correct it with an override once its price is known).
    "claude": _claude("3", "15"),
    "claude-opus": _OPUS_4_5_AND_LATER,
    "claude-sonnet": _claude("3", "15"),
    "claude-haiku": _claude("1", "5"),
    "claude-opus-4": _OPUS_4_5_AND_LATER,
    "claude-opus-4-0": _OPUS_4_AND_4_1,
    "claude-opus-4-2025": _OPUS_4_AND_4_1,  # claude-opus-4-20250514, the first Opus 4
    "claude-opus-4-1": _OPUS_4_AND_4_1,
    "claude-opus-4-5": _OPUS_4_5_AND_LATER,
    "claude-sonnet-4": _claude("3", "15"),
    "claude-sonnet-4-5": _claude("3", "15"),
    "claude-haiku-4": _claude("1", "5"),
    "claude-haiku-4-5": _claude("1", "5"),
    "claude-3-7-sonnet": _claude("3", "15"),
    "claude-3-5-sonnet": _claude("3", "15"),
    "claude-3-5-haiku": _claude("0.8", "4"),
    # OpenAI.
    "gpt-4o": _openai("2.50", "10", "1.25", 128_000),
    "gpt-4o-mini": _openai("0.15", "0.60", "0.075", 128_000),
    "gpt-4.1": _openai("2", "8", "0.50", 1_047_576),
    "gpt-4.1-mini": _openai("0.40", "1.60", "0.10", 1_047_576),
    "gpt-4.1-nano": _openai("0.10", "0.40", "0.025", 1_047_576),
    "gpt-5": _openai("1.25", "10", "0.125", 400_000),
    "gpt-5-mini": _openai("0.25", "2", "0.025", 400_000),
    "gpt-5-nano": _openai("0.05", "0.40", "0.005", 400_000),
    "o1": _openai("15", "60", "7.50", 200_000),
    "o3": _openai("2", "8", "0.50", 200_000),
    "o3-mini": _openai("1.10", "4.40", "0.55", 200_000),
    "o4-mini": _openai("1.10", "4.40", "0.275", 200_000),
}

_OVERRIDE_FIELDS = ("input", "output", "cache_read", "cache_write", "context_window")


def _lookup(model: str, table: Mapping[str, _Entry]) -> _Entry | None:
    """Exact name, else the longest key that ``model`` starts with."""
    if model in table:
        return table[model]
    prefixes = [key for key in table if model.startswith(key)]
    return table[max(prefixes, key=len)] if prefixes else None


def price_of(model: str, overrides: Overrides | None = None) -> ModelPrice:
    """The price and context window of ``model``, with ``Settings.pricing`` applied."""
    price = _lookup(model, BUILT_IN_PRICES) or FREE
    override = _lookup(model, overrides or {})
    if override is None:
        return price
    unknown = sorted(set(override) - set(_OVERRIDE_FIELDS))
    if unknown:
        raise ConfigurationError(
            f"Pricing override for model {model!r} has unknown field(s) {', '.join(unknown)}; "
            f"use {', '.join(_OVERRIDE_FIELDS)} (USD per million tokens, context in tokens).",
            model=model,
        )
    return ModelPrice(
        input=Decimal(override.get("input", price.input)),
        output=Decimal(override.get("output", price.output)),
        cache_read=Decimal(override.get("cache_read", price.cache_read)),
        cache_write=Decimal(override.get("cache_write", price.cache_write)),
        context_window=int(override.get("context_window", price.context_window)),
    )


def is_priced(model: str, overrides: Overrides | None = None) -> bool:
    """Whether ``model`` has a price, built in or from ``Settings.pricing``."""
    return (
        _lookup(model, BUILT_IN_PRICES) is not None or _lookup(model, overrides or {}) is not None
    )


def cost_of(
    model: str,
    usage: Usage,
    overrides: Overrides | None = None,
    *,
    fallback: str | None = None,
) -> Decimal:
    """USD that one call with ``usage`` cost on ``model``.

    A reply may name a model the table does not know (a provider's alias or a new
    snapshot) although the run asked for a known one; with ``fallback`` (the model
    that was asked for) such a call is priced as that model, not as free, so budgets hold.
    """
    if fallback is not None and not is_priced(model, overrides):
        model = fallback
    price = price_of(model, overrides)
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * price.cache_write
    )
    return total / PER_TOKENS


def context_window(model: str, overrides: Overrides | None = None) -> int:
    """How many tokens ``model`` reads at most (prompt plus output)."""
    return price_of(model, overrides).context_window
