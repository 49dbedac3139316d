"""Run inputs are checked against the declared inputs and converted to their types."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.inputs import parse_assignments, resolve_inputs
from orchestrate.pipelines.spec.models import PipelineSpec


def spec(inputs: dict[str, Any]) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {"name": "p", "inputs": inputs, "steps": [{"id": "a", "run": "true"}]}
    )


@pytest.mark.parametrize(
    ("declared", "given", "expected"),
    [
        ({"type": "string"}, "x", "x"),
        ({"type": "string"}, 5, "5"),
        ({"type": "number"}, "3", 3),
        ({"type": "number"}, "2.5", 2.5),
        ({"type": "boolean"}, "true", True),
        ({"type": "boolean"}, "no", False),
        ({"type": "boolean"}, False, False),
        ({"type": "choice", "options": ["a", "b"]}, "b", "b"),
        ({"type": "json"}, '{"k": [1]}', {"k": [1]}),
        ({"type": "json"}, [1, 2], [1, 2]),
    ],
)
def test_given_inputs_are_converted_to_their_type(
    declared: dict[str, Any], given: Any, expected: Any
) -> None:
    assert resolve_inputs(spec({"v": declared}), {"v": given}) == {"v": expected}


@pytest.mark.parametrize(
    ("declared", "given"),
    [
        ({"type": "number"}, "many"),
        ({"type": "boolean"}, "perhaps"),
        ({"type": "choice", "options": ["a", "b"]}, "c"),
        ({"type": "json"}, "{not json"),
        ({"type": "string"}, {"a": 1}),
    ],
)
def test_values_of_the_wrong_type_are_refused(declared: dict[str, Any], given: Any) -> None:
    with pytest.raises(ValidationFailed, match="Input 'v' must be"):
        resolve_inputs(spec({"v": declared}), {"v": given})


def test_defaults_fill_in_and_optional_inputs_are_null() -> None:
    declared = {"a": {"default": "x"}, "b": {"type": "number"}}
    assert resolve_inputs(spec(declared), {}) == {"a": "x", "b": None}


def test_a_missing_required_input_is_named() -> None:
    with pytest.raises(ValidationFailed, match="needs the input 'env'"):
        resolve_inputs(spec({"env": {"required": True}}), {})


def test_an_unknown_input_gets_a_suggestion() -> None:
    with pytest.raises(ValidationFailed, match="Did you mean 'version'"):
        resolve_inputs(spec({"version": {}}), {"verison": "1"})


def test_assignments_split_on_the_first_equals_sign() -> None:
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ValidationFailed, match="NAME=VALUE"):
        parse_assignments(["novalue"])
