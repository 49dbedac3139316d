"""Schedules: the list with next and last fires, one schedule with its fire history, and
the actions of ``/api/schedules`` — create (a form), pause, resume, trigger now, delete.

The create form takes what ``schedule create`` and ``POST /api/schedules`` take and
hands it to the same service function; a problem (a bad cron, an unknown zone,
pipeline or agent type, a taken name) comes back as the form again, filled in as the
person left it, with the problem beside its field — nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Form, Path, Query, Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.auth.service import DashboardSession
from orchestrate.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrate.core.pagination import MAX_PAGE_SIZE
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep, can_write
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import service as schedules
from orchestrate.web.deps import RuntimeDep
from orchestrate.web.errors import status_for

router = page_router()

PAGE_SIZE = 50
Cursor = Annotated[str | None, Query(max_length=500)]
ScheduleId = Annotated[str, Path(max_length=200)]
Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=20_000)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/schedules")
async def schedule_list(
    request: Request, runtime: RuntimeDep, session: SessionDep, cursor: Cursor = None
) -> Response:
    page = await schedules.schedules_page(_read(runtime), limit=PAGE_SIZE, cursor=cursor or None)
    last = await schedules.last_fires(_read(runtime), [s.id for s in page.items])
    return render(request, "schedules/list.html", session, page=page, last=last)


@dataclass
class ScheduleForm:
    """The create form as the person filled it in, and what was wrong with it."""

    values: dict[str, str] = field(
        default_factory=lambda: {
            "timezone": "UTC",
            "target": "pipeline",
            "misfire": schedules.MisfirePolicy.LATEST.value,
            "misfire_cap": "10",
            "overlap": schedules.OverlapPolicy.SKIP.value,
        }
    )
    problem: str = ""
    problem_field: str = ""


@router.get("/ui/schedules/new")
async def new_schedule(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    _require_writer(session)
    return await _form(request, runtime, session, ScheduleForm())


@router.post("/ui/schedules")
async def create_schedule(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    name: Text = "",
    cron: Text = "",
    template: Text = "",
    timezone: Text = "",
    target: Text = "",
    pipeline: Text = "",
    inputs: LongText = "",
    agent: Text = "",
    task: LongText = "",
    misfire: Text = "",
    misfire_cap: Text = "",
    overlap: Text = "",
) -> Response:
    filled = ScheduleForm(
        values={
            "name": name,
            "cron": cron,
            "template": template,
            "timezone": timezone,
            "target": target,
            "pipeline": pipeline,
            "inputs": inputs,
            "agent": agent,
            "task": task,
            "misfire": misfire,
            "misfire_cap": misfire_cap,
            "overlap": overlap,
        }
    )
    try:
        wanted = _new_schedule(filled.values)
        created = await schedules.create_schedule(
            runtime.uow(urgent=True), runtime.settings, wanted, actor
        )
    except (ValidationFailed, NotFound, Conflict) as problem:
        filled.problem = problem.message
        filled.problem_field = _field_of(problem)
        # an unknown pipeline is a problem of the form, not a page that is missing
        status = 422 if isinstance(problem, NotFound) else status_for(problem)
        return await _form(request, runtime, session, filled, status_code=status)
    return done(
        request,
        f"/ui/schedules/{created.id}",
        f"Created schedule {created.name} ({created.description}).",
    )


@router.get("/ui/schedules/{schedule_id}")
async def schedule_detail(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    schedule_id: ScheduleId,
    cursor: Cursor = None,
) -> Response:
    schedule = await schedules.get_schedule(_read(runtime), schedule_id)
    fires = await schedules.list_fires(
        _read(runtime), schedule.id, limit=PAGE_SIZE, cursor=cursor or None
    )
    return render(
        request,
        "schedules/detail.html",
        session,
        schedule=schedule,
        fires=fires,
        is_declared=schedule.source.startswith(schedules.PIPELINE_SOURCE_PREFIX),
    )


@router.post("/ui/schedules/{schedule_id}/pause")
async def pause(
    request: Request, runtime: RuntimeDep, actor: WriterDep, schedule_id: ScheduleId
) -> Response:
    paused = await schedules.set_paused(
        runtime.uow(urgent=True), schedule_id, actor, is_paused=True
    )
    return done(request, f"/ui/schedules/{paused.id}", f"Paused {paused.name}: it fires no more.")


@router.post("/ui/schedules/{schedule_id}/resume")
async def resume(
    request: Request, runtime: RuntimeDep, actor: WriterDep, schedule_id: ScheduleId
) -> Response:
    resumed = await schedules.set_paused(
        runtime.uow(urgent=True), schedule_id, actor, is_paused=False
    )
    return done(
        request,
        f"/ui/schedules/{resumed.id}",
        f"Resumed {resumed.name}: it fires from now on (missed times are not caught up).",
    )


@router.post("/ui/schedules/{schedule_id}/trigger")
async def trigger(
    request: Request, runtime: RuntimeDep, actor: WriterDep, schedule_id: ScheduleId
) -> Response:
    fire = await schedules.trigger_now(
        runtime.uow(urgent=True), runtime.settings, schedule_id, actor
    )
    outcome = fire.outcome.value + (f": {fire.reason}" if fire.reason else "")
    return done(request, f"/ui/schedules/{fire.schedule_id}", f"Fired now ({outcome}).")


@router.post("/ui/schedules/{schedule_id}/delete")
async def delete(
    request: Request, runtime: RuntimeDep, actor: WriterDep, schedule_id: ScheduleId
) -> Response:
    deleted = await schedules.delete_schedule(runtime.uow(urgent=True), schedule_id, actor)
    return done(request, "/ui/schedules", f"Deleted schedule {deleted.name} and its history.")


async def _form(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    form: ScheduleForm,
    *,
    status_code: int = 200,
) -> Response:
    known = await pipelines.pipelines_page(_read(runtime), limit=MAX_PAGE_SIZE)
    return render(
        request,
        "schedules/new.html",
        session,
        status_code=status_code,
        form=form,
        templates=schedules.TEMPLATES,
        pipeline_names=[p.name for p in known.items],
        agent_types=[d.name for d in agents.agent_types(runtime.settings, None)],
        misfire_policies=[m.value for m in schedules.MisfirePolicy],
        overlap_policies=[o.value for o in schedules.OverlapPolicy],
    )


def _require_writer(session: DashboardSession) -> None:
    if not can_write(session):
        raise PermissionDenied("Only operators and admins create schedules")


def _new_schedule(values: Mapping[str, str]) -> schedules.NewSchedule:
    """The request the form describes (the CLI's ``schedule create`` options)."""
    is_agent = values["target"] == "agent"
    is_pipeline = values["target"] == "pipeline"
    try:
        inputs = pipelines.parse_assignments(
            [line for line in values["inputs"].splitlines() if line.strip()]
        )
    except ValidationFailed as error:
        raise ValidationFailed(
            f"Inputs take one NAME=VALUE a line: {error.message}", field="inputs"
        ) from None
    return schedules.NewSchedule(
        name=values["name"],
        cron=values["cron"].strip() or None,
        template=values["template"] or None,
        timezone=values["timezone"].strip() or "UTC",
        pipeline=(values["pipeline"].strip() or None) if is_pipeline else None,
        inputs=inputs if is_pipeline else {},
        agent_type=(values["agent"] or None) if is_agent else None,
        task=(values["task"] or None) if is_agent else None,
        misfire_policy=_choice(schedules.MisfirePolicy, values["misfire"], "misfire"),
        misfire_cap=_whole_number(values["misfire_cap"], "misfire_cap"),
        overlap_policy=_choice(schedules.OverlapPolicy, values["overlap"], "overlap"),
        source="dashboard",
    )


_Policy = TypeVar("_Policy", schedules.MisfirePolicy, schedules.OverlapPolicy)


def _choice(kind: type[_Policy], value: str, name: str) -> _Policy:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValidationFailed(f"Choose one of {allowed} (got {value!r})", field=name) from None


def _whole_number(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValidationFailed(f"Give a whole number (got {value!r})", field=name) from None


def _field_of(problem: ValidationFailed | NotFound | Conflict) -> str:
    """Which field of the form a service's error is about."""
    context = problem.context
    if "field" in context:
        return str(context["field"])
    if "timezone" in context:
        return "timezone"
    if "expression" in context:
        return "cron"
    if isinstance(problem, NotFound):
        return "pipeline"
    if isinstance(problem, Conflict):
        return "name"
    return ""
