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
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import JobContext, JobRegistry, NewJob, enqueue, enqueue_many
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.triggers.cron import CronError, MisfirePolicy, due_fire_times
from orchestrate.triggers.schedule_tables import ScheduleFireRow, ScheduleRow
from orchestrate.triggers.scheduling import (
    FireOutcome,
    ScheduleFire,
    cron_of,
    schedule_row,
    to_fire,
)
from orchestrate.triggers.starting import (
    BATCH,
    START_FIRES,
    START_SCHEDULED_AGENT,
    Tick,
    cancel_replaced,
    promote_queued,
    resolve,
    start_fires,
    start_scheduled_agent,
)

log = structlog.get_logger(__name__)

FIRE_SCHEDULES = "triggers.fire_schedules"
TICK = timedelta(seconds=5)
_JUST_BEFORE = timedelta(microseconds=1)
_fires: Table = ScheduleFireRow.__table__  # type: ignore[assignment]


async def fire_schedules(context: JobContext) -> None:
    """The job: fire what is due, start queued fires whose predecessor ended, re-enqueue.

    Due schedules are fired in batches, each batch in its own transaction (its fire rows
    and their start jobs commit together), so thousands due in the same minute neither
    hold one long transaction nor wait for the next tick. A retried job only finds the
    schedules still due: the fire rows make every batch safe to repeat.
    """
    runtime = context.runtime
    fired = 0
    while True:
        async with runtime.uow() as uow:
            tick = Tick(now=uow.now())
            handled = await fire_due(uow, tick)
            await uow.commit()
        fired += tick.fired
        if handled < BATCH:
            break
    async with runtime.uow() as uow:
        tick = Tick(now=uow.now())
        await promote_queued(uow, runtime.settings, tick)
        await enqueue_tick(uow, tick.now + TICK)
        await context.complete_in(uow, {"fired": fired})
        await uow.commit()
    await cancel_replaced(runtime, tick)


async def fire_due(uow: UnitOfWork, tick: Tick) -> int:
    """Record the fires of up to ``BATCH`` due, unpaused schedules; how many were due."""
    due = list(
        await uow.session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.is_paused.is_(False), ScheduleRow.next_fire_at <= tick.now)
            .order_by(ScheduleRow.next_fire_at, ScheduleRow.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    fires: list[dict[str, Any]] = []
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
        fires += [_fire_values(row.id, fire_time, tick.now, is_manual=False) for fire_time in times]
        row.next_fire_at = cron.next_after(tick.now)
        if times:
            row.last_fired_at = times[-1]
    inserted = await _insert_fires(uow, fires)
    fired_schedules = dict.fromkeys(f["schedule_id"] for f in fires if f["id"] in inserted)
    await enqueue_many(uow, [NewJob(START_FIRES, {"schedule": key}) for key in fired_schedules])
    tick.fired += len(inserted)
    if inserted:
        log.info("schedules_fired", fires=len(inserted), schedules=len(fired_schedules))
    return len(due)


def _fire_values(
    schedule_id: str, fire_time: datetime, now: datetime, *, is_manual: bool
) -> dict[str, Any]:
    return {
        "id": new_id("fire", now),
        "schedule_id": schedule_id,
        "fire_time": fire_time,
        "fired_at": now,
        "outcome": FireOutcome.PENDING.value,
        "is_manual": is_manual,
    }


async def _insert_fires(uow: UnitOfWork, fires: list[dict[str, Any]]) -> set[str]:
    """Insert the fires not recorded yet; the ids of those inserted (others: no-ops)."""
    if not fires:
        return set()
    dialect = uow.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(_fires)
        .on_conflict_do_nothing(index_elements=["schedule_id", "fire_time"])
        .returning(_fires.c.id)
    )
    rows = await uow.session.execute(statement, fires)
    return {str(fire_id) for fire_id in rows.scalars()}


async def trigger_now(uow: UnitOfWork, settings: Settings, key: str, actor: Actor) -> ScheduleFire:
    """Fire a schedule at once (a manual fire at the current time); overlap is not checked."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await schedule_row(uow, key, for_update=True)
        tick = Tick(now=uow.now())
        values = _fire_values(row.id, tick.now, tick.now, is_manual=True)
        inserted = await _insert_fires(uow, [values])
        assert inserted  # the current instant is a new fire time
        fire_row = await uow.session.get(ScheduleFireRow, values["id"])
        assert fire_row is not None
        await resolve(uow, settings, row, fire_row, tick, is_manual=True)
        await auth.record_audit(uow, actor, "schedule.trigger", row.id, {"fire": fire_row.id})
        await uow.commit()
        return to_fire(fire_row)


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
    registry.register(START_FIRES, start_fires)
    registry.register(START_SCHEDULED_AGENT, start_scheduled_agent)
