"""Hand a CI run's failures to an issue-fixer: ``orchestrate ci fix RUN``.

The CI capability reads the run and analyses its failures (``ci.service.analyze_run``);
this starts the fixer on the registered repository at the run's commit with the
analysis's brief as its task. A run whose failures call for no change (flaky tests,
infrastructure) is refused with what to do instead: a fixer there would only guess.
The fixer is started once per run attempt (its origin key): asking again returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor
from orchestrate.ci import service as ci
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.repositories import service as repositories

DEFAULT_FIXER = "issue-fixer"


@dataclass(frozen=True)
class CiFix:
    """The analysis handed over and the fixer working on it."""

    analysis: ci.RunAnalysis
    agent: agents.AgentRun


async def fix_ci_run(
    runtime: Runtime,
    target: ci.CiTarget,
    run_id: str,
    actor: Actor,
    *,
    tree_sha: str | None = None,
    agent_type: str = DEFAULT_FIXER,
    max_cost_usd: Decimal | None = None,
) -> CiFix:
    """Analyse run ``run_id`` and start ``agent_type`` on what needs fixing."""
    settings = runtime.settings
    found = await ci.analyze_run(runtime.uow, settings, target, run_id, tree_sha=tree_sha)
    if not any(group.is_actionable for group in found.analysis.groups):
        why = (
            "it has no failing tests"
            if not found.analysis.groups
            else f"its failures look {_causes(found)}, which a re-run settles"
        )
        raise ValidationFailed(
            f"Nothing for a fixer in run {run_id}: {why}. Re-run it "
            f"(orchestrate ci rerun {run_id} --failed-only).",
            run_id=run_id,
        )
    repository = await repositories.get_repository(runtime.uow(), settings, target.repository)
    run = found.run
    request = agents.StartAgent(
        type=agent_type,
        task=ci.render_brief(found.analysis),
        repo=repository.path,
        base_ref=run.head_sha or "HEAD",
        max_cost_usd=max_cost_usd,
        origin_key=f"ci-fix:{run.provider.value}:{run.repository}:{run.id}:{run.attempt}",
    )
    agent = await agents.start_agent(runtime.uow(), settings, request, actor)
    return CiFix(found, agent)


def _causes(found: ci.RunAnalysis) -> str:
    return " or ".join(sorted({group.cause.value for group in found.analysis.groups}))
