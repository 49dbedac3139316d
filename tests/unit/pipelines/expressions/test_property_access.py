"""Reading contexts: dots, brackets and the ``*`` object filter never fail on missing data."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.pipelines.expressions import parse

from .builders import evaluate, make_context


class TestProperties:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("github.ref", "refs/heads/main"),
            ("steps.build.outputs.n", "3"),
            ("GitHub.REF", "refs/heads/main"),
            ("steps.BUILD.Outcome", "success"),
            ("github['ref']", "refs/heads/main"),
            ("github['REF']", "refs/heads/main"),
            ("steps['build']['outputs']['n']", "3"),
            ("inputs.count", 3),
            ("inputs.flag", True),
            ("inputs.missing", None),
            ("missing_context", None),
            ("missing_context.deeper.still", None),
            ("github.ref.length", None),
            ("inputs.count.x", None),
            ("inputs.missing['x']", None),
            ('fromJSON(\'{"one": "one val"}\').one', "one val"),
            ('(fromJSON(\'{"one": "one val"}\')).one', "one val"),
        ],
    )
    def test_a_property_path_reads_the_context_or_gives_null(
        self, text: str, expected: Any
    ) -> None:
        assert evaluate(text) == expected

    @pytest.mark.parametrize(
        ("key", "text"),
        [
            ("my-step", "steps.my-step.outcome"),
            ("_private", "steps._private.outcome"),
            ("b_ar", "steps.b_ar.outcome"),
            ("true", "steps.true.outcome"),
            ("null", "steps.null.outcome"),
            ("NaN", "steps.NaN.outcome"),
            ("Infinity", "steps.Infinity.outcome"),
            ("format", "steps.format.outcome"),
            ("with space", "steps['with space'].outcome"),
            ("1", "steps['1'].outcome"),
            ("1", "steps[1].outcome"),
        ],
    )
    def test_any_key_is_reachable_by_dot_or_bracket(self, key: str, text: str) -> None:
        assert evaluate(text, steps={key: {"outcome": "skipped"}}) == "skipped"

    def test_an_exact_key_wins_over_one_differing_in_case(self) -> None:
        assert evaluate("inputs.Name", inputs={"name": "lower", "Name": "exact"}) == "exact"

    def test_a_key_can_come_from_another_context(self) -> None:
        assert evaluate("steps[inputs.step].outcome", inputs={"step": "demo"}) == "failure"

    def test_an_object_or_array_used_as_a_key_finds_nothing(self) -> None:
        assert evaluate("steps[fruits]") is None

    def test_a_value_that_is_not_a_container_ignores_the_index(self) -> None:
        assert evaluate("inputs.name[fromJSON('not json')]") is None


class TestArrayIndexing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("fruits[0].name", "apple"),
            ("fruits[2].name", "pear"),
            ("fruits[3]", None),
            ("fruits[-1]", None),
            ("fruits[1.9].name", "orange"),
            ("fruits['1'].name", "orange"),
            ("fruits[' 1 '].name", "orange"),
            ("fruits[''].name", "apple"),
            ("fruits[null].name", "apple"),
            ("fruits[true].name", "orange"),
            ("fruits['one']", None),
            ("fruits[NaN]", None),
            ("fruits[Infinity]", None),
            ("fruits.name", None),
            ("fromJSON('[10, 20, 30]')[1]", 20),
            ("fromJSON('[[1, 2], [3, 4]]')[1][0]", 3),
            ("(fromJSON('[10, 20]'))[0]", 10),
        ],
    )
    def test_an_array_takes_a_floored_non_negative_number(self, text: str, expected: Any) -> None:
        assert evaluate(text) == expected


class TestObjectFilters:
    def test_docs_example_filters_the_names_of_all_fruits(self) -> None:
        assert evaluate("fruits.*.name") == ["apple", "orange", "pear"]

    def test_docs_example_filters_the_label_names_of_an_issue(self) -> None:
        assert evaluate("github.event.issue.labels.*.name") == ["bug", "help wanted"]

    def test_a_star_on_an_object_gives_its_values(self) -> None:
        assert evaluate("steps.*.outcome") == ["success", "failure"]

    def test_filters_chain_through_nested_arrays_and_skip_missing_keys(self) -> None:
        assert evaluate("github.event.issues.*.labels.*.name") == ["bug", "ui", "docs"]

    def test_bracket_star_is_the_same_filter(self) -> None:
        assert evaluate("fruits[*]['name']") == ["apple", "orange", "pear"]
        assert evaluate("steps[*].outcome") == ["success", "failure"]

    def test_an_index_after_a_filter_applies_to_each_item(self) -> None:
        assert evaluate("github.event.issues.*.labels[0].name") == ["bug", "docs"]

    def test_the_filter_keeps_mapping_inside_parentheses(self) -> None:
        assert evaluate("(fruits.*)[0]") == []
        assert evaluate("(fruits.*).name") == ["apple", "orange", "pear"]

    @pytest.mark.parametrize(
        "text",
        ["inputs.name.*", "inputs.missing.*", "null_context[*]", "fromJSON('[]').*"],
    )
    def test_a_filter_on_nothing_gives_an_empty_array(self, text: str) -> None:
        assert evaluate(text) == []

    def test_a_star_on_a_filter_flattens_one_level(self) -> None:
        assert evaluate("fromJSON('[[1, 2], [3], {\"a\": 4}, 5]').*.*") == [1, 2, 3, 4]

    def test_a_filter_result_leaves_the_engine_as_a_plain_list(self) -> None:
        assert type(evaluate("fruits.*.name")) is list

    def test_a_filter_matches_property_names_case_insensitively(self) -> None:
        assert evaluate("fruits.*.NAME") == ["apple", "orange", "pear"]

    def test_a_filtered_array_works_with_contains_and_join(self) -> None:
        assert evaluate("contains(fruits.*.name, 'PEAR')") is True
        assert evaluate("join(fruits.*.quantity, '+')") == "1+2+1"


class TestContexts:
    def test_the_expression_lists_the_top_level_names_it_reads_lower_cased(self) -> None:
        expression = parse("Steps.a.outcome == inputs.x || contains(github.ref, 'x') || steps.b")

        assert expression.contexts == frozenset({"steps", "inputs", "github"})

    def test_a_name_in_a_string_or_after_a_dot_is_not_a_context(self) -> None:
        assert parse("format('github', x.github)").contexts == frozenset({"x"})

    def test_an_unknown_context_reads_as_null(self) -> None:
        assert parse("vars.x == null").evaluate({}) is True

    def test_contexts_are_matched_case_insensitively(self) -> None:
        assert parse("INPUTS.name").evaluate(make_context()) == "Mona"

    def test_evaluation_does_not_change_the_context(self) -> None:
        context = make_context()
        before = repr(context)

        parse("toJSON(fruits.*.name) && join(steps.*.outcome) && fromJSON('[]')").evaluate(context)

        assert repr(context) == before
