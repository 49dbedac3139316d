"""How pipelines use the secret store: check names at registration, fetch them for a step.

A pipeline naming a secret that does not exist is refused when it is registered, with
the name and its place in the file, rather than failing a run hours later. A step
receives only the secrets it names (in its ``run:``, its ``env:`` or the pipeline's),
fetched just before its process starts and never stored with the run.

Only ``run`` steps receive secrets: an agent step would hand the value to its model, a
pipeline step would store it as the child run's inputs, and none of them has a process
to put it in. Their ``env:`` is evaluated without secrets, so a secret read there
(directly, or through ``env.NAME`` of a variable that holds one) would silently be
empty: registration refuses it instead, naming the step and the secret. (``secrets.X``
written in ``with:``, ``name:`` or ``if:`` is refused earlier, by the format's own
expression checks.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import PermissionDenied, ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines.expressions import ExpressionError, find_expressions, parse
from orchestrate.pipelines.expressions.nodes import ContextRef, Index, Literal, Property, walk
from orchestrate.pipelines.spec.models import PipelineSpec, StepKind, StepSpec
from orchestrate.pipelines.spec.positions import Path, SourceMap
from orchestrate.pipelines.spec.problems import PipelineInvalid, SpecProblem
from orchestrate.pipelines.spec.secret_refs import (
    missing_secret_problems,
    secret_references,
    step_secret_names,
)
from orchestrate.secrets import service as secrets

_WHY = {
    StepKind.AGENT: "an agent step would show the value to its model",
    StepKind.PIPELINE: "a pipeline step would store the value as the child run's inputs",
    StepKind.CI: "a ci step would send the value to the CI platform, which shows its inputs",
    StepKind.SCAN: "a scan step records its path and baseline in the scan, which viewers read",
}
_HINT = "read the secret in the env: of the 'run' step that needs it"


async def check_secret_use(
    read_uow: UnitOfWork, specs: Sequence[tuple[PipelineSpec, SourceMap]], actor: Actor
) -> None:
    """Refuse files that read secrets where they cannot go, that their author may not
    read, or that the store lacks.

    A step other than a ``run`` step reading a secret is a ``PipelineInvalid`` problem
    whoever registers the file (``misplaced_secret_problems``). Reading a secret in a
    step is reading it: a step can print it transformed past the masking. Only admins
    can manage secrets over the API, so only an admin may register a pipeline that
    reads one (``PermissionDenied`` otherwise); then every name the files read and
    the store lacks is one ``PipelineInvalid`` problem.
    """
    misplaced = [
        problem for spec, where in specs for problem in misplaced_secret_problems(spec, where)
    ]
    if misplaced:
        raise PipelineInvalid(misplaced)
    names = sorted({name for spec, _ in specs for name in _referenced_names(spec)})
    if not names:
        return
    if not actor.role.allows(Permission.ADMIN):
        raise PermissionDenied(
            f"Only an admin may register a pipeline that reads secrets (it reads "
            f"{', '.join(names)}): a step could print them. Ask an admin to register it",
            actor=actor.name,
            role=actor.role.value,
            permission=Permission.ADMIN.value,
        )
    existing = await secrets.list_secret_names(read_uow)
    problems: list[SpecProblem] = []
    for spec, where in specs:
        problems += missing_secret_problems(spec, where, existing)
    if problems:
        raise PipelineInvalid(problems)


def _referenced_names(spec: PipelineSpec) -> set[str]:
    return {reference.name for reference in secret_references(spec)}


async def step_secrets(
    read_uow: UnitOfWork, settings: Settings, spec: PipelineSpec, step: StepSpec
) -> dict[str, str]:
    """The values of the secrets ``step`` names, by upper-case name.

    A secret deleted since the pipeline was registered fails the step here, by name.
    """
    names = step_secret_names(spec, step)
    if not names:
        return {}
    values = await secrets.get_secret_values(read_uow, settings, names)
    missing = sorted(names - set(values))
    if missing:
        raise ValidationFailed(
            f"secret '{missing[0]}' does not exist (step '{step.id}' reads it); "
            f"create it with: orchestrate secret set {missing[0]}",
            secret=missing[0],
        )
    return values


def misplaced_secret_problems(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    """A problem for each secret that a step other than a ``run`` step would read.

    Read directly in its ``env:``, or through ``env.NAME`` (in its ``env:``, ``with:``,
    ``name:`` or ``if:``) where ``NAME`` is a variable of the pipeline or of the step
    that reads a secret.
    """
    pipeline_env = _secret_variables(spec.env, {})
    problems: list[SpecProblem] = []
    for index, step in enumerate(spec.steps):
        if step.kind is not StepKind.RUN:
            problems += _step_problems(step, ("steps", index), where, pipeline_env)
    return problems


def _step_problems(
    step: StepSpec, base: Path, where: SourceMap, pipeline_env: dict[str, set[str]]
) -> list[SpecProblem]:
    why = _WHY.get(step.kind, "the value would be stored with the run or shown")

    def problem(path: Path, secret: str, through: str | None, offset: int) -> SpecProblem:
        field = ".".join(str(part) for part in path[len(base) :])
        via = f" (through env.{through})" if through else ""
        kind = f"{'an' if step.kind.value[0] in 'aeiou' else 'a'} {step.kind.value} step"
        message = (
            f"step '{step.id}', '{field}': {kind} cannot read secret "
            f"'{secret}'{via}; secrets reach only 'run' steps, as environment variables "
            f"of their process, and {why}"
        )
        return where.problem(path, message, _HINT, offset=offset)

    problems: list[SpecProblem] = []
    for key, value in _string_items(step.env):
        for secret, through, offset in _secrets_read(value, pipeline_env):
            problems.append(problem((*base, "env", key), secret, through, offset))
    env = {**pipeline_env, **_secret_variables(step.env, pipeline_env)}
    for path, text, is_condition in _other_strings(step, base):
        for secret, through, offset in _secrets_read(text, env, is_condition=is_condition):
            if through is not None:  # secrets.X itself there fails the format's own checks
                problems.append(problem(path, secret, through, offset))
    return problems


def _secret_variables(
    env: Mapping[str, object], outer: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Each variable of ``env`` (lower-case) with the secrets its value reads.

    ``outer`` are the variables it may read as ``env.NAME`` (the pipeline's, for a
    step). A variable that reads none maps to an empty set: it hides the outer one.
    """
    return {
        key.lower(): {secret for secret, _, _ in _secrets_read(value, outer)}
        for key, value in _string_items(env)
    }


def _other_strings(step: StepSpec, base: Path) -> Iterator[tuple[Path, str, bool]]:
    """The step's strings other than ``env:`` that expressions may read ``env`` in."""
    if isinstance(step.name, str):
        yield (*base, "name"), step.name, False
    if isinstance(step.if_, str):
        yield (*base, "if"), step.if_, True
    for path, text in _nested_strings(step.with_, (*base, "with")):
        yield path, text, False
    if step.ci is not None:
        for relative, text in step.ci.strings():
            yield (*base, "ci", *relative), text, False
    if step.scan is not None:
        for relative, text in step.scan.strings():
            yield (*base, "scan", *relative), text, False


def _secrets_read(
    text: str, env: Mapping[str, set[str]], *, is_condition: bool = False
) -> Iterator[tuple[str, str | None, int]]:
    """(secret, the variable it is read through or None, offset) for each read in ``text``."""
    for start, expression in _expressions(text, is_condition=is_condition):
        try:
            tree = parse(expression).tree
        except ExpressionError:
            continue  # the format's own checks report it
        for node, _ in walk(tree):
            if not isinstance(node, Property | Index) or not isinstance(node.target, ContextRef):
                continue
            context, member = node.target.name.lower(), _member(node)
            if member is None:
                continue
            if context == "secrets":
                yield member.upper(), None, start + node.offset
            elif context == "env":
                for secret in sorted(env.get(member.lower(), set())):
                    yield secret, member, start + node.offset


def _expressions(text: str, *, is_condition: bool) -> list[tuple[int, str]]:
    try:
        found = find_expressions(text)
    except ExpressionError:
        return []
    if is_condition and not found and text.strip():
        return [(0, text)]  # an 'if:' may be written without ${{ }}
    return found


def _member(node: Property | Index) -> str | None:
    if isinstance(node, Property):
        return node.name
    if isinstance(node.index, Literal) and isinstance(node.index.value, str):
        return node.index.value
    return None


def _nested_strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nested_strings(item, (*path, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _nested_strings(item, (*path, position))


def _string_items(env: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(key, value) for key, value in env.items() if isinstance(value, str)]
