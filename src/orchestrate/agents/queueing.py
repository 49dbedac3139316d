"""The job that runs an agent, and how a caller finds it again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.agents.models import AgentRun
from orchestrate.core.jobs import (
    JobKind,
    JobPayload,
    NewJob,
    enqueue,
    enqueue_many,
    find_job_by_key,
)
from orchestrate.core.uow import UnitOfWork


class RunAgentJob(JobPayload):
    """Run (or resume) one agent until it finishes, waits or fails."""

    agent_id: str
    reason: str = "start"
    """Why it runs now (start, resume, answer…): part of the job's idempotency key."""


RUN_JOB = JobKind("agents.run", RunAgentJob)


def run_job_key(agent_id: str, reason: str, at: datetime | None = None) -> str:
    """Idempotency key of the job that runs an agent after ``reason`` (start, resume…).

    An agent starts once, so its start key is fixed; later runs are keyed by time.
    """
    return f"agent:{agent_id}:{reason}" + (f":{at.isoformat()}" if at else "")


def children_job_key(agent_id: str, turn: int) -> str:
    """Key of the job that runs a parent again once the children of its ``turn`` ended:
    fixed, since that happens once per turn (``agent start --wait`` finds it by it)."""
    return f"agent:{agent_id}:children:{turn}"


async def enqueue_run(
    uow: UnitOfWork, agent_id: str, reason: str, *, key: str | None = None
) -> str:
    key = key or run_job_key(agent_id, reason, None if reason == "start" else uow.now())
    payload = RunAgentJob(agent_id=agent_id, reason=reason)
    return await enqueue(uow, RUN_JOB, payload, key=key, max_attempts=5)


async def enqueue_starts(uow: UnitOfWork, agent_ids: Sequence[str]) -> list[str]:
    """Queue the start of each of ``agent_ids`` (as ``enqueue_run(…, "start")``) at once."""
    return await enqueue_many(
        uow,
        [
            NewJob(
                RUN_JOB,
                RunAgentJob(agent_id=agent_id, reason="start"),
                run_job_key(agent_id, "start"),
                max_attempts=5,
            )
            for agent_id in agent_ids
        ],
    )


async def run_job_of(uow: UnitOfWork, agent: AgentRun) -> str | None:
    """The id of the job queued to start this agent, for running it inline (``--wait``)."""
    async with uow:
        job = await find_job_by_key(uow, run_job_key(agent.id, "start"))
        return job.id if job else None
