"""Agent performance analytics: runs, outcomes, turns, time and money per type and model.

The database counts and sums per (type, model) (``_store.stats_totals``); medians and
90th percentiles come from a narrow read of the finished runs (``_store.stats_samples``)
and are computed here, the same way on SQLite and PostgreSQL.

Definitions (``docs/agents.md`` explains them to users):

* A *finished run* is one in ``completed``, ``failed`` or ``cancelled``; ``runs``
  counts those. Runs still under way (``created``, ``running``, waiting, paused) are
  counted apart as ``active`` and contribute to no other figure.
* ``success_rate`` is ``completed / runs``. An agent that finishes ``blocked`` ends
  ``failed``, so it counts as a failure; a cancelled run counts against the rate too.
* Percentiles interpolate linearly between the closest ranks (PostgreSQL's
  ``percentile_cont``): the median of 2, 3, 5, 10 turns is 4.
* Duration is wall time from ``started_at`` to ``finished_at`` (waiting for input or
  approval included); a run that never started (cancelled while ``created``) has none.
* Each run counts its own turns, tokens and cost: a parent's figures leave out those
  of its sub-agents, which are counted under their own type.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

COST_QUANTUM = Decimal("0.000001")
"""The scale of the stored cost column; sums and means are rounded to it."""


@dataclass(frozen=True)
class StatsFilter:
    """Which runs count: created at or after ``since``, of this type, on this model."""

    since: datetime | None = None
    agent_type: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class GroupTotals:
    """What the database counts and sums for one (type, model); sums are of finished runs."""

    type: str
    model: str
    completed: int
    failed: int
    cancelled: int
    active: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class FinishedSample:
    """One finished run as the percentiles need it."""

    type: str
    model: str
    turns: int
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class AgentStats:
    """The figures of one (type, model), or of all of them (type and model None)."""

    type: str | None
    model: str | None
    runs: int
    completed: int
    failed: int
    cancelled: int
    active: int
    success_rate: float | None
    median_turns: float | None
    p90_turns: float | None
    median_duration: timedelta | None
    p90_duration: timedelta | None
    input_tokens: int
    output_tokens: int
    total_cost_usd: Decimal
    mean_cost_usd: Decimal | None


@dataclass(frozen=True)
class AgentStatsReport:
    filter: StatsFilter
    groups: tuple[AgentStats, ...]
    """One per (type, model) with a run in the window, by type then model."""
    total: AgentStats


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile, interpolated between the closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(
    stats_filter: StatsFilter,
    totals: Sequence[GroupTotals],
    samples: Iterable[FinishedSample],
) -> AgentStatsReport:
    """The report: one row per (type, model) and the row of all of them together."""
    by_group: defaultdict[tuple[str, str], list[FinishedSample]] = defaultdict(list)
    for sample in samples:
        by_group[sample.type, sample.model].append(sample)
    groups = tuple(
        _row(group.type, group.model, [group], by_group[group.type, group.model])
        for group in sorted(totals, key=lambda group: (group.type, group.model))
    )
    every_sample = [sample for found in by_group.values() for sample in found]
    return AgentStatsReport(stats_filter, groups, _row(None, None, totals, every_sample))


def _row(
    agent_type: str | None,
    model: str | None,
    totals: Sequence[GroupTotals],
    samples: Sequence[FinishedSample],
) -> AgentStats:
    completed = sum(t.completed for t in totals)
    failed = sum(t.failed for t in totals)
    cancelled = sum(t.cancelled for t in totals)
    runs = completed + failed + cancelled
    cost = sum((t.cost_usd for t in totals), Decimal(0)).quantize(COST_QUANTUM)
    turns = [float(s.turns) for s in samples]
    seconds = [d.total_seconds() for s in samples if (d := s.duration) is not None]
    return AgentStats(
        type=agent_type,
        model=model,
        runs=runs,
        completed=completed,
        failed=failed,
        cancelled=cancelled,
        active=sum(t.active for t in totals),
        success_rate=completed / runs if runs else None,
        median_turns=percentile(turns, 0.5),
        p90_turns=percentile(turns, 0.9),
        median_duration=_as_duration(percentile(seconds, 0.5)),
        p90_duration=_as_duration(percentile(seconds, 0.9)),
        input_tokens=sum(t.input_tokens for t in totals),
        output_tokens=sum(t.output_tokens for t in totals),
        total_cost_usd=cost,
        mean_cost_usd=(cost / runs).quantize(COST_QUANTUM, ROUND_HALF_EVEN) if runs else None,
    )


def _as_duration(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)
