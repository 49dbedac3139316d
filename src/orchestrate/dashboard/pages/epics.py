"""Epics: the list with each epic's progress, one epic with its stories in dependency
order and its autonomous run, and the epic forms.

An epic's page is ``orchestrate epic show`` and ``orchestrate epic status`` together:
the stories in the order a run drives them (``PAGE_SIZE`` a page), and beside each the
run's phase, agent, pull request and what it waits for. Operators start, pause, resume
and stop the run through the same ``autonomy.service`` calls as the CLI and
``/api/epics/{id}/run``; the page refreshes on ``epic_run.`` events and on the events
of the epic's stories and running agents.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import Response

from orchestrate.auth.service import DashboardSession, Permission
from orchestrate.autonomy import service as autonomy
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.identity import authorize
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.pages import epic_views
from orchestrate.dashboard.pages.story_forms import EpicForm, Errors, RunForm, field_errors
from orchestrate.dashboard.pages.story_views import window
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep, can_write
from orchestrate.repositories import service as repositories
from orchestrate.stories import Epic, EpicStatus
from orchestrate.stories import service as stories
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
LIVE_SUBJECTS = 200
Cursor = Annotated[str | None, Query(max_length=500)]
EpicRef = Annotated[str, Path(max_length=100)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/epics")
async def epic_list(
    request: Request, runtime: RuntimeDep, session: SessionDep, cursor: Cursor = None
) -> Response:
    page = await stories.list_epics(_read(runtime), limit=PAGE_SIZE, cursor=cursor)
    rows = [(epic, epic_views.Progress.of(epic)) for epic in page.items]
    return render(request, "epics/list.html", session, page=page, rows=rows)


# --- creating and editing ------------------------------------------------------------


@router.get("/ui/epics/new")
async def new_epic(request: Request, session: SessionDep) -> Response:
    authorize(session.actor, Permission.WRITE)
    return _form_page(request, session, None, EpicForm(), {})


@router.post("/ui/epics/new")
async def create_epic(
    request: Request, runtime: RuntimeDep, session: SessionDep, actor: WriterDep
) -> Response:
    posted = EpicForm.posted(await request.form())
    try:
        epic = await stories.create_epic(
            runtime.uow(urgent=True),
            posted.title,
            actor,
            description=posted.description,
            status=posted.status_value(),
        )
    except ValidationFailed as error:
        return _form_page(request, session, None, posted, field_errors(error, EpicForm.names()))
    return done(request, f"/ui/epics/{epic.id}", f"Created epic {epic.id}")


@router.get("/ui/epics/{epic_id}/edit")
async def edit_epic(
    request: Request, runtime: RuntimeDep, session: SessionDep, epic_id: EpicRef
) -> Response:
    authorize(session.actor, Permission.WRITE)
    epic = await stories.get_epic(_read(runtime), epic_id)
    return _form_page(request, session, epic, EpicForm.of(epic), {})


@router.post("/ui/epics/{epic_id}/edit")
async def update_epic(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    epic_id: EpicRef,
) -> Response:
    epic = await stories.get_epic(_read(runtime), epic_id)
    posted = EpicForm.posted(await request.form())
    try:
        await stories.update_epic(runtime.uow(urgent=True), epic.id, posted.changes(), actor)
    except ValidationFailed as error:
        return _form_page(request, session, epic, posted, field_errors(error, EpicForm.names()))
    return done(request, f"/ui/epics/{epic.id}", "Saved the epic")


def _form_page(
    request: Request,
    session: DashboardSession,
    epic: Epic | None,
    form: EpicForm,
    errors: Errors,
) -> Response:
    return render(
        request,
        "epics/form.html",
        session,
        status_code=422 if errors else 200,
        epic=epic,
        form=form,
        errors=errors,
        statuses=[status.value for status in EpicStatus],
    )


# --- one epic and its run ------------------------------------------------------------


@router.get("/ui/epics/{epic_id}")
async def show_epic(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    epic_id: EpicRef,
    cursor: Cursor = None,
) -> Response:
    return await _epic_page(request, runtime, session, epic_id, cursor)


async def _epic_page(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    ref: str,
    cursor: str | None,
    *,
    run_form: RunForm | None = None,
    run_error: str = "",
    status_code: int = 200,
) -> Response:
    # An epic may hold thousands of stories: order their outlines, then read whole only
    # the page's window (and what it names), not every story and its run details.
    outline = await stories.epic_outline(_read(runtime), ref)
    epic = outline.epic
    order, order_warning = epic_views.ordered_stories(outline.stories)
    shown, next_cursor, start = window(order, lambda story_id: story_id, cursor, PAGE_SIZE)
    run = await autonomy.outline_epic_run(_read(runtime), epic.id, shown)
    wanted = epic_views.stories_to_read(shown, outline.stories, run)
    read = await stories.get_epic_stories(_read(runtime), epic.id, wanted)
    story_ids = [story.id for story in outline.stories]
    summary = epic_views.summary(run, set(story_ids), read) if run is not None else None
    choices = []
    if can_write(session) and (summary is None or not summary.is_active):
        choices = await repositories.list_repositories(_read(runtime), runtime.settings)
    agent_ids = sorted(run.agent_states) if run is not None else []
    return render(
        request,
        "epics/detail.html",
        session,
        status_code=status_code,
        epic=epic,
        progress=epic_views.Progress.of(epic),
        lines=epic_views.lines(shown, start, read, run),
        next_cursor=next_cursor,
        order_warning=order_warning,
        summary=summary,
        repositories=[repository.name for repository in choices],
        run_form=run_form or RunForm(repository=choices[0].name if len(choices) == 1 else ""),
        run_error=run_error,
        live_tokens=" ".join(["epic_run.", epic.id, *_story_tokens(story_ids), *agent_ids]),
    )


def _story_tokens(story_ids: list[str]) -> list[str]:
    """The epic's stories by id (and any new story), or, for an epic too large to list
    in an attribute, every story event."""
    return [*story_ids, "story.created"] if len(story_ids) <= LIVE_SUBJECTS else ["story."]


@router.post("/ui/epics/{epic_id}/run")
async def start_run(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    epic_id: EpicRef,
) -> Response:
    """``orchestrate epic run``: a run that refuses to start shows the page again, saying why."""
    epic = await stories.get_epic(_read(runtime), epic_id)
    posted = RunForm.posted(await request.form())
    try:
        view = await autonomy.start_epic_run(
            runtime.uow(urgent=True),
            runtime.settings,
            epic.id,
            actor,
            repository=posted.repository.strip() or None,
            stuck_minutes=posted.number("stuck_minutes"),
            max_attempts=posted.number("max_attempts"),
        )
    except ValidationFailed as error:
        return await _epic_page(
            request,
            runtime,
            session,
            epic.id,
            None,
            run_form=posted,
            run_error=error.message,
            status_code=422,
        )
    return done(request, f"/ui/epics/{epic.id}", f"Started run {view.run.id}")


@router.post("/ui/epics/{epic_id}/run/pause")
async def pause_run(
    request: Request, runtime: RuntimeDep, actor: WriterDep, epic_id: EpicRef
) -> Response:
    view = await autonomy.pause_epic_run(runtime.uow(urgent=True), epic_id, actor)
    return done(request, f"/ui/epics/{view.epic.id}", f"Run {view.run.id} is paused")


@router.post("/ui/epics/{epic_id}/run/resume")
async def resume_run(
    request: Request, runtime: RuntimeDep, actor: WriterDep, epic_id: EpicRef
) -> Response:
    view = await autonomy.resume_epic_run(runtime.uow(urgent=True), epic_id, actor)
    return done(request, f"/ui/epics/{view.epic.id}", f"Run {view.run.id} is running again")


@router.post("/ui/epics/{epic_id}/run/stop")
async def stop_run(
    request: Request, runtime: RuntimeDep, actor: WriterDep, epic_id: EpicRef
) -> Response:
    view = await autonomy.stop_epic_run(runtime.uow(urgent=True), epic_id, actor)
    return done(request, f"/ui/epics/{view.epic.id}", f"Run {view.run.id} is stopped")
