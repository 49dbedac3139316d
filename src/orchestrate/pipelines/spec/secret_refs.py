"""Which secrets a pipeline reads (``${{ secrets.NAME }}``), and where.

Secrets may be read only where their value goes to a step's process as an environment
variable: a ``run:`` script and ``env:`` (the step's or the pipeline's). Anywhere else
(a step name, ``with:`` handed to an agent, a matrix) the value would be stored, shown
or sent to a model. A secret is named literally, so the names a step needs are known
before it runs: only those are fetched from the store and put into its environment,
and registration can refuse a pipeline naming a secret that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from orchestrate.pipelines.expressions import ExpressionError, find_expressions, parse
from orchestrate.pipelines.expressions.nodes import ContextRef, Index, Literal, Node, Property
from orchestrate.pipelines.expressions.nodes import walk as walk_nodes
from orchestrate.pipelines.spec.models import PipelineSpec, StepSpec
from orchestrate.pipelines.spec.positions import Path, SourceMap
from orchestrate.pipelines.spec.problems import SpecProblem

SECRETS = "secrets"


@dataclass(frozen=True)
class SecretReference:
    """``secrets.NAME`` (upper-cased, as the store spells names) at a place of the file."""

    name: str
    path: Path
    offset: int


def secret_names_of(text: str) -> set[str]:
    """The secrets the ``${{ }}`` of one string read (unparseable text reads none)."""
    return {name for name, _ in _names_in(text)}


def step_secret_names(spec: PipelineSpec, step: StepSpec) -> set[str]:
    """The secrets a step's process receives: from its ``run``, its env and the pipeline's."""
    names: set[str] = set()
    for text in [step.run or "", *_strings(step.env), *_strings(spec.env)]:
        names |= secret_names_of(text)
    return names


def secret_references(spec: PipelineSpec) -> Iterator[SecretReference]:
    """Every literal ``secrets.NAME`` of the places allowed to read secrets."""
    places: list[tuple[Path, str]] = [(("env", key), value) for key, value in _items(spec.env)]
    for index, step in enumerate(spec.steps):
        if step.run is not None:
            places.append((("steps", index, "run"), step.run))
        places += [(("steps", index, "env", key), value) for key, value in _items(step.env)]
    for path, text in places:
        for name, offset in _names_in(text):
            yield SecretReference(name, path, offset)


def missing_secret_problems(
    spec: PipelineSpec, where: SourceMap, existing: set[str]
) -> list[SpecProblem]:
    """A problem for each reference to a secret the store does not hold."""
    problems = []
    for reference in secret_references(spec):
        if reference.name not in existing:
            message = f"secret '{reference.name}' does not exist"
            hint = f"create it first: orchestrate secret set {reference.name}"
            problems.append(where.problem(reference.path, message, hint, offset=reference.offset))
    return problems


def secret_name(node: Property | Index) -> str | None:
    """``NAME`` of ``secrets.NAME`` or ``secrets['NAME']``; None if not a literal name."""
    if not (isinstance(node.target, ContextRef) and node.target.name.lower() == SECRETS):
        return None
    if isinstance(node, Property):
        return node.name.upper()
    if isinstance(node.index, Literal) and isinstance(node.index.value, str):
        return node.index.value.upper()
    return None


def _names_in(text: str) -> Iterator[tuple[str, int]]:
    try:
        found = find_expressions(text)
    except ExpressionError:
        return
    for offset, expression in found:
        try:
            tree: Node = parse(expression).tree
        except ExpressionError:
            continue
        for node, _ in walk_nodes(tree):
            if isinstance(node, Property | Index):
                name = secret_name(node)
                if name is not None:
                    yield name, offset + node.offset


def _items(env: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(key, value) for key, value in env.items() if isinstance(value, str)]


def _strings(env: Mapping[str, object]) -> list[str]:
    return [value for _, value in _items(env)]
