"""Parse errors say what is wrong, where, and what to write instead."""

from __future__ import annotations

import dataclasses

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.expressions import ExpressionError, parse


class TestSyntaxErrors:
    @pytest.mark.parametrize(
        ("text", "offset", "message", "hint"),
        [
            ("a == )", 5, "Unexpected ')' at column 6 of 'a == )'", None),
            ("a ==", 4, "Unexpected end of expression at column 5 of 'a =='", "stops before"),
            ("(a", 2, "Unexpected end of expression", "A '(' is never closed"),
            ("a[1", 3, "Unexpected end of expression", "A '[' is never closed"),
            ("contains(a, b", 13, "Unexpected end of expression", "A '(' is never closed"),
            ("a )", 2, "Unexpected ')'", None),
            ("a b", 2, "Unexpected 'b'", None),
            ("'abc", 0, "Unterminated string at column 1", "End the string with a single quote"),
            ("a == 'it's'", 9, "Unexpected 's'", "double it: 'It''s'"),
            ('a == "main"', 5, "Unexpected character '\"'", "Strings use single quotes"),
            ("a = b", 2, "Unexpected character '='", "Use '=='"),
            ("a === b", 4, "Unexpected character '='", "Use '=='"),
            ("a & b", 2, "Unexpected character '&'", "Use '&&'"),
            ("a | b", 2, "Unexpected character '|'", "Use '||'"),
            ("a and b", 2, "Unexpected 'and'", "Use '&&' for and"),
            ("a OR b", 2, "Unexpected 'OR'", "'||' for or"),
            ("a ? 'x' : 'y'", 2, "Unexpected character '?'", "no ternary operator"),
            ("1 + 2", 2, "Unexpected character '+'", "no arithmetic"),
            ("a - 1", 2, "Unexpected character '-'", "no arithmetic"),
            ("a * 2", 2, "Unexpected '*'", "no arithmetic"),
            ("${{ a }}", 0, "Unexpected character '$'", "without '${{' and '}}'"),
            ("a }}", 2, "Unexpected character '}'", "without '${{' and '}}'"),
            ("foo.1", 4, "Unexpected '1'", "index with brackets"),
            ("foo[1].2", 7, "Unexpected '2'", "index with brackets"),
            ("x.", 2, "Unexpected end of expression", "stops before"),
            ("'abc'.length", 5, "Unexpected '.'", None),
            ("null[0]", 4, "Unexpected '['", None),
            ("true()", 4, "Unexpected '('", None),
            ("a.b(1)", 3, "Unexpected '('", None),
            ("a @ b", 2, "Unexpected character '@'", None),
            ("1abc", 1, "Unexpected 'abc'", None),
            ("f(,)", 2, "Unexpected ','", None),
            ("contains(a,)", 11, "Unexpected ')'", None),
            ("!", 1, "Unexpected end of expression", "stops before"),
            ("()", 1, "Unexpected ')'", None),
            ("a[]", 2, "Unexpected ']'", None),
            ("a.*b", 3, "Unexpected 'b'", None),
            ("*", 0, "Unexpected '*'", "no arithmetic"),
        ],
    )
    def test_a_syntax_error_points_at_the_offending_character(
        self, text: str, offset: int, message: str, hint: str | None
    ) -> None:
        with pytest.raises(ExpressionError) as caught:
            parse(text)

        error = caught.value
        assert error.offset == offset
        assert error.expression == text
        assert message in error.message
        if hint is None:
            assert error.hint is None
        else:
            assert error.hint is not None
            assert hint in error.hint
            assert error.message.endswith(error.hint)

    @pytest.mark.parametrize("text", ["", "   ", "\n\t"])
    def test_an_empty_expression_is_an_error(self, text: str) -> None:
        with pytest.raises(ExpressionError, match="Expected an expression"):
            parse(text)

    def test_an_expression_longer_than_githubs_limit_is_refused(self) -> None:
        with pytest.raises(ExpressionError, match="longer than 21000 characters"):
            parse("a" * 21_001)

    def test_an_expression_nested_deeper_than_githubs_limit_is_refused(self) -> None:
        parse("!" * 49 + "x")

        with pytest.raises(ExpressionError, match="deeper than 50 levels"):
            parse("!" * 50 + "x")

    def test_a_very_deep_expression_fails_cleanly_instead_of_overflowing_the_stack(self) -> None:
        with pytest.raises(ExpressionError, match="deeper than 50 levels"):
            parse("!" * 10_000 + "x")

    def test_a_long_and_chain_is_flat_not_deep(self) -> None:
        expression = parse(" && ".join(["true"] * 200))

        assert expression.evaluate({}) is True

    def test_a_hex_number_beyond_32_bits_is_refused(self) -> None:
        with pytest.raises(ExpressionError, match="Number '0x1FFFFFFFF' is out of range"):
            parse("x == 0x1FFFFFFFF")


class TestFunctionErrors:
    @pytest.mark.parametrize(
        ("text", "offset", "hint"),
        [
            ("startWith(a, 'b')", 0, "Did you mean 'startsWith'?"),
            ("a && endswit(a, 'b')", 5, "Did you mean 'endsWith'?"),
            ("toJson2(a)", 0, "Did you mean 'toJSON'?"),
            ("sucess()", 0, "Did you mean 'success'?"),
            ("hashFiles('**/x')", 0, "Available functions: contains, startsWith"),
            ("frobnicate()", 0, "Available functions:"),
        ],
    )
    def test_an_unknown_function_is_a_parse_error_with_a_suggestion(
        self, text: str, offset: int, hint: str
    ) -> None:
        with pytest.raises(ExpressionError, match="Unknown function") as caught:
            parse(text)

        assert caught.value.offset == offset
        assert caught.value.hint is not None
        assert hint in caught.value.hint

    @pytest.mark.parametrize(
        ("text", "message", "hint"),
        [
            ("contains('a')", "contains() takes 2 arguments but was given 1", "contains(search,"),
            ("contains('a', 'b', 'c')", "contains() takes 2 arguments but was given 3", None),
            ("startsWith()", "startsWith() takes 2 arguments but was given 0", None),
            ("endsWith('a')", "endsWith() takes 2 arguments", None),
            ("join()", "join() takes 1 or 2 arguments but was given 0", "optionalSeparator"),
            ("join(a, b, c)", "join() takes 1 or 2 arguments but was given 3", None),
            ("format()", "format() takes at least 1 argument but was given 0", None),
            ("toJSON()", "toJSON() takes 1 argument but was given 0", None),
            ("fromJSON(a, b)", "fromJSON() takes 1 argument but was given 2", None),
            ("success(1)", "success() takes no arguments but was given 1", None),
            ("ALWAYS(x)", "always() takes no arguments but was given 1", None),
        ],
    )
    def test_a_wrong_number_of_arguments_is_a_parse_error(
        self, text: str, message: str, hint: str | None
    ) -> None:
        with pytest.raises(ExpressionError) as caught:
            parse(text)

        assert message in caught.value.message
        assert caught.value.hint is not None
        assert caught.value.hint.startswith("Call it as ")
        if hint is not None:
            assert hint in caught.value.hint

    def test_format_accepts_many_arguments(self) -> None:
        placeholders = "".join(f"{{{index}}}" for index in range(100))
        arguments = ", ".join(str(index % 10) for index in range(100))

        value = parse(f"format('{placeholders}', {arguments})").evaluate({})

        assert value == "0123456789" * 10


class TestTheError:
    def test_an_expression_error_is_a_validation_failure_carrying_its_location(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            parse("a == )")

        assert isinstance(caught.value, ExpressionError)
        assert caught.value.context == {"expression": "a == )", "offset": 5, "hint": None}

    def test_the_hint_is_part_of_the_message_and_of_the_context(self) -> None:
        with pytest.raises(ExpressionError) as caught:
            parse("a = b")

        assert str(caught.value) == (
            "Unexpected character '=' at column 3 of 'a = b'. Use '==' to compare"
        )
        assert caught.value.context["hint"] == "Use '==' to compare"


class TestExpressions:
    def test_parsing_the_same_text_twice_gives_the_cached_expression(self) -> None:
        assert parse("steps.a.outcome == 'x'") is parse("steps.a.outcome == 'x'")

    def test_an_expression_is_immutable(self) -> None:
        expression = parse("a")

        with pytest.raises(dataclasses.FrozenInstanceError):
            expression.source = "b"  # type: ignore[misc]

    def test_an_expression_keeps_its_source(self) -> None:
        assert parse(" a || b ").source == " a || b "

    def test_an_expression_can_be_evaluated_many_times_with_different_contexts(self) -> None:
        expression = parse("inputs.n > 2")

        assert expression.evaluate({"inputs": {"n": 3}}) is True
        assert expression.evaluate({"inputs": {"n": 1}}) is False
