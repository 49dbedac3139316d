"""The job kinds the pipelines capability puts on the durable queue, and their payloads.

Work inside one run happens in the transaction that caused it; work that crosses runs
or leaves the database (a shell command, an agent, a child pipeline, a workspace) is
a job, so a crash anywhere leaves a job that some worker will pick up.

Each payload keeps the keys its kind has always stored (``step`` is a step row id,
``run`` a run id), so jobs queued by an earlier version still run.
"""

from __future__ import annotations

from typing import Any

from orchestrate.agents.service import AgentFinished
from orchestrate.core.jobs import JobKind, JobPayload
from orchestrate.pipelines.models import RunStatus


class StepRef(JobPayload):
    """One step row."""

    step: str


class RunRef(JobPayload):
    """One run."""

    run: str


class AttemptRef(JobPayload):
    """One attempt of a step row of a run."""

    step: str
    run: str
    attempt: int


class ChildFinished(JobPayload):
    """A child run ended with ``status``; ``step`` is the parent's step row."""

    step: str
    run: str
    status: RunStatus


class CiPoll(JobPayload):
    """The ``poll``-th read of the CI run an attempt of a ``ci:`` step started; ``errors``
    is how many reads in a row failed before it."""

    step: str
    run: str
    attempt: int
    poll: int
    errors: int = 0


class CiCancel(JobPayload):
    """Cancel ``ci_run`` on its platform: the run that attempt ``attempt`` of the ``ci:``
    step row ``step`` (``step_key`` of pipeline run ``run``) started and no longer waits
    for; ``reason`` says why. Audited in the name of the run's ``starter``."""

    step: str
    step_key: str
    run: str
    attempt: int
    provider: str
    repository: str
    ci_run: str
    starter: str
    reason: str


class GroupRef(JobPayload):
    """A concurrency group."""

    group: str


class AgentRef(JobPayload):
    """An agent run."""

    agent: str


class CancelRun(JobPayload):
    """Cancel a run, saying why."""

    run: str
    reason: str = ""


STEP = JobKind("pipelines.step", AttemptRef)
"""Run one attempt of a ``run``, ``agent`` or ``ci`` step (a ``ci`` one triggers its run)."""

CI_POLL = JobKind("pipelines.ci_poll", CiPoll)
"""Read the state of a ``ci:`` step's run; end the attempt when it has completed."""

CI_CANCEL = JobKind("pipelines.ci_cancel", CiCancel)
"""Cancel the platform's run of a ``ci:`` step that was cancelled or timed out."""

AGENT_FINISHED = JobKind("pipelines.agent_finished", AgentFinished[AttemptRef])
"""The agent an attempt of an agent step started ended (enqueued by the agents capability)."""

APPROVAL_TIMEOUT = JobKind("pipelines.approval_timeout", StepRef)
"""An approval step's time ran out."""

START_CHILD = JobKind("pipelines.start_child", StepRef)
"""Create and start the run of a ``pipeline:`` step."""

CHILD_FINISHED = JobKind("pipelines.child_finished", ChildFinished)
"""A child run ended; finish its parent step."""

START_QUEUED = JobKind("pipelines.start_queued", GroupRef)
"""A run of a concurrency group ended; start the group's waiting run."""

CANCEL_AGENT = JobKind("pipelines.cancel_agent", AgentRef)
"""Cancel the agent of a cancelled step."""

CANCEL_RUN = JobKind("pipelines.cancel_run", CancelRun)
"""Cancel a child run of a cancelled step."""

RUN_TIMEOUT = JobKind("pipelines.run_timeout", RunRef)
"""A run's ``timeout`` passed."""

CLEANUP = JobKind("pipelines.cleanup", RunRef)
"""Remove a finished run's workspace."""


def step_job_key(step_row_id: str, attempt: int) -> str:
    """One job per attempt of a step: enqueueing an attempt twice is a no-op."""
    return f"{STEP.name}:{step_row_id}:{attempt}"


def ci_cancel_key(step_row_id: str, attempt: int) -> str:
    """One platform cancel per attempt of a ``ci:`` step, whichever way it was asked for."""
    return f"{CI_CANCEL.name}:{step_row_id}:{attempt}"


def once_key(kind: JobKind[Any], subject: str) -> str:
    """The idempotency key of a kind's one job about ``subject`` (a row id)."""
    return f"{kind.name}:{subject}"
