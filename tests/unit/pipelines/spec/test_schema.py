"""The JSON Schema editors use: generated from the models, spelled as YAML is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrate.pipelines.catalog import list_templates, template_text
from orchestrate.pipelines.spec import pipeline_json_schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return pipeline_json_schema()


def test_the_schema_declares_draft_2020_12_an_id_and_a_title(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("pipeline.schema.json")
    assert schema["title"] == "Orchestrate pipeline"
    assert schema["description"]


def test_the_schema_is_plain_json(schema: dict[str, Any]) -> None:
    assert json.loads(json.dumps(schema)) == schema


def test_the_pipeline_keys_are_spelled_as_in_yaml(schema: dict[str, Any]) -> None:
    assert set(schema["properties"]) == {
        "name", "description", "on", "inputs", "env", "concurrency", "timeout", "steps",
    }  # fmt: skip
    assert schema["required"] == ["name", "steps"]
    assert schema["additionalProperties"] is False


def test_the_step_keys_are_spelled_as_in_yaml(schema: dict[str, Any]) -> None:
    properties = schema["$defs"]["StepSpec"]["properties"]

    assert {"if", "with", "continue_on_error", "continue-on-error"} <= set(properties)
    assert {"if_", "with_"}.isdisjoint(properties)
    assert {"id", "needs", "run", "agent", "approval", "pipeline", "matrix"} <= set(properties)


def test_a_step_has_exactly_one_kind(schema: dict[str, Any]) -> None:
    assert schema["$defs"]["StepSpec"]["oneOf"] == [
        {"required": ["run"]},
        {"required": ["agent"]},
        {"required": ["approval"]},
        {"required": ["pipeline"]},
        {"required": ["ci"]},
        {"required": ["scan"]},
    ]


def test_an_agent_steps_with_is_checked_against_the_agent_inputs(schema: dict[str, Any]) -> None:
    step = schema["$defs"]["StepSpec"]

    assert step["if"] == {"required": ["agent"]}
    assert step["then"]["properties"]["with"] == {"$ref": "#/$defs/AgentInputs"}
    assert "task" in schema["$defs"]["AgentInputs"]["required"]


def test_shorthands_the_loader_accepts_are_valid_in_the_schema(schema: dict[str, Any]) -> None:
    needs = schema["$defs"]["StepSpec"]["properties"]["needs"]
    concurrency = schema["properties"]["concurrency"]

    assert {"type": "string"} in needs["anyOf"]
    assert concurrency["anyOf"][0]["type"] == "string"
    assert "cancel-in-progress" in schema["$defs"]["ConcurrencySpec"]["properties"]


@pytest.mark.parametrize("template", [t.name for t in list_templates()])
def test_every_template_validates_against_the_schema(schema: dict[str, Any], template: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = YAML(typ="safe").load(template_text(template))

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
