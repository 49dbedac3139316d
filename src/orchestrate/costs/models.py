"""The cost ledger and spending budgets, as plain types and rules.

Money is counted in whole micro-dollars (``int``) wherever it is summed: the ledger's
sums are then exact on both databases (SQLite sums a NUMERIC column as a float).
``Decimal`` dollars appear only at the edges (reports, the API, the CLI).

A budget caps what agent work may spend in a calendar period, in UTC: a *daily* one
from midnight to midnight, a *monthly* one from the first of the month. Its scope is
everything (``global``), one agent type, or the agents started by one pipeline. A
budget keeps what was spent in its current period; a call recorded in a new period
starts the count again from that call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Literal

from orchestrate.core.errors import Conflict, ValidationFailed

MICROS_PER_DOLLAR = 1_000_000
DEFAULT_WARN_AT = Decimal("0.8")
MAX_LIMIT_USD = Decimal(1_000_000_000)
MAX_SCOPE_VALUE = 200


def to_micros(dollars: Decimal) -> int:
    """Dollars to whole micro-dollars, rounding half to even (the ledger's unit)."""
    return int((dollars * MICROS_PER_DOLLAR).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_dollars(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_DOLLAR).quantize(Decimal("0.000001"))


class BudgetPeriod(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"

    def start_of(self, moment: datetime) -> datetime:
        """The start (UTC) of the period holding ``moment``."""
        utc = moment.astimezone(UTC)
        day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
        return day if self is BudgetPeriod.DAILY else day.replace(day=1)

    def end_of(self, start: datetime) -> datetime:
        """The start of the period after the one that starts at ``start``."""
        if self is BudgetPeriod.DAILY:
            return start + timedelta(days=1)
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


class BudgetScope(StrEnum):
    GLOBAL = "global"
    AGENT_TYPE = "agent-type"
    PIPELINE = "pipeline"


@dataclass(frozen=True)
class WorkScope:
    """What a piece of agent work is charged to: its agent type and, when a pipeline
    started it (or its root agent), that pipeline."""

    agent_type: str
    pipeline: str | None = None

    def covers(self, scope: BudgetScope, value: str) -> bool:
        if scope is BudgetScope.GLOBAL:
            return True
        if scope is BudgetScope.AGENT_TYPE:
            return value == self.agent_type
        return self.pipeline is not None and value == self.pipeline


@dataclass(frozen=True)
class CostEntry:
    """One model call's cost, with everything a report groups by."""

    model: str
    provider: str
    agent_id: str
    agent_type: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal
    story_id: str | None = None
    pipeline: str | None = None
    pipeline_run_id: str | None = None


@dataclass(frozen=True)
class Budget:
    id: str
    scope: BudgetScope
    scope_value: str
    """The agent type or pipeline name; empty for the global budget."""
    period: BudgetPeriod
    limit_micros: int
    warn_at: Decimal
    """The fraction of the limit at which a warning is raised (0.8: at 80 %)."""
    spent_micros: int
    """Spent in the period that starts at ``period_start``."""
    period_start: datetime
    created_at: datetime
    updated_at: datetime

    @property
    def limit_usd(self) -> Decimal:
        return to_dollars(self.limit_micros)

    def spent_at(self, now: datetime) -> int:
        """Micro-dollars spent in the period holding ``now`` (0 once a new one began)."""
        return self.spent_micros if self.period_start == self.period.start_of(now) else 0

    def exhausted_at(self, now: datetime) -> bool:
        return self.spent_at(now) >= self.limit_micros

    def status_at(self, now: datetime) -> Literal["ok", "warning", "exhausted"]:
        """``exhausted`` at the limit, ``warning`` past the threshold, else ``ok``."""
        spent = self.spent_at(now)
        if spent >= self.limit_micros:
            return "exhausted"
        return "warning" if spent >= self.warn_micros else "ok"

    @property
    def warn_micros(self) -> int:
        return int(self.limit_micros * self.warn_at)

    def describe(self) -> str:
        """``the daily budget of agent type 'story-developer'``, for messages."""
        if self.scope is BudgetScope.GLOBAL:
            return f"the global {self.period.value} budget"
        kind = "agent type" if self.scope is BudgetScope.AGENT_TYPE else "pipeline"
        return f"the {self.period.value} budget of {kind} {self.scope_value!r}"


@dataclass(frozen=True)
class BudgetSpec:
    """What ``cost budget set`` asks for; setting the same scope and period again
    changes the limit and warning of the budget that exists."""

    limit_usd: Decimal
    period: BudgetPeriod = BudgetPeriod.MONTHLY
    scope: BudgetScope = BudgetScope.GLOBAL
    scope_value: str = ""
    warn_at: Decimal = DEFAULT_WARN_AT

    def checked(self) -> BudgetSpec:
        if not Decimal(0) < self.limit_usd <= MAX_LIMIT_USD:
            raise ValidationFailed(
                f"a budget's limit must be more than $0 and at most ${MAX_LIMIT_USD:,}; "
                f"got {self.limit_usd}",
                limit_usd=str(self.limit_usd),
            )
        if not Decimal(0) < self.warn_at <= Decimal(1):
            raise ValidationFailed(
                f"warn_at is a fraction of the limit above 0 and at most 1 (0.8 = 80 %); "
                f"got {self.warn_at}",
                warn_at=str(self.warn_at),
            )
        value = self.scope_value.strip()
        if self.scope is BudgetScope.GLOBAL and value:
            raise ValidationFailed("a global budget names no agent type or pipeline")
        if self.scope is not BudgetScope.GLOBAL and not value:
            raise ValidationFailed(f"a {self.scope.value} budget needs the {self.scope.value}")
        if len(value) > MAX_SCOPE_VALUE:
            raise ValidationFailed(f"the {self.scope.value} name is over {MAX_SCOPE_VALUE} chars")
        return BudgetSpec(self.limit_usd, self.period, self.scope, value, self.warn_at)


class BudgetExhausted(Conflict):
    """New agent work is refused while a budget covering it is spent."""

    def __init__(self, budget: Budget, now: datetime) -> None:
        spent = to_dollars(budget.spent_at(now))
        ends = budget.period.end_of(budget.period.start_of(now))
        named = budget.describe()
        super().__init__(
            f"{named[:1].upper()}{named[1:]} is spent: "
            f"${spent} of ${budget.limit_usd} until {ends:%Y-%m-%d %H:%M} UTC. "
            f"Raise it with 'orchestrate cost budget set' or wait for the next period.",
            budget_id=budget.id,
            spent_usd=str(spent),
            limit_usd=str(budget.limit_usd),
        )
        self.budget = budget


@dataclass(frozen=True)
class BudgetCrossing:
    """A budget passed its warning threshold or its limit with one recorded call."""

    budget: Budget
    before_micros: int
    after_micros: int

    @property
    def warned(self) -> bool:
        return self.before_micros < self.budget.warn_micros <= self.after_micros

    @property
    def exhausted(self) -> bool:
        return self.before_micros < self.budget.limit_micros <= self.after_micros


class CostGrouping(StrEnum):
    DAY = "day"
    AGENT_TYPE = "agent-type"
    MODEL = "model"
    STORY = "story"
    PIPELINE = "pipeline"


@dataclass(frozen=True)
class CostLine:
    """The calls, tokens and dollars of one group (``key`` None: no story / pipeline)."""

    key: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_micros: int

    @property
    def cost_usd(self) -> Decimal:
        return to_dollars(self.cost_micros)


@dataclass(frozen=True)
class CostReport:
    by: CostGrouping
    since: datetime | None
    lines: tuple[CostLine, ...]
    """Most expensive first (by day: oldest first)."""
    total: CostLine


@dataclass(frozen=True)
class UsageTotals:
    """The whole ledger's tokens and dollars of one model used by one agent type."""

    model: str
    agent_type: str
    totals: CostLine
