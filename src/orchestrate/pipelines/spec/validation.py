"""The rules a pipeline must follow beyond the shape its models enforce.

Each rule looks at the whole spec (ids, ``needs``, cycles, inputs, time zones, and the
expressions in ``expression_checks``) and returns problems placed on the YAML through
the ``SourceMap``, with a hint where one helps. Rules never stop at the first problem:
a user fixing a file wants the whole list at once.
"""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Callable
from typing import Any

from orchestrate.pipelines.spec.expression_checks import check_expressions
from orchestrate.pipelines.spec.graph import find_cycles, needs_graph
from orchestrate.pipelines.spec.models import InputSpec, InputType, PipelineSpec
from orchestrate.pipelines.spec.positions import Path, SourceMap
from orchestrate.pipelines.spec.problems import SpecProblem, did_you_mean

Rule = Callable[[PipelineSpec, SourceMap], list[SpecProblem]]


def validate_spec(spec: PipelineSpec, where: SourceMap | None = None) -> list[SpecProblem]:
    """Every rule's problems, in file order; ``where`` is None for a spec built in Python."""
    where = where or SourceMap("<pipeline>")
    problems: list[SpecProblem] = []
    for rule in _RULES:
        problems += rule(spec, where)
    return sorted(problems, key=lambda problem: (problem.line, problem.column))


def _duplicate_ids(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    first_line: dict[str, int] = {}
    problems = []
    for index, step in enumerate(spec.steps):
        path: Path = ("steps", index, "id")
        if step.id in first_line:
            message = f"step id '{step.id}' is used twice (first on line {first_line[step.id]})"
            problems.append(where.problem(path, message, "give each step its own id"))
        else:
            first_line[step.id] = where.value_position(path)[0]
    return problems


def _needs_path(where: SourceMap, index: int, position: int) -> Path:
    """``needs: build`` is a string, ``needs: [a, b]`` a list: point at the right one."""
    path: Path = ("steps", index, "needs")
    return (*path, position) if isinstance(where.node(path), list) else path


def _unknown_needs(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    ids = spec.step_ids
    problems = []
    for index, step in enumerate(spec.steps):
        for position, need in enumerate(step.needs):
            if need not in ids:
                message = f"step '{step.id}' needs '{need}', which is not a step of this pipeline"
                hint = did_you_mean(need, [i for i in ids if i != step.id], "steps")
                problems.append(where.problem(_needs_path(where, index, position), message, hint))
    return problems


def _cycles(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    problems = []
    for cycle in find_cycles(needs_graph(spec)):
        index = spec.step_ids.index(cycle[0])
        position = spec.steps[index].needs.index(cycle[1])
        message = f"the needs form a cycle: {' → '.join(cycle)}"
        hint = "each step waits for the next one, so none can start; remove one of these needs"
        problems.append(where.problem(_needs_path(where, index, position), message, hint))
    return problems


def _self_pipeline(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    problems = []
    for index, step in enumerate(spec.steps):
        if step.pipeline == spec.name:
            message = f"step '{step.id}' starts pipeline '{spec.name}', which is this pipeline"
            hint = "a pipeline that starts itself never finishes"
            problems.append(where.problem(("steps", index, "pipeline"), message, hint))
    return problems


def _input_defaults(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    problems = []
    for name, declared in spec.inputs.items():
        if declared.default is None:
            continue
        complaint = _default_complaint(declared)
        if complaint:
            message, hint = complaint
            path: Path = ("inputs", name, "default")
            problems.append(where.problem(path, f"input '{name}': {message}", hint))
    return problems


def _default_complaint(declared: InputSpec) -> tuple[str, str | None] | None:
    """Why a default does not fit its input's type, judged by the YAML type written.

    A whole number is a fine string (``3`` reads as "3"), but a decimal is not:
    YAML reads ``3.10`` as the number 3.1, a classic trap with version inputs.
    """
    default: Any = declared.default
    kind = declared.type
    is_whole = isinstance(default, int) and not isinstance(default, bool)
    if kind is InputType.CHOICE:
        options = declared.options or []
        if (isinstance(default, str) or is_whole) and str(default) in options:
            return None
        hint = did_you_mean(str(default), options, "options")
        return f"default {default!r} is not one of its options", hint
    fits = {
        InputType.STRING: isinstance(default, str) or is_whole,
        InputType.NUMBER: is_whole or isinstance(default, float),
        InputType.BOOLEAN: isinstance(default, bool),
        InputType.JSON: True,
    }[kind]
    if fits:
        return None
    hint = "quote it to make it a string" if kind is InputType.STRING else None
    return f"default {default!r} is not a {kind.value}", hint


def _timezones(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    problems = []
    for index, schedule in enumerate(spec.on.schedule):
        try:
            zoneinfo.ZoneInfo(schedule.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            path: Path = ("on", "schedule", index, "timezone")
            close = difflib.get_close_matches(
                schedule.timezone, sorted(zoneinfo.available_timezones()), n=1
            )
            hint = f"Did you mean '{close[0]}'?" if close else "use an IANA name such as 'UTC'"
            message = f"unknown time zone '{schedule.timezone}'"
            problems.append(where.problem(path, message, hint))
    return problems


_RULES: tuple[Rule, ...] = (
    _duplicate_ids,
    _unknown_needs,
    _cycles,
    _self_pipeline,
    _input_defaults,
    _timezones,
    check_expressions,
)
