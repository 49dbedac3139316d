"""Check every ``${{ }}`` of a pipeline before it runs, not halfway through a run.

Each string that may hold an expression is parsed, and what it reads is checked
against what the pipeline offers at that place: a known context, a step listed in
``needs`` (GitHub's rule for ``needs.X``), an existing step, a declared input, a matrix
of the step itself, status functions only in ``if:``, and ``secrets`` only where the
value goes to a process as an environment variable (``run:`` and ``env:``, see
``secret_refs``), named literally. Names are compared without case, as the evaluator
looks them up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from orchestrate.pipelines.expressions import ExpressionError, find_expressions, parse
from orchestrate.pipelines.expressions.functions import STATUS_FUNCTIONS
from orchestrate.pipelines.expressions.nodes import (
    Call,
    ContextRef,
    Index,
    Literal,
    Node,
    Property,
    walk,
)
from orchestrate.pipelines.expressions.shell_script import prepare_script
from orchestrate.pipelines.spec.models import MATRIX_RESERVED, PipelineSpec, StepSpec
from orchestrate.pipelines.spec.positions import Path, SourceMap
from orchestrate.pipelines.spec.problems import SpecProblem, did_you_mean
from orchestrate.pipelines.spec.secret_refs import SECRETS, secret_name

CONTEXTS = (
    "inputs",
    "env",
    "steps",
    "needs",
    "trigger",
    "pipeline",
    "run",
    "matrix",
    SECRETS,
)
# What a run offers before any step exists (concurrency group, pipeline env).
_RUN_CONTEXTS = frozenset({"inputs", "trigger", "pipeline", "run"})
_STEP_CONTEXTS = frozenset(CONTEXTS) - {SECRETS}
_SECRETS_HINT = (
    "secrets can be read in 'run:' and 'env:' only, where they reach the step's process "
    "as environment variables; elsewhere they would be stored or shown"
)
_AGENT_SECRETS = (
    "'secrets' cannot be read by an agent step: its model would see the value, and could "
    "repeat it anywhere"
)
_AGENT_SECRETS_HINT = (
    "secrets reach only 'run' steps, as environment variables of their process; use the "
    "secret in a 'run' step and pass the agent what that step produces"
)
_STATUS_HINT = "success(), failure(), always() and cancelled() belong in 'if:' conditions"


@dataclass(frozen=True)
class _Place:
    """One string that may hold expressions, and what its expressions may read."""

    path: Path
    text: str
    contexts: frozenset[str]
    step: StepSpec | None = None
    is_condition: bool = False
    is_script: bool = False


def check_expressions(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    for place in _places(spec, where):
        problems += _check_place(spec, where, place)
    return problems


def _places(spec: PipelineSpec, where: SourceMap) -> Iterator[_Place]:
    for name, value in spec.env.items():
        if isinstance(value, str):
            yield _Place(("env", name), value, _RUN_CONTEXTS | {SECRETS})
    if spec.concurrency is not None:
        shorthand = isinstance(where.node(("concurrency",)), str)
        path: Path = ("concurrency",) if shorthand else ("concurrency", "group")
        yield _Place(path, spec.concurrency.group, _RUN_CONTEXTS)
    for index, step in enumerate(spec.steps):
        yield from _step_places(step, ("steps", index), where)


def _step_places(step: StepSpec, base: Path, where: SourceMap) -> Iterator[_Place]:
    contexts = _STEP_CONTEXTS if step.matrix is not None else _STEP_CONTEXTS - {"matrix"}
    if isinstance(step.if_, str):
        yield _Place((*base, "if"), step.if_, contexts, step, is_condition=True)
    singles: list[tuple[tuple[str, ...], Any]] = [
        (("name",), step.name),
        (("run",), step.run),
        (("working_directory", "working-directory"), step.working_directory),
        (("continue_on_error", "continue-on-error"), step.continue_on_error),
    ]
    for spellings, value in singles:
        if isinstance(value, str):
            script = spellings == ("run",)
            readable = contexts | {SECRETS} if script else contexts
            path = _spelled(where, base, spellings)
            yield _Place(path, value, readable, step, is_script=script)
    for name, value in step.env.items():
        if isinstance(value, str):
            yield _Place((*base, "env", name), value, contexts | {SECRETS}, step)
    for path, text in _nested_strings(step.with_, (*base, "with")):
        yield _Place(path, text, contexts, step)
    if step.ci is not None:
        for relative, text in step.ci.strings():
            yield _Place((*base, "ci", *relative), text, contexts, step)
    if step.scan is not None:
        for relative, text in step.scan.strings():
            yield _Place((*base, "scan", *relative), text, contexts, step)
    for key, value in (step.matrix or {}).items():
        if key not in ("max_parallel", "max-parallel"):
            # GitHub: a matrix is built before it exists, so it cannot read itself.
            for path, text in _nested_strings(value, (*base, "matrix", key)):
                yield _Place(path, text, contexts - {"matrix"}, step)


def _spelled(where: SourceMap, base: Path, spellings: tuple[str, ...]) -> Path:
    """The path of a key under the spelling the file uses (``continue-on-error`` or not)."""
    for spelling in spellings:
        if where.node((*base, spelling)) is not None:
            return (*base, spelling)
    return (*base, spellings[0])


def _nested_strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nested_strings(item, (*path, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _nested_strings(item, (*path, position))


def _check_place(spec: PipelineSpec, where: SourceMap, place: _Place) -> list[SpecProblem]:
    label = _label(place)

    def problem(message: str, hint: str | None, offset: int | None = None) -> SpecProblem:
        return where.problem(place.path, f"{label}: {message}", hint, offset=offset)

    try:
        pieces = _expressions_of(place)
    except ExpressionError as error:
        return [problem(error.problem, error.hint, error.offset)]
    if pieces is None:
        message = "text around ${{ }} makes the condition a string, always true"
        return [problem(message, "put it all inside one ${{ }}, or write it without ${{ }}")]
    problems = []
    for offset, text in pieces:
        try:
            tree = parse(text).tree
        except ExpressionError as error:
            problems.append(problem(error.problem, error.hint, offset + error.offset))
            continue
        for node_offset, message, hint in _reference_problems(spec, place, tree):
            problems.append(problem(message, hint, offset + node_offset))
    if place.is_script and not problems:
        try:
            prepare_script(place.text)
        except ExpressionError as error:
            # Where bash would read the text as code three times: no variable survives.
            problems.append(problem(error.problem, error.hint, error.offset))
    return problems


def _expressions_of(place: _Place) -> list[tuple[int, str]] | None:
    """(offset, text) of each expression; None for an ``if:`` that is a template."""
    found = find_expressions(place.text)
    if not place.is_condition:
        return found
    if not found:
        return [(0, place.text)] if place.text.strip() else []
    stripped = place.text.strip()
    if len(found) == 1 and stripped.startswith("${{") and stripped.endswith("}}"):
        return found
    return None


def _label(place: _Place) -> str:
    if place.step is None:
        return "'" + ".".join(str(part) for part in place.path) + "'"
    field = ".".join(str(part) for part in place.path[2:])
    return f"step '{place.step.id}', '{field}'"


def _reference_problems(
    spec: PipelineSpec, place: _Place, tree: Node
) -> Iterator[tuple[int, str, str | None]]:
    """(offset, message, hint) for each thing the expression reads that will not be there."""
    named = {
        id(node.target)
        for node, _ in walk(tree)
        if isinstance(node, Property | Index) and secret_name(node) is not None
    }
    for node, _ in walk(tree):
        is_secrets = isinstance(node, ContextRef) and node.name.lower() == SECRETS
        if is_secrets and SECRETS in place.contexts and id(node) not in named:
            message = "a secret must be named literally: secrets.NAME"
            yield node.offset, message, "the secrets a step receives are known before it runs"
        if isinstance(node, ContextRef):
            yield from _context_problem(node, place)
        elif isinstance(node, Call) and node.name.lower() in STATUS_FUNCTIONS:
            if not place.is_condition:
                message = f"{node.name}() is a status function, only allowed in 'if'"
                yield node.offset, message, _STATUS_HINT
        elif isinstance(node, Property | Index) and isinstance(node.target, ContextRef):
            key = _member_name(node)
            if key is not None and node.target.name.lower() in place.contexts:
                yield from _member_problem(spec, place, node.target.name.lower(), key, node.offset)


def _member_name(node: Property | Index) -> str | None:
    if isinstance(node, Property):
        return node.name
    if isinstance(node.index, Literal) and isinstance(node.index.value, str):
        return node.index.value
    return None


def _context_problem(node: ContextRef, place: _Place) -> Iterator[tuple[int, str, str | None]]:
    name = node.name.lower()
    if name not in CONTEXTS:
        hint = did_you_mean(name, list(CONTEXTS), "contexts")
        yield node.offset, f"unknown context '{node.name}'", hint
    elif name == SECRETS and name not in place.contexts:
        if place.step is not None and place.step.agent is not None:
            yield node.offset, _AGENT_SECRETS, _AGENT_SECRETS_HINT
        else:
            yield node.offset, "'secrets' cannot be read here", _SECRETS_HINT
    elif name not in place.contexts:
        available = [c for c in CONTEXTS if c in place.contexts]
        if name == "matrix" and place.step is not None and place.step.matrix is None:
            reason = "this step has no matrix"
        else:
            reason = f"only {', '.join(available[:-1])} and {available[-1]} can"
        yield node.offset, f"'{node.name}' cannot be read here; {reason}", None


def _member_problem(
    spec: PipelineSpec, place: _Place, context: str, key: str, offset: int
) -> Iterator[tuple[int, str, str | None]]:
    known = {
        "steps": spec.step_ids,
        "needs": list(place.step.needs) if place.step else [],
        "inputs": list(spec.inputs),
        "matrix": _matrix_variables(place.step.matrix if place.step else None),
    }.get(context)
    if known is None or key.lower() in {name.lower() for name in known}:
        return
    if context == "needs":
        assert place.step is not None
        if key.lower() in {step_id.lower() for step_id in spec.step_ids}:
            hint = f"add '{key}' to the needs of step '{place.step.id}'"
        else:
            hint = did_you_mean(key, known, "it needs") or "it needs no step"
        yield offset, f"needs.{key}: '{key}' is not in this step's needs", hint
    elif context == "steps":
        yield offset, f"steps.{key}: there is no step '{key}'", did_you_mean(key, known, "steps")
    elif context == "inputs":
        hint = did_you_mean(key, known, "inputs") or "declare it under 'inputs:'"
        yield offset, f"inputs.{key}: no input '{key}' is declared", hint
    else:
        message = f"matrix.{key}: the matrix has no variable '{key}'"
        yield offset, message, did_you_mean(key, known, "matrix variables")


def _matrix_variables(matrix: dict[str, Any] | None) -> list[str]:
    """The matrix's own variables, and those its ``include`` entries add."""
    if matrix is None:
        return []
    names = [key for key in matrix if key not in MATRIX_RESERVED]
    for entry in matrix.get("include", []):
        names += [key for key in entry if key not in names]
    return names
