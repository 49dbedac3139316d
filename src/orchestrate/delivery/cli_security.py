"""``orchestrate security fix``: a finding handed to the security-scanner agent (joins
``security``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_json, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.delivery.security_fix import DEFAULT_AGENT, fix_finding

security_fix_app = typer.Typer()
"""Its command joins the ``security`` group (``app/capabilities.py``)."""


@security_fix_app.command("fix")
def fix(
    finding_id: Annotated[int, typer.Argument(min=1, help="The finding (security findings).")],
    repo: Annotated[
        str | None,
        typer.Option("--repo", "-r", help="The registered repository (default: the one scanned)."),
    ] = None,
    agent_type: Annotated[str, typer.Option("--type", help="The agent type.")] = DEFAULT_AGENT,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0.01, help="The agent's dollar limit.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start the security-scanner agent on a finding; when it completes, its pull
    request is opened. Asking again for the same finding returns the same agent."""
    budget = Decimal(str(max_cost)) if max_cost is not None else None
    started = run_with_runtime(
        lambda rt: fix_finding(
            rt,
            finding_id,
            Actor.local_cli(),
            repository=repo,
            agent_type=agent_type,
            max_cost_usd=budget,
        )
    )
    if json_output:
        print_json({"agent_id": started.agent.id, "finding_id": finding_id})
        return
    say(f"Finding {finding_id} ({started.finding.finding.rule_id}) handed to {agent_type}.")
    print(started.agent.id)
