"""Literals and operators behave as in GitHub Actions: loose equality, case-insensitive
strings, operand-returning && and ||, GitHub's precedence."""

from __future__ import annotations

import math
from typing import Any

import pytest

from orchestrate.pipelines.expressions import is_truthy

from .builders import evaluate


class TestLiterals:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("null", None),
            ("true", True),
            ("false", False),
            ("0", 0),
            ("99", 99),
            ("-9.2", -9.2),
            ("+7", 7),
            ("0xff", 255),
            ("0xFF", 255),
            ("0o10", 8),
            ("-2.99e-2", -0.0299),
            ("1.2E+2", 120.0),
            ("1.2e2", 120.0),
            (".5", 0.5),
            ("-.5", -0.5),
            ("1.", 1.0),
            ("Infinity", math.inf),
            ("-Infinity", -math.inf),
            ("'Mona the Octocat'", "Mona the Octocat"),
            ("'It''s open source!'", "It's open source!"),
            ("''", ""),
            ("''''", "'"),
            ("'say \"hi\"'", 'say "hi"'),
            ("'${{ not an expression }}'", "${{ not an expression }}"),
            ("  'padded'  ", "padded"),
        ],
    )
    def test_a_literal_evaluates_to_its_value(self, text: str, expected: Any) -> None:
        assert evaluate(text) == expected

    def test_nan_is_a_number_literal(self) -> None:
        assert math.isnan(evaluate("NaN"))

    def test_integer_literals_stay_integers_so_matrices_get_whole_numbers(self) -> None:
        assert type(evaluate("3")) is int
        assert type(evaluate("0x10")) is int
        assert type(evaluate("3.0")) is float

    def test_hex_literals_wrap_around_like_a_32_bit_integer(self) -> None:
        assert evaluate("0xFFFFFFFF") == -1


class TestEquality:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("null == null", True),
            ("null == 0", True),
            ("null == false", True),
            ("null == ''", True),
            ("null == '0'", True),
            ("null == 1", False),
            ("null == 'abc'", False),
            ("0 == ''", True),
            ("0 == '  '", True),
            ("1 == '1'", True),
            ("1 == '1.0'", True),
            ("1 == ' 1 '", True),
            ("255 == '0xff'", True),
            ("8 == '0o10'", True),
            ("1 == 'abc'", False),
            ("1000 == 1e3", True),
            ("1 == 1.0", True),
            ("0.1 == '0.1'", True),
            ("true == 1", True),
            ("true == 2", False),
            ("true == '1'", True),
            ("true == 'true'", False),
            ("false == ''", True),
            ("false == 0", True),
            ("false == '0'", True),
            ("true == true", True),
            ("true == false", False),
            ("'abc' == 'abc'", True),
            ("'abc' == 'ABC'", True),
            ("'Straße' == 'STRASSE'", False),
            ("'ÄÖÜ' == 'äöü'", True),
            ("'abc' == 'abd'", False),
            ("NaN == NaN", False),
            ("Infinity == 'Infinity'", True),
            ("-Infinity == '-Infinity'", True),
            ("Infinity == Infinity", True),
            ("-0 == 0", True),
            ("fromJSON('[]') == fromJSON('[]')", False),
            ("fromJSON('{}') == fromJSON('{}')", False),
            ("fromJSON('[]') == 0", False),
            ("fromJSON('[]') == null", False),
            ("fromJSON('{}') == true", False),
            ("fromJSON('[]') == ''", False),
        ],
    )
    def test_equality_coerces_different_kinds_to_numbers(self, text: str, expected: bool) -> None:
        assert evaluate(text) is expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1 != 2", True),
            ("1 != '1'", False),
            ("'a' != 'A'", False),
            ("NaN != NaN", True),
            ("null != false", False),
        ],
    )
    def test_inequality_is_the_negation_of_equality(self, text: str, expected: bool) -> None:
        assert evaluate(text) is expected

    def test_an_array_equals_only_the_same_array(self) -> None:
        assert evaluate("fruits == fruits") is True
        assert evaluate("fruits != fruits") is False

    def test_an_object_equals_only_the_same_object(self) -> None:
        assert evaluate("github.event == github.event") is True
        assert evaluate("github.event == github['event']") is True
        assert evaluate("github.event == fromJSON(toJSON(github.event))") is False

    def test_docs_example_comparing_the_ref_with_a_string(self) -> None:
        assert evaluate("github.ref == 'refs/heads/main'") is True
        assert evaluate("github.ref == 'REFS/HEADS/MAIN'") is True
        assert evaluate("github.ref != 'refs/heads/main'") is False


class TestOrdering:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1 < 2", True),
            ("2 < 1", False),
            ("1 < 1", False),
            ("1 <= 1", True),
            ("2 <= 1", False),
            ("2 > 1", True),
            ("1 > 1", False),
            ("1 >= 1", True),
            ("0 >= 1", False),
            ("1.001 < 1.002", True),
            ("-Infinity < -1e300", True),
            ("'abc' < 'abd'", True),
            ("'b' < 'a'", False),
            ("'a' < 'B'", True),
            ("'B' > 'a'", True),
            ("'abc' >= 'ABC'", True),
            ("'abc' <= 'ABC'", True),
            ("'_' > 'a'", True),
            ("'10' < '9'", True),
            ("10 < '9'", False),
            ("'10' > 9", True),
            ("0 < ' 1 '", True),
            ("null < 1", True),
            ("null < 0", False),
            ("null <= null", True),
            ("null < null", False),
            ("null >= false", True),
            ("false < true", True),
            ("true > false", True),
            ("true < true", False),
            ("true >= 1", True),
            ("false < 1", True),
            ("true < 2", True),
            ("false < '1'", True),
            ("'' < null", False),
            ("'-1' < null", True),
            ("NaN < 1", False),
            ("NaN > 1", False),
            ("NaN <= NaN", False),
            ("NaN >= NaN", False),
            ("'abc' < 1", False),
            ("'abc' > 1", False),
            ("fromJSON('[]') < 1", False),
            ("fromJSON('{}') > 0", False),
            ("0 < fromJSON('[]')", False),
        ],
    )
    def test_ordering_coerces_like_equality(self, text: str, expected: bool) -> None:
        assert evaluate(text) is expected

    def test_the_same_array_is_less_or_equal_to_itself_but_not_less(self) -> None:
        assert evaluate("fruits <= fruits") is True
        assert evaluate("fruits >= fruits") is True
        assert evaluate("fruits < fruits") is False

    def test_a_context_number_compares_with_a_string_output(self) -> None:
        assert evaluate("inputs.count == steps.build.outputs.n") is True
        assert evaluate("inputs.count >= steps.build.outputs.n") is True


class TestTruthiness:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("!null", True),
            ("!false", True),
            ("!0", True),
            ("!-0", True),
            ("!0.0", True),
            ("!''", True),
            ("!NaN", True),
            ("!true", False),
            ("!1", False),
            ("!-1", False),
            ("!Infinity", False),
            ("!'0'", False),
            ("!'false'", False),
            ("!' '", False),
            ("!fromJSON('[]')", False),
            ("!fromJSON('{}')", False),
            ("!!'a'", True),
            ("!!''", False),
            ("! inputs.empty", True),
            ("!inputs.missing", True),
        ],
    )
    def test_not_returns_a_boolean_by_truthiness(self, text: str, expected: bool) -> None:
        assert evaluate(text) is expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, False),
            (False, False),
            (0, False),
            (-0.0, False),
            (0.0, False),
            (math.nan, False),
            ("", False),
            (True, True),
            (1, True),
            (-1.5, True),
            (math.inf, True),
            ("0", True),
            ("false", True),
            ([], True),
            ({}, True),
            (10**400, True),
        ],
    )
    def test_is_truthy_follows_github(self, value: Any, expected: bool) -> None:
        assert is_truthy(value) is expected


class TestLogicalOperators:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("'a' && 'b'", "b"),
            ("'' && 'b'", ""),
            ("0 && 'b'", 0),
            ("null && 'b'", None),
            ("1 && 0 && 2", 0),
            ("1 && 2 && 3", 3),
            ("'a' || 'b'", "a"),
            ("0 || 'x'", "x"),
            ("null || 0", 0),
            ("null || false || ''", ""),
            ("false || null || 'last'", "last"),
            ("true && true", True),
            ("true && false", False),
            ("false || true", True),
            ("inputs.missing || 'default'", "default"),
            ("inputs.name || 'default'", "Mona"),
        ],
    )
    def test_and_and_or_return_the_deciding_operand(self, text: str, expected: Any) -> None:
        result = evaluate(text)

        assert result == expected
        assert type(result) is type(expected)

    def test_docs_example_of_a_ternary_like_expression(self) -> None:
        text = "github.ref == 'refs/heads/main' && 'value_for_main_branch' || 'value_for_other'"

        assert evaluate(text) == "value_for_main_branch"
        assert evaluate(text, github={"ref": "refs/heads/dev"}) == "value_for_other"

    def test_and_returns_an_array_operand_itself(self) -> None:
        assert evaluate("true && fruits") == evaluate("fruits")

    @pytest.mark.parametrize(
        "text",
        [
            "false && fromJSON('not json')",
            "'' && fromJSON('not json')",
            "true || fromJSON('not json')",
            "'x' || fromJSON('not json')",
            "true || false && fromJSON('not json')",
        ],
    )
    def test_the_right_side_is_not_evaluated_once_the_result_is_known(self, text: str) -> None:
        evaluate(text)


class TestPrecedence:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("!inputs.flag", False),
            ("(!inputs).flag", None),
            ("3 > inputs.count", False),
            ("4 > inputs['count']", True),
            ("!2 < 3", True),
            ("!(2 < 3)", False),
            ("3 < 2 < 1", True),
            ("3 < (2 < 1)", False),
            ("0 > 0 < 1", True),
            ("2 > 2 > 0", False),
            ("2 > (2 > 0)", True),
            ("2 <= 3 == true", True),
            ("2 <= (3 == true)", False),
            ("2 == 2 == 1", True),
            ("2 == (2 == 1)", False),
            ("2 == 2 != 0", True),
            ("1 == 1 && 2", 2),
            ("1 == (1 && 2)", False),
            ("'a' == 'a' && 'b'", "b"),
            ("false && 0 || null", None),
            ("false && (0 || null)", False),
            ("1 || 2 && 3", 1),
            ("(1 || 2) && 3", 3),
            ("!false && !0", True),
            ("'a' < 'b' == 'c' < 'd'", True),
        ],
    )
    def test_operators_bind_in_githubs_order(self, text: str, expected: Any) -> None:
        assert evaluate(text) == expected

    def test_whitespace_between_tokens_does_not_matter(self) -> None:
        assert evaluate("  ( 1<2 )&&( 'a'=='A' )  ") is True
