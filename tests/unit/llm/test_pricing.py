"""Model prices and context windows: lookup by name and family, overrides, exact money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrate.core.errors import ConfigurationError
from orchestrate.llm.models import Usage
from orchestrate.llm.pricing import DEFAULT_CONTEXT_WINDOW, context_window, cost_of, price_of

MILLION = 1_000_000


class TestLookup:
    @pytest.mark.parametrize(
        ("model", "input_price", "output_price"),
        [
            ("claude-sonnet-4-5", "3", "15"),
            ("claude-opus-4-1", "15", "75"),
            ("claude-haiku-4-5", "1", "5"),
            ("gpt-4o", "2.50", "10"),
            ("gpt-4o-mini", "0.15", "0.60"),
            ("gpt-4.1", "2", "8"),
            ("o3", "2", "8"),
        ],
    )
    def test_a_known_model_has_its_list_price(
        self, model: str, input_price: str, output_price: str
    ) -> None:
        price = price_of(model)

        assert price.input == Decimal(input_price)
        assert price.output == Decimal(output_price)

    @pytest.mark.parametrize(
        ("model", "family"),
        [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("claude-opus-4-20250514", "claude-opus-4-1"),
            ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
            ("claude-sonnet-4-6", "claude-sonnet-4-5"),
            ("claude-opus-4-7", "claude-opus-4-5"),
            ("claude-opus-5", "claude-opus-4-5"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ],
    )
    def test_a_dated_or_newer_model_is_priced_like_its_family(
        self, model: str, family: str
    ) -> None:
        assert price_of(model) == price_of(family)

    def test_claude_cache_reads_cost_a_tenth_and_writes_a_quarter_more_than_input(self) -> None:
        price = price_of("claude-sonnet-4-5")

        assert price.cache_read == Decimal("0.3")
        assert price.cache_write == Decimal("3.75")

    @pytest.mark.parametrize("model", ["llama3.1:8b", "qwen2.5-coder", "my-fine-tune"])
    def test_an_unknown_or_local_model_is_free_with_the_default_context_window(
        self, model: str
    ) -> None:
        usage = Usage(input_tokens=MILLION, output_tokens=MILLION)

        assert cost_of(model, usage) == 0
        assert context_window(model) == DEFAULT_CONTEXT_WINDOW == 128_000

    def test_context_windows_come_from_the_table(self) -> None:
        assert context_window("claude-sonnet-4-5") == 200_000
        assert context_window("gpt-4o") == 128_000
        assert context_window("gpt-4.1") == 1_047_576


class TestCost:
    def test_every_kind_of_token_is_charged_at_its_own_rate(self) -> None:
        usage = Usage(
            input_tokens=1_000,
            output_tokens=500,
            cache_read_tokens=10_000,
            cache_write_tokens=2_000,
        )

        cost = cost_of("claude-sonnet-4-5", usage)

        # 1000*3 + 500*15 + 10000*0.3 + 2000*3.75 = 3000 + 7500 + 3000 + 7500 per million
        assert cost == Decimal("0.021")

    def test_money_is_exact_decimal(self) -> None:
        cost = cost_of("gpt-4o-mini", Usage(input_tokens=1, output_tokens=1))

        assert isinstance(cost, Decimal)
        assert cost == Decimal("0.00000075")

    def test_no_tokens_cost_nothing(self) -> None:
        assert cost_of("claude-opus-4-1", Usage()) == 0


class TestUnknownReplyModel:
    def test_a_reply_naming_an_unknown_model_is_priced_as_the_model_asked_for(self) -> None:
        usage = Usage(input_tokens=MILLION, output_tokens=MILLION)

        cost = cost_of("sonnet-latest-alias", usage, fallback="claude-sonnet-4-5")

        assert cost == Decimal(18)  # $3 input + $15 output per million

    def test_a_known_reply_model_keeps_its_own_price(self) -> None:
        usage = Usage(input_tokens=MILLION)

        assert cost_of("claude-haiku-4-5", usage, fallback="claude-opus-4-5") == Decimal(1)

    def test_a_model_priced_by_an_override_is_known(self) -> None:
        overrides = {"llama3.1": {"input": Decimal("0.1")}}
        usage = Usage(input_tokens=MILLION)

        assert cost_of("llama3.1:8b", usage, overrides, fallback="gpt-4o") == Decimal("0.1")

    def test_when_neither_is_known_the_call_is_free(self) -> None:
        usage = Usage(input_tokens=MILLION)

        assert cost_of("my-alias", usage, fallback="my-fine-tune") == 0


class TestOverrides:
    def test_an_override_replaces_the_built_in_price(self) -> None:
        overrides = {"claude-sonnet-4-5": {"input": Decimal(1), "output": Decimal(2)}}

        cost = cost_of(
            "claude-sonnet-4-5", Usage(input_tokens=MILLION, output_tokens=MILLION), overrides
        )

        assert cost == Decimal(3)

    def test_an_override_keeps_the_fields_it_does_not_name(self) -> None:
        overrides = {"claude-sonnet-4-5": {"output": Decimal(20)}}

        price = price_of("claude-sonnet-4-5", overrides)

        assert price.input == Decimal(3)
        assert price.output == Decimal(20)
        assert price.context_window == 200_000

    def test_an_override_prices_a_local_model_and_sets_its_context_window(self) -> None:
        overrides = {
            "llama3.1": {
                "input": Decimal("0.1"),
                "output": Decimal("0.2"),
                "context_window": Decimal(32_768),
            }
        }

        assert context_window("llama3.1:70b", overrides) == 32_768
        assert cost_of("llama3.1:70b", Usage(input_tokens=MILLION), overrides) == Decimal("0.1")

    def test_an_override_with_a_misspelt_field_is_a_configuration_error(self) -> None:
        overrides = {"gpt-4o": {"inputs": Decimal(1)}}

        with pytest.raises(ConfigurationError, match=r"unknown field.*inputs"):
            price_of("gpt-4o", overrides)
