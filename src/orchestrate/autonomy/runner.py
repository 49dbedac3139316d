"""Driving an epic run: the durable jobs that step it, and the step itself.

A run moves when something happens to it, never in a loop holding a worker:

- ``autonomy.poll`` looks at the run, then enqueues the next poll
  ``epic_run_poll_seconds`` later while the run is active. Only the poll whose number
  is the run's ``poll_seq`` enqueues the next, so there is exactly one chain of polls
  per run however many jobs step it;
- ``autonomy.agent_finished`` (an agent the run started ended) and ``autonomy.advance``
  (the run started or was resumed) look at the run at once.

Looking at the run (``advance_run``) repeats single steps until one changes nothing: a
step drives the active story (``stages.py``), or, with none active, settles and starts
pending stories by the planner's decisions (``planning.py``), or ends the run.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from orchestrate.agents.service import AgentFinished
from orchestrate.autonomy import _store as store
from orchestrate.autonomy import planning, progress, stages
from orchestrate.autonomy.context import (
    Snapshot,
    block_story,
    change_story,
    load_snapshot,
    set_waiting,
)
from orchestrate.autonomy.kinds import (
    ADVANCE,
    AGENT_FINISHED,
    POLL,
    Poll,
    RunRef,
    StoryAgentRef,
    poll_key,
)
from orchestrate.autonomy.models import EpicRunStatus, StoryPhase, StoryProgress
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.errors import NotFound
from orchestrate.core.jobs import JobContext, JobRegistry, enqueue
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)

_MAX_STEPS_PER_STORY = 8


def register_autonomy_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The jobs that drive epic runs."""
    del runtime  # handlers get it from their job context
    registry.register(ADVANCE, _advance)
    registry.register(POLL, _poll, timeout=timedelta(minutes=10))
    registry.register(AGENT_FINISHED, _agent_finished)


async def _advance(job: JobContext[RunRef]) -> None:
    await advance_run(job.runtime, job.payload.run_id)


async def _agent_finished(job: JobContext[AgentFinished[StoryAgentRef]]) -> None:
    await advance_run(job.runtime, job.payload.context.run_id)


async def _poll(job: JobContext[Poll]) -> None:
    run_id, seq = job.payload.run_id, job.payload.seq
    await advance_run(job.runtime, run_id)
    async with job.uow() as uow:
        try:
            run = await store.run_row(uow, run_id, for_update=True)
        except NotFound:
            run = None
        if run is not None and EpicRunStatus(run.status).is_active and run.poll_seq == seq:
            await schedule_poll(uow, run, job.runtime.settings.epic_run_poll_seconds)
        await job.complete_in(uow)
        await uow.commit()


async def schedule_poll(
    uow: UnitOfWork, run: EpicRunRow, seconds: float, *, now: bool = False
) -> None:
    """Make the run's next poll the live one, ``seconds`` from now (or at once)."""
    run.poll_seq += 1
    due = uow.now() + (timedelta(0) if now else timedelta(seconds=seconds))
    await enqueue(
        uow,
        POLL,
        Poll(run_id=run.id, seq=run.poll_seq),
        key=poll_key(run.id, run.poll_seq),
        run_at=due,
    )


async def advance_run(runtime: Runtime, run_id: str) -> None:
    """Step the run until a step changes nothing."""
    for _ in range(_MAX_STEPS_PER_STORY * 100):
        try:
            snapshot = await load_snapshot(runtime, run_id)
        except NotFound:
            return  # the run (or its epic) was deleted
        if not snapshot.run.status.is_active:
            return
        if not await _step(runtime, snapshot):
            return
    log.warning("epic_run_step_limit", run_id=run_id)


async def _step(runtime: Runtime, snapshot: Snapshot) -> bool:
    gone = [p for p in snapshot.run.stories if p.story_id not in snapshot.stories]
    for seen in gone:
        if not seen.phase.is_settled:
            return await _settle(
                runtime, snapshot, seen, StoryPhase.SKIPPED, "the story was deleted"
            )
    active = next((p for p in snapshot.run.stories if p.phase.is_active), None)
    if active is not None and await stages.drive(runtime, snapshot, active):
        return True
    return await _pending(runtime, snapshot)  # with a story active: say what others wait for


async def _pending(runtime: Runtime, snapshot: Snapshot) -> bool:
    present = [p for p in snapshot.run.stories if p.story_id in snapshot.stories]
    facts = [_facts(snapshot, p) for p in present]
    seen_by_id = {p.story_id: p for p in present}
    decisions = planning.plan(facts, may_start=snapshot.is_running)
    for decision in decisions:
        seen = seen_by_id[decision.story_id]
        match decision:
            case planning.Skip(reason=reason):
                return await _settle(runtime, snapshot, seen, StoryPhase.SKIPPED, reason)
            case planning.Block(reason=reason):
                return await block_story(runtime, snapshot, seen, reason)
    for decision in decisions:
        seen = seen_by_id[decision.story_id]
        match decision:
            case planning.Wait(waiting_for=text):
                await set_waiting(runtime, snapshot.run.id, seen, text)
            case planning.Start():
                return await stages.start_story(runtime, snapshot, seen)
    ended = planning.outcome(p.phase for p in snapshot.run.stories)
    if ended is not None and snapshot.is_running:
        return await finish_run(runtime, snapshot.run.id, ended)
    return False


def _facts(snapshot: Snapshot, seen: StoryProgress) -> planning.StoryFacts:
    story = snapshot.stories[seen.story_id]
    return planning.StoryFacts(
        id=story.id,
        name=story.key or story.id,
        status=story.status,
        depends_on=story.depends_on,
        phase=seen.phase,
    )


async def _settle(
    runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, target: StoryPhase, reason: str
) -> bool:
    async def apply(uow: UnitOfWork, run: EpicRunRow, row: EpicRunStoryRow) -> None:
        progress.set_phase(uow, run, row, target, detail=reason)
        row.note = reason

    return await change_story(runtime, seen, snapshot.run.id, apply)


async def finish_run(runtime: Runtime, run_id: str, status: EpicRunStatus) -> bool:
    async with runtime.uow() as uow:
        run = await store.run_row(uow, run_id, for_update=True)
        if EpicRunStatus(run.status) is not EpicRunStatus.RUNNING:
            return False
        rows = await store.story_rows(uow, run_id)
        if planning.outcome(StoryPhase(row.phase) for row in rows) is not status:
            return False
        progress.set_run_status(uow, run, status, rows)
        await uow.commit()
    log.info("epic_run_finished", run_id=run_id, status=status.value)
    return True
