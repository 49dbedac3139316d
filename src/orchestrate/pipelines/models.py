"""Pipeline runs and steps: their states, the one transition check, and stored values.

Run states::

    queued ──▶ running ◀──▶ waiting ──▶ success | failure | cancelled
       └──────────────────────────────▶ cancelled

``queued`` is a run that has not started: it is behind another run of its
concurrency group. ``waiting`` is a started run whose only unfinished steps wait for
a person (approvals); no worker is held while it waits.

Step states::

    pending ──▶ queued ──▶ running ──▶ success | failure | cancelled
       │           ▲          │
       │           └──────────┘  (a retry after a failed attempt)
       ├──▶ waiting ──▶ success | failure | cancelled      (approvals)
       ├──▶ running                                         (agent and pipeline steps)
       └──▶ skipped (always with a ``skip_reason``) | cancelled | success (reused by a re-run)

A step's ``status`` is its outcome; its ``conclusion`` is what its dependents see:
the same, except that a failed step with ``continue_on_error`` concludes ``success``
(GitHub Actions' ``outcome`` and ``conclusion``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from orchestrate.core.errors import InvalidTransition


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELLED)


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_STEP


_TERMINAL_STEP = frozenset(
    {StepStatus.SUCCESS, StepStatus.FAILURE, StepStatus.CANCELLED, StepStatus.SKIPPED}
)
_ENDINGS = frozenset({StepStatus.SUCCESS, StepStatus.FAILURE, StepStatus.CANCELLED})

_RUN_ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset(
        {RunStatus.WAITING, RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELLED}
    ),
    RunStatus.WAITING: frozenset(
        {RunStatus.RUNNING, RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELLED}
    ),
    RunStatus.SUCCESS: frozenset(),
    RunStatus.FAILURE: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

_STEP_ALLOWED: dict[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset(
        {
            StepStatus.QUEUED,
            StepStatus.RUNNING,
            StepStatus.WAITING,
            StepStatus.SKIPPED,
            StepStatus.CANCELLED,
            StepStatus.SUCCESS,
        }
    ),
    StepStatus.QUEUED: frozenset({StepStatus.RUNNING, StepStatus.CANCELLED}),
    StepStatus.RUNNING: _ENDINGS | {StepStatus.QUEUED},
    StepStatus.WAITING: _ENDINGS,
    StepStatus.SUCCESS: frozenset(),
    StepStatus.FAILURE: frozenset(),
    StepStatus.CANCELLED: frozenset(),
    StepStatus.SKIPPED: frozenset(),
}


def check_run_transition(run_id: str, current: RunStatus, target: RunStatus) -> None:
    if target not in _RUN_ALLOWED[current]:
        raise InvalidTransition(
            f"Run {run_id} is {current.value} and cannot become {target.value}",
            run_id=run_id,
            current=current.value,
            target=target.value,
        )


def check_step_transition(key: str, current: StepStatus, target: StepStatus) -> None:
    if target not in _STEP_ALLOWED[current]:
        raise InvalidTransition(
            f"Step '{key}' is {current.value} and cannot become {target.value}",
            step=key,
            current=current.value,
            target=target.value,
        )


class TriggerKind(StrEnum):
    """What started a run; the ``trigger`` context carries the event's payload."""

    MANUAL = "manual"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    PIPELINE = "pipeline"
    RERUN = "rerun"


@dataclass(frozen=True)
class Pipeline:
    """A registered pipeline definition."""

    id: str
    name: str
    description: str
    source: str
    spec: dict[str, Any]
    repo_path: str | None
    source_path: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Approval:
    """One approver's decision on an approval step."""

    by: str
    decision: str
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class StepRun:
    """One step of a run (or one matrix instance of a step) as stored."""

    id: str
    run_id: str
    key: str
    step_id: str
    name: str
    kind: str
    status: StepStatus
    conclusion: StepStatus | None
    matrix: dict[str, Any] | None
    attempts: int
    max_attempts: int
    outputs: dict[str, str]
    skip_reason: str | None
    error: str | None
    agent_id: str | None
    child_run_id: str | None
    approvals: list[Approval]
    reused_from: str | None
    log_path: str | None
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class PipelineRun:
    """One run of a pipeline, with its steps in file order (matrix instances after their step)."""

    id: str
    pipeline: str
    number: int
    status: RunStatus
    trigger_kind: TriggerKind
    inputs: dict[str, Any]
    trigger: dict[str, Any]
    concurrency_group: str | None
    parent_step_id: str | None
    rerun_of: str | None
    workspace_path: str | None
    reason: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepRun] = field(default_factory=list)

    def step(self, key: str) -> StepRun:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)


@dataclass(frozen=True)
class PendingApproval:
    """An approval step waiting on the asking approver."""

    run_id: str
    pipeline: str
    step: str
    name: str
    approvers: list[str]
    required: int
    approvals: list[Approval]
    waiting_since: datetime | None


@dataclass(frozen=True)
class DeclaredSchedule:
    """One ``on: schedule:`` entry of a pipeline's YAML."""

    cron: str
    timezone: str


@dataclass(frozen=True)
class PipelineChanged:
    """Announced (``service.pipeline_changed``) inside the transaction that registers,
    updates or deletes a pipeline, so followers commit their part with it.

    ``schedules`` is what the pipeline's YAML declares now: empty once it is deleted.
    """

    name: str
    schedules: tuple[DeclaredSchedule, ...] = ()
    is_deleted: bool = False
