"""Builders for pipeline files and a way to let a worker run what was triggered."""

from __future__ import annotations

import asyncio
from io import StringIO
from typing import Any

from ruamel.yaml import YAML

from orchestrate.core.jobs import JobRunner, JobStatus
from orchestrate.core.jobs.admin import list_jobs
from orchestrate.core.runtime import Runtime
from orchestrate.worker import build_registry


def shell(step_id: str, command: str, **fields: Any) -> dict[str, Any]:
    """A ``run:`` step."""
    return {"id": step_id, "run": command, **fields}


def approval(step_id: str, *approvers: str, **fields: Any) -> dict[str, Any]:
    """An ``approval:`` step; ``required`` and friends go in ``fields``."""
    settings = {"approvers": list(approvers), **fields.pop("approval", {})}
    return {"id": step_id, "approval": settings, **fields}


def pipeline_yaml(
    name: str = "hello", steps: list[dict[str, Any]] | None = None, **fields: Any
) -> str:
    """A valid pipeline file; one shell step unless ``steps`` are given."""
    document = {"name": name, **fields, "steps": steps or [shell("greet", "echo hello")]}
    stream = StringIO()
    YAML().dump(document, stream)
    return stream.getvalue()


def chain_yaml(name: str = "chain", *, fail_at: str | None = None) -> str:
    """Three shell steps in a row (build → test → ship); ``fail_at`` makes that one exit 1."""
    steps = []
    previous: str | None = None
    for step_id in ("build", "test", "ship"):
        command = "exit 1" if step_id == fail_at else f'echo "{step_id} done"'
        command += f'\necho "result={step_id}-ok" >> "$ORCHESTRATE_OUTPUT"'
        steps.append(shell(step_id, command, **({"needs": previous} if previous else {})))
        previous = step_id
    return pipeline_yaml(name, steps)


async def work(runtime: Runtime, timeout: float = 60.0) -> None:
    """Run jobs until nothing is due: waiting approvals and later retries stay.

    ``until_idle`` can stop just as a finishing job enqueues the next one (the runner
    sees nothing claimed and nothing in flight), so the queue is checked and the
    runner started again while a due job is left.
    """
    async with asyncio.timeout(timeout):
        while True:
            await JobRunner(runtime, build_registry(runtime)).run(until_idle=True)
            if not await _due_jobs_left(runtime):
                return


async def _due_jobs_left(runtime: Runtime) -> bool:
    async with runtime.uow(read_only=True) as uow:
        page = await list_jobs(uow, status=JobStatus.QUEUED, limit=500)
    now = runtime.clock.now()
    return any(job.run_at <= now for job in page.items)
