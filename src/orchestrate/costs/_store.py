"""The SQL of the cost ledger and the budgets.

The statements of the agent loop's path (``add_entry``, ``budgets_covering``,
``add_spend``) are built once: building one costs more than the database spends
running it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, delete, func, insert, or_, select, update

from orchestrate.core.db import UTCDateTime
from orchestrate.core.ids import new_id
from orchestrate.core.uow import UnitOfWork
from orchestrate.costs.models import (
    Budget,
    BudgetCrossing,
    BudgetPeriod,
    BudgetScope,
    BudgetSpec,
    CostEntry,
    CostGrouping,
    CostLine,
    UsageTotals,
    WorkScope,
    to_micros,
)
from orchestrate.costs.tables import CostBudgetRow, CostEntryRow

_entries: Table = CostEntryRow.__table__  # type: ignore[assignment]
_budgets: Table = CostBudgetRow.__table__  # type: ignore[assignment]


# --- the ledger ---------------------------------------------------------------------


async def add_entry(uow: UnitOfWork, entry: CostEntry, now: datetime) -> None:
    await uow.session.execute(
        _insert_entry(),
        {
            "created_at": now,
            "day": f"{now:%Y-%m-%d}",
            "model": entry.model,
            "provider": entry.provider,
            "agent_id": entry.agent_id,
            "agent_type": entry.agent_type,
            "story_id": entry.story_id,
            "pipeline": entry.pipeline,
            "pipeline_run_id": entry.pipeline_run_id,
            "input_tokens": entry.input_tokens,
            "output_tokens": entry.output_tokens,
            "cache_read_tokens": entry.cache_read_tokens,
            "cache_write_tokens": entry.cache_write_tokens,
            "cost_micros": to_micros(entry.cost_usd),
        },
    )


@functools.cache
def _insert_entry() -> Any:
    return insert(_entries)


_GROUP_COLUMNS = {
    CostGrouping.DAY: _entries.c.day,
    CostGrouping.AGENT_TYPE: _entries.c.agent_type,
    CostGrouping.MODEL: _entries.c.model,
    CostGrouping.STORY: _entries.c.story_id,
    CostGrouping.PIPELINE: _entries.c.pipeline,
}


async def cost_lines(uow: UnitOfWork, by: CostGrouping, since: datetime | None) -> list[CostLine]:
    """Calls, tokens and micro-dollars per group (one GROUP BY over the ledger)."""
    key = _GROUP_COLUMNS[by]
    c = _entries.c
    statement = select(
        key,
        func.count(),
        *(
            func.coalesce(func.sum(column), 0)
            for column in (
                c.input_tokens,
                c.output_tokens,
                c.cache_read_tokens,
                c.cache_write_tokens,
                c.cost_micros,
            )
        ),
    ).group_by(key)
    if since is not None:
        statement = statement.where(c.created_at >= since)
    rows = await uow.session.execute(statement)
    return [CostLine(row[0], int(row[1]), *(int(value) for value in row[2:])) for row in rows]


async def usage_totals(uow: UnitOfWork) -> list[UsageTotals]:
    """Tokens by kind and micro-dollars per (model, agent type) over the whole ledger."""
    c = _entries.c
    sums = (c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens)
    statement = select(
        c.model,
        c.agent_type,
        func.count(),
        *(func.coalesce(func.sum(column), 0) for column in (*sums, c.cost_micros)),
    ).group_by(c.model, c.agent_type)
    return [
        UsageTotals(row[0], row[1], CostLine(None, *(int(value) for value in row[2:])))
        for row in await uow.session.execute(statement)
    ]


async def spent_since(uow: UnitOfWork, scope: BudgetScope, value: str, since: datetime) -> int:
    """Micro-dollars the ledger holds for a budget's scope since ``since``."""
    c = _entries.c
    statement = select(func.coalesce(func.sum(c.cost_micros), 0)).where(c.created_at >= since)
    if scope is BudgetScope.AGENT_TYPE:
        statement = statement.where(c.agent_type == value)
    elif scope is BudgetScope.PIPELINE:
        statement = statement.where(c.pipeline == value)
    return int(await uow.session.scalar(statement) or 0)


# --- budgets ------------------------------------------------------------------------


async def budgets_covering(uow: UnitOfWork, work: WorkScope) -> list[Budget]:
    """The budgets that apply to this work: the global ones, its agent type's, its
    pipeline's (a small table; one indexed read)."""
    rows = await uow.session.execute(
        _covering(), {"agent_type": work.agent_type, "pipeline": work.pipeline or ""}
    )
    return [_budget(row) for row in rows]


@functools.cache
def _covering() -> Any:
    c = _budgets.c
    return (
        select(_budgets)
        .where(
            or_(
                c.scope == BudgetScope.GLOBAL.value,
                and_(
                    c.scope == BudgetScope.AGENT_TYPE.value,
                    c.scope_value == bindparam("agent_type"),
                ),
                and_(c.scope == BudgetScope.PIPELINE.value, c.scope_value == bindparam("pipeline")),
            )
        )
        .order_by(c.id)
    )


async def add_spend(
    uow: UnitOfWork, budget_ids: Sequence[str], micros: int, now: datetime
) -> list[BudgetCrossing]:
    """Add a call's cost to these budgets (a call in a new period starts the count
    again) in one ``UPDATE … RETURNING``; returns each budget before and after."""
    if not budget_ids:
        return []
    rows = await uow.session.execute(
        _add_spend(),
        {
            "ids": list(budget_ids),
            "micros": micros,
            "day": BudgetPeriod.DAILY.start_of(now),
            "month": BudgetPeriod.MONTHLY.start_of(now),
            "now": now,
        },
    )
    crossings = []
    for row in rows:
        budget = _budget(row)
        crossings.append(BudgetCrossing(budget, budget.spent_micros - micros, budget.spent_micros))
    return crossings


@functools.cache
def _add_spend() -> Any:
    c = _budgets.c
    start: Any = case(
        (c.period == BudgetPeriod.DAILY.value, bindparam("day", type_=UTCDateTime())),
        else_=bindparam("month", type_=UTCDateTime()),
    )
    micros: Any = bindparam("micros")
    return (
        update(_budgets)
        .where(c.id.in_(bindparam("ids", expanding=True)))
        .values(
            spent_micros=case((c.period_start == start, c.spent_micros + micros), else_=micros),
            period_start=start,
        )
        .returning(*c)
    )


async def list_budgets(uow: UnitOfWork) -> list[Budget]:
    c = _budgets.c
    rows = await uow.session.execute(select(_budgets).order_by(c.scope, c.scope_value, c.period))
    return [_budget(row) for row in rows]


async def find_budget(uow: UnitOfWork, budget_id: str) -> Budget | None:
    row = (await uow.session.execute(select(_budgets).where(_budgets.c.id == budget_id))).first()
    return None if row is None else _budget(row)


async def find_budget_for(uow: UnitOfWork, spec: BudgetSpec) -> Budget | None:
    c = _budgets.c
    row = (
        await uow.session.execute(
            select(_budgets).where(
                c.scope == spec.scope.value,
                c.scope_value == spec.scope_value,
                c.period == spec.period.value,
            )
        )
    ).first()
    return None if row is None else _budget(row)


async def insert_budget(uow: UnitOfWork, spec: BudgetSpec, spent: int, now: datetime) -> Budget:
    budget_id = new_id("bud", now)
    await uow.session.execute(
        insert(_budgets).values(
            id=budget_id,
            scope=spec.scope.value,
            scope_value=spec.scope_value,
            period=spec.period.value,
            limit_micros=to_micros(spec.limit_usd),
            warn_at=spec.warn_at,
            spent_micros=spent,
            period_start=spec.period.start_of(now),
            created_at=now,
            updated_at=now,
        )
    )
    found = await find_budget(uow, budget_id)
    assert found is not None
    return found


async def change_budget(uow: UnitOfWork, budget_id: str, spec: BudgetSpec, now: datetime) -> Budget:
    await uow.session.execute(
        update(_budgets)
        .where(_budgets.c.id == budget_id)
        .values(limit_micros=to_micros(spec.limit_usd), warn_at=spec.warn_at, updated_at=now)
    )
    found = await find_budget(uow, budget_id)
    assert found is not None
    return found


async def delete_budget(uow: UnitOfWork, budget_id: str) -> None:
    await uow.session.execute(delete(_budgets).where(_budgets.c.id == budget_id))


def _budget(row: Any) -> Budget:
    return Budget(
        id=row.id,
        scope=BudgetScope(row.scope),
        scope_value=row.scope_value,
        period=BudgetPeriod(row.period),
        limit_micros=int(row.limit_micros),
        warn_at=Decimal(str(row.warn_at)),
        spent_micros=int(row.spent_micros),
        period_start=row.period_start,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
