"""HTTP routes of epics and stories; ``{story_id}`` and ``{epic_id}`` also take BMAD keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import status as http_status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.stories import service
from orchestrate.stories.models import StoryStatus
from orchestrate.stories.schemas import (
    EpicCreate,
    EpicOut,
    EpicUpdate,
    StoryCreate,
    StoryOut,
    StoryUpdate,
)
from orchestrate.web.deps import ActorDep, UowDep
from orchestrate.web.schemas import PageOut

router = APIRouter(tags=["stories"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@router.get("/epics", response_model=PageOut[EpicOut])
async def list_epics(
    uow: UowDep, _actor: ActorDep, limit: Limit = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> PageOut[EpicOut]:
    """Epics, newest first, each with how many of its stories are in each status."""
    page = await service.list_epics(uow, limit=limit, cursor=cursor)
    return PageOut(items=[EpicOut.of(e) for e in page.items], next_cursor=page.next_cursor)


@router.post("/epics", response_model=EpicOut, status_code=http_status.HTTP_201_CREATED)
async def create_epic(body: EpicCreate, uow: UowDep, actor: ActorDep) -> EpicOut:
    """Create an epic."""
    epic = await service.create_epic(
        uow, body.title, actor, description=body.description, status=body.status
    )
    return EpicOut.of(epic)


@router.get("/epics/{epic_id}", response_model=EpicOut)
async def get_epic(epic_id: str, uow: UowDep, _actor: ActorDep) -> EpicOut:
    """One epic, by id or BMAD key, with its story counts by status."""
    return EpicOut.of(await service.get_epic(uow, epic_id))


@router.patch("/epics/{epic_id}", response_model=EpicOut)
async def update_epic(epic_id: str, body: EpicUpdate, uow: UowDep, actor: ActorDep) -> EpicOut:
    """Change an epic's title, description or status; fields left out are kept."""
    return EpicOut.of(await service.update_epic(uow, epic_id, body.to_changes(), actor))


@router.get("/stories", response_model=PageOut[StoryOut])
async def list_stories(
    uow: UowDep,
    _actor: ActorDep,
    status: StoryStatus | None = None,
    epic_id: Annotated[str | None, Query(description="An epic id or BMAD key.")] = None,
    label: str | None = None,
    assignee: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> PageOut[StoryOut]:
    """Stories, newest first, optionally filtered."""
    page = await service.list_stories(
        uow,
        status=status,
        epic_id=epic_id,
        label=label,
        assignee=assignee,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[StoryOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/stories", response_model=StoryOut, status_code=http_status.HTTP_201_CREATED)
async def create_story(body: StoryCreate, uow: UowDep, actor: ActorDep) -> StoryOut:
    """Add a story to the backlog."""
    return StoryOut.of(await service.create_story(uow, body.to_draft(), actor))


@router.get("/stories/{story_id}", response_model=StoryOut)
async def get_story(story_id: str, uow: UowDep, _actor: ActorDep) -> StoryOut:
    """One story, by id or BMAD key."""
    return StoryOut.of(await service.get_story(uow, story_id))


@router.patch("/stories/{story_id}", response_model=StoryOut)
async def update_story(story_id: str, body: StoryUpdate, uow: UowDep, actor: ActorDep) -> StoryOut:
    """Change a story; a status change must be allowed by the story state machine (else 409)."""
    return StoryOut.of(await service.update_story(uow, story_id, body.to_changes(), actor))


@router.delete(
    "/stories/{story_id}", status_code=http_status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_story(story_id: str, uow: UowDep, actor: ActorDep) -> Response:
    """Delete a story."""
    await service.delete_story(uow, story_id, actor)
    return Response(status_code=http_status.HTTP_204_NO_CONTENT)
