"""Fixtures for engine tests: register a pipeline from YAML, trigger it, run the workers."""

from __future__ import annotations

import asyncio
import textwrap
from dataclasses import dataclass
from typing import Any

import pytest

from orchestrate.app.worker import build_registry
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobRunner
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from orchestrate.pipelines.models import PipelineRun


@dataclass
class Pipelines:
    """Drive pipelines the way a user would: register, trigger, let a worker run them."""

    runtime: Runtime
    actor: Actor

    async def register(self, yaml_text: str) -> None:
        source = service.PipelineSource(textwrap.dedent(yaml_text))
        await service.register_pipeline(self.runtime.uow(), source, self.actor)

    async def trigger(self, name: str, **inputs: Any) -> PipelineRun:
        request = service.TriggerRequest(name, inputs=inputs)
        return await service.trigger_pipeline(
            self.runtime.uow(), self.runtime.settings, request, self.actor
        )

    async def work(self, timeout: float = 30.0) -> None:
        """Run jobs until nothing is due (waiting approvals and retries-later stay)."""
        runner = JobRunner(self.runtime, build_registry(self.runtime))
        await asyncio.wait_for(runner.run(until_idle=True), timeout)

    async def run(self, name: str, **inputs: Any) -> PipelineRun:
        started = await self.trigger(name, **inputs)
        await self.work()
        return await self.get(started.id)

    async def get(self, run_id: str) -> PipelineRun:
        return await service.get_run(self.runtime.uow(read_only=True), run_id)


@pytest.fixture
def pipelines(runtime: Runtime) -> Pipelines:
    return Pipelines(runtime, Actor.system("test"))


def statuses(run: PipelineRun) -> dict[str, str]:
    return {step.key: step.status.value for step in run.steps}
