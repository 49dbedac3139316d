"""The job kinds the pipelines capability puts on the durable queue.

Work inside one run happens in the transaction that caused it; work that crosses runs
or leaves the database (a shell command, an agent, a child pipeline, a workspace) is
a job, so a crash anywhere leaves a job that some worker will pick up.
"""

from __future__ import annotations

STEP = "pipelines.step"
"""Run one attempt of a ``run`` or ``agent`` step: payload ``{step}`` (a step row id)."""

AGENT_FINISHED = "pipelines.agent_finished"
"""An agent started by a step ended (enqueued by the agents capability)."""

APPROVAL_TIMEOUT = "pipelines.approval_timeout"
"""An approval step's time ran out: payload ``{step}``."""

START_CHILD = "pipelines.start_child"
"""Create and start the run of a ``pipeline:`` step: payload ``{step}``."""

CHILD_FINISHED = "pipelines.child_finished"
"""A child run ended; finish its parent step: payload ``{step, run, status}``."""

START_QUEUED = "pipelines.start_queued"
"""A run of a concurrency group ended; start the group's waiting run: payload ``{group}``."""

CANCEL_AGENT = "pipelines.cancel_agent"
"""Cancel the agent of a cancelled step: payload ``{agent}``."""

CANCEL_RUN = "pipelines.cancel_run"
"""Cancel a child run of a cancelled step: payload ``{run, reason}``."""

RUN_TIMEOUT = "pipelines.run_timeout"
"""A run's ``timeout`` passed: payload ``{run}``."""

CLEANUP = "pipelines.cleanup"
"""Remove a finished run's workspace: payload ``{run}``."""

ALL = (
    STEP,
    AGENT_FINISHED,
    APPROVAL_TIMEOUT,
    START_CHILD,
    CHILD_FINISHED,
    START_QUEUED,
    CANCEL_AGENT,
    CANCEL_RUN,
    RUN_TIMEOUT,
    CLEANUP,
)


def step_job_key(step_row_id: str, attempt: int) -> str:
    """One job per attempt of a step: enqueueing an attempt twice is a no-op."""
    return f"{STEP}:{step_row_id}:{attempt}"
