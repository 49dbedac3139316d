"""Firing schedules: the job that records every due fire time, once, in bulk.

``triggers.fire_schedules`` runs every ``TICK``; each run enqueues the next with an
idempotency key per time slot, so however many workers run there is one job per slot
(and the worker's upkeep re-seeds the chain should it break). A tick locks the due
schedules (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent ticks split them),
works out their fire times with each schedule's misfire policy, and inserts them as
``pending`` ``schedule_fires`` rows with one multi-row statement: the unique
``(schedule_id, fire_time)`` turns a second attempt at the same fire time into a no-op.
In the same transaction it queues one ``triggers.start_fires`` job per schedule that
fired (``starting.py``), which applies the overlap policy and starts the pipeline run
or agent. Recording a fire costs a few statements per batch, not per schedule, so
thousands due in the same minute are all fired within a second; the starts spread
over every worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.events import record_event
from orchestrate.core.jobs import (
    JobContext,
    JobRegistry,
    NewJob,
    NoPayload,
    bring_forward,
    enqueue,
    enqueue_many,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.schedules import _store as store
from orchestrate.schedules.cron import CronError, MisfirePolicy, due_fire_times
from orchestrate.schedules.events import ScheduleFired
from orchestrate.schedules.kinds import (
    FIRE_SCHEDULES,
    START_FIRES,
    START_SCHEDULED_AGENT,
    StartFires,
)
from orchestrate.schedules.models import ScheduleFire
from orchestrate.schedules.starting import (
    BATCH,
    Tick,
    cancel_replaced,
    promote_queued,
    resolve,
    start_fires,
    start_scheduled_agent,
)

log = structlog.get_logger(__name__)

TICK = timedelta(seconds=5)
_JUST_BEFORE = timedelta(microseconds=1)
START_CHUNK = 25
"""Schedules per start job: few job rows for thousands of fires, and still spread out."""
START_HOLD = timedelta(seconds=30)
"""How far ahead start jobs are queued until the tick brings them forward (a fallback)."""


async def fire_schedules(context: JobContext[NoPayload]) -> None:
    """The job: fire what is due, start queued fires whose predecessor ended, re-enqueue.

    Due schedules are fired in batches, each batch in its own transaction (its fire rows
    and their start jobs commit together), so thousands due in the same minute neither
    hold one long transaction nor wait for the next tick. The start jobs are queued
    ``START_HOLD`` ahead and brought forward once every batch is fired: starting runs
    meanwhile would take the CPU and the database from the firing, and should this job
    die between the two, they still start then. A retried job only finds the schedules
    still due: the fire rows make every batch safe to repeat.
    """
    runtime = context.runtime
    fired = 0
    held: list[str] = []
    while True:
        # Urgent: on SQLite this goes before other writers waiting for their turn.
        async with runtime.uow(urgent=True) as uow:
            tick = Tick(now=uow.now())
            handled = await fire_due(uow, tick)
            await uow.commit()
        fired += tick.fired
        held += tick.start_jobs
        if handled < BATCH:
            break
    async with runtime.uow() as uow:
        tick = Tick(now=uow.now())
        await bring_forward(uow, held)
        await promote_queued(uow, runtime.settings, tick)
        await enqueue_tick(uow, tick.now + TICK)
        await context.complete_in(uow, {"fired": fired})
        await uow.commit()
    await cancel_replaced(runtime, tick)


async def fire_due(uow: UnitOfWork, tick: Tick) -> int:
    """Record the fires of up to ``BATCH`` due, unpaused schedules; how many were due.

    Core statements throughout, each sent once for the whole batch: select the due
    schedules, insert their fires, queue their start jobs, move their next fire times.
    Schedules sharing an expression, zone and next fire time (the common case: many
    ``0 * * * *``) share one evaluation of the cron expression.
    """
    due = await store.due_schedules(uow, tick.now, BATCH)
    plans: dict[tuple[Any, ...], tuple[list[datetime], datetime]] = {}
    due_times: list[tuple[str, datetime]] = []
    names: dict[str, str] = {}
    moves: list[dict[str, Any]] = []
    unfireable: list[str] = []
    for row in due:
        key = (row.cron, row.timezone, row.next_fire_at, row.misfire_policy, row.misfire_cap)
        plan = plans.get(key)
        if plan is None:
            try:
                plan = plans[key] = _plan(row, tick.now)
            except CronError as error:
                # e.g. its zone left the tz database: pause it rather than fail every tick
                log.error("schedule_unfireable", schedule=row.name, error=str(error))
                unfireable.append(row.id)
                continue
        times, next_fire_at = plan
        names[row.id] = row.name
        due_times += [(row.id, fire_time) for fire_time in times]
        moves.append({"_id": row.id, "_next": next_fire_at, "_last": times[-1] if times else None})
    now = uow.now()  # fired_at: as close to the commit as the batch allows
    fires = [store.new_fire(key, fire_time, now, is_manual=False) for key, fire_time in due_times]
    await store.insert_fires(uow, fires)
    for schedule_id, fire_time in due_times:
        lateness = max((now - fire_time).total_seconds(), 0.0)
        fired_event = ScheduleFired(
            subject=schedule_id,
            schedule=names[schedule_id],
            fire_time=fire_time,
            lateness_seconds=lateness,
        )
        record_event(uow, fired_event)
    fired = list(dict.fromkeys(fire["schedule_id"] for fire in fires))
    chunks = [fired[at : at + START_CHUNK] for at in range(0, len(fired), START_CHUNK)]
    hold_until = tick.now + START_HOLD
    tick.start_jobs += await enqueue_many(
        uow,
        [
            NewJob(START_FIRES, StartFires(schedules=tuple(chunk)), run_at=hold_until)
            for chunk in chunks
        ],
    )
    await store.move_fire_times(uow, moves)
    await store.pause_schedules(uow, unfireable)
    tick.fired += len(fires)
    if fires:
        log.info("schedules_fired", fires=len(fires), schedules=len(fired))
    return len(due)


def _plan(row: store.DueSchedule, now: datetime) -> tuple[list[datetime], datetime]:
    """The fire times due now by the misfire policy, and the next fire time after now."""
    cron = store.parsed_schedule(row.cron, row.timezone)
    # Every fire time from next_fire_at on is due; those before were handled, or passed
    # while the schedule was paused.
    times = due_fire_times(
        cron,
        last_fired=row.next_fire_at - _JUST_BEFORE,
        created=row.next_fire_at,
        now=now,
        policy=MisfirePolicy(row.misfire_policy),
        cap=row.misfire_cap,
    )
    return times, cron.next_after(now)


async def trigger_now(uow: UnitOfWork, settings: Settings, key: str, actor: Actor) -> ScheduleFire:
    """Fire a schedule at once (a manual fire at the current time); overlap is not checked."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.schedule_row(uow, key, for_update=True)
        tick = Tick(now=uow.now())
        values = store.new_fire(row.id, tick.now, tick.now, is_manual=True)
        await store.insert_fires(uow, [values])
        fire_row = await store.fire_row(uow, values["id"])
        assert fire_row is not None  # the current instant is a new fire time
        await resolve(uow, settings, row, fire_row, tick, is_manual=True)
        await auth.record_audit(uow, actor, "schedule.trigger", row.id, {"fire": fire_row.id})
        await uow.commit()
        return store.to_fire(fire_row)


def _slot(moment: datetime) -> datetime:
    seconds = int(TICK.total_seconds())
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return moment - timedelta(seconds=moment.second % seconds)


async def enqueue_tick(uow: UnitOfWork, at: datetime) -> None:
    """Enqueue the firing job of ``at``'s time slot unless a worker already did."""
    slot = _slot(at)
    key = f"{FIRE_SCHEDULES.name}:{slot.isoformat()}"
    await enqueue(uow, FIRE_SCHEDULES, NoPayload(), key=key, run_at=slot, max_attempts=3)


async def start_schedule_firing(runtime: Runtime) -> None:
    """Seed the firing job's chain (the worker calls this at start and in its upkeep)."""
    async with runtime.uow() as uow:
        await enqueue_tick(uow, uow.now())
        await uow.commit()


def register_schedule_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The job handlers of schedules."""
    del runtime  # handlers get the runtime from their job context
    registry.register(FIRE_SCHEDULES, fire_schedules, timeout=timedelta(minutes=5))
    # A few at a time: starts share the worker with pipeline steps and the firing job.
    registry.register(START_FIRES, start_fires, max_concurrent=4)
    registry.register(START_SCHEDULED_AGENT, start_scheduled_agent)
