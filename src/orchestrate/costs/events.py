"""The events of the cost ledger's budgets (subject: the budget id ``bud_…``).

A warning and a limit are each announced once per period: the call that crosses the
line records the event, in the transaction that records the call. Alert rules and
notification channels react to them.
"""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class BudgetSet(DomainEvent):
    event_type: ClassVar[str] = "cost.budget_set"
    scope: str
    scope_value: str
    period: str
    limit_usd: str
    warn_at: str
    actor: str


class BudgetDeleted(DomainEvent):
    event_type: ClassVar[str] = "cost.budget_deleted"
    scope: str
    scope_value: str
    period: str
    actor: str


class _BudgetCrossed(DomainEvent):
    scope: str
    scope_value: str
    period: str
    period_start: str
    limit_usd: str
    spent_usd: str


class BudgetWarningReached(_BudgetCrossed):
    """Spending in the period passed the budget's warning threshold."""

    event_type: ClassVar[str] = "cost.budget_warning"
    warn_at: str


class BudgetLimitReached(_BudgetCrossed):
    """Spending in the period reached the limit: new agent work is refused and running
    agents stop at their next turn until the period ends or the limit is raised."""

    event_type: ClassVar[str] = "cost.budget_exhausted"
