"""HTTP routes of epic runs, under the epic they drive (``{epic_id}`` takes BMAD keys)."""

from __future__ import annotations

from fastapi import APIRouter, status

from orchestrate.autonomy import service
from orchestrate.autonomy.schemas import EpicRunIn, EpicRunOut
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep

router = APIRouter(tags=["epic runs"])


@router.post("/epics/{epic_id}/run", response_model=EpicRunOut, status_code=status.HTTP_201_CREATED)
async def start_epic_run(
    epic_id: str, body: EpicRunIn, uow: UowDep, runtime: RuntimeDep, actor: ActorDep
) -> EpicRunOut:
    """Start driving every story of the epic in dependency order: developer, pull
    request, review, merge, next story.

    409 when the epic already has an active run (the problem names it in ``run_id``);
    422 for an epic without stories, a dependency cycle, or an unknown or ambiguous
    repository.
    """
    view = await service.start_epic_run(
        uow,
        runtime.settings,
        epic_id,
        actor,
        repository=body.repository,
        stuck_minutes=body.stuck_minutes,
        max_attempts=body.max_attempts,
    )
    return EpicRunOut.of(view)


@router.get("/epics/{epic_id}/run", response_model=EpicRunOut)
async def get_epic_run(epic_id: str, uow: UowDep, _actor: ActorDep) -> EpicRunOut:
    """The epic's active run, else its latest: each story's phase, agent, pull request,
    review and what it waits for. 404 when the epic never ran."""
    return EpicRunOut.of(await service.get_epic_run(uow, epic_id))


@router.post("/epics/{epic_id}/run/pause", response_model=EpicRunOut)
async def pause_epic_run(epic_id: str, uow: UowDep, actor: ActorDep) -> EpicRunOut:
    """Start no new agent; running ones finish. 409 without an active run."""
    return EpicRunOut.of(await service.pause_epic_run(uow, epic_id, actor))


@router.post("/epics/{epic_id}/run/resume", response_model=EpicRunOut)
async def resume_epic_run(epic_id: str, uow: UowDep, actor: ActorDep) -> EpicRunOut:
    """Let a paused run start agents again. 409 without an active run."""
    return EpicRunOut.of(await service.resume_epic_run(uow, epic_id, actor))


@router.post("/epics/{epic_id}/run/stop", response_model=EpicRunOut)
async def stop_epic_run(epic_id: str, uow: UowDep, actor: ActorDep) -> EpicRunOut:
    """End the run and cancel its running agents. 409 without an active run."""
    return EpicRunOut.of(await service.stop_epic_run(uow, epic_id, actor))
