"""Retention of the cost ledger: entries older than ``retention_costs`` (400 days by
default: a year of monthly reports and the month before it). Budgets are kept."""

from __future__ import annotations

from orchestrate.core.retention import LogPrefixRule, Retention
from orchestrate.costs.tables import CostEntryRow

retention = Retention(
    rules=(
        LogPrefixRule(
            name="cost_entries",
            setting="retention_costs",
            removes="cost ledger entries",
            table=CostEntryRow,
            id_column=CostEntryRow.id,
            time_column=CostEntryRow.created_at,
        ),
    )
)
"""What ``app/capabilities.py`` lists for costs."""
