"""Use cases of the cost ledger and budgets.

The agent loop records every model call's cost here, in the transaction that records
the call (``record_call_cost``), and reads the budgets covering its work before each
model call (``covering_budgets``); starting agent work asks ``check_budgets`` first.
So a spent budget refuses new work at once and stops running agents at their next
turn, in every process, with nothing cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import NotFound
from orchestrate.core.events import record_event
from orchestrate.core.uow import UnitOfWork
from orchestrate.costs import _store as store
from orchestrate.costs.events import (
    BudgetDeleted,
    BudgetLimitReached,
    BudgetSet,
    BudgetWarningReached,
)
from orchestrate.costs.models import (
    Budget,
    BudgetCrossing,
    BudgetExhausted,
    BudgetPeriod,
    BudgetScope,
    BudgetSpec,
    CostEntry,
    CostGrouping,
    CostLine,
    CostReport,
    UsageTotals,
    WorkScope,
    to_dollars,
    to_micros,
)

__all__ = [
    "Budget",
    "BudgetExhausted",
    "BudgetPeriod",
    "BudgetScope",
    "BudgetSpec",
    "BudgetWrite",
    "CostEntry",
    "CostGrouping",
    "CostReport",
    "UsageTotals",
    "WorkScope",
    "budgets_in",
    "check_budgets",
    "cost_lines_in",
    "cost_report",
    "covering_budgets",
    "delete_budget",
    "exhausted_budget",
    "list_budgets",
    "record_call_cost",
    "set_budget",
    "usage_totals_in",
]


# --- the agent loop's path ------------------------------------------------------------


async def covering_budgets(uow: UnitOfWork, work: WorkScope) -> list[Budget]:
    """The budgets that apply to ``work``, read in the caller's transaction."""
    return await store.budgets_covering(uow, work)


def exhausted_budget(budgets: Sequence[Budget], now: datetime) -> Budget | None:
    """The first of ``budgets`` spent in the period holding ``now``, if any."""
    return next((budget for budget in budgets if budget.exhausted_at(now)), None)


async def check_budgets(uow: UnitOfWork, work: WorkScope) -> list[Budget]:
    """Refuse new agent work (``BudgetExhausted``) while a budget covering it is spent;
    returns the budgets covering it."""
    budgets = await store.budgets_covering(uow, work)
    spent = exhausted_budget(budgets, uow.now())
    if spent is not None:
        raise BudgetExhausted(spent, uow.now())
    return budgets


async def record_call_cost(
    uow: UnitOfWork, entry: CostEntry, budgets: Sequence[Budget] = ()
) -> None:
    """Add a model call to the ledger, and its cost to ``budgets`` (those covering the
    call's work, as read before the call) — the latter as the transaction's last writes,
    so rows every agent shares are locked for the shortest time. A budget whose warning
    threshold or limit this call crosses records its event, once per period."""
    now = uow.now()
    await store.add_entry(uow, entry, now)
    micros = to_micros(entry.cost_usd)
    if not budgets or micros <= 0:
        return
    ids = [budget.id for budget in budgets]

    async def add_spend() -> None:
        for crossing in await store.add_spend(uow, ids, micros, now):
            _announce(uow, crossing)

    uow.before_commit(add_spend, last=True)


def _announce(uow: UnitOfWork, crossing: BudgetCrossing) -> None:
    budget = crossing.budget
    common = {
        "subject": budget.id,
        "scope": budget.scope.value,
        "scope_value": budget.scope_value,
        "period": budget.period.value,
        "period_start": budget.period_start.isoformat(),
        "limit_usd": str(budget.limit_usd),
        "spent_usd": str(to_dollars(crossing.after_micros)),
    }
    if crossing.warned and not crossing.exhausted:
        record_event(uow, BudgetWarningReached(warn_at=str(budget.warn_at), **common))
    if crossing.exhausted:
        record_event(uow, BudgetLimitReached(**common))


# --- budgets ------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetWrite:
    budget: Budget
    is_new: bool


async def set_budget(uow: UnitOfWork, spec: BudgetSpec, actor: Actor) -> BudgetWrite:
    """Create the budget of this scope and period, or change its limit and warning.

    A new budget starts with what the ledger already holds for its scope in the current
    period, so setting one mid-month counts the month's spending so far."""
    auth.authorize(actor, Permission.ADMIN)
    spec = spec.checked()
    async with uow:
        now = uow.now()
        existing = await store.find_budget_for(uow, spec)
        if existing is None:
            spent = await store.spent_since(
                uow, spec.scope, spec.scope_value, spec.period.start_of(now)
            )
            budget = await store.insert_budget(uow, spec, spent, now)
        else:
            budget = await store.change_budget(uow, existing.id, spec, now)
        record_event(
            uow,
            BudgetSet(
                subject=budget.id,
                scope=budget.scope.value,
                scope_value=budget.scope_value,
                period=budget.period.value,
                limit_usd=str(budget.limit_usd),
                warn_at=str(budget.warn_at),
                actor=actor.name,
            ),
        )
        await auth.record_audit(
            uow,
            actor,
            "cost.budget_set",
            budget.id,
            {"limit_usd": str(budget.limit_usd), "scope": budget.scope.value},
        )
        await uow.commit()
        return BudgetWrite(budget, existing is None)


async def list_budgets(uow: UnitOfWork) -> list[Budget]:
    async with uow:
        return await store.list_budgets(uow)


async def budgets_in(uow: UnitOfWork) -> list[Budget]:
    """Every budget, read in the caller's entered transaction (alert rules read them)."""
    return await store.list_budgets(uow)


async def usage_totals_in(uow: UnitOfWork) -> list[UsageTotals]:
    """Tokens and dollars per (model, agent type) over the ledger, in the caller's
    entered transaction (``/metrics`` reads them at every scrape)."""
    return await store.usage_totals(uow)


async def cost_lines_in(
    uow: UnitOfWork, by: CostGrouping, since: datetime | None
) -> list[CostLine]:
    """The report's lines, unsorted, read in the caller's entered transaction."""
    return await store.cost_lines(uow, by, since)


async def delete_budget(uow: UnitOfWork, budget_id: str, actor: Actor) -> Budget:
    auth.authorize(actor, Permission.ADMIN)
    async with uow:
        budget = await store.find_budget(uow, budget_id)
        if budget is None:
            raise NotFound(
                f"No budget {budget_id!r}; see 'orchestrate cost budget list'",
                budget_id=budget_id,
            )
        await store.delete_budget(uow, budget_id)
        record_event(
            uow,
            BudgetDeleted(
                subject=budget.id,
                scope=budget.scope.value,
                scope_value=budget.scope_value,
                period=budget.period.value,
                actor=actor.name,
            ),
        )
        await auth.record_audit(uow, actor, "cost.budget_delete", budget.id, None)
        await uow.commit()
        return budget


# --- reports ------------------------------------------------------------------------


async def cost_report(
    uow: UnitOfWork, by: CostGrouping = CostGrouping.DAY, since: datetime | None = None
) -> CostReport:
    """The ledger grouped ``by`` day, agent type, model, story or pipeline, from ``since``."""
    async with uow:
        lines = await store.cost_lines(uow, by, since)
    if by is CostGrouping.DAY:
        lines.sort(key=lambda line: line.key or "")
    else:
        lines.sort(key=lambda line: (-line.cost_micros, line.key or ""))
    total = CostLine(
        None,
        sum(line.calls for line in lines),
        sum(line.input_tokens for line in lines),
        sum(line.output_tokens for line in lines),
        sum(line.cache_read_tokens for line in lines),
        sum(line.cache_write_tokens for line in lines),
        sum(line.cost_micros for line in lines),
    )
    return CostReport(by, since, tuple(lines), total)
