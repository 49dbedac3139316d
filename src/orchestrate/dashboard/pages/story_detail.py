"""One story's page, and starting a story developer on it from there.

What the page gathers, each through its owner's service and each bounded: the story
and its dependencies (``stories``), the newest agents that worked on it (``agents``),
the pull requests opened for it (``delivery``) and a page of its history (the event log
through ``timeline``, oldest first, ``HISTORY_PAGE`` events a page). The part that
events change refreshes on the story's own events, its agents' and pull requests'.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from orchestrate.agents import service as agents
from orchestrate.auth.service import Actor, DashboardSession
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.pages.story_forms import AgentForm
from orchestrate.dashboard.pages.story_views import (
    assigned_agent,
    history_entry,
    pull_request_path,
)
from orchestrate.dashboard.render import render
from orchestrate.dashboard.session import can_write
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.stories import Story, StoryStatus
from orchestrate.stories import service as stories
from orchestrate.timeline import service as timeline

SHOWN_LINKED = 20
HISTORY_PAGE = 50
DEVELOPER = "story-developer"
_MAX_EVENT_ID = 2**63 - 1

_S = StoryStatus
_VERBS = {
    (_S.DONE, _S.IN_PROGRESS): "Reopen",
    (_S.CANCELLED, _S.BACKLOG): "Restore to backlog",
    (_S.REVIEW, _S.IN_PROGRESS): "Request changes (back to in progress)",
}
_VERB_TO = {_S.BLOCKED: "Mark blocked", _S.CANCELLED: "Cancel the story", _S.DONE: "Mark done"}


@dataclass(frozen=True)
class Transition:
    """A move the state machine allows from the story's status: one button."""

    status: StoryStatus
    label: str
    confirm: str | None


def transitions(current: StoryStatus) -> list[Transition]:
    moves = []
    for target in stories.allowed_transitions(current):
        label = _VERBS.get((current, target)) or _VERB_TO.get(target)
        label = label or f"Move to {target.value.replace('_', ' ')}"
        confirm = "Cancel this story?" if target is _S.CANCELLED else None
        moves.append(Transition(target, label, confirm))
    return moves


def developer_task(story: Story) -> str:
    """The task a story developer is offered: the story as people wrote it (editable)."""
    lines = [f"Implement story {story.key or story.id}: {story.title}"]
    if story.description:
        lines += ["", story.description]
    if story.acceptance_criteria:
        lines += ["", "Acceptance criteria:"]
        lines += [f"- [{'x' if c.done else ' '}] {c.text}" for c in story.acceptance_criteria]
    lines += ["", "Commit your work on your branch; a pull request is opened from it."]
    return "\n".join(lines)


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


def _history_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or int(cursor) > _MAX_EVENT_ID:
        raise ValidationFailed(
            f"Invalid cursor {cursor[:40]!r}: use the history's own page links", field="cursor"
        )
    return int(cursor)


async def page(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    ref: str,
    cursor: str | None,
    *,
    agent_form: AgentForm | None = None,
    agent_error: str = "",
    status_code: int = 200,
) -> Response:
    story = await stories.get_story(_read(runtime), ref)
    after = _history_cursor(cursor)
    epic_title = None
    if story.epic_id:
        epic_title = (await stories.epic_titles(_read(runtime), [story.epic_id])).get(story.epic_id)
    linked = await agents.list_agents(_read(runtime), story_id=story.id, limit=SHOWN_LINKED)
    pulls = await delivery.list_pull_requests(_read(runtime), story_id=story.id, limit=SHOWN_LINKED)
    history = await timeline.list_events(
        _read(runtime),
        after=after,
        only=timeline.EventFilter(subject=story.id),
        limit=HISTORY_PAGE,
    )
    choices = []
    if can_write(session):
        choices = await repositories.list_repositories(_read(runtime), runtime.settings)
    form = agent_form or AgentForm(
        repository=choices[0].name if len(choices) == 1 else "", task=developer_task(story)
    )
    return render(
        request,
        "stories/detail.html",
        session,
        status_code=status_code,
        story=story,
        epic_title=epic_title,
        dependencies=await stories.get_stories(_read(runtime), story.depends_on),
        agent_of=assigned_agent,
        agents=linked,
        pull_requests=[
            (pull, pull_request_path(pull.repository, pull.number)) for pull in pulls.items
        ],
        more_pull_requests=pulls.next_cursor is not None,
        history=[history_entry(event) for event in history.items],
        history_next=history.next_cursor,
        transitions=transitions(story.status),
        can_start=not story.status.is_terminal,
        repositories=[repository.name for repository in choices],
        agent_form=form,
        agent_error=agent_error,
        live_tokens=" ".join(
            [
                story.id,  # a new agent or pull request on it changes the story too
                *(agent.id for agent in linked.items),
                *(f"{pull.repository}#{pull.number}" for pull in pulls.items),
            ]
        ),
    )


async def start_developer(
    request: Request, runtime: Runtime, session: DashboardSession, actor: Actor, ref: str
) -> Response:
    story = await stories.get_story(_read(runtime), ref)
    posted = AgentForm.posted(await request.form())
    try:
        repository = await _repository(runtime, posted.repository)
        request_to_start = agents.StartAgent(
            type=DEVELOPER,
            task=posted.task,
            story=story.id,
            repo=repository.path,
            force=posted.force == "yes",
        )
        started = await agents.start_agent(
            runtime.uow(urgent=True), runtime.settings, request_to_start, actor
        )
    except ValidationFailed as error:
        return await page(
            request,
            runtime,
            session,
            story.id,
            None,
            agent_form=posted,
            agent_error=error.message,
            status_code=422,
        )
    return done(request, f"/ui/stories/{story.id}", f"Started story developer {started.id}")


async def _repository(runtime: Runtime, name: str) -> repositories.Repository:
    if not name.strip():
        raise ValidationFailed("Choose the repository the developer works in", field="repository")
    try:
        return await repositories.get_repository(_read(runtime), runtime.settings, name.strip())
    except NotFound as error:
        raise ValidationFailed(error.message, field="repository") from None
