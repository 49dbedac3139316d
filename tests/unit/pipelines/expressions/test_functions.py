"""The built-in functions, including every example of GitHub's expressions page."""

from __future__ import annotations

import math
from typing import Any

import pytest

from orchestrate.pipelines.expressions import ExpressionError, StatusFunctions, parse

from .builders import evaluate, make_context


class TestContains:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("contains('Hello world', 'llo')", True),
            ("contains('Hello world', 'LLO')", True),
            ("contains('Hello world', 'xyz')", False),
            ("contains('abc', '')", True),
            ("contains('', 'a')", False),
            ("contains(123, 2)", True),
            ("contains(1.5, '.5')", True),
            ("contains(true, 'RU')", True),
            ("contains(null, '')", True),
            ("contains('abc', null)", True),
            ("contains(github.event.issue.labels.*.name, 'bug')", True),
            ("contains(github.event.issue.labels.*.name, 'BUG')", True),
            ("contains(github.event.issue.labels.*.name, 'bu')", False),
            ('contains(fromJSON(\'["push", "pull_request"]\'), github.event_name)', True),
            ("contains(fromJSON('[1, 2]'), '2')", True),
            ("contains(fromJSON('[true]'), 1)", True),
            ("contains(fromJSON('[null]'), 0)", True),
            ("contains(fromJSON('[]'), null)", False),
            ("contains(fromJSON('[[1]]'), fromJSON('[1]'))", False),
            ("contains(steps, 'build')", False),
            ("contains('abc', fromJSON('[]'))", False),
            ("contains(github.ref, 'refs/heads')", True),
        ],
    )
    def test_contains_searches_strings_and_arrays_ignoring_case(
        self, text: str, expected: bool
    ) -> None:
        assert evaluate(text) is expected

    def test_contains_does_not_evaluate_the_item_when_searching_an_object(self) -> None:
        assert evaluate("contains(steps, fromJSON('not json'))") is False


class TestStartsWithAndEndsWith:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("startsWith('Hello world', 'He')", True),
            ("startsWith('Hello world', 'he')", True),
            ("startsWith('Hello world', 'world')", False),
            ("startsWith('Hello', '')", True),
            ("startsWith('', 'a')", False),
            ("startsWith(12, 1)", True),
            ("startsWith(true, 'T')", True),
            ("startsWith(null, '')", True),
            ("startsWith(github.ref, 'refs/heads/')", True),
            ("startsWith(steps, 'a')", False),
            ("startsWith('a', fromJSON('[]'))", False),
            ("endsWith('Hello world', 'ld')", True),
            ("endsWith('Hello world', 'LD')", True),
            ("endsWith('Hello world', 'He')", False),
            ("endsWith('abc', '')", True),
            ("endsWith(1.5, '.5')", True),
            ("endsWith(1.0, '.0')", False),
            ("endsWith(fruits, 'y')", False),
            ("endsWith(github.ref, '/MAIN')", True),
        ],
    )
    def test_affixes_compare_as_strings_ignoring_case(self, text: str, expected: bool) -> None:
        assert evaluate(text) is expected


class TestFormat:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", "Hello Mona the Octocat"),
            (
                "format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')",
                "{Hello Mona the Octocat!}",
            ),
            ("format('{0}{0}', 'a')", "aa"),
            ("format('{1}-{0}', 'a', 'b')", "b-a"),
            ("format('123{0}456{1}789', 'abc', 'def')", "123abc456def789"),
            ("format('{{0}}', 'abc')", "{0}"),
            ("format('{{{{0}}}}', 'abc')", "{{0}}"),
            ("format('}}{{', 'abc')", "}{"),
            ("format('no placeholders')", "no placeholders"),
            ("format('')", ""),
            ("format(null)", ""),
            ("format('{0}', null)", ""),
            ("format('{0}', true)", "true"),
            ("format('{0}', false)", "false"),
            ("format('{0}', 1)", "1"),
            ("format('{0}', 1.0)", "1"),
            ("format('{0}', -2.0)", "-2"),
            ("format('{0}', .5)", "0.5"),
            ("format('{0}', 123456.789)", "123456.789"),
            ("format('{0}', 0.84551240822557006)", "0.84551240822557"),
            ("format('{0}', 1.2e-2)", "0.012"),
            ("format('{0}', 0xff)", "255"),
            ("format('{0}', -0)", "0"),
            ("format('{0}', Infinity)", "Infinity"),
            ("format('{0}', -Infinity)", "-Infinity"),
            ("format('{0}', NaN)", "NaN"),
            ("format('{0}', fruits)", "Array"),
            ("format('{0}', steps)", "Object"),
            ("format('{0} has {1} items', inputs.name, inputs.count)", "Mona has 3 items"),
            ("FORMAT('{0}', 'case-insensitive name')", "case-insensitive name"),
        ],
    )
    def test_format_replaces_placeholders(self, text: str, expected: str) -> None:
        assert evaluate(text) == expected

    def test_format_only_evaluates_the_arguments_it_uses(self) -> None:
        assert evaluate("format('{1}', fromJSON('not json'), 'used')") == "used"

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("{0", "Invalid format string '{0'"),
            ("{0}}", "Invalid format string '{0}}'"),
            ("0}", "Invalid format string '0}'"),
            ("{{0}", "Invalid format string '{{0}'"),
            ("}0{", "Invalid format string '}0{'"),
            ("{0}{", "Invalid format string '{0}{'"),
            ("{x}", "Invalid format string '{x}'"),
            ("{256}", "Invalid format string '{256}'"),
            ("{1}", "The format string '{1}' uses {1} but 1 argument follows it"),
        ],
    )
    def test_a_bad_format_string_from_a_context_fails_when_evaluated(
        self, template: str, message: str
    ) -> None:
        expression = parse("format(inputs.template, 'only')")

        with pytest.raises(ExpressionError) as caught:
            expression.evaluate(make_context(inputs={"template": template}))

        assert caught.value.message.startswith(message)
        assert caught.value.offset == 0

    def test_format_specifiers_are_refused(self) -> None:
        with pytest.raises(ExpressionError, match="format specifiers ':yyyy' are not supported"):
            evaluate("format(inputs.template, 1)", inputs={"template": "{0:yyyy}"})

    @pytest.mark.parametrize(
        ("text", "offset"),
        [
            ("format('{0')", 7),
            ("format('{0}')", 7),
            ("format('{0}{1}', 'abc')", 7),
            ("x || format('}{0}', '')", 12),
        ],
    )
    def test_a_bad_literal_format_string_fails_at_parse_time(self, text: str, offset: int) -> None:
        with pytest.raises(ExpressionError) as caught:
            parse(text)

        assert caught.value.offset == offset


class TestJoin:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("join(github.event.issue.labels.*.name, ', ')", "bug, help wanted"),
            ("join(fruits.*.name)", "apple,orange,pear"),
            ("join(fromJSON('[1, 2.5, true, null, \"x\"]'))", "1,2.5,true,,x"),
            ("join(fromJSON('[[], {}]'), ' ')", "Array Object"),
            ('join(fromJSON(\'["a", "b"]\'), null)', "ab"),
            ('join(fromJSON(\'["a", "b"]\'), true)', "atrueb"),
            ('join(fromJSON(\'["a", "b"]\'), 1.5)', "a1.5b"),
            ('join(fromJSON(\'["a", "b"]\'), steps)', "a,b"),
            ("join(fromJSON('[\"a\"]'), fromJSON('not json'))", "a"),
            ("join(fromJSON('[]'))", ""),
            ("join('abc')", "abc"),
            ("join(123.456)", "123.456"),
            ("join(true)", "true"),
            ("join(null)", ""),
            ("join(steps)", ""),
        ],
    )
    def test_join_concatenates_items_with_a_separator(self, text: str, expected: str) -> None:
        assert evaluate(text) == expected


class TestToJson:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("toJSON(null)", "null"),
            ("toJSON(true)", "true"),
            ("toJSON(false)", "false"),
            ("toJSON(0)", "0"),
            ("toJSON(-1234.5)", "-1234.5"),
            ("toJSON(2.0)", "2"),
            ("toJSON('abc')", '"abc"'),
            ("toJSON('abc''def')", '"abc\'def"'),
            ("toJSON('a\"b\\c')", '"a\\"b\\\\c"'),
            ("toJSON('grüße')", '"grüße"'),
            ("toJSON(fromJSON('[]'))", "[]"),
            ("toJSON(fromJSON('{}'))", "{}"),
            ("toJSON(fromJSON('[1, 2]'))", "[\n  1,\n  2\n]"),
            ("toJSON(steps.build.outputs)", '{\n  "n": "3"\n}'),
            (
                'toJSON(fromJSON(\'{"b": [true, null, {}], "a": {"x": []}}\'))',
                '{\n  "b": [\n    true,\n    null,\n    {}\n  ],\n  "a": {\n    "x": []\n  }\n}',
            ),
            ("toJSON(fruits.*.name)", '[\n  "apple",\n  "orange",\n  "pear"\n]'),
        ],
    )
    def test_to_json_pretty_prints_with_two_spaces(self, text: str, expected: str) -> None:
        assert evaluate(text) == expected

    def test_to_json_writes_control_characters_escaped(self) -> None:
        assert evaluate("toJSON(inputs.text)", inputs={"text": "a\nb\tc\u2028"}) == (
            '"a\\nb\\tc\\u2028"'
        )


class TestFromJson:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("fromJSON('null')", None),
            ("fromJSON('true')", True),
            ("fromJSON('-1234.5')", -1234.5),
            ("fromJSON('\"abc\"')", "abc"),
            ("fromJSON('[1, 2, 3]')", [1, 2, 3]),
            ('fromJSON(\' {"include": [{"project": 1}]} \')', {"include": [{"project": 1}]}),
            ("fromJSON(needs.plan.outputs.matrix)", {"include": [{"project": "foo"}]}),
            ("fromJSON(needs.plan.outputs.matrix).include[0].project", "foo"),
            ("fromJSON(env.time)", 3),
            ("fromJSON(env.continue)", True),
            ("fromJSON(toJSON(fruits))", make_context()["fruits"]),
            ("FROMJSON('1') == 1", True),
        ],
    )
    def test_from_json_reads_json_text(self, text: str, expected: Any) -> None:
        assert evaluate(text) == expected

    @pytest.mark.parametrize(
        ("text", "offset"),
        [("fromJSON('')", 0), ("fromJSON('{nope')", 0), ("x || fromJSON(inputs.name)", 5)],
    )
    def test_invalid_json_fails_at_the_call(self, text: str, offset: int) -> None:
        with pytest.raises(ExpressionError, match="fromJSON cannot read") as caught:
            evaluate(text)

        assert caught.value.offset == offset
        assert caught.value.expression == text


class TestFunctionNames:
    @pytest.mark.parametrize(
        "text",
        ["CONTAINS('a', 'A')", "StartsWith('ab', 'a')", "ENDSWITH('ab', 'b')", "tojson(1) == '1'"],
    )
    def test_function_names_ignore_case(self, text: str) -> None:
        assert evaluate(text) is True

    def test_a_call_is_recorded_under_its_canonical_name(self) -> None:
        assert parse("TOJSON(1)").evaluate({}) == "1"


class TestStatusFunctions:
    @pytest.mark.parametrize(
        ("text", "status", "expected"),
        [
            ("success()", StatusFunctions(), True),
            ("success()", StatusFunctions(success=False, failure=True), False),
            ("failure()", StatusFunctions(success=False, failure=True), True),
            ("failure()", StatusFunctions(), False),
            ("cancelled()", StatusFunctions(success=False, cancelled=True), True),
            ("cancelled()", StatusFunctions(), False),
            ("always()", StatusFunctions(success=False, cancelled=True), True),
            ("ALWAYS()", StatusFunctions(), True),
            ("!cancelled()", StatusFunctions(), True),
            ("failure() && steps.demo.conclusion == 'failure'", StatusFunctions(False, True), True),
        ],
    )
    def test_status_functions_answer_from_the_given_status(
        self, text: str, status: StatusFunctions, expected: bool
    ) -> None:
        assert parse(text).evaluate(make_context(), status) is expected

    @pytest.mark.parametrize("name", ["success", "failure", "cancelled", "always"])
    def test_status_functions_without_a_status_are_refused(self, name: str) -> None:
        text = f"inputs.flag && {name}()"

        with pytest.raises(ExpressionError, match="only allowed in 'if'") as caught:
            evaluate(text)

        assert caught.value.offset == 15

    def test_a_status_function_that_is_never_reached_is_not_an_error(self) -> None:
        assert evaluate("false && success()") is False

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("success()", True),
            ("x && (y || FAILURE())", True),
            ("format('{0}', always())", True),
            ("x == 'success()'", False),
            ("steps.success", False),
            ("contains(github.ref, 'x')", False),
        ],
    )
    def test_the_expression_knows_whether_it_calls_a_status_function(
        self, text: str, expected: bool
    ) -> None:
        assert parse(text).uses_status_function is expected


def test_nan_coming_out_of_a_function_stays_nan() -> None:
    assert math.isnan(evaluate("fromJSON('NaN')"))
