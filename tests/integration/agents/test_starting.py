"""An agent's first job: a ``created`` run is started (state, start time, scratch
workspace, first message and its event in one transaction), runs whose jobs begin
together are started together, and a run that is no longer ``created`` by then is left
as it is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from sqlalchemy import event

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.agents.starting import StartBatcher, start_many
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


async def created_runs(runtime: Runtime, tasks: list[str]) -> list[AgentRun]:
    return [
        await service.start_agent(
            runtime.uow(),
            runtime.settings,
            service.StartAgent(
                type="explorer",
                task=task,
                provider="openai",
                model="scripted-model",
                enqueue=False,
            ),
            Actor.local_cli(),
        )
        for task in tasks
    ]


class TestRunsStartingTogether:
    async def test_runs_whose_jobs_begin_together_start_in_one_transaction(
        self, runtime: Runtime
    ) -> None:
        runs = await created_runs(runtime, ["one", "two", "three"])
        providers = {run.id: ScriptedProvider([finish("completed", run.task)]) for run in runs}
        starts: list[str] = []

        def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if statement.startswith("UPDATE agents SET state") and "RETURNING" in statement:
                starts.append(statement)

        engine = runtime.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            batcher = StartBatcher(runtime)
            ended = await asyncio.gather(
                *(
                    execute_agent(runtime, run.id, lambda r: providers[r.id], starts=batcher)
                    for run in runs
                )
            )
        finally:
            event.remove(engine, "before_cursor_execute", note)

        assert [run.state for run in ended] == [AgentState.COMPLETED] * 3
        assert len(starts) == 1, "one UPDATE started all three"
        for run in runs:
            transcript = await service.transcript(runtime.uow(read_only=True), run.id)
            assert transcript[0][2].content[0].text == run.task  # type: ignore[union-attr]
            assert (runtime.settings.home / "workspaces" / run.id).is_dir()
            changes = await state_events(runtime, run.id)
            assert changes[0] == ("agent.running", "created", "running")

    async def test_a_run_no_longer_created_is_left_to_start_on_its_own(
        self, runtime: Runtime
    ) -> None:
        ready, cancelled = await created_runs(runtime, ["ready", "cancelled"])
        await service.cancel(runtime.uow(), cancelled.id, Actor.local_cli())

        started = await start_many(runtime, [ready.id, cancelled.id, "agent-gone"])

        assert list(started) == [ready.id]
        assert started[ready.id].run.state is AgentState.RUNNING
        assert started[ready.id].is_new
        left = await service.get_agent(runtime.uow(read_only=True), cancelled.id)
        assert left.state is AgentState.CANCELLED
        assert left.started_at is None
        assert await service.transcript(runtime.uow(read_only=True), cancelled.id) == []
