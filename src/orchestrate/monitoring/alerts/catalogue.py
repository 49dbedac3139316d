"""The metrics an alert rule may name, and where each value comes from.

Counts over a window are read from the event log (``count_events``: one GROUP BY per
metric and window); gauges are read from the job queue and the budgets as they are at
evaluation. docs/alerts.md lists them for users; a unit test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COUNT = "count"
    """Events in the window."""
    RATIO = "ratio"
    """Events of one kind over events of several kinds, in the window (0..1)."""
    GAUGE = "gauge"
    """A value as it is now; the window is not used."""
    SUM = "sum"
    """A sum over the cost ledger in the window."""


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    description: str
    labels: tuple[str, ...] = ()
    """Labels a rule may split by (``by:``)."""
    events: tuple[str, ...] = ()
    """Event types counted (the numerator of a ratio)."""
    of: tuple[str, ...] = ()
    """A ratio's denominator: event types counted."""
    label_field: str | None = None
    """The payload field read as the metric's label (its first label)."""
    wakes_on: tuple[str, ...] = field(default=())

    @property
    def source_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.events, *self.of, *self.wakes_on)))


_RUN_ENDS = ("pipeline.run.success", "pipeline.run.failure")
_AGENT_ENDS = ("agent.completed", "agent.failed")

METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric(
            "pipeline_runs_failed",
            Kind.COUNT,
            "pipeline runs that ended in failure within the window",
            ("pipeline",),
            ("pipeline.run.failure",),
            label_field="pipeline",
        ),
        Metric(
            "pipeline_runs_succeeded",
            Kind.COUNT,
            "pipeline runs that succeeded within the window",
            ("pipeline",),
            ("pipeline.run.success",),
            label_field="pipeline",
        ),
        Metric(
            "pipeline_run_failure_rate",
            Kind.RATIO,
            "failed / (succeeded + failed) pipeline runs within the window; no value "
            "without finished runs",
            ("pipeline",),
            ("pipeline.run.failure",),
            _RUN_ENDS,
            label_field="pipeline",
        ),
        Metric(
            "pipeline_steps_failed",
            Kind.COUNT,
            "pipeline steps that failed within the window",
            ("step",),
            ("pipeline.step.failure",),
            label_field="step",
        ),
        Metric(
            "agent_runs_failed",
            Kind.COUNT,
            "agent runs that failed (blocked included) within the window",
            ("agent_type",),
            ("agent.failed",),
            label_field="type",
        ),
        Metric(
            "agent_runs_completed",
            Kind.COUNT,
            "agent runs that completed within the window",
            ("agent_type",),
            ("agent.completed",),
            label_field="type",
        ),
        Metric(
            "agent_run_failure_rate",
            Kind.RATIO,
            "failed / (completed + failed) agent runs within the window",
            ("agent_type",),
            ("agent.failed",),
            _AGENT_ENDS,
            label_field="type",
        ),
        Metric(
            "webhook_deliveries_failed",
            Kind.COUNT,
            "webhook deliveries whose processing failed within the window",
            (),
            ("webhook.delivery.failed",),
        ),
        Metric(
            "jobs_dead_lettered",
            Kind.COUNT,
            "jobs that used up their attempts (dead letters) within the window",
            ("kind",),
            ("job.dead",),
            label_field="kind",
        ),
        Metric(
            "jobs_dead",
            Kind.GAUGE,
            "dead-lettered jobs waiting for 'orchestrate job retry' now",
            ("kind",),
            wakes_on=("job.dead", "job.retried"),
        ),
        Metric(
            "job_queue_depth",
            Kind.GAUGE,
            "jobs queued now (due or not)",
            ("kind",),
        ),
        Metric(
            "job_queue_oldest_age_seconds",
            Kind.GAUGE,
            "how long the oldest due job has waited to start, in seconds (0: none waits)",
        ),
        Metric(
            "worker_heartbeat_age_seconds",
            Kind.GAUGE,
            "seconds since each worker's last heartbeat (a worker that stopped cleanly is "
            "gone; without by: the stalest)",
            ("worker", "hostname"),
        ),
        Metric(
            "budget_use_ratio",
            Kind.GAUGE,
            "spent / limit of each cost budget in its current period (1: exhausted)",
            ("budget", "scope", "scope_value", "period"),
            wakes_on=("cost.budget_warning", "cost.budget_exhausted", "cost.budget_set"),
        ),
        Metric(
            "budget_warning_ratio",
            Kind.GAUGE,
            "spent / warning threshold of each cost budget in its current period (1: the "
            "budget's warning is due)",
            ("budget", "scope", "scope_value", "period"),
            wakes_on=("cost.budget_warning", "cost.budget_exhausted", "cost.budget_set"),
        ),
        Metric(
            "cost_usd",
            Kind.SUM,
            "dollars spent on model calls within the window",
            ("agent_type", "model"),
        ),
    )
}

SOURCE_TYPES: tuple[str, ...] = tuple(
    dict.fromkeys(t for metric in METRICS.values() for t in metric.source_types)
)
"""Event types whose arrival makes the alert evaluator look again at once."""


BUILTIN_SOURCE = "builtin"
"""The rules every deployment has (``alert_builtin_rules``): a budget's warning threshold
and its limit raise alerts; the limit's alert inhibits the warning's."""

_BUDGET = "[budget, scope, scope_value, period]"
BUILTIN_RULES = f"""
rules:
  - name: cost-budget-warning
    metric: budget_warning_ratio
    by: {_BUDGET}
    condition: ">= 1"
    severity: warning
    labels: {{source: builtin}}
    annotations:
      summary: "A {{{{ $labels.period }}}} cost budget passed its warning threshold"
      description: "{{{{ $labels.budget }}}} ({{{{ $labels.scope }}}}) at {{{{ $value }}}}x"
  - name: cost-budget-exhausted
    metric: budget_use_ratio
    by: {_BUDGET}
    condition: ">= 1"
    severity: critical
    labels: {{source: builtin}}
    annotations:
      summary: "A {{{{ $labels.period }}}} cost budget is spent: new agent work is refused"
      description: "{{{{ $labels.budget }}}} ({{{{ $labels.scope }}}}) at {{{{ $value }}}}x"
inhibit_rules:
  - source_match: {{alertname: cost-budget-exhausted}}
    target_match: {{alertname: cost-budget-warning}}
    equal: [budget]
"""
