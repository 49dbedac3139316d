"""How pipelines use the secret store: check names at registration, fetch them for a step.

A pipeline naming a secret that does not exist is refused when it is registered, with
the name and its place in the file, rather than failing a run hours later. A step
receives only the secrets it names (in its ``run:``, its ``env:`` or the pipeline's),
fetched just before its process starts and never stored with the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import PermissionDenied, ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines.spec.models import PipelineSpec, StepSpec
from orchestrate.pipelines.spec.positions import SourceMap
from orchestrate.pipelines.spec.problems import PipelineInvalid, SpecProblem
from orchestrate.pipelines.spec.secret_refs import (
    missing_secret_problems,
    secret_references,
    step_secret_names,
)
from orchestrate.secrets import service as secrets


async def check_secret_use(
    read_uow: UnitOfWork, specs: Sequence[tuple[PipelineSpec, SourceMap]], actor: Actor
) -> None:
    """Refuse files that read secrets their author may not, or that the store lacks.

    Reading a secret in a step is reading it: a step can print it transformed past the
    masking. Only admins can manage secrets over the API, so only an admin may
    register a pipeline that reads one (``PermissionDenied`` otherwise); then every
    name the files read and the store lacks is one ``PipelineInvalid`` problem.
    """
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
