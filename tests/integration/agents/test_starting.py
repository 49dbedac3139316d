"""An agent's first job: a ``created`` run is started (state, start time, scratch
workspace, first message and its event in one transaction), and a run that is no longer
``created`` by then is left as it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from orchestrate.agents import service
from orchestrate.agents.models import AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.testing.scripted import ScriptedProvider, Step, finish
from tests.integration.agents.conftest import AgentRunner


async def state_events(runtime: Runtime, agent_id: str) -> list[tuple[str, str, str]]:
    async with runtime.uow(read_only=True) as uow:
        events = await read_events(uow.session, only=EventFilter(subject=agent_id))
    return [
        (event.type, event.payload.get("from", ""), event.payload.get("to", ""))
        for event in events
        if "to" in event.payload
    ]


class TestTheFirstJob:
    async def test_a_new_run_without_a_repository_starts_in_its_scratch_folder(
        self, runtime: Runtime, scripted: Callable[[Iterable[Step]], ScriptedProvider]
    ) -> None:
        runner = AgentRunner(runtime, scripted([finish("completed", "done")]))
        created = await runner.start(agent_type="explorer", task="Say hello")

        run = await runner.drive()

        assert run.state is AgentState.COMPLETED, run.failure_reason
        scratch = runtime.settings.home / "workspaces" / created.id
        assert run.workspace_path == str(scratch)
        assert scratch.is_dir()
        assert run.started_at is not None
        assert run.started_at >= created.created_at
        transcript = await service.transcript(runtime.uow(read_only=True), created.id)
        first = transcript[0][2]
        assert "Say hello" in first.content[0].text  # type: ignore[union-attr]
        changes = await state_events(runtime, created.id)
        assert changes[0] == ("agent.running", "created", "running")
        assert changes[-1][2] == "completed"

    async def test_a_run_cancelled_before_its_job_ran_is_not_started(
        self, runtime: Runtime, scripted: Callable[[Iterable[Step]], ScriptedProvider]
    ) -> None:
        provider = scripted([finish("completed", "never")])
        runner = AgentRunner(runtime, provider)
        created = await runner.start(agent_type="explorer", task="Say hello")
        await service.cancel(runtime.uow(), created.id, Actor.local_cli())

        run = await runner.drive()

        assert run.state is AgentState.CANCELLED
        assert run.started_at is None
        assert run.workspace_path is None
        assert not (runtime.settings.home / "workspaces" / created.id).exists()
        assert provider.requests == []
        assert [to for _, _, to in await state_events(runtime, created.id)] == ["cancelled"]
