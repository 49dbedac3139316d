"""``orchestrate cost …``: the report of what agents spent, and the budgets that cap it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.durations import parse_since
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service
from orchestrate.costs.models import BudgetPeriod, BudgetScope, BudgetSpec
from orchestrate.costs.schemas import BudgetOut, CostLineOut, CostReportOut

cost_app = typer.Typer(
    help="What agents spent (a ledger entry per model call) and the budgets that cap it.",
    no_args_is_help=True,
)
budget_app = typer.Typer(
    help="Daily or monthly spending limits: global, per agent type or per pipeline.",
    no_args_is_help=True,
)
cost_app.add_typer(budget_app, name="budget")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@cost_app.command("report")
def report(
    by: Annotated[
        service.CostGrouping, typer.Option(help="Group the calls by this.")
    ] = service.CostGrouping.DAY,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only calls since: a date (2026-12-01, midnight UTC), a date and time "
            "(UTC unless it has an offset) or a period back from now (30d, 12h, 2w). "
            "Default: the whole ledger."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Model calls, tokens and dollars grouped by day, agent type, model, story or pipeline."""
    found = CostReportOut.of(
        run_with_runtime(
            lambda rt: service.cost_report(
                rt.uow(read_only=True), by, parse_since(since, rt.clock.now())
            )
        )
    )
    if json_output:
        print_json(found)
        return
    window = f"since {found.since:%Y-%m-%d %H:%M} UTC" if found.since else "all time"
    rows = [_cells(line.key or "(none)", line) for line in found.items]
    if rows:
        rows.append(_cells("total", found.total))
    print_table(
        [found.by.value, "calls", "input", "output", "cache read", "cache write", "cost $"],
        rows,
        title=f"Model calls by {found.by.value}, {window}",
    )


def _cells(key: str, line: CostLineOut) -> tuple[object, ...]:
    return (
        key,
        line.calls,
        f"{line.input_tokens:,}",
        f"{line.output_tokens:,}",
        f"{line.cache_read_tokens:,}",
        f"{line.cache_write_tokens:,}",
        f"{line.cost_usd:.4f}",
    )


@budget_app.command("set")
def set_budget(
    limit: Annotated[str, typer.Argument(help="The limit in US dollars, e.g. 50 or 12.50.")],
    period: Annotated[BudgetPeriod, typer.Option(help="Calendar period, in UTC.")] = (
        BudgetPeriod.MONTHLY
    ),
    agent_type: Annotated[
        str | None, typer.Option("--agent-type", help="Only agents of this type.")
    ] = None,
    pipeline: Annotated[
        str | None, typer.Option(help="Only agents started by this pipeline's steps.")
    ] = None,
    warn_at: Annotated[
        int,
        typer.Option(
            "--warn-at",
            min=1,
            max=100,
            help="Percent of the limit at which a cost.budget_warning event is raised.",
        ),
    ] = 80,
) -> None:
    """Create a budget, or change the limit of the one with this scope and period.

    Without --agent-type or --pipeline it covers all agent work. Once spent, new agent
    work under it is refused and its running agents stop at their next turn.
    """
    if agent_type is not None and pipeline is not None:
        raise ValidationFailed("a budget covers an agent type or a pipeline, not both")
    scope, value = BudgetScope.GLOBAL, ""
    if agent_type is not None:
        scope, value = BudgetScope.AGENT_TYPE, agent_type
    elif pipeline is not None:
        scope, value = BudgetScope.PIPELINE, pipeline
    spec = BudgetSpec(_dollars(limit), period, scope, value, Decimal(warn_at) / 100)
    written = run_with_runtime(lambda rt: service.set_budget(rt.uow(), spec, Actor.local_cli()))
    budget = written.budget
    say(
        f"{'Created' if written.is_new else 'Updated'} {budget.id}: {budget.describe()} "
        f"is ${budget.limit_usd}, warning at {budget.warn_at:.0%}."
    )


@budget_app.command("list")
def list_budgets(json_output: JsonOption = False) -> None:
    """Budgets with what the current period has spent."""

    async def read(rt: Runtime) -> list[BudgetOut]:
        now = rt.clock.now()
        return [BudgetOut.of(b, now) for b in await service.list_budgets(rt.uow(read_only=True))]

    budgets = run_with_runtime(read)
    if json_output:
        print_json(budgets)
        return
    print_table(
        ["id", "scope", "period", "limit $", "spent $", "status", "warn at", "until"],
        (
            (
                b.id,
                b.scope.value if not b.scope_value else f"{b.scope.value} {b.scope_value}",
                b.period.value,
                b.limit_usd,
                b.spent_usd,
                b.status,
                f"{b.warn_at:.0%}",
                f"{b.period_end:%Y-%m-%d %H:%M}",
            )
            for b in budgets
        ),
    )


@budget_app.command("delete")
def delete_budget(budget_id: Annotated[str, typer.Argument(help="The budget's id.")]) -> None:
    """Delete a budget: the work it covered is no longer capped by it."""
    budget = run_with_runtime(
        lambda rt: service.delete_budget(rt.uow(), budget_id, Actor.local_cli())
    )
    say(f"Deleted {budget.id} ({budget.describe()}).")


def _dollars(text: str) -> Decimal:
    try:
        amount = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        raise ValidationFailed(f"{text!r} is not an amount of dollars, e.g. 50 or 12.50") from None
    if not amount.is_finite():
        raise ValidationFailed(f"{text!r} is not an amount of dollars, e.g. 50 or 12.50")
    return amount
