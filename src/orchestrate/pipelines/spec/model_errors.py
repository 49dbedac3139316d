"""Turn pydantic's validation errors into problems placed on the YAML the user wrote.

pydantic reports a location path (``steps → 1 → if → str``) and a message meant for
programmers. A user needs the line of the offending key or value, a sentence in the
words of the file (``step 'fix', 'if': should be a string or true/false, not a list``)
and, for a typo, the key they probably meant.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic_core import ErrorDetails

from orchestrate.pipelines.spec.models import (
    NAME_PATTERN,
    STEP_ID_PATTERN,
    AgentInputs,
    PipelineSpec,
    StepSpec,
)
from orchestrate.pipelines.spec.positions import Path, SourceMap
from orchestrate.pipelines.spec.problems import SpecProblem

_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true/false",
    "bool_parsing": "true/false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "none_required": "empty",
}
_PATTERNS = {
    STEP_ID_PATTERN: "should start with a letter or '_' and hold only letters, digits, '_' "
    "and '-' (at most 100 characters)",
    NAME_PATTERN: "should start with a letter or digit and hold only letters, digits, "
    "'_', '.' and '-' (at most 100 characters)",
}


def problems_from_validation_error(error: ValidationError, where: SourceMap) -> list[SpecProblem]:
    """One problem per place: the alternatives of a union are merged into one sentence."""
    problems: list[SpecProblem] = []
    merged: dict[Path, list[ErrorDetails]] = {}
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        if detail["type"] == "extra_forbidden":
            problems.append(_unknown_key(loc, where))
        elif detail["type"] == "missing":
            owner = where.resolve(loc[:-1])
            message = f"missing required key '{loc[-1]}'"
            problems.append(where.problem(owner, _label(owner, where, message)))
        else:
            merged.setdefault(where.resolve(loc), []).append(detail)
    for path, details in merged.items():
        problems.append(where.problem(path, _label(path, where, _sentence(details))))
    return sorted(problems, key=lambda problem: (problem.line, problem.column))


def _unknown_key(loc: Path, where: SourceMap) -> SpecProblem:
    key = str(loc[-1])
    allowed = allowed_keys(loc[:-1], where)
    hint = None
    if allowed:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"Did you mean '{close[0]}'?" if close else "allowed keys: " + ", ".join(allowed)
    message = _label(loc[:-1], where, f"unknown key '{key}'")
    return where.problem(loc, message, hint, at_key=True)


def _sentence(details: list[ErrorDetails]) -> str:
    """'should be a string or true/false, not a list', or the validator's own words."""
    expected: list[str] = []
    others: list[str] = []
    for detail in details:
        if detail["type"] in _EXPECTED:
            expected.append(_EXPECTED[detail["type"]])
        elif detail["type"] == "string_pattern_mismatch":
            pattern = str((detail.get("ctx") or {}).get("pattern", ""))
            others.append(_PATTERNS.get(pattern) or _plain(detail["msg"]))
        else:
            others.append(_plain(detail["msg"]))
    if others:
        return "; ".join(dict.fromkeys(others))
    alternatives = " or ".join(dict.fromkeys(expected))
    return f"should be {alternatives}, not {_yaml_kind(details[0]['input'])}"


def _plain(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    for subject in ("Input should", "List should", "String should", "Dictionary should"):
        if message.startswith(subject):
            return "should" + message[len(subject) :]
    return message


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"'{value}'"


def _label(path: Path, where: SourceMap, message: str) -> str:
    """Prefix a message with what it is about: ``step 'fix', 'with.task': …``."""
    owner, rest = "", path
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        step_id = where.node((*path[:2], "id"))
        owner = f"step '{step_id}'" if isinstance(step_id, str) else f"step {path[1] + 1}"
        rest = path[2:]
    elif len(path) >= 2 and path[0] == "inputs":
        owner, rest = f"input '{path[1]}'", path[2:]
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)
    subject = ", ".join(filter(None, [owner, f"'{field.lstrip('.')}'" if field else ""]))
    return f"{subject}: {message}" if subject else message


def allowed_keys(path: Path, where: SourceMap) -> list[str]:
    """The keys the mapping at ``path`` may hold, as a user would write them."""
    model = _model_at(path, where)
    if model is None:
        return []
    names: list[str] = []
    for name, field in model.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names += [str(choice) for choice in field.validation_alias.choices]
        else:
            names.append(field.alias or name)
    return names


def _model_at(path: Path, where: SourceMap) -> type[BaseModel] | None:
    current: Any = PipelineSpec
    for index, part in enumerate(path):
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current is StepSpec and part == "with":
                step = where.node(path[:index])
                return AgentInputs if isinstance(step, Mapping) and "agent" in step else None
            current = _field_annotation(current, str(part))
        elif get_origin(current) is list:
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_annotation(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        aliases = {name, field.alias}
        if isinstance(field.validation_alias, AliasChoices):
            aliases |= {str(choice) for choice in field.validation_alias.choices}
        if key in aliases:
            return field.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, …]`` → X; ``X | None`` → X (the model or container member)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = [_unwrap(arg) for arg in get_args(annotation) if arg is not type(None)]
        for member in members:
            if get_origin(member) in (list, dict) or (
                isinstance(member, type) and issubclass(member, BaseModel)
            ):
                return member
        return members[0] if members else None
    return annotation
