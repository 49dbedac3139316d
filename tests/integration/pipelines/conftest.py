"""Builders for pipeline files and a way to let a worker run what was triggered."""

from __future__ import annotations

import asyncio
from io import StringIO
from typing import Any

from ruamel.yaml import YAML

from orchestrate.app.worker import build_registry
from orchestrate.core.jobs import JobRunner
from orchestrate.core.runtime import Runtime


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
    """Run jobs until nothing is due: waiting approvals and later retries stay."""
    runner = JobRunner(runtime, build_registry(runtime))
    await asyncio.wait_for(runner.run(until_idle=True), timeout)
