"""Pipelines and runs for the dashboard's tests, made through the pipelines service as
the API would make them, and a worker to run what was triggered."""

from __future__ import annotations

import re
from typing import Any

from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service as pipelines
from tests.integration.pipelines.conftest import approval, pipeline_yaml, shell, work

__all__ = ["GATED", "approval", "pipeline_yaml", "shell", "work"]

OPERATOR = Actor(name="token:test-operator", role=Role.OPERATOR, source="test")

GATED = pipeline_yaml(
    "gated",
    [
        shell("build", 'echo "built it"\necho "artifact=app.tar" >> "$ORCHESTRATE_OUTPUT"'),
        approval("release", "test-operator", needs="build"),
        shell("ship", "echo shipped", needs="release"),
    ],
    description="Build, wait for a person, ship.",
)


async def register(runtime: Runtime, text: str, **fields: Any) -> pipelines.Pipeline:
    source = pipelines.PipelineSource(text, **fields)
    return await pipelines.register_pipeline(runtime.uow(), source, OPERATOR)


async def trigger(runtime: Runtime, name: str, **inputs: Any) -> pipelines.PipelineRun:
    request = pipelines.TriggerRequest(name, inputs=inputs)
    return await pipelines.trigger_pipeline(runtime.uow(), runtime.settings, request, OPERATOR)


async def run_to_rest(runtime: Runtime, name: str, **inputs: Any) -> pipelines.PipelineRun:
    """Trigger and work until nothing is due (a waiting approval stays waiting)."""
    started = await trigger(runtime, name, **inputs)
    await work(runtime)
    return await pipelines.get_run(runtime.uow(read_only=True), started.id)


def location_run_id(location: str) -> str:
    found = re.fullmatch(r"/ui/runs/(prun_[0-9a-z]+)", location)
    assert found, location
    return found.group(1)
