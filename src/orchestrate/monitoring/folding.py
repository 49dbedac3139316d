"""Business metrics folded from the event log: which events count where (pure).

The metrics consumer reads the event log in batches and turns each batch into
increments of database-held samples (:func:`fold`); ``_store.add_increments`` adds them
in the transaction that moves the consumer's cursor. :data:`FAMILIES` is the catalogue
the scrape renders: every family's name, type, help text, labels and (histograms)
buckets. Durations, turns and lateness come from the end events' own payloads
(``duration_seconds``, ``turns``, ``lateness_seconds``), written by each capability's
transition function from its run's record, so folding reads no other table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from orchestrate.agents.events import AgentCancelled, AgentCompleted, AgentFailed
from orchestrate.core.events import Event, decode
from orchestrate.pipelines.events import (
    RunCancelled,
    RunFailed,
    RunQueued,
    RunSucceeded,
    StepCancelled,
    StepFailed,
    StepSkipped,
    StepSucceeded,
)
from orchestrate.schedules.events import ScheduleFired
from orchestrate.triggers.events import (
    WebhookDeliveryFailed,
    WebhookDeliveryProcessed,
    WebhookDeliveryReceived,
)

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name."""
SampleKey = tuple[str, str]
"""A stored sample: its name and its labels as canonical JSON."""


class FamilyType(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Family:
    """One metric family held in the database."""

    name: str
    """Without ``_total`` for a counter (its sample is ``<name>_total``)."""
    type: FamilyType
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()
    """Upper bounds of a histogram's buckets, ``+Inf`` last."""


INF = float("inf")
_RUN_SECONDS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, INF)
_STEP_SECONDS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, INF)
_TURNS = (1, 2, 5, 10, 20, 50, 100, 200, 500, INF)
_LATENESS_SECONDS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, INF)

PIPELINE_RUNS_QUEUED = Family(
    "orchestrate_pipeline_runs_queued",
    FamilyType.COUNTER,
    "Pipeline runs created, by pipeline.",
    ("pipeline",),
)
PIPELINE_RUNS = Family(
    "orchestrate_pipeline_runs",
    FamilyType.COUNTER,
    "Pipeline runs that ended, by pipeline and final status (success, failure, cancelled).",
    ("pipeline", "status"),
)
PIPELINE_RUN_DURATION = Family(
    "orchestrate_pipeline_run_duration_seconds",
    FamilyType.HISTOGRAM,
    "Time from a pipeline run's start to its end, by pipeline and final status.",
    ("pipeline", "status"),
    _RUN_SECONDS,
)
PIPELINE_STEPS = Family(
    "orchestrate_pipeline_steps",
    FamilyType.COUNTER,
    "Pipeline steps that ended, by final status (success, failure, cancelled, skipped).",
    ("status",),
)
PIPELINE_STEP_DURATION = Family(
    "orchestrate_pipeline_step_duration_seconds",
    FamilyType.HISTOGRAM,
    "Time from a step's start to its end (steps that started), by final status.",
    ("status",),
    _STEP_SECONDS,
)
AGENT_RUNS = Family(
    "orchestrate_agent_runs",
    FamilyType.COUNTER,
    "Agent runs that ended, by agent type and final state (completed, failed, cancelled).",
    ("agent_type", "state"),
)
AGENT_TURNS = Family(
    "orchestrate_agent_turns",
    FamilyType.HISTOGRAM,
    "Model calls (turns) an agent run made, observed when it ends, by agent type and state.",
    ("agent_type", "state"),
    _TURNS,
)
AGENT_RUN_DURATION = Family(
    "orchestrate_agent_run_duration_seconds",
    FamilyType.HISTOGRAM,
    "Time from an agent run's start to its end, by agent type and final state.",
    ("agent_type", "state"),
    _RUN_SECONDS,
)
WEBHOOK_RECEIVED = Family(
    "orchestrate_webhook_deliveries_received",
    FamilyType.COUNTER,
    "Webhook deliveries stored, by the forge's event name.",
    ("event",),
)
WEBHOOK_DELIVERIES = Family(
    "orchestrate_webhook_deliveries",
    FamilyType.COUNTER,
    "Webhook delivery processing outcomes (processed, failed), by the forge's event name; "
    "a delivery processed again counts again.",
    ("event", "outcome"),
)
SCHEDULE_LATENESS = Family(
    "orchestrate_schedule_fire_lateness_seconds",
    FamilyType.HISTOGRAM,
    "How long after its fire time the scheduler fired a schedule.",
    (),
    _LATENESS_SECONDS,
)

FAMILIES: tuple[Family, ...] = (
    PIPELINE_RUNS_QUEUED,
    PIPELINE_RUNS,
    PIPELINE_RUN_DURATION,
    PIPELINE_STEPS,
    PIPELINE_STEP_DURATION,
    AGENT_RUNS,
    AGENT_TURNS,
    AGENT_RUN_DURATION,
    WEBHOOK_RECEIVED,
    WEBHOOK_DELIVERIES,
    SCHEDULE_LATENESS,
)

EVENT_TYPES: tuple[str, ...] = (
    "pipeline.run.*",
    "pipeline.step.*",
    "agent.*",
    "webhook.delivery.*",
    "schedule.fired",
)
"""The events the metrics consumer reads (prefixes; :func:`fold` ignores the rest)."""

_UNKNOWN = "unknown"


def bucket_label(bound: float) -> str:
    """A bucket's ``le`` as Prometheus' client writes it: ``0.5``, ``10.0``, ``+Inf``."""
    return "+Inf" if bound == INF else repr(float(bound))


def labels_key(labels: Mapping[str, str]) -> str:
    """Canonical JSON of a label set: the stored key of its samples."""
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"), ensure_ascii=False)


def labels_of(key: str) -> dict[str, str]:
    return {str(name): str(value) for name, value in json.loads(key).items()}


class Increments:
    """The sums a batch adds to each sample, one entry per sample however many events."""

    def __init__(self) -> None:
        self.by_sample: dict[SampleKey, float] = {}

    def add(self, sample: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        key = (sample, labels_key(labels))
        self.by_sample[key] = self.by_sample.get(key, 0.0) + amount

    def count(self, family: Family, labels: Mapping[str, str]) -> None:
        self.add(f"{family.name}_total", labels)

    def observe(self, family: Family, labels: Mapping[str, str], value: float) -> None:
        """One observation of a histogram: every bucket it falls in, its sum and count."""
        for bound in family.buckets:
            if value <= bound:
                self.add(f"{family.name}_bucket", {**labels, "le": bucket_label(bound)})
        self.add(f"{family.name}_sum", labels, value)
        self.add(f"{family.name}_count", labels)


def fold(events: Iterable[Event]) -> Increments:
    """The increments ``events`` make to the business metrics (others are ignored)."""
    increments = Increments()
    for event in events:
        _fold_one(increments, event)
    return increments


def _fold_one(increments: Increments, event: Event) -> None:
    match decode(event):
        case RunQueued(pipeline=pipeline):
            increments.count(PIPELINE_RUNS_QUEUED, {"pipeline": pipeline})
        case RunSucceeded() | RunFailed() | RunCancelled() as ended:
            labels = {"pipeline": ended.pipeline, "status": _last_part(event.type)}
            increments.count(PIPELINE_RUNS, labels)
            if ended.duration_seconds is not None:
                increments.observe(PIPELINE_RUN_DURATION, labels, ended.duration_seconds)
        case StepSucceeded() | StepFailed() | StepCancelled() | StepSkipped() as step:
            labels = {"status": step.to}
            increments.count(PIPELINE_STEPS, labels)
            if step.duration_seconds is not None:
                increments.observe(PIPELINE_STEP_DURATION, labels, step.duration_seconds)
        case AgentCompleted() | AgentFailed() | AgentCancelled() as agent:
            labels = {"agent_type": agent.type, "state": agent.to}
            increments.count(AGENT_RUNS, labels)
            if agent.turns is not None:
                increments.observe(AGENT_TURNS, labels, agent.turns)
            if agent.duration_seconds is not None:
                increments.observe(AGENT_RUN_DURATION, labels, agent.duration_seconds)
        case WebhookDeliveryReceived(event=str(name), from_=None):
            increments.count(WEBHOOK_RECEIVED, {"event": name})
        case WebhookDeliveryProcessed() | WebhookDeliveryFailed() as delivery:
            labels = {"event": delivery.event or _UNKNOWN, "outcome": _last_part(event.type)}
            increments.count(WEBHOOK_DELIVERIES, labels)
        case ScheduleFired(lateness_seconds=lateness):
            increments.observe(SCHEDULE_LATENESS, {}, lateness)
        case _:
            pass


def _last_part(event_type: str) -> str:
    return event_type.rsplit(".", 1)[-1]


def family_of(sample: str) -> Family | None:
    """The catalogued family a stored sample belongs to (None: not catalogued any more)."""
    return _BY_SAMPLE.get(sample)


def _samples(family: Family) -> Sequence[str]:
    if family.type is FamilyType.COUNTER:
        return (f"{family.name}_total",)
    return tuple(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))


_BY_SAMPLE: dict[str, Family] = {
    sample: family for family in FAMILIES for sample in _samples(family)
}
