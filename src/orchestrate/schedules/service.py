"""Use cases of cron schedules: create, list, show, update, pause, resume, delete, fire
now, and the schedules a pipeline declares in its YAML (``on: schedule:``).

Everything is validated (cron, time zone, target) before a row is stored. A schedule
keeps ``next_fire_at``, the first fire time not yet handled: the firing job
(``firing.py``) only looks at schedules whose ``next_fire_at`` has passed, and treats
every fire time from ``next_fire_at`` on as due. Resuming recomputes it from now, so
the time a schedule spent paused is never caught up.

Pipelines do not know schedules exist: registering, updating or deleting a pipeline is
announced on ``pipelines.service.pipeline_changed``, and ``follow_pipelines`` (called
once per process by the wiring) makes this capability keep the declared schedules in
step, inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from orchestrate.agents import service as agents
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, ValidationFailed
from orchestrate.core.health import scheduler_probe
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import _store as store
from orchestrate.schedules.cron import TEMPLATES, CronSchedule, MisfirePolicy, parse_schedule
from orchestrate.schedules.firing import (
    register_schedule_jobs,
    start_schedule_firing,
    trigger_now,
)
from orchestrate.schedules.kinds import FIRE_SCHEDULES
from orchestrate.schedules.models import (
    PIPELINE_SOURCE_PREFIX,
    UPCOMING_COUNT,
    FireOutcome,
    NewSchedule,
    OverlapPolicy,
    Schedule,
    ScheduleFire,
    TargetKind,
    check_policies,
    cron_expression,
    refuse_declared,
)

if TYPE_CHECKING:
    from orchestrate.core.jobs import JobRegistry
    from orchestrate.core.runtime import Runtime

__all__ = [
    "FIRE_SCHEDULES",
    "PIPELINE_SOURCE_PREFIX",
    "TEMPLATES",
    "FireOutcome",
    "MisfirePolicy",
    "NewSchedule",
    "OverlapPolicy",
    "Schedule",
    "ScheduleFire",
    "TargetKind",
    "create_schedule",
    "delete_schedule",
    "follow_pipelines",
    "get_schedule",
    "last_fires",
    "list_fires",
    "list_schedules",
    "register_schedule_jobs",
    "report_health",
    "schedules_page",
    "set_paused",
    "start_schedule_firing",
    "sync_on_pipeline_changed",
    "sync_pipeline_schedules",
    "trigger_now",
    "update_schedule",
]

_TICK = timedelta(microseconds=1)  # cron fire times are whole minutes


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


async def _checked(
    uow: UnitOfWork, settings: Settings, request: NewSchedule, actor: Actor
) -> tuple[str, CronSchedule, TargetKind]:
    """What creating or replacing a schedule checks first: permission, policies, cron, target."""
    auth.authorize(actor, Permission.WRITE)
    check_policies(request)
    expression = cron_expression(request)
    cron = parse_schedule(expression, request.timezone)
    return expression, cron, await _check_target(uow, settings, request)


async def create_schedule(
    uow: UnitOfWork, settings: Settings, request: NewSchedule, actor: Actor
) -> Schedule:
    """Store a schedule after checking its cron, zone and target; a taken name is a Conflict."""
    expression, cron, kind = await _checked(uow, settings, request, actor)
    async with uow:
        if await store.name_taken(uow, request.name):
            raise Conflict(f"A schedule named '{request.name}' already exists", name=request.name)
        now = uow.now()
        row = store.new_schedule_row(now, request, expression, kind, cron.next_after(now))
        store.add_schedule(uow, row)
        await auth.record_audit(uow, actor, "schedule.create", row.id, {"name": row.name})
        await uow.commit()
        return store.to_schedule(row)


async def list_schedules(uow: UnitOfWork) -> list[Schedule]:
    """Every schedule by name, each with its next fire time."""
    async with uow:
        return [store.to_schedule(row) for row in await store.all_schedules(uow)]


async def schedules_page(
    uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None
) -> Page[Schedule]:
    """One page of the schedules by name, each with its next fire time."""
    check_page_size(limit)
    async with uow:
        page = await store.schedules_page(uow, limit, cursor)
        return Page([store.to_schedule(row) for row in page.items], page.next_cursor)


async def get_schedule(uow: UnitOfWork, key: str) -> Schedule:
    """One schedule with its next five fire times (none while paused)."""
    async with uow:
        row = await store.schedule_row(uow, key)
        start = None if row.is_paused else row.next_fire_at
        # next_fire_at is itself the first upcoming time: count from just before it
        upcoming_from = start - _TICK if start else None
        return store.to_schedule(row, upcoming_from=upcoming_from, count=UPCOMING_COUNT)


async def update_schedule(
    uow: UnitOfWork, settings: Settings, key: str, request: NewSchedule, actor: Actor
) -> Schedule:
    """Replace a schedule's definition (``PUT``); its fire history stays."""
    expression, cron, kind = await _checked(uow, settings, request, actor)
    async with uow:
        row = await store.schedule_row(uow, key, for_update=True)
        refuse_declared(row.name, row.source, "edit")
        if await store.name_taken(uow, request.name, besides=row.id):
            raise Conflict(f"A schedule named '{request.name}' already exists", name=request.name)
        now = uow.now()
        fresh = store.new_schedule_row(now, request, expression, kind, cron.next_after(now))
        store.replace_definition(row, fresh)
        await auth.record_audit(uow, actor, "schedule.update", row.id, {"name": row.name})
        await uow.commit()
        return store.to_schedule(row)


async def set_paused(uow: UnitOfWork, key: str, actor: Actor, *, is_paused: bool) -> Schedule:
    """Pause, or resume from now: fire times that passed while paused never fire."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.schedule_row(uow, key, for_update=True)
        store.set_paused(row, is_paused=is_paused, now=uow.now())
        action = "schedule.pause" if is_paused else "schedule.resume"
        await auth.record_audit(uow, actor, action, row.id, {"name": row.name})
        await uow.commit()
        return store.to_schedule(row)


async def delete_schedule(uow: UnitOfWork, key: str, actor: Actor) -> Schedule:
    """Forget a schedule and its fire history; runs it started stay."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.schedule_row(uow, key, for_update=True)
        refuse_declared(row.name, row.source, "remove")
        schedule = store.to_schedule(row)
        await store.delete_schedule(uow, row)
        await auth.record_audit(uow, actor, "schedule.delete", row.id, {"name": row.name})
        await uow.commit()
        return schedule


async def list_fires(
    uow: UnitOfWork, key: str, *, limit: int = 50, cursor: str | None = None
) -> Page[ScheduleFire]:
    """A page of a schedule's fires, newest first, with the run or agent each started."""
    check_page_size(limit)
    async with uow:
        row = await store.schedule_row(uow, key)
        page = await store.fires_of(uow, row.id, limit, cursor)
        return Page([store.to_fire(fire) for fire in page.items], page.next_cursor)


def report_health() -> None:
    """Let the health check read the scheduler (``core.health.scheduler_probe``): how
    many schedules there are, the earliest fire time still to fire and the latest fired.
    Every entry point calls this once at start (idempotent), with ``follow_pipelines``."""
    scheduler_probe.provide(store.scheduler_overview)


async def last_fires(uow: UnitOfWork, schedule_ids: Sequence[str]) -> dict[str, ScheduleFire]:
    """The latest fire of each schedule named, by schedule id (a schedule that never
    fired is absent): what a list of schedules shows as "last fire" and its outcome."""
    async with uow:
        rows = await store.latest_fires(uow, schedule_ids)
        return {row.schedule_id: store.to_fire(row) for row in rows}


async def sync_pipeline_schedules(
    uow: UnitOfWork, pipeline_name: str, declared: Sequence[pipelines.DeclaredSchedule]
) -> None:
    """Make the schedules named ``pipeline:<name>:<index>`` match a pipeline's YAML.

    Runs inside the open unit of work that registers (``declared`` from the spec) or
    deletes (``declared=[]``) the pipeline, so both commit together. An unchanged entry
    keeps its next fire time and pause state; a changed one fires from now on.
    """
    source = f"{PIPELINE_SOURCE_PREFIX}{pipeline_name}"
    existing = await store.declared_by(uow, source)
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
            kind = TargetKind.PIPELINE
            store.add_schedule(
                uow, store.new_schedule_row(now, request, entry.cron, kind, cron.next_after(now))
            )
        elif (row.cron, row.timezone) != (entry.cron, entry.timezone):
            store.redeclare(row, cron, entry.cron, entry.timezone, now)
    await store.forget_declared(uow, list(existing.values()))


async def sync_on_pipeline_changed(uow: UnitOfWork, change: pipelines.PipelineChanged) -> None:
    """The subscriber ``follow_pipelines`` installs."""
    await sync_pipeline_schedules(uow, change.name, () if change.is_deleted else change.schedules)


def follow_pipelines() -> None:
    """Keep the schedules pipelines declare in step with them, from now on in this process.

    Every entry point calls this once at start (idempotent): without it, registering a
    pipeline would not create its ``on: schedule:`` schedules.
    """
    pipelines.pipeline_changed.subscribe(sync_on_pipeline_changed)
    report_health()


async def follow_pipelines_on_open(runtime: Runtime) -> None:
    """The composition root's hook for every process: ``follow_pipelines``."""
    follow_pipelines()


def register_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The schedule jobs, in a process that follows pipelines (steps may register some)."""
    follow_pipelines()
    register_schedule_jobs(registry, runtime)
