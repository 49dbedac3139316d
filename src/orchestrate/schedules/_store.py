"""Reading and writing schedules and their fires; private to the schedules capability.

The only module of schedules that speaks SQL (besides ``tables.py``). Callers pass an
entered unit of work and commit it themselves. The firing job's statements are Core
statements sent once per batch (``due_schedules``, ``insert_fires``, ``move_fire_times``),
so thousands of schedules due in the same minute cost a few statements, not thousands.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orchestrate.core.clock import ensure_utc
from orchestrate.core.errors import NotFound
from orchestrate.core.health import SchedulerReading
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import (
    Page,
    TimeCursor,
    by_key,
    newest_first,
    page_by_key,
)
from orchestrate.core.retention import Key
from orchestrate.core.retention.sql import delete_where, keys_where
from orchestrate.core.uow import UnitOfWork
from orchestrate.schedules.cron import CronError, CronSchedule, MisfirePolicy, parse_schedule
from orchestrate.schedules.models import (
    FireOutcome,
    NewSchedule,
    OverlapPolicy,
    Schedule,
    ScheduleFire,
    TargetKind,
    next_outcome,
)
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow

_fires: Table = ScheduleFireRow.__table__  # type: ignore[assignment]
_schedules: Table = ScheduleRow.__table__  # type: ignore[assignment]
_DUE_COLUMNS = (
    _schedules.c.id,
    _schedules.c.name,
    _schedules.c.cron,
    _schedules.c.timezone,
    _schedules.c.next_fire_at,
    _schedules.c.misfire_policy,
    _schedules.c.misfire_cap,
)
_MOVE = (
    update(_schedules)
    .where(_schedules.c.id == bindparam("_id"))
    .values(
        next_fire_at=bindparam("_next"),
        last_fired_at=func.coalesce(bindparam("_last"), _schedules.c.last_fired_at),
    )
)
_EDITABLE = (
    "name",
    "cron",
    "timezone",
    "target_kind",
    "pipeline",
    "inputs",
    "agent_type",
    "task",
    "misfire_policy",
    "misfire_cap",
    "overlap_policy",
    "next_fire_at",
)


# Rows to domain values


@functools.lru_cache(maxsize=4096)
def parsed_schedule(expression: str, timezone: str) -> CronSchedule:
    """Parsed once per expression and zone: thousands of schedules share a few of them."""
    return parse_schedule(expression, timezone)


@functools.lru_cache(maxsize=4096)
def described(expression: str, timezone: str) -> str:
    """The expression in words, worked out once per expression and zone: a page of fifty
    schedules would otherwise spend most of its time describing the same few."""
    return parsed_schedule(expression, timezone).describe()


def cron_of(row: ScheduleRow) -> CronSchedule:
    return parsed_schedule(row.cron, row.timezone)


def to_schedule(
    row: ScheduleRow, *, upcoming_from: datetime | None = None, count: int = 5
) -> Schedule:
    try:
        cron = cron_of(row)
        description = described(row.cron, row.timezone)
        upcoming = cron.next_n(upcoming_from, count) if upcoming_from else []
    except CronError as error:  # stored before its zone left the tz database; listed anyway
        description, upcoming = f"cannot fire: {error}", []
    return Schedule(
        id=row.id,
        name=row.name,
        cron=row.cron,
        timezone=row.timezone,
        description=description,
        target_kind=TargetKind(row.target_kind),
        pipeline=row.pipeline,
        inputs=dict(row.inputs),
        agent_type=row.agent_type,
        task=row.task,
        misfire_policy=MisfirePolicy(row.misfire_policy),
        misfire_cap=row.misfire_cap,
        overlap_policy=OverlapPolicy(row.overlap_policy),
        is_paused=row.is_paused,
        source=row.source,
        next_fire_at=None if row.is_paused else row.next_fire_at,
        last_fired_at=row.last_fired_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        upcoming=upcoming,
    )


def to_fire(row: ScheduleFireRow) -> ScheduleFire:
    return ScheduleFire(
        id=row.id,
        schedule_id=row.schedule_id,
        fire_time=row.fire_time,
        fired_at=row.fired_at,
        outcome=FireOutcome(row.outcome),
        is_manual=row.is_manual,
        run_id=row.run_id,
        agent_id=row.agent_id,
        reason=row.reason,
    )


# Schedules


async def schedule_row(uow: UnitOfWork, key: str, *, for_update: bool = False) -> ScheduleRow:
    """A schedule by its id (``sched_…``) or its name."""
    query = select(ScheduleRow).where(or_(ScheduleRow.id == key, ScheduleRow.name == key))
    row = await uow.session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound(f"No schedule '{key}': see `orchestrate schedule list`", schedule=key)
    return row


async def lock_schedule(
    uow: UnitOfWork, schedule_id: str, *, skip_locked: bool = False
) -> ScheduleRow | None:
    """The schedule locked for this transaction (None when deleted, or taken with
    ``skip_locked``)."""
    query = select(ScheduleRow).where(ScheduleRow.id == schedule_id)
    return await uow.session.scalar(query.with_for_update(skip_locked=skip_locked))


async def name_taken(uow: UnitOfWork, name: str, *, besides: str | None = None) -> bool:
    query = select(ScheduleRow.id).where(ScheduleRow.name == name)
    if besides is not None:
        query = query.where(ScheduleRow.id != besides)
    return await uow.session.scalar(query) is not None


async def all_schedules(uow: UnitOfWork) -> list[ScheduleRow]:
    return list(await uow.session.scalars(select(ScheduleRow).order_by(ScheduleRow.name)))


async def schedules_page(uow: UnitOfWork, limit: int, cursor: str | None) -> Page[ScheduleRow]:
    query = by_key(select(ScheduleRow), ScheduleRow.name, limit, cursor)
    rows = list(await uow.session.scalars(query))
    return page_by_key(rows, lambda row: row.name, limit)


def new_schedule_row(
    now: datetime, request: NewSchedule, expression: str, kind: TargetKind, next_fire_at: datetime
) -> ScheduleRow:
    return ScheduleRow(
        id=new_id("sched", now),
        name=request.name.strip(),
        cron=expression,
        timezone=request.timezone,
        target_kind=kind.value,
        pipeline=request.pipeline,
        inputs=dict(request.inputs),
        agent_type=request.agent_type,
        task=request.task,
        misfire_policy=request.misfire_policy.value,
        misfire_cap=request.misfire_cap,
        overlap_policy=request.overlap_policy.value,
        is_paused=False,
        source=request.source,
        next_fire_at=next_fire_at,
        last_fired_at=None,
        created_at=now,
        updated_at=now,
    )


def add_schedule(uow: UnitOfWork, row: ScheduleRow) -> None:
    uow.session.add(row)


def replace_definition(row: ScheduleRow, fresh: ScheduleRow) -> None:
    """Give ``row`` the definition of ``fresh``; its id, source, history and pause stay."""
    for column in _EDITABLE:
        setattr(row, column, getattr(fresh, column))
    row.updated_at = fresh.updated_at


def set_paused(row: ScheduleRow, *, is_paused: bool, now: datetime) -> None:
    """Pause, or resume from the first fire time after ``now``."""
    if row.is_paused and not is_paused:
        row.next_fire_at = cron_of(row).next_after(now)
    row.is_paused = is_paused
    row.updated_at = now


def redeclare(
    row: ScheduleRow, cron: CronSchedule, expression: str, timezone: str, now: datetime
) -> None:
    """A declared schedule whose cron or zone changed: it fires from now on by the new one."""
    row.cron, row.timezone = expression, timezone
    row.next_fire_at, row.updated_at = cron.next_after(now), now


async def delete_schedule(uow: UnitOfWork, row: ScheduleRow) -> None:
    """The schedule and its fire history."""
    await uow.session.execute(delete(ScheduleFireRow).where(ScheduleFireRow.schedule_id == row.id))
    await uow.session.delete(row)


async def declared_by(uow: UnitOfWork, source: str) -> dict[str, ScheduleRow]:
    """The schedules a pipeline declares, by name."""
    rows = await uow.session.scalars(select(ScheduleRow).where(ScheduleRow.source == source))
    return {row.name: row for row in rows}


async def forget_declared(uow: UnitOfWork, rows: Sequence[ScheduleRow]) -> None:
    for row in rows:
        await uow.session.delete(row)
    await uow.session.flush()


# Firing


class DueSchedule(NamedTuple):
    """What the firing job reads of a due schedule."""

    id: str
    name: str
    cron: str
    timezone: str
    next_fire_at: datetime
    misfire_policy: str
    misfire_cap: int


async def due_schedules(uow: UnitOfWork, now: datetime, limit: int) -> list[DueSchedule]:
    """Up to ``limit`` unpaused schedules due at ``now``, locked (skipping those another
    worker's tick holds on PostgreSQL)."""
    result = await uow.session.execute(
        select(*_DUE_COLUMNS)
        .where(_schedules.c.is_paused.is_(False), _schedules.c.next_fire_at <= now)
        .order_by(_schedules.c.next_fire_at, _schedules.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [DueSchedule(*row) for row in result]


def new_fire(
    schedule_id: str, fire_time: datetime, now: datetime, *, is_manual: bool
) -> dict[str, Any]:
    """The values of a ``pending`` fire, for ``insert_fires``."""
    return {
        "id": new_id("fire", now),
        "schedule_id": schedule_id,
        "fire_time": fire_time,
        "fired_at": now,
        "outcome": FireOutcome.PENDING.value,
        "is_manual": is_manual,
    }


async def insert_fires(uow: UnitOfWork, fires: list[dict[str, Any]]) -> None:
    """Insert the fires not recorded yet; a fire time already recorded is left alone.

    Such a time comes only from a race with another worker's tick, whose start job
    handles it; the start jobs queued for this one then find nothing pending for it.
    """
    if not fires:
        return
    dialect = uow.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = dialect_insert(_fires).on_conflict_do_nothing(
        index_elements=["schedule_id", "fire_time"]
    )
    await uow.session.execute(statement, fires)


async def move_fire_times(uow: UnitOfWork, moves: list[dict[str, Any]]) -> None:
    """Set each fired schedule's next fire time (``_id``, ``_next``, ``_last``)."""
    if moves:
        await uow.session.execute(_MOVE, moves)


async def pause_schedules(uow: UnitOfWork, schedule_ids: list[str]) -> None:
    if schedule_ids:
        pause = update(_schedules).where(_schedules.c.id.in_(schedule_ids))
        await uow.session.execute(pause.values(is_paused=True))


async def fire_row(uow: UnitOfWork, fire_id: str) -> ScheduleFireRow | None:
    return await uow.session.get(ScheduleFireRow, fire_id)


async def schedule_by_id(uow: UnitOfWork, schedule_id: str) -> ScheduleRow | None:
    return await uow.session.get(ScheduleRow, schedule_id)


async def fires_of(
    uow: UnitOfWork, schedule_id: str, limit: int, cursor: str | None = None
) -> Page[ScheduleFireRow]:
    """A page of a schedule's fires, newest first (by fire time)."""
    query = newest_first(
        select(ScheduleFireRow).where(ScheduleFireRow.schedule_id == schedule_id),
        ScheduleFireRow,
        limit,
        cursor,
        time_column=ScheduleFireRow.fire_time,
    )
    rows = list(await uow.session.scalars(query))
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    next_cursor = TimeCursor(page[-1].fire_time, page[-1].id).encode() if more else None
    return Page(page, next_cursor)


async def latest_fires(uow: UnitOfWork, schedule_ids: Sequence[str]) -> list[ScheduleFireRow]:
    """The latest fire (by fire time) of each of ``schedule_ids`` that has fired: one
    statement for a page of schedules, answered from the ``(schedule_id, fire_time)``
    unique index."""
    if not schedule_ids:
        return []
    latest = (
        select(
            ScheduleFireRow.schedule_id.label("schedule_id"),
            func.max(ScheduleFireRow.fire_time).label("fire_time"),
        )
        .where(ScheduleFireRow.schedule_id.in_(list(schedule_ids)))
        .group_by(ScheduleFireRow.schedule_id)
        .subquery()
    )
    query = select(ScheduleFireRow).join(
        latest,
        and_(
            ScheduleFireRow.schedule_id == latest.c.schedule_id,
            ScheduleFireRow.fire_time == latest.c.fire_time,
        ),
    )
    return list(await uow.session.scalars(query))


# Fire outcomes


def set_outcome(
    row: ScheduleFireRow,
    outcome: FireOutcome,
    reason: str | None = None,
    *,
    run_id: str | None = None,
    fired_at: datetime | None = None,
) -> None:
    """Move a fire to ``outcome`` through the fire state machine (``models.next_outcome``)."""
    row.outcome = next_outcome(FireOutcome(row.outcome), outcome, row.id).value
    row.reason = reason
    if run_id is not None:
        row.run_id = run_id
    if fired_at is not None:
        row.fired_at = fired_at


async def fail_pending(uow: UnitOfWork, schedule_id: str, reason: str) -> None:
    """Every pending fire of the schedule becomes ``failed`` (pending → failed is legal)."""
    next_outcome(FireOutcome.PENDING, FireOutcome.FAILED, schedule_id)
    await uow.session.execute(
        update(ScheduleFireRow)
        .where(
            ScheduleFireRow.schedule_id == schedule_id,
            ScheduleFireRow.outcome == FireOutcome.PENDING.value,
        )
        .values(outcome=FireOutcome.FAILED.value, reason=reason[:2000])
    )


async def record_agent_start(
    uow: UnitOfWork, fire_id: str, agent_id: str | None, reason: str
) -> None:
    """The agent a started fire made, or (none) the fire failed with ``reason``."""
    values: dict[str, Any] = {"agent_id": agent_id}
    if agent_id is None:
        next_outcome(FireOutcome.STARTED, FireOutcome.FAILED, fire_id)
        values |= {"outcome": FireOutcome.FAILED.value, "reason": reason}
    await uow.session.execute(
        update(ScheduleFireRow).where(ScheduleFireRow.id == fire_id).values(**values)
    )


async def fires_in(
    uow: UnitOfWork, schedule_id: str, outcome: FireOutcome
) -> list[ScheduleFireRow]:
    """The schedule's fires with ``outcome``, oldest first."""
    rows = await uow.session.scalars(
        select(ScheduleFireRow)
        .where(
            ScheduleFireRow.schedule_id == schedule_id,
            ScheduleFireRow.outcome == outcome.value,
        )
        .order_by(ScheduleFireRow.fire_time, ScheduleFireRow.id)
    )
    return list(rows)


async def oldest_in(
    uow: UnitOfWork, schedule_id: str, outcome: FireOutcome
) -> ScheduleFireRow | None:
    return await uow.session.scalar(
        select(ScheduleFireRow)
        .where(
            ScheduleFireRow.schedule_id == schedule_id,
            ScheduleFireRow.outcome == outcome.value,
        )
        .order_by(ScheduleFireRow.fire_time, ScheduleFireRow.id)
        .limit(1)
    )


async def last_started(
    uow: UnitOfWork, schedule_id: str, *, besides: str | None = None
) -> ScheduleFireRow | None:
    """The schedule's most recent started fire (other than ``besides``)."""
    return await uow.session.scalar(
        select(ScheduleFireRow)
        .where(
            ScheduleFireRow.schedule_id == schedule_id,
            ScheduleFireRow.outcome == FireOutcome.STARTED.value,
            ScheduleFireRow.id != (besides or ""),
        )
        # fires recorded by one batch share fired_at: the later fire time is the later fire
        .order_by(
            ScheduleFireRow.fired_at.desc(),
            ScheduleFireRow.fire_time.desc(),
            ScheduleFireRow.id.desc(),
        )
        .limit(1)
    )


async def schedules_with(uow: UnitOfWork, outcome: FireOutcome, limit: int) -> list[str]:
    """Ids of up to ``limit`` schedules that have a fire with ``outcome``."""
    ids = await uow.session.scalars(
        select(ScheduleFireRow.schedule_id)
        .where(ScheduleFireRow.outcome == outcome.value)
        .distinct()
        .limit(limit)
    )
    return list(ids)


# Retention (``retention.py``): fires whose outcome is settled

_SETTLED = (FireOutcome.STARTED.value, FireOutcome.SKIPPED.value, FireOutcome.FAILED.value)


class FireReferences(NamedTuple):
    schedule_id: str
    outcome: str
    run_id: str | None
    agent_id: str | None


def _settled_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [ScheduleFireRow.outcome.in_(_SETTLED), ScheduleFireRow.fired_at < cutoff]


async def settled_fire_ids(
    uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
) -> list[Key]:
    conditions = _settled_before(cutoff)
    return await keys_where(uow, ScheduleFireRow.id, conditions, after=after, limit=limit)


async def fire_references(uow: UnitOfWork, keys: Sequence[Key]) -> dict[Key, FireReferences]:
    rows = await uow.session.execute(
        select(
            ScheduleFireRow.id,
            ScheduleFireRow.schedule_id,
            ScheduleFireRow.outcome,
            ScheduleFireRow.run_id,
            ScheduleFireRow.agent_id,
        ).where(ScheduleFireRow.id.in_(keys))
    )
    return {
        key: FireReferences(schedule_id, outcome, run_id, agent_id)
        for key, schedule_id, outcome, run_id, agent_id in rows.all()
    }


async def delete_settled_fires(uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> int:
    conditions = [ScheduleFireRow.id.in_(keys), *_settled_before(cutoff)]
    return await delete_where(uow, ScheduleFireRow, conditions)


async def scheduler_overview(uow: UnitOfWork) -> SchedulerReading:
    """Counts, the earliest pending fire time and the latest fire, in one query."""
    active = _schedules.c.is_paused.is_(False)
    row = (
        await uow.session.execute(
            select(
                func.count(),
                func.count().filter(active),
                func.min(_schedules.c.next_fire_at).filter(active),
                func.max(_schedules.c.last_fired_at),
            )
        )
    ).one()
    return SchedulerReading(
        schedules=int(row[0]),
        active=int(row[1]),
        next_due_at=None if row[2] is None else ensure_utc(row[2]),
        last_fired_at=None if row[3] is None else ensure_utc(row[3]),
    )
