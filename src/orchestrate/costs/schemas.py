"""Request and response models of the cost report and the budgets API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.costs.models import (
    DEFAULT_WARN_AT,
    MAX_LIMIT_USD,
    MAX_SCOPE_VALUE,
    Budget,
    BudgetPeriod,
    BudgetScope,
    BudgetSpec,
    CostGrouping,
    CostLine,
    CostReport,
    to_dollars,
)


class CostLineOut(BaseModel):
    key: str | None = Field(
        description="The day (YYYY-MM-DD, UTC), agent type, model, story id or pipeline; "
        "null for calls with no story or pipeline."
    )
    calls: int = Field(description="Model calls.")
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal = Field(description="An exact decimal string, six places.")

    @classmethod
    def of(cls, line: CostLine) -> CostLineOut:
        return cls(
            key=line.key,
            calls=line.calls,
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            cache_read_tokens=line.cache_read_tokens,
            cache_write_tokens=line.cache_write_tokens,
            cost_usd=line.cost_usd,
        )


class CostReportOut(BaseModel):
    """``GET /api/monitoring/costs`` and ``orchestrate cost report --json``."""

    by: CostGrouping
    since: datetime | None = Field(description="Calls at or after this (UTC); null: all.")
    items: list[CostLineOut] = Field(
        description="One per group: by day oldest first, otherwise most expensive first."
    )
    total: CostLineOut = Field(description="Every listed call together (key null).")

    @classmethod
    def of(cls, report: CostReport) -> CostReportOut:
        return cls(
            by=report.by,
            since=report.since,
            items=[CostLineOut.of(line) for line in report.lines],
            total=CostLineOut.of(report.total),
        )


class BudgetIn(BaseModel):
    """A budget to create, or the new limit and warning of the one of this scope and period."""

    model_config = ConfigDict(extra="forbid")

    limit_usd: Decimal = Field(gt=0, le=MAX_LIMIT_USD, examples=["50", "1000.00"])
    period: BudgetPeriod = BudgetPeriod.MONTHLY
    scope: BudgetScope = BudgetScope.GLOBAL
    scope_value: str = Field(
        "",
        max_length=MAX_SCOPE_VALUE,
        description="The agent type or pipeline name; empty for the global budget.",
    )
    warn_at: Decimal = Field(
        DEFAULT_WARN_AT,
        gt=0,
        le=1,
        description="The fraction of the limit at which the warning event is recorded.",
    )

    def spec(self) -> BudgetSpec:
        return BudgetSpec(self.limit_usd, self.period, self.scope, self.scope_value, self.warn_at)


class BudgetOut(BaseModel):
    id: str
    scope: BudgetScope
    scope_value: str
    period: BudgetPeriod
    limit_usd: Decimal
    warn_at: Decimal
    spent_usd: Decimal = Field(description="Spent in the current period.")
    period_start: datetime = Field(description="When the current period began (UTC).")
    period_end: datetime = Field(description="When it ends and the count starts again.")
    status: Literal["ok", "warning", "exhausted"] = Field(
        description="exhausted: new agent work under it is refused and its agents stop."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, budget: Budget, now: datetime) -> BudgetOut:
        spent = budget.spent_at(now)
        start = budget.period.start_of(now)
        status = budget.status_at(now)
        return cls(
            id=budget.id,
            scope=budget.scope,
            scope_value=budget.scope_value,
            period=budget.period,
            limit_usd=budget.limit_usd,
            warn_at=budget.warn_at,
            spent_usd=to_dollars(spent),
            period_start=start,
            period_end=budget.period.end_of(start),
            status=status,
            created_at=budget.created_at,
            updated_at=budget.updated_at,
        )
