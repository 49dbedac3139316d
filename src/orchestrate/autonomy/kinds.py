"""The job kinds that drive epic runs, and their payloads."""

from __future__ import annotations

from enum import StrEnum

from orchestrate.agents.service import AgentFinished
from orchestrate.core.jobs import JobKind, JobPayload


class RunRef(JobPayload):
    run_id: str


class Poll(JobPayload):
    """The run's ``seq``-th poll; only the run's current ``poll_seq`` schedules the next."""

    run_id: str
    seq: int


class Role(StrEnum):
    DEVELOPER = "developer"
    REVIEWER = "reviewer"


class StoryAgentRef(JobPayload):
    """An agent a run started for a story."""

    run_id: str
    story_id: str
    role: Role


ADVANCE = JobKind("autonomy.advance", RunRef)
"""Look at the run now (resumed, started)."""

POLL = JobKind("autonomy.poll", Poll)
"""Look at the run, then again in ``epic_run_poll_seconds`` while it is active."""

AGENT_FINISHED = JobKind("autonomy.agent_finished", AgentFinished[StoryAgentRef])
"""An agent the run started ended (enqueued by the agents capability)."""


def poll_key(run_id: str, seq: int) -> str:
    return f"{POLL.name}:{run_id}:{seq}"
