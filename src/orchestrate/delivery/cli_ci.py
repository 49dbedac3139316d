"""``orchestrate ci fix``: a CI run's failures handed to an issue-fixer (joins ``ci``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.ci import service as ci
from orchestrate.cli.output import print_json, say
from orchestrate.cli.runtime import cli_settings, run_with_runtime
from orchestrate.delivery.ci_fix import DEFAULT_FIXER, fix_ci_run

ci_fix_app = typer.Typer()
"""Its command joins the ``ci`` group (``app/capabilities.py``)."""


@ci_fix_app.command("fix")
def fix(
    run_id: Annotated[str, typer.Argument(help="The run: workflow run, pipeline or workflow id.")],
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="github, gitlab or circleci."),
    ] = None,
    repo: Annotated[
        str | None,
        typer.Option("--repo", "-r", help="The repository, registered (orchestrate repo add)."),
    ] = None,
    sha: Annotated[
        str | None, typer.Option("--sha", help="The tree SHA the run tested (default: read).")
    ] = None,
    agent_type: Annotated[
        str, typer.Option("--type", help="The agent type to start.")
    ] = DEFAULT_FIXER,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0.01, help="The fixer's dollar limit.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Analyse a run's failures and start an issue-fixer on them, at the run's commit.

    Refused when the failures call for a re-run, not a change (flaky tests, infrastructure).
    """
    target = ci.resolve_target(cli_settings(), provider, repo)
    budget = Decimal(str(max_cost)) if max_cost is not None else None
    started = run_with_runtime(
        lambda rt: fix_ci_run(
            rt,
            target,
            run_id,
            Actor.local_cli(),
            tree_sha=sha,
            agent_type=agent_type,
            max_cost_usd=budget,
        )
    )
    if json_output:
        print_json({"agent_id": started.agent.id, **started.analysis.to_json()})
        return
    groups = started.analysis.analysis.groups
    say(f"{len(groups)} failure group(s) of run {run_id} handed to {agent_type}.")
    print(started.agent.id)
