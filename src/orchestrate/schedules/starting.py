"""Starting what schedules fired: the overlap policy, then the pipeline run or the agent.

The firing job (``firing.py``) only records fire times, in bulk, as ``pending`` fires
and queues ``triggers.start_fires`` jobs for the schedules that fired, a few dozen
schedules each. Such a job locks each schedule and takes its pending fires oldest
first, so the overlap policy sees them in order however many workers run: ``allow``
starts every one, ``skip`` drops a fire while the previous run is going, ``queue``
holds it until that run ends (the firing job promotes queued fires),
``cancel_previous`` cancels the old run once the new one is committed. A pipeline
run starts in the transaction that records the outcome, so a fire starts its run once.
An agent starts in its own transaction (``start_agent`` opens one), from a small job
keyed by the fire id whose origin key makes a retried start return the first agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor
from orchestrate.core.errors import NotFound, OrchestrateError, ValidationFailed
from orchestrate.core.jobs import JobContext, enqueue
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import _store as store
from orchestrate.schedules.kinds import START_SCHEDULED_AGENT, FireRef, StartFires
from orchestrate.schedules.models import FireOutcome, OverlapPolicy, TargetKind
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow

log = structlog.get_logger(__name__)

BATCH = 1000


@dataclass
class Tick:
    """What one transaction did, and what is left for after it commits."""

    now: datetime
    fired: int = 0
    started_here: set[str] = field(default_factory=set)  # runs not yet visible to siblings
    to_cancel: list[tuple[TargetKind, str]] = field(default_factory=list)
    start_jobs: list[str] = field(default_factory=list)  # queued by a firing batch


def _actor() -> Actor:
    return Actor.system("schedules")


async def start_fires(context: JobContext[StartFires]) -> dict[str, Any]:
    """The job: decide and start the pending fires of some schedules, each oldest first.

    One transaction per schedule, so the single SQLite writer is never held for long. A
    schedule whose start fails does not hold up the others: they go on, and the job is
    retried afterwards (a retry finds only fires still pending). On the last attempt
    the failing schedules' pending fires are recorded ``failed`` with the error rather
    than left pending.
    """
    runtime = context.runtime
    schedule_ids = sorted(context.payload.schedules)
    started = 0
    failures: list[tuple[str, Exception]] = []
    for schedule_id in schedule_ids:
        try:
            async with runtime.uow() as uow:
                tick = Tick(now=uow.now())
                started += await _start_pending(uow, runtime.settings, schedule_id, tick)
                await uow.commit()
        except Exception as error:
            log.warning("schedule_start_failed", schedule_id=schedule_id, error=str(error))
            failures.append((schedule_id, error))
            continue
        await cancel_replaced(runtime, tick)
    if failures and not context.job.is_last_attempt:
        raise failures[0][1]
    for schedule_id, failure in failures:
        await _fail_pending(runtime.uow(), schedule_id, f"{type(failure).__name__}: {failure}")
    return {"schedules": len(schedule_ids), "fires": started, "failed": len(failures)}


async def _fail_pending(uow: UnitOfWork, schedule_id: str, reason: str) -> None:
    async with uow:
        await store.fail_pending(uow, schedule_id, reason)
        await uow.commit()


async def _start_pending(uow: UnitOfWork, settings: Settings, schedule_id: str, tick: Tick) -> int:
    row = await store.lock_schedule(uow, schedule_id)
    if row is None:  # deleted: its fires went with it
        return 0
    pending = await store.fires_in(uow, schedule_id, FireOutcome.PENDING)
    for fire_row in pending:
        await resolve(uow, settings, row, fire_row, tick, is_manual=False)
    return len(pending)


async def resolve(
    uow: UnitOfWork,
    settings: Settings,
    row: ScheduleRow,
    fire_row: ScheduleFireRow,
    tick: Tick,
    *,
    is_manual: bool,
) -> None:
    """Start (or skip, or queue) the target of a recorded fire, by the overlap policy."""
    policy = OverlapPolicy.ALLOW if is_manual else OverlapPolicy(row.overlap_policy)
    previous = (
        None
        if policy is OverlapPolicy.ALLOW
        else await _active_previous(uow, row, tick, besides=fire_row.id)
    )
    if previous is not None and policy is OverlapPolicy.SKIP:
        reason = f"the run of fire {previous.id} is still going"
        store.set_outcome(fire_row, FireOutcome.SKIPPED, reason)
    elif policy is OverlapPolicy.QUEUE and (previous is not None or await _has_queued(uow, row)):
        store.set_outcome(fire_row, FireOutcome.QUEUED, "waiting for the previous run to end")
    else:
        if previous is not None:  # cancel_previous
            tick.to_cancel.append(_target_of(row, previous))
        await _start(uow, settings, row, fire_row, tick)
    log.info(
        "schedule_fire_resolved",
        schedule=row.name,
        fire_time=fire_row.fire_time.isoformat(),
        outcome=fire_row.outcome,
        run_id=fire_row.run_id,
    )


def _target_of(row: ScheduleRow, fire_row: ScheduleFireRow) -> tuple[TargetKind, str]:
    kind = TargetKind(row.target_kind)
    target = fire_row.run_id if kind is TargetKind.PIPELINE else fire_row.agent_id
    assert target is not None
    return kind, target


async def _active_previous(
    uow: UnitOfWork, row: ScheduleRow, tick: Tick, *, besides: str | None = None
) -> ScheduleFireRow | None:
    """The last started fire of the schedule if what it started has not ended yet."""
    previous = await store.last_started(uow, row.id, besides=besides)
    if previous is None:
        return None
    reader = uow.sibling(read_only=True)
    try:
        if TargetKind(row.target_kind) is TargetKind.PIPELINE:
            if previous.run_id is None:
                return None
            if previous.run_id in tick.started_here:
                return previous
            run = await pipelines.get_run(reader, previous.run_id)
            return None if run.status.is_terminal else previous
        if previous.agent_id is None:
            return previous  # its start job has not run yet
        agent = await agents.get_agent(reader, previous.agent_id)
        return None if agent.state.is_terminal else previous
    except NotFound:
        return None


async def _has_queued(uow: UnitOfWork, row: ScheduleRow) -> bool:
    return await store.oldest_in(uow, row.id, FireOutcome.QUEUED) is not None


async def _start(
    uow: UnitOfWork,
    settings: Settings,
    row: ScheduleRow,
    fire_row: ScheduleFireRow,
    tick: Tick,
    *,
    fired_at: datetime | None = None,
) -> None:
    """Start the target of a fire in this transaction (a pipeline) or queue its start (an agent)."""
    if TargetKind(row.target_kind) is TargetKind.AGENT:
        store.set_outcome(fire_row, FireOutcome.STARTED, fired_at=fired_at)
        await enqueue(
            uow,
            START_SCHEDULED_AGENT,
            FireRef(fire=fire_row.id),
            key=f"{START_SCHEDULED_AGENT.name}:{fire_row.id}",
        )
        return
    assert row.pipeline is not None
    trigger = {
        "schedule": row.name,
        "cron": row.cron,
        "timezone": row.timezone,
        "fire_time": fire_row.fire_time.astimezone(UTC).isoformat(),
        "manual": fire_row.is_manual,
    }
    request = pipelines.TriggerRequest(
        row.pipeline, dict(row.inputs), trigger, kind=pipelines.TriggerKind.SCHEDULE
    )
    try:
        run = await pipelines.trigger_within(uow, settings, request, _actor())
    except (ValidationFailed, NotFound) as error:
        # a deleted pipeline or inputs it no longer accepts: recorded, not retried
        store.set_outcome(fire_row, FireOutcome.FAILED, str(error), fired_at=fired_at)
        return
    store.set_outcome(fire_row, FireOutcome.STARTED, run_id=run.id, fired_at=fired_at)
    tick.started_here.add(run.id)


async def promote_queued(uow: UnitOfWork, settings: Settings, tick: Tick) -> None:
    """Start the oldest queued fire of each schedule whose previous run has ended."""
    for schedule_id in await store.schedules_with(uow, FireOutcome.QUEUED, BATCH):
        row = await store.lock_schedule(uow, schedule_id, skip_locked=True)
        if row is None or row.is_paused or await _active_previous(uow, row, tick):
            continue
        oldest = await store.oldest_in(uow, row.id, FireOutcome.QUEUED)
        if oldest is not None:
            await _start(uow, settings, row, oldest, tick, fired_at=tick.now)


async def cancel_replaced(runtime: Runtime, tick: Tick) -> None:
    """Cancel the runs ``cancel_previous`` replaced, once the new ones are committed."""
    for kind, target in tick.to_cancel:
        try:
            if kind is TargetKind.PIPELINE:
                await pipelines.cancel_run(runtime.uow(), target, _actor())
            else:
                await agents.cancel(runtime.uow(), target, _actor())
        except OrchestrateError as error:  # it ended meanwhile
            log.info("schedule_cancel_previous_skipped", target=target, reason=str(error))


async def start_scheduled_agent(context: JobContext[FireRef]) -> None:
    """The job: start the agent of one fire; the origin key makes a retry return the first."""
    runtime = context.runtime
    fire_id = context.payload.fire
    async with runtime.uow(read_only=True) as reader:
        fire_row = await store.fire_row(reader, fire_id)
        row = None if fire_row is None else await store.schedule_by_id(reader, fire_row.schedule_id)
    agent_id, reason = None, "the schedule was deleted"
    if fire_row is not None and row is not None:
        assert row.agent_type is not None
        request = agents.StartAgent(
            type=row.agent_type,
            task=row.task or "",
            origin_key=f"schedule:{row.id}:{fire_row.fire_time.isoformat()}",
        )
        try:
            agent_id = (
                await agents.start_agent(runtime.uow(), runtime.settings, request, _actor())
            ).id
        except OrchestrateError as error:  # no credentials, type gone: recorded, not retried
            reason = str(error)
    async with runtime.uow() as uow:
        await store.record_agent_start(uow, fire_id, agent_id, reason)
        await context.complete_in(uow, {"fire": fire_id, "agent_id": agent_id})
        await uow.commit()
