"""HTTP routes of cron schedules: ``/api/schedules``; ``{schedule}`` is an id or a name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Response, status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.schedules import service
from orchestrate.schedules.schemas import ScheduleFireOut, ScheduleIn, ScheduleOut
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

if TYPE_CHECKING:
    from fastapi import FastAPI

    from orchestrate.core.runtime import Runtime

router = APIRouter(tags=["schedules"])


@router.get("/schedules", response_model=PageOut[ScheduleOut])
async def list_schedules(
    uow: UowDep, _actor: ActorDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[ScheduleOut]:
    """Schedules by name, each with its next fire time."""
    page = await service.schedules_page(uow, limit=limit, cursor=cursor)
    return PageOut(items=[ScheduleOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/schedules", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED)
async def create_schedule(
    body: ScheduleIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> ScheduleOut:
    """Create a schedule (422 for a bad cron, zone or target; 409 for a taken name)."""
    created = await service.create_schedule(uow, runtime.settings, body.to_request("api"), actor)
    return ScheduleOut.of(created)


@router.get("/schedules/{schedule}", response_model=ScheduleOut)
async def get_schedule(schedule: str, uow: UowDep, _actor: ActorDep) -> ScheduleOut:
    """One schedule with its next five fire times."""
    return ScheduleOut.of(await service.get_schedule(uow, schedule))


@router.put("/schedules/{schedule}", response_model=ScheduleOut)
async def update_schedule(
    schedule: str, body: ScheduleIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> ScheduleOut:
    """Replace a schedule's definition; it fires from now on by the new one."""
    updated = await service.update_schedule(
        uow, runtime.settings, schedule, body.to_request("api"), actor
    )
    return ScheduleOut.of(updated)


@router.delete("/schedules/{schedule}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule: str, uow: UowDep, actor: ActorDep) -> Response:
    """Delete a schedule and its fire history (runs it started stay)."""
    await service.delete_schedule(uow, schedule, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/schedules/{schedule}/trigger", response_model=ScheduleFireOut)
async def trigger_schedule(
    schedule: str, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> ScheduleFireOut:
    """Fire now: a manual fire at the current time."""
    return ScheduleFireOut.of(await service.trigger_now(uow, runtime.settings, schedule, actor))


@router.post("/schedules/{schedule}/pause", response_model=ScheduleOut)
async def pause_schedule(schedule: str, uow: UowDep, actor: ActorDep) -> ScheduleOut:
    """Stop firing until resumed."""
    return ScheduleOut.of(await service.set_paused(uow, schedule, actor, is_paused=True))


@router.post("/schedules/{schedule}/resume", response_model=ScheduleOut)
async def resume_schedule(schedule: str, uow: UowDep, actor: ActorDep) -> ScheduleOut:
    """Fire again from the next fire time after now; paused time is not caught up."""
    return ScheduleOut.of(await service.set_paused(uow, schedule, actor, is_paused=False))


@router.get("/schedules/{schedule}/runs", response_model=PageOut[ScheduleFireOut])
async def schedule_runs(
    schedule: str,
    uow: UowDep,
    _actor: ActorDep,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[ScheduleFireOut]:
    """The schedule's fires, newest first, with the run or agent each started."""
    page = await service.list_fires(uow, schedule, limit=limit, cursor=cursor)
    return PageOut(items=[ScheduleFireOut.of(f) for f in page.items], next_cursor=page.next_cursor)


def install(app: FastAPI, runtime: Runtime) -> None:
    """An app registers pipelines: their declared schedules must follow (``follow_pipelines``)."""
    service.follow_pipelines()
