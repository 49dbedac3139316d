"""Firing schedules: the job that starts every due schedule's pipeline or agent, once.

``triggers.fire_schedules`` runs every ``TICK``; each run enqueues the next with an
idempotency key per time slot, so however many workers run there is one job per slot
(and the worker's upkeep re-seeds the chain should it break). A tick locks the due
schedules (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent ticks split them),
works out the fire times with the schedule's misfire policy, and for each inserts a
``schedule_fires`` row: the unique ``(schedule_id, fire_time)`` turns a second attempt
at the same fire time into a no-op. A pipeline run starts in that same transaction, so
a fire and its run commit together, exactly once. An agent starts in its own
transaction (``start_agent`` opens one), from a small job keyed by the fire id whose
origin key makes a retried start return the first agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orchestrate.agents import service as agents
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import NotFound, OrchestrateError, ValidationFailed
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import JobContext, JobRegistry, enqueue
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import service as pipelines
from orchestrate.triggers.cron import CronError, MisfirePolicy, due_fire_times
from orchestrate.triggers.schedule_tables import ScheduleFireRow, ScheduleRow
from orchestrate.triggers.scheduling import (
    FireOutcome,
    OverlapPolicy,
    ScheduleFire,
    TargetKind,
    cron_of,
    schedule_row,
    to_fire,
)

log = structlog.get_logger(__name__)

FIRE_SCHEDULES = "triggers.fire_schedules"
START_SCHEDULED_AGENT = "triggers.start_scheduled_agent"
TICK = timedelta(seconds=5)
BATCH = 500
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass
class _Tick:
    """What one transaction did, and what is left for after it commits."""

    now: datetime
    fired: int = 0
    started_here: set[str] = field(default_factory=set)  # runs not yet visible to siblings
    to_cancel: list[tuple[TargetKind, str]] = field(default_factory=list)


def _actor() -> Actor:
    return Actor.system("schedules")


async def fire_schedules(context: JobContext) -> None:
    """The job: fire what is due, start queued fires whose predecessor ended, re-enqueue.

    Due schedules are fired in batches, each batch in its own transaction (its fire rows
    and the runs they start commit together), so thousands due in the same minute
    neither hold one long transaction nor wait for the next tick. A retried job only
    finds the schedules still due: the fire rows make every batch safe to repeat.
    """
    runtime = context.runtime
    fired = 0
    while True:
        async with runtime.uow() as uow:
            tick = _Tick(now=uow.now())
            handled = await fire_due(uow, runtime.settings, tick)
            await uow.commit()
        await _cancel_previous(runtime, tick)
        fired += tick.fired
        if handled < BATCH:
            break
    async with runtime.uow() as uow:
        tick = _Tick(now=uow.now())
        await _promote_queued(uow, runtime.settings, tick)
        await enqueue_tick(uow, tick.now + TICK)
        await context.complete_in(uow, {"fired": fired + tick.fired})
        await uow.commit()


async def fire_due(uow: UnitOfWork, settings: Settings, tick: _Tick) -> int:
    """Fire up to ``BATCH`` due, unpaused schedules in the caller's transaction; how many."""
    rows = await uow.session.scalars(
        select(ScheduleRow)
        .where(ScheduleRow.is_paused.is_(False), ScheduleRow.next_fire_at <= tick.now)
        .order_by(ScheduleRow.next_fire_at, ScheduleRow.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    due = list(rows)
    for row in due:
        try:
            cron = cron_of(row)
        except CronError as error:
            # e.g. its time zone left the tz database: pause it rather than fail every tick
            log.error("schedule_unfireable", schedule=row.name, error=str(error))
            row.is_paused = True
            continue
        # Every fire time from next_fire_at on is due; those before were handled, or
        # passed while the schedule was paused.
        times = due_fire_times(
            cron,
            last_fired=row.next_fire_at - _JUST_BEFORE,
            created=row.created_at,
            now=tick.now,
            policy=MisfirePolicy(row.misfire_policy),
            cap=row.misfire_cap,
        )
        for fire_time in times:
            await fire(uow, settings, row, fire_time, tick, is_manual=False)
        row.next_fire_at = cron.next_after(tick.now)
        if times:
            row.last_fired_at = times[-1]
    return len(due)


async def fire(
    uow: UnitOfWork,
    settings: Settings,
    row: ScheduleRow,
    fire_time: datetime,
    tick: _Tick,
    *,
    is_manual: bool,
) -> ScheduleFireRow | None:
    """Record one fire time and start (or skip, or queue) its target; None if already fired."""
    fire_row = await _insert_fire(uow, row, fire_time, is_manual=is_manual)
    if fire_row is None:
        return None
    tick.fired += 1
    policy = OverlapPolicy.ALLOW if is_manual else OverlapPolicy(row.overlap_policy)
    previous = (
        None
        if policy is OverlapPolicy.ALLOW
        else await _active_previous(uow, row, tick, besides=fire_row.id)
    )
    if previous is not None and policy is OverlapPolicy.SKIP:
        _set_outcome(fire_row, FireOutcome.SKIPPED, f"the run of fire {previous.id} is still going")
    elif policy is OverlapPolicy.QUEUE and (previous is not None or await _has_queued(uow, row)):
        _set_outcome(fire_row, FireOutcome.QUEUED, "waiting for the previous run to end")
    else:
        if previous is not None:  # cancel_previous
            tick.to_cancel.append(_target_of(row, previous))
        await _start(uow, settings, row, fire_row, tick)
    log.info(
        "schedule_fired",
        schedule=row.name,
        fire_time=fire_time.isoformat(),
        outcome=fire_row.outcome,
        run_id=fire_row.run_id,
    )
    return fire_row


async def _insert_fire(
    uow: UnitOfWork, row: ScheduleRow, fire_time: datetime, *, is_manual: bool
) -> ScheduleFireRow | None:
    now = uow.now()
    values: dict[str, Any] = {
        "id": new_id("fire", now),
        "schedule_id": row.id,
        "fire_time": fire_time,
        "fired_at": now,
        "outcome": FireOutcome.STARTED.value,
        "is_manual": is_manual,
    }
    dialect = uow.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(ScheduleFireRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["schedule_id", "fire_time"])
        .returning(ScheduleFireRow.id)
    )
    if await uow.session.scalar(statement) is None:
        return None  # another worker (or an earlier attempt) fired this time already
    return await uow.session.get(ScheduleFireRow, values["id"])


def _set_outcome(fire_row: ScheduleFireRow, outcome: FireOutcome, reason: str | None) -> None:
    fire_row.outcome = outcome.value
    fire_row.reason = reason


def _target_of(row: ScheduleRow, fire_row: ScheduleFireRow) -> tuple[TargetKind, str]:
    kind = TargetKind(row.target_kind)
    target = fire_row.run_id if kind is TargetKind.PIPELINE else fire_row.agent_id
    assert target is not None
    return kind, target


async def _active_previous(
    uow: UnitOfWork, row: ScheduleRow, tick: _Tick, *, besides: str | None = None
) -> ScheduleFireRow | None:
    """The last started fire of the schedule if what it started has not ended yet."""
    previous = await uow.session.scalar(
        select(ScheduleFireRow)
        .where(
            ScheduleFireRow.schedule_id == row.id,
            ScheduleFireRow.outcome == FireOutcome.STARTED.value,
            ScheduleFireRow.id != (besides or ""),
        )
        .order_by(ScheduleFireRow.fired_at.desc(), ScheduleFireRow.id.desc())
        .limit(1)
    )
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
    found = await uow.session.scalar(
        select(ScheduleFireRow.id)
        .where(
            ScheduleFireRow.schedule_id == row.id,
            ScheduleFireRow.outcome == FireOutcome.QUEUED.value,
        )
        .limit(1)
    )
    return found is not None


async def _start(
    uow: UnitOfWork, settings: Settings, row: ScheduleRow, fire_row: ScheduleFireRow, tick: _Tick
) -> None:
    """Start the target of a fire in this transaction (a pipeline) or queue its start (an agent)."""
    _set_outcome(fire_row, FireOutcome.STARTED, None)
    if TargetKind(row.target_kind) is TargetKind.AGENT:
        await enqueue(
            uow,
            START_SCHEDULED_AGENT,
            {"fire": fire_row.id},
            key=f"{START_SCHEDULED_AGENT}:{fire_row.id}",
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
        _set_outcome(fire_row, FireOutcome.FAILED, str(error))
        return
    fire_row.run_id = run.id
    tick.started_here.add(run.id)


async def _promote_queued(uow: UnitOfWork, settings: Settings, tick: _Tick) -> None:
    """Start the oldest queued fire of each schedule whose previous run has ended."""
    schedule_ids = await uow.session.scalars(
        select(ScheduleFireRow.schedule_id)
        .where(ScheduleFireRow.outcome == FireOutcome.QUEUED.value)
        .distinct()
        .limit(BATCH)
    )
    for schedule_id in list(schedule_ids):
        row = await uow.session.scalar(
            select(ScheduleRow)
            .where(ScheduleRow.id == schedule_id)
            .with_for_update(skip_locked=True)
        )
        if row is None or row.is_paused or await _active_previous(uow, row, tick):
            continue
        oldest = await uow.session.scalar(
            select(ScheduleFireRow)
            .where(
                ScheduleFireRow.schedule_id == row.id,
                ScheduleFireRow.outcome == FireOutcome.QUEUED.value,
            )
            .order_by(ScheduleFireRow.fire_time, ScheduleFireRow.id)
            .limit(1)
        )
        if oldest is not None:
            oldest.fired_at = tick.now
            await _start(uow, settings, row, oldest, tick)


async def _cancel_previous(runtime: Runtime, tick: _Tick) -> None:
    """Cancel the runs ``cancel_previous`` replaced, once the new ones are committed."""
    for kind, target in tick.to_cancel:
        try:
            if kind is TargetKind.PIPELINE:
                await pipelines.cancel_run(runtime.uow(), target, _actor())
            else:
                await agents.cancel(runtime.uow(), target, _actor())
        except OrchestrateError as error:  # it ended meanwhile
            log.info("schedule_cancel_previous_skipped", target=target, reason=str(error))


async def trigger_now(uow: UnitOfWork, settings: Settings, key: str, actor: Actor) -> ScheduleFire:
    """Fire a schedule at once (a manual fire at the current time); overlap is not checked."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await schedule_row(uow, key, for_update=True)
        tick = _Tick(now=uow.now())
        fire_row = await fire(uow, settings, row, tick.now, tick, is_manual=True)
        assert fire_row is not None  # the current instant is a new fire time
        await auth.record_audit(uow, actor, "schedule.trigger", row.id, {"fire": fire_row.id})
        await uow.commit()
        return to_fire(fire_row)


async def start_scheduled_agent(context: JobContext) -> None:
    """The job: start the agent of one fire; the origin key makes a retry return the first."""
    runtime = context.runtime
    fire_id = str(context.job.payload["fire"])
    async with runtime.uow(read_only=True) as reader:
        fire_row = await reader.session.get(ScheduleFireRow, fire_id)
        row = (
            None
            if fire_row is None
            else await reader.session.get(ScheduleRow, fire_row.schedule_id)
        )
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
        values: dict[str, Any] = {"agent_id": agent_id}
        if agent_id is None:
            values |= {"outcome": FireOutcome.FAILED.value, "reason": reason}
        await uow.session.execute(
            update(ScheduleFireRow).where(ScheduleFireRow.id == fire_id).values(**values)
        )
        await context.complete_in(uow, {"fire": fire_id, "agent_id": agent_id})
        await uow.commit()


def _slot(moment: datetime) -> datetime:
    seconds = int(TICK.total_seconds())
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return moment - timedelta(seconds=moment.second % seconds)


async def enqueue_tick(uow: UnitOfWork, at: datetime) -> None:
    """Enqueue the firing job of ``at``'s time slot unless a worker already did."""
    slot = _slot(at)
    await enqueue(
        uow, FIRE_SCHEDULES, key=f"{FIRE_SCHEDULES}:{slot.isoformat()}", run_at=slot, max_attempts=3
    )


async def start_schedule_firing(runtime: Runtime) -> None:
    """Seed the firing job's chain (the worker calls this at start and in its upkeep)."""
    async with runtime.uow() as uow:
        await enqueue_tick(uow, uow.now())
        await uow.commit()


def register_schedule_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The job handlers of schedules."""
    del runtime  # handlers get the runtime from their job context
    registry.register(FIRE_SCHEDULES, fire_schedules, timeout=timedelta(minutes=5))
    registry.register(START_SCHEDULED_AGENT, start_scheduled_agent)
