"""The events of pipeline runs and their steps, all with the run's id as subject.

The wire types are those readers have always seen: ``pipeline.run.<status>`` and
``pipeline.step.<status>`` for every status a run or step enters, plus the step's log
lines, retries, approvals and agent hand-offs.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from orchestrate.core.events import DomainEvent, EventFilter
from orchestrate.pipelines.models import RunStatus, StepStatus


class RunQueued(DomainEvent):
    """A run was created; it starts at once or waits for its concurrency group."""

    event_type: ClassVar[str] = "pipeline.run.queued"
    pipeline: str
    number: int


class RunHeldForGroup(DomainEvent):
    """A queued run waits behind another run of its concurrency group."""

    event_type: ClassVar[str] = "pipeline.run.waiting_for_group"
    group: str
    behind: str


class RunStatusChanged(DomainEvent):
    """A run entered the status its wire type names (``to``); ``from`` was the one before."""

    pipeline: str
    from_: str = Field(alias="from")
    reason: str | None = None
    duration_seconds: float | None = None
    """Set when the run ended: from its start to its end."""


class RunStarted(RunStatusChanged):
    """The run is running: it started, or it resumed after waiting."""

    event_type: ClassVar[str] = "pipeline.run.running"


class RunStartedWaiting(RunStatusChanged):
    """Nothing of the run can go on until an approval or a child run finishes."""

    event_type: ClassVar[str] = "pipeline.run.waiting"


class RunSucceeded(RunStatusChanged):
    event_type: ClassVar[str] = "pipeline.run.success"


class RunFailed(RunStatusChanged):
    event_type: ClassVar[str] = "pipeline.run.failure"


class RunCancelled(RunStatusChanged):
    event_type: ClassVar[str] = "pipeline.run.cancelled"


RUN_STATUS_EVENTS: dict[RunStatus, type[RunStatusChanged]] = {
    RunStatus.RUNNING: RunStarted,
    RunStatus.WAITING: RunStartedWaiting,
    RunStatus.SUCCESS: RunSucceeded,
    RunStatus.FAILURE: RunFailed,
    RunStatus.CANCELLED: RunCancelled,
}
"""The event each status a run can enter writes (a run is created queued: ``RunQueued``)."""


class StepStatusChanged(DomainEvent):
    """A step entered status ``to`` (the wire type's last part) from ``from``."""

    step: str
    from_: str = Field(alias="from")
    to: str
    skip_reason: str | None = None
    error: str | None = None
    duration_seconds: float | None = None
    """Set when a step that started ended: from its start to its end."""


class StepQueued(StepStatusChanged):
    event_type: ClassVar[str] = "pipeline.step.queued"


class StepStarted(StepStatusChanged):
    event_type: ClassVar[str] = "pipeline.step.running"


class StepStartedWaiting(StepStatusChanged):
    """The step waits on approvers, an agent or a child run."""

    event_type: ClassVar[str] = "pipeline.step.waiting"


class StepSucceeded(StepStatusChanged):
    event_type: ClassVar[str] = "pipeline.step.success"


class StepFailed(StepStatusChanged):
    event_type: ClassVar[str] = "pipeline.step.failure"


class StepCancelled(StepStatusChanged):
    event_type: ClassVar[str] = "pipeline.step.cancelled"


class StepSkipped(StepStatusChanged):
    event_type: ClassVar[str] = "pipeline.step.skipped"


STEP_STATUS_EVENTS: dict[StepStatus, type[StepStatusChanged]] = {
    StepStatus.QUEUED: StepQueued,
    StepStatus.RUNNING: StepStarted,
    StepStatus.WAITING: StepStartedWaiting,
    StepStatus.SUCCESS: StepSucceeded,
    StepStatus.FAILURE: StepFailed,
    StepStatus.CANCELLED: StepCancelled,
    StepStatus.SKIPPED: StepSkipped,
}
"""The event each status a step can enter writes (steps are created pending)."""


class StepLogged(DomainEvent):
    """New lines of a running step's output (at most the last 500 of a chunk)."""

    event_type: ClassVar[str] = "pipeline.step.log"
    step: str
    attempt: int
    lines: list[str]


class StepRetryScheduled(DomainEvent):
    """A failed attempt will be tried again after ``delay_seconds``."""

    event_type: ClassVar[str] = "pipeline.step.retrying"
    step: str
    attempt: int
    delay_seconds: float


class StepAgentStarted(DomainEvent):
    """An agent step handed its work to agent ``agent_id``."""

    event_type: ClassVar[str] = "pipeline.step.agent_started"
    step: str
    agent_id: str


class StepCiStarted(DomainEvent):
    """A ``ci:`` step triggered run ``ci_run_id`` (or adopted the one an earlier try of
    its job triggered) and now waits for it."""

    event_type: ClassVar[str] = "pipeline.step.ci_started"
    step: str
    provider: str
    repository: str
    ci_run_id: str
    url: str


class StepCiCancelRequested(DomainEvent):
    """Orchestrate asked the platform to cancel ``ci_run_id``, which attempt ``attempt``
    of a ``ci:`` step started and no longer waits for (``reason``: the step was cancelled,
    its run was, or its timeout passed). ``status`` and ``conclusion`` are how the platform
    then showed the run: ``in_progress`` while it stops; a run that had already ended
    keeps its own conclusion."""

    event_type: ClassVar[str] = "pipeline.step.ci_cancel_requested"
    step: str
    attempt: int
    provider: str
    repository: str
    ci_run_id: str
    reason: str
    status: str
    conclusion: str | None = None


class StepApproved(DomainEvent):
    event_type: ClassVar[str] = "pipeline.step.approved"
    step: str
    by: str


class StepRejected(DomainEvent):
    event_type: ClassVar[str] = "pipeline.step.rejected"
    step: str
    by: str


RUN_ENDINGS = frozenset(event.event_type for event in (RunSucceeded, RunFailed, RunCancelled))
"""The wire types of the events that end a run."""


def of_run(run_id: str) -> EventFilter:
    """The events of one run: its status changes, its steps' and their log lines."""
    return EventFilter(types=("pipeline.*",), subject=run_id)
