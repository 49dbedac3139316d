"""The hard limits of a run; each breach names itself clearly (loops: ``stuck.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from orchestrate.agents.models import Limits


@dataclass(frozen=True)
class Spent:
    turns: int
    tokens: int
    cost_usd: Decimal
    active: timedelta


def breached_limit(limits: Limits, spent: Spent) -> str | None:
    """Why the run must stop before another provider call, or None."""
    if spent.turns >= limits.max_turns:
        return f"turn limit reached: {spent.turns} of {limits.max_turns} turns used"
    if limits.max_tokens is not None and spent.tokens >= limits.max_tokens:
        return f"token budget exhausted: {spent.tokens:,} of {limits.max_tokens:,} tokens used"
    if limits.max_cost_usd is not None and spent.cost_usd >= limits.max_cost_usd:
        return (
            f"cost budget exhausted: ${spent.cost_usd:.4f} spent of "
            f"${limits.max_cost_usd:.2f} allowed"
        )
    if limits.max_wall_time is not None and spent.active >= limits.max_wall_time:
        minutes = limits.max_wall_time.total_seconds() / 60
        return f"time limit reached: ran for {spent.active} (limit {minutes:g} minutes)"
    return None
