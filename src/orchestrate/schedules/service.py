"""Managing cron schedules: create, list, show, update, pause, resume, delete, and the
schedules a pipeline declares in its YAML (``on: schedule:``).

Everything is validated (cron, time zone, target) before a row is stored. A schedule
keeps ``next_fire_at``, the first fire time not yet handled: the firing job
(``firing.py``) only looks at schedules whose ``next_fire_at`` has passed, and treats
every fire time from ``next_fire_at`` on as due. Resuming recomputes it from now, so
the time a schedule spent paused is never caught up.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import delete, or_, select

from orchestrate.agents import service as agents
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, NotFound, ValidationFailed
from orchestrate.core.ids import new_id
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import service as pipelines
from orchestrate.triggers.cron import (
    TEMPLATES,
    CronError,
    CronSchedule,
    MisfirePolicy,
    parse_schedule,
)
from orchestrate.triggers.schedule_tables import ScheduleFireRow, ScheduleRow

PIPELINE_SOURCE_PREFIX = "pipeline:"
UPCOMING_COUNT = 5
_TICK = timedelta(microseconds=1)  # cron fire times are whole minutes


class TargetKind(StrEnum):
    PIPELINE = "pipeline"
    AGENT = "agent"


class OverlapPolicy(StrEnum):
    """What a fire does while the run started by the previous fire is still going."""

    ALLOW = "allow"  # start anyway
    SKIP = "skip"  # record the fire as skipped; the default
    QUEUE = "queue"  # start it once the previous run ends
    CANCEL_PREVIOUS = "cancel_previous"  # cancel the previous run, then start


class FireOutcome(StrEnum):
    PENDING = "pending"  # fired; the start job decides what comes of it
    STARTED = "started"
    SKIPPED = "skipped"
    QUEUED = "queued"
    FAILED = "failed"


@dataclass(frozen=True)
class NewSchedule:
    """What ``schedule create`` asks for; ``template`` stands in for ``cron``."""

    name: str
    cron: str | None = None
    template: str | None = None
    timezone: str = "UTC"
    pipeline: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    agent_type: str | None = None
    task: str | None = None
    misfire_policy: MisfirePolicy = MisfirePolicy.LATEST
    misfire_cap: int = 10
    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    source: str = "api"


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    cron: str
    timezone: str
    description: str
    target_kind: TargetKind
    pipeline: str | None
    inputs: dict[str, Any]
    agent_type: str | None
    task: str | None
    misfire_policy: MisfirePolicy
    misfire_cap: int
    overlap_policy: OverlapPolicy
    is_paused: bool
    source: str
    next_fire_at: datetime | None  # None while paused
    last_fired_at: datetime | None
    created_at: datetime
    updated_at: datetime
    upcoming: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleFire:
    id: str
    schedule_id: str
    fire_time: datetime
    fired_at: datetime
    outcome: FireOutcome
    is_manual: bool
    run_id: str | None
    agent_id: str | None
    reason: str | None


class DeclaredSchedule(Protocol):
    """An ``on: schedule:`` entry of a pipeline spec."""

    @property
    def cron(self) -> str: ...
    @property
    def timezone(self) -> str: ...


def cron_of(row: ScheduleRow) -> CronSchedule:
    return parsed_schedule(row.cron, row.timezone)


@functools.lru_cache(maxsize=4096)
def parsed_schedule(expression: str, timezone: str) -> CronSchedule:
    """Parsed once per expression and zone: thousands of schedules share a few of them."""
    return parse_schedule(expression, timezone)


def to_schedule(row: ScheduleRow, *, upcoming_from: datetime | None = None) -> Schedule:
    try:
        cron = cron_of(row)
        description = cron.describe()
        upcoming = cron.next_n(upcoming_from, UPCOMING_COUNT) if upcoming_from else []
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


async def schedule_row(uow: UnitOfWork, key: str, *, for_update: bool = False) -> ScheduleRow:
    """A schedule by its id (``sched_…``) or its name."""
    query = select(ScheduleRow).where(or_(ScheduleRow.id == key, ScheduleRow.name == key))
    row = await uow.session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound(f"No schedule '{key}': see `orchestrate schedule list`", schedule=key)
    return row


def _cron_expression(request: NewSchedule) -> str:
    if (request.cron is None) == (request.template is None):
        raise ValidationFailed(
            "Give a schedule either --cron EXPR or --template NAME", field="cron"
        )
    if request.template is None:
        assert request.cron is not None
        return request.cron
    if request.template not in TEMPLATES:
        raise ValidationFailed(
            f"Unknown template '{request.template}'; use one of {', '.join(TEMPLATES)}",
            field="template",
        )
    return TEMPLATES[request.template][0]


async def _check_target(uow: UnitOfWork, settings: Settings, request: NewSchedule) -> TargetKind:
    """The kind of target, once it is known to exist; raises ValidationFailed or NotFound."""
    if (request.pipeline is None) == (request.agent_type is None):
        raise ValidationFailed(
            "A schedule starts either a pipeline (--pipeline P) or an agent (--agent TYPE)",
            field="target",
        )
    if request.pipeline is not None:
        await pipelines.get_pipeline(uow.sibling(read_only=True), request.pipeline)
        return TargetKind.PIPELINE
    known = {definition.name for definition in agents.agent_types(settings, None)}
    if request.agent_type not in known:
        raise ValidationFailed(
            f"Unknown agent type '{request.agent_type}'; see `orchestrate agent types`",
            field="agent",
        )
    if not (request.task or "").strip():
        raise ValidationFailed("A scheduled agent needs a task: pass --task TEXT", field="task")
    return TargetKind.AGENT


def _check_policies(request: NewSchedule) -> None:
    if not 1 <= request.misfire_cap <= 1000:
        raise ValidationFailed("The misfire cap must be between 1 and 1000", field="misfire_cap")
    name = request.name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A schedule needs a name of 1 to 200 characters", field="name")
    if name.startswith(PIPELINE_SOURCE_PREFIX) and not request.source.startswith(
        PIPELINE_SOURCE_PREFIX
    ):
        raise ValidationFailed(
            "Names starting with 'pipeline:' belong to schedules declared in pipeline YAML",
            field="name",
        )


async def create_schedule(
    uow: UnitOfWork, settings: Settings, request: NewSchedule, actor: Actor
) -> Schedule:
    """Store a schedule after checking its cron, zone and target; a taken name is a Conflict."""
    auth.authorize(actor, Permission.WRITE)
    _check_policies(request)
    expression = _cron_expression(request)
    cron = parse_schedule(expression, request.timezone)
    kind = await _check_target(uow, settings, request)
    async with uow:
        if await uow.session.scalar(select(ScheduleRow.id).where(ScheduleRow.name == request.name)):
            raise Conflict(f"A schedule named '{request.name}' already exists", name=request.name)
        row = _new_row(uow.now(), request, expression, kind, cron)
        uow.session.add(row)
        await auth.record_audit(uow, actor, "schedule.create", row.id, {"name": row.name})
        await uow.commit()
        return to_schedule(row)


def _new_row(
    now: datetime, request: NewSchedule, expression: str, kind: TargetKind, cron: CronSchedule
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
        next_fire_at=cron.next_after(now),
        last_fired_at=None,
        created_at=now,
        updated_at=now,
    )


async def list_schedules(uow: UnitOfWork) -> list[Schedule]:
    """Every schedule by name, each with its next fire time."""
    async with uow:
        rows = await uow.session.scalars(select(ScheduleRow).order_by(ScheduleRow.name))
        return [to_schedule(row) for row in rows]


async def get_schedule(uow: UnitOfWork, key: str) -> Schedule:
    """One schedule with its next five fire times (none while paused)."""
    async with uow:
        row = await schedule_row(uow, key)
        start = None if row.is_paused else row.next_fire_at
        # next_fire_at is itself the first upcoming time: count from just before it
        return to_schedule(row, upcoming_from=start - _TICK if start else None)


async def update_schedule(
    uow: UnitOfWork, settings: Settings, key: str, request: NewSchedule, actor: Actor
) -> Schedule:
    """Replace a schedule's definition (``PUT``); its fire history stays."""
    auth.authorize(actor, Permission.WRITE)
    _check_policies(request)
    expression = _cron_expression(request)
    cron = parse_schedule(expression, request.timezone)
    kind = await _check_target(uow, settings, request)
    async with uow:
        row = await schedule_row(uow, key, for_update=True)
        _refuse_declared(row, "edit")
        clash = await uow.session.scalar(
            select(ScheduleRow.id).where(ScheduleRow.name == request.name, ScheduleRow.id != row.id)
        )
        if clash:
            raise Conflict(f"A schedule named '{request.name}' already exists", name=request.name)
        fresh = _new_row(uow.now(), request, expression, kind, cron)
        for column in _EDITABLE:
            setattr(row, column, getattr(fresh, column))
        row.updated_at = fresh.updated_at
        await auth.record_audit(uow, actor, "schedule.update", row.id, {"name": row.name})
        await uow.commit()
        return to_schedule(row)


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


def _refuse_declared(row: ScheduleRow, verb: str) -> None:
    if row.source.startswith(PIPELINE_SOURCE_PREFIX):
        pipeline = row.source.removeprefix(PIPELINE_SOURCE_PREFIX)
        raise Conflict(
            f"Schedule '{row.name}' is declared in pipeline '{pipeline}'; {verb} its "
            f"`on: schedule:` and register the pipeline again (pause and resume work here)",
            schedule=row.name,
        )


async def set_paused(uow: UnitOfWork, key: str, actor: Actor, *, is_paused: bool) -> Schedule:
    """Pause, or resume from now: fire times that passed while paused never fire."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await schedule_row(uow, key, for_update=True)
        now = uow.now()
        if row.is_paused and not is_paused:
            row.next_fire_at = cron_of(row).next_after(now)
        row.is_paused = is_paused
        row.updated_at = now
        action = "schedule.pause" if is_paused else "schedule.resume"
        await auth.record_audit(uow, actor, action, row.id, {"name": row.name})
        await uow.commit()
        return to_schedule(row)


async def delete_schedule(uow: UnitOfWork, key: str, actor: Actor) -> Schedule:
    """Forget a schedule and its fire history; runs it started stay."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await schedule_row(uow, key, for_update=True)
        _refuse_declared(row, "remove")
        schedule = to_schedule(row)
        await uow.session.execute(
            delete(ScheduleFireRow).where(ScheduleFireRow.schedule_id == row.id)
        )
        await uow.session.delete(row)
        await auth.record_audit(uow, actor, "schedule.delete", row.id, {"name": row.name})
        await uow.commit()
        return schedule


async def list_fires(uow: UnitOfWork, key: str, *, limit: int = 50) -> list[ScheduleFire]:
    """A schedule's fires, newest first, with the run or agent each started."""
    async with uow:
        row = await schedule_row(uow, key)
        fires = await uow.session.scalars(
            select(ScheduleFireRow)
            .where(ScheduleFireRow.schedule_id == row.id)
            .order_by(ScheduleFireRow.fire_time.desc(), ScheduleFireRow.id.desc())
            .limit(limit)
        )
        return [to_fire(fire) for fire in fires]


async def sync_pipeline_schedules(
    uow: UnitOfWork, pipeline_name: str, declared: Sequence[DeclaredSchedule]
) -> None:
    """Make the schedules named ``pipeline:<name>:<index>`` match a pipeline's YAML.

    Call inside the open unit of work that registers (``declared`` from the spec) or
    deletes (``declared=[]``) the pipeline, so both commit together. An unchanged entry
    keeps its next fire time and pause state; a changed one fires from now on.
    """
    source = f"{PIPELINE_SOURCE_PREFIX}{pipeline_name}"
    existing = {
        row.name: row
        for row in await uow.session.scalars(
            select(ScheduleRow).where(ScheduleRow.source == source)
        )
    }
    now = uow.now()
    for index, entry in enumerate(declared):
        name = f"{source}:{index}"
        cron = parse_schedule(entry.cron, entry.timezone)
        row = existing.pop(name, None)
        if row is None:
            request = NewSchedule(
                name=name,
                cron=entry.cron,
                timezone=entry.timezone,
                pipeline=pipeline_name,
                source=source,
            )
            uow.session.add(_new_row(now, request, entry.cron, TargetKind.PIPELINE, cron))
        elif (row.cron, row.timezone) != (entry.cron, entry.timezone):
            row.cron, row.timezone = entry.cron, entry.timezone
            row.next_fire_at, row.updated_at = cron.next_after(now), now
    for row in existing.values():
        await uow.session.delete(row)
    await uow.session.flush()
