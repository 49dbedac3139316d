"""``${{ }}`` inside pipeline values, and ``if:`` conditions with GitHub's implicit success()."""

from __future__ import annotations

import math
from typing import Any

import pytest

from orchestrate.pipelines.expressions import (
    ExpressionError,
    StatusFunctions,
    condition_uses_status_function,
    evaluate_condition,
    evaluate_value,
    find_expressions,
    interpolate,
    to_string,
)

from .builders import make_context

SUCCEEDED = StatusFunctions()
FAILED = StatusFunctions(success=False, failure=True)
CANCELLED = StatusFunctions(success=False, cancelled=True)


class TestFindExpressions:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("no expressions here", []),
            ("", []),
            ("Hello ${{ inputs.name }}!", [(10, "inputs.name")]),
            ("${{a}}", [(3, "a")]),
            ("${{   a   }}", [(6, "a")]),
            ("${{\n  a == b\n}}", [(6, "a == b")]),
            ("${{ a }}${{ b }}", [(4, "a"), (12, "b")]),
            ("x ${{ a }} y ${{ b }} z", [(6, "a"), (17, "b")]),
            ("${{ '}}' }}", [(4, "'}}'")]),
            ("${{ 'it''s }}' }}", [(4, "'it''s }}'")]),
            ("${{ format('{{0}}', 1) }}", [(4, "format('{{0}}', 1)")]),
            ("${{ a }}}", [(4, "a")]),
            ("${{ }}", [(4, "")]),
            ("echo 1\necho ${{ x }}", [(16, "x")]),
            ("$ {{ a }}", []),
            ("{{ a }}", []),
            ("a }} b", []),
            ("$${{ a }}", [(5, "a")]),
        ],
    )
    def test_each_expression_is_found_with_the_offset_of_its_text(
        self, text: str, expected: list[tuple[int, str]]
    ) -> None:
        found = find_expressions(text)

        assert found == expected
        for offset, inner in found:
            assert text[offset : offset + len(inner)] == inner

    @pytest.mark.parametrize(
        ("text", "offset"),
        [("a ${{ b", 2), ("${{ a }} ${{ b", 9), ("${{ '}}", 0), ("${{ a }", 0)],
    )
    def test_an_unclosed_expression_is_an_error_at_its_opening(
        self, text: str, offset: int
    ) -> None:
        with pytest.raises(ExpressionError, match="never closed") as caught:
            find_expressions(text)

        assert caught.value.offset == offset
        assert caught.value.expression == text
        assert caught.value.hint == "End the expression with '}}'"


class TestInterpolate:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("plain text", "plain text"),
            ("braces {{ }} and $ stay", "braces {{ }} and $ stay"),
            ("Hello ${{ inputs.name }}!", "Hello Mona!"),
            ("${{ inputs.name }}", "Mona"),
            ("n=${{ inputs.count }}", "n=3"),
            ("r=${{ inputs.ratio }}", "r=0.5"),
            ("f=${{ 1.0 }}", "f=1"),
            ("big=${{ 1e20 }}", "big=1E+20"),
            ("b=${{ inputs.flag }} ${{ !inputs.flag }}", "b=true false"),
            ("null=[${{ inputs.missing }}]", "null=[]"),
            ("${{ inputs.name }}-${{ inputs.count }}", "Mona-3"),
            ("${{ 'a' }}${{ 'b' }}", "ab"),
            ("${{ '}}' }}", "}}"),
            ("nan=${{ NaN }}", "nan=NaN"),
            ("${{ join(github.event.issue.labels.*.name, ', ') }}", "bug, help wanted"),
            ("${{ fruits.*.name }}", '[\n  "apple",\n  "orange",\n  "pear"\n]'),
            ("${{ steps.build.outputs }}", '{\n  "n": "3"\n}'),
            ("run ${{ github.ref == 'refs/heads/main' && 'deploy' || 'test' }}", "run deploy"),
        ],
    )
    def test_each_expression_is_replaced_by_its_value_as_text(
        self, text: str, expected: str
    ) -> None:
        assert interpolate(text, make_context()) == expected

    def test_text_without_expressions_is_returned_unchanged(self) -> None:
        text = "echo '}}' {{ x }}"

        assert interpolate(text, {}) is text

    def test_a_syntax_error_is_located_in_the_whole_text(self) -> None:
        text = "echo ${{ a == ) }}"

        with pytest.raises(ExpressionError) as caught:
            interpolate(text, {})

        assert caught.value.offset == 14
        assert text[caught.value.offset] == ")"
        assert caught.value.expression == text
        assert "at column 6 of 'a == )'" in caught.value.message

    def test_an_evaluation_error_is_located_in_the_whole_text(self) -> None:
        text = "line one\nvalue: ${{ 1 && fromJSON(inputs.name) }}"

        with pytest.raises(ExpressionError, match="fromJSON cannot read") as caught:
            interpolate(text, make_context())

        assert text[caught.value.offset :].startswith("fromJSON(")

    def test_an_empty_expression_is_an_error(self) -> None:
        with pytest.raises(ExpressionError, match="Expected an expression") as caught:
            interpolate("a ${{ }} b", {})

        assert caught.value.offset == 6

    def test_status_functions_are_refused_outside_conditions(self) -> None:
        with pytest.raises(ExpressionError, match="only allowed in 'if'"):
            interpolate("${{ success() }}", {})


class TestEvaluateValue:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("${{ fromJSON(needs.plan.outputs.list) }}", [1, 2]),
            ("${{ fromJSON(needs.plan.outputs.matrix) }}", {"include": [{"project": "foo"}]}),
            ("  ${{ inputs.count }}  ", 3),
            ("${{ inputs.flag }}", True),
            ("${{ null }}", None),
            ("${{ inputs.ratio }}", 0.5),
            ("${{ fruits.*.name }}", ["apple", "orange", "pear"]),
            ("${{ inputs.count }}-${{ inputs.count }}", "3-3"),
            ("${{ 'a' }} ${{ 'b' }}", "a b"),
            ("count: ${{ inputs.count }}", "count: 3"),
            ("plain", "plain"),
            ("", ""),
            (3, 3),
            (2.5, 2.5),
            (True, True),
            (None, None),
            (["${{ inputs.count }}", "x${{ inputs.name }}", 7], [3, "xMona", 7]),
            (
                {"matrix": "${{ fromJSON(needs.plan.outputs.list) }}", "static": False},
                {"matrix": [1, 2], "static": False},
            ),
            (
                {"outer": {"inner": ["${{ inputs.flag && 'on' }}"]}},
                {"outer": {"inner": ["on"]}},
            ),
            ({"key-${{ inputs.name }}": 1}, {"key-Mona": 1}),
            ({1: "${{ 1 }}"}, {1: 1}),
        ],
    )
    def test_a_value_is_evaluated_keeping_the_type_of_a_lone_expression(
        self, value: Any, expected: Any
    ) -> None:
        result = evaluate_value(value, make_context())

        assert result == expected
        assert type(result) is type(expected)

    def test_a_filtered_array_comes_out_as_a_plain_list(self) -> None:
        assert type(evaluate_value("${{ steps.*.outcome }}", make_context())) is list

    def test_an_error_is_located_in_the_string_that_held_it(self) -> None:
        with pytest.raises(ExpressionError) as caught:
            evaluate_value({"with": ["ok", "  ${{ nope( }}"]}, {})

        assert caught.value.expression == "  ${{ nope( }}"
        assert caught.value.offset == 11


class TestEvaluateCondition:
    @pytest.mark.parametrize(
        ("condition", "status", "expected"),
        [
            (None, SUCCEEDED, True),
            (None, FAILED, False),
            (None, CANCELLED, False),
            ("", SUCCEEDED, True),
            ("  ", FAILED, False),
            (True, SUCCEEDED, True),
            (True, FAILED, False),
            (False, SUCCEEDED, False),
            ("true", FAILED, False),
            ("github.ref == 'refs/heads/main'", SUCCEEDED, True),
            ("github.ref == 'refs/heads/main'", FAILED, False),
            ("github.ref == 'refs/heads/dev'", SUCCEEDED, False),
            ("${{ github.ref == 'refs/heads/main' }}", SUCCEEDED, True),
            ("  ${{ github.ref == 'refs/heads/main' }}  ", FAILED, False),
            ("${{ success() }}", SUCCEEDED, True),
            ("${{ success() }}", FAILED, False),
            ("failure()", FAILED, True),
            ("failure()", SUCCEEDED, False),
            ("${{ failure() }}", FAILED, True),
            ("always()", FAILED, True),
            ("always()", CANCELLED, True),
            ("${{ always() }}", SUCCEEDED, True),
            ("cancelled()", CANCELLED, True),
            ("cancelled()", FAILED, False),
            ("!cancelled()", FAILED, True),
            ("success() || failure()", FAILED, True),
            ("success() || failure()", CANCELLED, False),
            ("failure() && steps.demo.conclusion == 'failure'", FAILED, True),
            ("failure() && steps.build.conclusion == 'failure'", FAILED, False),
            ("always() && inputs.flag", CANCELLED, True),
            ("inputs.name", SUCCEEDED, True),
            ("inputs.empty", SUCCEEDED, False),
            ("inputs.missing", SUCCEEDED, False),
            ("inputs.count", SUCCEEDED, True),
            ("'0'", SUCCEEDED, True),
            ("0", SUCCEEDED, False),
            ("fruits", SUCCEEDED, True),
            ("${{ false }}", SUCCEEDED, False),
            ("${{ inputs.flag }}", SUCCEEDED, True),
            ("contains(github.event.issue.labels.*.name, 'bug')", SUCCEEDED, True),
        ],
    )
    def test_a_condition_holds_as_on_github(
        self, condition: str | bool | None, status: StatusFunctions, expected: bool
    ) -> None:
        assert evaluate_condition(condition, make_context(), status) is expected

    def test_text_around_an_expression_makes_a_template_that_is_true_when_non_empty(
        self,
    ) -> None:
        # GitHub's well-known trap: this is the string "false && true", not a comparison.
        assert evaluate_condition("${{ false }} && true", {}, SUCCEEDED) is True
        assert evaluate_condition("${{ false }} && true", {}, FAILED) is False
        assert evaluate_condition("${{ '' }}${{ '' }}", {}, SUCCEEDED) is False

    def test_a_template_condition_with_a_status_function_runs_after_a_failure(self) -> None:
        assert evaluate_condition("${{ failure() }}${{ '' }}", {}, FAILED) is True
        assert evaluate_condition("${{ failure() }}${{ '' }}", {}, SUCCEEDED) is True

    def test_the_implicit_success_check_skips_the_condition_after_a_failure(self) -> None:
        assert evaluate_condition("fromJSON('not json')", {}, FAILED) is False

        with pytest.raises(ExpressionError, match="fromJSON cannot read"):
            evaluate_condition("fromJSON('not json')", {}, SUCCEEDED)

    def test_a_syntax_error_is_reported_even_when_the_condition_would_be_skipped(self) -> None:
        with pytest.raises(ExpressionError) as caught:
            evaluate_condition("${{ a == ) }}", {}, FAILED)

        assert caught.value.offset == 9

    def test_a_bare_condition_reports_offsets_in_its_own_text(self) -> None:
        with pytest.raises(ExpressionError) as caught:
            evaluate_condition("success() && starts(x)", {}, SUCCEEDED)

        assert caught.value.offset == 13
        assert caught.value.hint == "Did you mean 'startsWith'?"


class TestConditionUsesStatusFunction:
    @pytest.mark.parametrize(
        ("condition", "expected"),
        [
            (None, False),
            (True, False),
            (False, False),
            ("", False),
            ("success()", True),
            ("FAILURE()", True),
            ("!cancelled()", True),
            ("x == 1 || always()", True),
            ("x == 1", False),
            ("contains('failure()', x)", False),
            ("${{ always() }}", True),
            ("${{ x }}", False),
            ("${{ x }} and ${{ cancelled() }}", True),
            ("  ${{ success() }}  ", True),
        ],
    )
    def test_status_function_calls_are_detected(
        self, condition: str | bool | None, expected: bool
    ) -> None:
        assert condition_uses_status_function(condition) is expected

    def test_a_syntax_error_is_raised_rather_than_guessed(self) -> None:
        with pytest.raises(ExpressionError):
            condition_uses_status_function("success(")


class TestToString:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, ""),
            (True, "true"),
            (False, "false"),
            (0, "0"),
            (1, "1"),
            (1.0, "1"),
            (-2.0, "-2"),
            (-0.0, "0"),
            (0.5, "0.5"),
            (1234.56, "1234.56"),
            (123456789012345, "123456789012345"),
            (1234567890123456, "1.23456789012346E+15"),
            (1e20, "1E+20"),
            (1e-4, "0.0001"),
            (1e-7, "1E-07"),
            (0.1 + 0.2, "0.3"),
            (0.84551240822557006, "0.84551240822557"),
            (math.nan, "NaN"),
            (math.inf, "Infinity"),
            (-math.inf, "-Infinity"),
            (10**400, "Infinity"),
            ("text", "text"),
            ("", ""),
            ([], "[]"),
            ({}, "{}"),
            ([1, "a", None], '[\n  1,\n  "a",\n  null\n]'),
            ({"a": {"b": [1.0]}}, '{\n  "a": {\n    "b": [\n      1\n    ]\n  }\n}'),
        ],
    )
    def test_values_print_as_github_prints_them(self, value: Any, expected: str) -> None:
        assert to_string(value) == expected
