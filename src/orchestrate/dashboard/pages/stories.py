"""Stories: the board by status, the same stories as a table, one story, and its forms.

The board never loads the backlog whole: each status column is one page of
``COLUMN_SIZE`` cards (newest first) with its own cursor (``after_<status>``), and the
column headings come from one grouped count. The table is the list page of the
pattern (``PAGE_SIZE`` a page, cursor pagination). Both refresh on ``story.`` events.

A story's page gathers what other capabilities know of it through their services:
the agents that worked on it, the pull requests opened for it, and its history in the
event log. Operators act on it through the same service calls as
``stories/api.py`` and ``POST /api/agents``: edit, move it along the state machine
(only the moves the machine allows get a button; a stale or forged move is a 409 page),
start a story developer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path, Query, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from orchestrate.auth.service import DashboardSession, Permission
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.identity import authorize
from orchestrate.core.pagination import Page
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.pages import story_detail
from orchestrate.dashboard.pages.story_forms import Errors, StoryForm, field_errors
from orchestrate.dashboard.pages.story_views import assigned_agent
from orchestrate.dashboard.render import query, render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.stories import Epic, Priority, Story, StoryChanges, StoryStatus
from orchestrate.stories import service as stories
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
COLUMN_SIZE = 20
EPIC_CHOICES = 100
Filter = Annotated[str | None, Query(max_length=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
StoryRef = Annotated[str, Path(max_length=100)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@dataclass(frozen=True)
class Filters:
    """The board's and the table's filters, checked."""

    epic: Epic | None
    label: str | None
    assignee: str | None

    @property
    def epic_id(self) -> str | None:
        return self.epic.id if self.epic else None


@dataclass(frozen=True)
class Column:
    """One status of the board: a page of its cards and how many it holds in all."""

    status: StoryStatus
    page: Page[Story]
    count: int
    more_url: str | None
    first_url: str | None


@router.get("/ui/stories")
async def story_board(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    view: Filter = None,
    epic: Filter = None,
    label: Filter = None,
    assignee: Filter = None,
    status: Filter = None,
    cursor: Cursor = None,
) -> Response:
    filters = await _filters(runtime, epic, label, assignee)
    if view == "table":
        return await _table(request, runtime, session, filters, _status(status), cursor)
    if view not in (None, "", "board"):
        raise ValidationFailed(f"Unknown view {view!r}; use board or table", field="view")
    counts = await stories.count_stories(
        _read(runtime), epic_id=filters.epic_id, label=filters.label, assignee=filters.assignee
    )
    params = dict(request.query_params)
    columns = []
    for column_status in StoryStatus:
        name = f"after_{column_status.value}"
        after = params.get(name) or None
        if after is not None and len(after) > 500:
            raise ValidationFailed(f"{name} is not a cursor of this board", field=name)
        page = await stories.list_stories(
            _read(runtime),
            status=column_status,
            epic_id=filters.epic_id,
            label=filters.label,
            assignee=filters.assignee,
            limit=COLUMN_SIZE,
            cursor=after,
        )
        more = query(params, **{name: page.next_cursor}) if page.next_cursor else None
        first = query(params, **{name: None}) if after else None
        columns.append(Column(column_status, page, counts[column_status], more, first))
    cards = [story for column in columns for story in column.page.items]
    return render(
        request,
        "stories/board.html",
        session,
        columns=columns,
        column_size=COLUMN_SIZE,
        **await _listing(runtime, filters, cards),
    )


async def _table(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    filters: Filters,
    status: StoryStatus | None,
    cursor: str | None,
) -> Response:
    page = await stories.list_stories(
        _read(runtime),
        status=status,
        epic_id=filters.epic_id,
        label=filters.label,
        assignee=filters.assignee,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    return render(
        request,
        "stories/table.html",
        session,
        page=page,
        **await _listing(runtime, filters, page.items),
    )


async def _listing(runtime: Runtime, filters: Filters, shown: list[Story]) -> dict[str, Any]:
    """What the board and the table share: the filter form's choices, each card's epic."""
    epic_ids = {story.epic_id for story in shown if story.epic_id}
    return {
        "filters": filters,
        "epics": await _epic_choices(runtime, filters.epic),
        "statuses": list(StoryStatus),
        "epic_titles": await stories.epic_titles(_read(runtime), epic_ids),
        "agent_of": assigned_agent,
    }


async def _filters(
    runtime: Runtime, epic: str | None, label: str | None, assignee: str | None
) -> Filters:
    chosen = None
    if epic:
        try:
            chosen = await stories.get_epic(_read(runtime), epic)
        except NotFound:
            raise ValidationFailed(
                f"No epic {epic!r}; choose one from the list", field="epic"
            ) from None
    return Filters(chosen, (label or "").strip() or None, (assignee or "").strip() or None)


async def _epic_choices(runtime: Runtime, chosen: Epic | None) -> list[Epic]:
    """The newest epics for a select, with the chosen one even when it is older."""
    newest = (await stories.list_epics(_read(runtime), limit=EPIC_CHOICES)).items
    if chosen is not None and all(epic.id != chosen.id for epic in newest):
        newest.append(chosen)
    return newest


def _status(value: str | None) -> StoryStatus | None:
    if not value:
        return None
    try:
        return StoryStatus(value)
    except ValueError:
        allowed = ", ".join(status.value for status in StoryStatus)
        raise ValidationFailed(
            f"Unknown story status {value!r}; one of {allowed}", field="status"
        ) from None


# --- creating and editing ------------------------------------------------------------


@router.get("/ui/stories/new")
async def new_story(
    request: Request, runtime: RuntimeDep, session: SessionDep, epic: Filter = None
) -> Response:
    authorize(session.actor, Permission.WRITE)
    return await _form_page(request, runtime, session, None, StoryForm().with_epic(epic), {})


@router.post("/ui/stories/new")
async def create_story(
    request: Request, runtime: RuntimeDep, session: SessionDep, actor: WriterDep
) -> Response:
    posted = StoryForm.posted(await request.form())
    try:
        story = await stories.create_story(runtime.uow(urgent=True), posted.draft(), actor)
    except ValidationFailed as error:
        errors = field_errors(error, StoryForm.names())
        return await _form_page(request, runtime, session, None, posted, errors)
    return done(request, f"/ui/stories/{story.id}", f"Created story {story.id}")


@router.get("/ui/stories/{story_id}/edit")
async def edit_story(
    request: Request, runtime: RuntimeDep, session: SessionDep, story_id: StoryRef
) -> Response:
    authorize(session.actor, Permission.WRITE)
    story = await stories.get_story(_read(runtime), story_id)
    return await _form_page(request, runtime, session, story, StoryForm.of(story), {})


@router.post("/ui/stories/{story_id}/edit")
async def update_story(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    story_id: StoryRef,
) -> Response:
    story = await stories.get_story(_read(runtime), story_id)
    posted = StoryForm.posted(await request.form())
    try:
        await stories.update_story(runtime.uow(urgent=True), story.id, posted.changes(), actor)
    except ValidationFailed as error:
        errors = field_errors(error, StoryForm.names())
        return await _form_page(request, runtime, session, story, posted, errors)
    return done(request, f"/ui/stories/{story.id}", "Saved the story")


async def _form_page(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    story: Story | None,
    form: StoryForm,
    errors: Errors,
) -> Response:
    chosen = None
    if form.epic.strip():
        try:
            chosen = await stories.get_epic(_read(runtime), form.epic.strip())
        except NotFound:
            errors = {"epic": f"No epic {form.epic.strip()!r}", **errors}
    return render(
        request,
        "stories/form.html",
        session,
        status_code=422 if errors else 200,
        story=story,
        form=form,
        errors=errors,
        epics=await _epic_choices(runtime, chosen),
        priorities=[priority.value for priority in Priority],
    )


# --- one story -----------------------------------------------------------------------


@router.get("/ui/stories/{story_id}")
async def show_story(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    story_id: StoryRef,
    cursor: Cursor = None,
) -> Response:
    return await story_detail.page(request, runtime, session, story_id, cursor)


@router.post("/ui/stories/{story_id}/status")
async def move_story(
    request: Request, runtime: RuntimeDep, actor: WriterDep, story_id: StoryRef
) -> Response:
    """One move of the story state machine; a move it refuses is a 409 page."""
    target = _status(_field(await request.form(), "status"))
    if target is None:
        raise ValidationFailed("Choose the status to move the story to", field="status")
    story = await stories.update_story(
        runtime.uow(urgent=True), story_id, StoryChanges(status=target), actor
    )
    return done(request, f"/ui/stories/{story.id}", f"Moved the story to {target.value}")


@router.post("/ui/stories/{story_id}/agents")
async def start_developer(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    story_id: StoryRef,
) -> Response:
    """A story developer on this story, as ``POST /api/agents`` with its ``story_id``."""
    return await story_detail.start_developer(request, runtime, session, actor, story_id)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
