"""The schedules domain: what a schedule is, what a fire became, and the rules for both.

Pure: no database and no other capability. The cron arithmetic lives in ``cron.py``;
this module holds the schedule's shape, the checks a definition must pass before it is
stored, and the one state machine of a fire (``next_outcome``), which every change of
a fire's outcome goes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from orchestrate.core.errors import Conflict, InvalidTransition, ValidationFailed
from orchestrate.schedules.cron import TEMPLATES, MisfirePolicy

PIPELINE_SOURCE_PREFIX = "pipeline:"
"""The ``source`` (and name prefix) of schedules a pipeline declares in its YAML."""
UPCOMING_COUNT = 5


class TargetKind(StrEnum):
    PIPELINE = "pipeline"
    AGENT = "agent"


class OverlapPolicy(StrEnum):
    """What a fire does while the run started by the previous fire is still going."""

    ALLOW = "allow"  # start anyway
    SKIP = "skip"  # record the fire as skipped; the default
    QUEUE = "queue"  # start it once the previous run ends
    CANCEL_PREVIOUS = "cancel_previous"  # cancel the previous run, then start


class FireOutcome(StrEnum):
    PENDING = "pending"  # fired; the start job decides what comes of it
    STARTED = "started"
    SKIPPED = "skipped"
    QUEUED = "queued"
    FAILED = "failed"


_NEXT_OUTCOMES: dict[FireOutcome, frozenset[FireOutcome]] = {
    FireOutcome.PENDING: frozenset(
        {FireOutcome.STARTED, FireOutcome.SKIPPED, FireOutcome.QUEUED, FireOutcome.FAILED}
    ),
    # a queued fire starts once the previous run ends (or fails to)
    FireOutcome.QUEUED: frozenset({FireOutcome.STARTED, FireOutcome.FAILED}),
    # an agent whose start job fails after the fire was recorded started
    FireOutcome.STARTED: frozenset({FireOutcome.FAILED}),
    FireOutcome.SKIPPED: frozenset(),
    FireOutcome.FAILED: frozenset(),
}


def next_outcome(current: FireOutcome, outcome: FireOutcome, fire_id: str) -> FireOutcome:
    """``outcome`` if a fire that is ``current`` may become it; raises InvalidTransition."""
    if outcome not in _NEXT_OUTCOMES[current]:
        raise InvalidTransition(
            f"Fire {fire_id} is {current.value} and cannot become {outcome.value}",
            fire=fire_id,
            outcome=current.value,
        )
    return outcome


@dataclass(frozen=True)
class NewSchedule:
    """What ``schedule create`` asks for; ``template`` stands in for ``cron``."""

    name: str
    cron: str | None = None
    template: str | None = None
    timezone: str = "UTC"
    pipeline: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    agent_type: str | None = None
    task: str | None = None
    misfire_policy: MisfirePolicy = MisfirePolicy.LATEST
    misfire_cap: int = 10
    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    source: str = "api"


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    cron: str
    timezone: str
    description: str
    target_kind: TargetKind
    pipeline: str | None
    inputs: dict[str, Any]
    agent_type: str | None
    task: str | None
    misfire_policy: MisfirePolicy
    misfire_cap: int
    overlap_policy: OverlapPolicy
    is_paused: bool
    source: str
    next_fire_at: datetime | None  # None while paused
    last_fired_at: datetime | None
    created_at: datetime
    updated_at: datetime
    upcoming: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleFire:
    id: str
    schedule_id: str
    fire_time: datetime
    fired_at: datetime
    outcome: FireOutcome
    is_manual: bool
    run_id: str | None
    agent_id: str | None
    reason: str | None


def cron_expression(request: NewSchedule) -> str:
    """The cron expression a request asks for, from ``cron`` or a named template."""
    if (request.cron is None) == (request.template is None):
        raise ValidationFailed(
            "Give a schedule either --cron EXPR or --template NAME", field="cron"
        )
    if request.template is None:
        assert request.cron is not None
        return request.cron
    if request.template not in TEMPLATES:
        raise ValidationFailed(
            f"Unknown template '{request.template}'; use one of {', '.join(TEMPLATES)}",
            field="template",
        )
    return TEMPLATES[request.template][0]


def check_policies(request: NewSchedule) -> None:
    """The name and misfire cap rules; raises ValidationFailed."""
    if not 1 <= request.misfire_cap <= 1000:
        raise ValidationFailed("The misfire cap must be between 1 and 1000", field="misfire_cap")
    name = request.name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A schedule needs a name of 1 to 200 characters", field="name")
    if name.startswith(PIPELINE_SOURCE_PREFIX) and not request.source.startswith(
        PIPELINE_SOURCE_PREFIX
    ):
        raise ValidationFailed(
            "Names starting with 'pipeline:' belong to schedules declared in pipeline YAML",
            field="name",
        )


def refuse_declared(name: str, source: str, verb: str) -> None:
    """A schedule a pipeline declares is changed through the pipeline; raises Conflict."""
    if source.startswith(PIPELINE_SOURCE_PREFIX):
        pipeline = source.removeprefix(PIPELINE_SOURCE_PREFIX)
        raise Conflict(
            f"Schedule '{name}' is declared in pipeline '{pipeline}'; {verb} its "
            f"`on: schedule:` and register the pipeline again (pause and resume work here)",
            schedule=name,
        )
