"""A finishing step's worker runs the step it unblocks itself, without changing what users see."""

from __future__ import annotations

from sqlalchemy import select

from orchestrate.core.events import EventRow
from orchestrate.core.jobs.tables import JobRow
from orchestrate.pipelines import kinds
from tests.integration.pipelines.engine.conftest import Pipelines, statuses


async def test_a_chain_hands_each_next_step_to_the_same_worker(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: chain
        steps:
          - id: build
            run: echo "size=3" >> "$ORCHESTRATE_OUTPUT"
          - id: test
            needs: build
            run: test "${{ needs.build.outputs.size }}" = 3
          - id: ship
            needs: test
            run: "true"
        """
    )
    run = await pipelines.run("chain")

    assert run.status.value == "success"
    assert statuses(run) == {"build": "success", "test": "success", "ship": "success"}
    async with pipelines.runtime.uow(read_only=True) as uow:
        jobs = list(await uow.session.scalars(select(JobRow).where(JobRow.kind == kinds.STEP.name)))
        events = list(
            await uow.session.scalars(
                select(EventRow).where(EventRow.subject == run.id).order_by(EventRow.id)
            )
        )
    assert all(job.status == "succeeded" and job.attempts == 1 for job in jobs)
    # The next steps' jobs were created already leased (taken in the finishing transaction).
    taken = [job for job in jobs if job.created_at == job.started_at]
    assert len(taken) == 2
    seen = [
        (event.payload["step"], event.payload["to"])
        for event in events
        if event.type.startswith("pipeline.step.") and "to" in event.payload
    ]
    for step in ("build", "test", "ship"):
        assert [to for key, to in seen if key == step] == ["queued", "running", "success"]


async def test_parallel_successors_are_all_run(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: fan
        steps:
          - id: start
            run: "true"
          - id: left
            needs: start
            run: "true"
          - id: right
            needs: start
            run: "true"
          - id: join
            needs: [left, right]
            run: "true"
        """
    )
    run = await pipelines.run("fan")

    assert run.status.value == "success"
    assert set(statuses(run).values()) == {"success"}
