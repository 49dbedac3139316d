"""Use cases of autonomous epic runs; the autonomy capability's public API.

``start_epic_run`` checks the epic (stories, dependency order without cycles) and the
repository, stores the run with each story's place in the order, and enqueues its
first poll; the jobs in ``runner.py`` drive it from there. ``pause_epic_run`` stops new
agents from starting (running ones finish), ``resume_epic_run`` lets them start again
and steps the run at once, ``stop_epic_run`` ends the run and cancels its running
agents. ``get_epic_run`` shows the epic's active run, else its latest.

One run per epic is active at a time: a unique index on ``active_epic_id`` decides
between two concurrent starts; the loser gets ``Conflict`` naming the run.

Every change needs ``write`` and is audited; the run's agents act for its starter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from orchestrate.agents import service as agents
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.autonomy import _store as store
from orchestrate.autonomy import planning, progress
from orchestrate.autonomy.events import EpicRunStarted
from orchestrate.autonomy.kinds import ADVANCE, RunRef
from orchestrate.autonomy.models import (
    EpicRun,
    EpicRunStatus,
    StoryPhase,
    StoryProgress,
    check_limits,
)
from orchestrate.autonomy.runner import register_autonomy_jobs, schedule_poll
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import Conflict, NotFound, OrchestrateError, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import enqueue
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import service as repositories
from orchestrate.stories import Epic, Story
from orchestrate.stories import service as stories

__all__ = [
    "EpicRun",
    "EpicRunOutline",
    "EpicRunStatus",
    "EpicRunView",
    "StoryPhase",
    "StoryProgress",
    "get_epic_run",
    "outline_epic_run",
    "pause_epic_run",
    "register_autonomy_jobs",
    "resume_epic_run",
    "start_epic_run",
    "stop_epic_run",
]


@dataclass(frozen=True)
class EpicRunView:
    """A run with what people want beside it: the epic, its stories, its agents' states."""

    run: EpicRun
    epic: Epic
    stories: dict[str, Story]
    agent_states: dict[str, agents.AgentState]
    """The state of every agent the run's active stories name."""


@dataclass(frozen=True)
class EpicRunOutline:
    """A run for a page that shows a few of its stories: the run's own fields, the
    phase of every story it drives, and the details of only some stories.

    Reading each story's details is what makes ``get_epic_run`` slow for an epic of
    thousands of stories; a page of 50 does not need them.
    """

    run: EpicRun
    """The run without its stories' details: ``run.stories`` is empty."""
    phases: dict[str, StoryPhase]
    """Each story of the run (by id) with its phase, in the run's order."""
    progress: dict[str, StoryProgress]
    """The details of the stories asked for that the run drives, and of its active ones."""
    agent_states: dict[str, agents.AgentState]
    """The state of every agent the run's active stories name."""

    @property
    def active_story_id(self) -> str | None:
        """The first story the run is working on, in the run's order."""
        return next((story for story, phase in self.phases.items() if phase.is_active), None)


async def start_epic_run(
    uow: UnitOfWork,
    settings: Settings,
    epic_ref: str,
    actor: Actor,
    *,
    repository: str | None = None,
    stuck_minutes: int | None = None,
    max_attempts: int | None = None,
) -> EpicRunView:
    """Start driving every story of the epic; ``Conflict`` if a run of it is active."""
    auth.authorize(actor, Permission.WRITE)
    stuck_minutes = stuck_minutes if stuck_minutes is not None else settings.epic_run_stuck_minutes
    max_attempts = max_attempts if max_attempts is not None else settings.epic_run_max_attempts
    check_limits(stuck_minutes, max_attempts)
    overview = await stories.epic_overview(uow.sibling(read_only=True), epic_ref)
    epic = overview.epic
    if not overview.stories:
        raise ValidationFailed(
            f"Epic {epic.key or epic.id} has no stories to run; add some "
            "(orchestrate story create --epic ...) or import them",
            field="epic",
        )
    facts = [
        planning.StoryFacts(s.id, s.key or s.id, s.status, s.depends_on, StoryPhase.PENDING)
        for s in overview.stories
    ]
    order = planning.run_order(facts)
    target = await _repository(uow, settings, repository)
    try:
        async with uow:
            existing = await store.active_run_of_epic(uow, epic.id)
            if existing is not None:
                raise _already_running(epic, existing)
            row = _new_run(uow, epic.id, target.name, stuck_minutes, max_attempts, actor)
            store.add(uow, row)
            await store.flush(uow)
            for position, story_id in enumerate(order):
                store.add(uow, _new_story(uow, row.id, story_id, position))
            record_event(
                uow,
                EpicRunStarted(
                    subject=row.id, epic_id=epic.id, repository=target.name, stories=order
                ),
            )
            details = {"epic_id": epic.id, "repository": target.name, "stories": len(order)}
            await auth.record_audit(uow, actor, "epic_run.start", row.id, details)
            await schedule_poll(uow, row, settings.epic_run_poll_seconds, now=True)
            await uow.commit()
    except IntegrityError:
        winner = await _active(uow.sibling(read_only=True), epic.id)
        if winner is None:
            raise
        raise _already_running(epic, winner) from None
    return await get_epic_run(uow.sibling(read_only=True), epic.id)


async def get_epic_run(uow: UnitOfWork, epic_ref: str) -> EpicRunView:
    """The epic's active run, else its latest; ``NotFound`` if it never ran."""
    overview = await stories.epic_overview(uow.sibling(read_only=True), epic_ref)
    epic = overview.epic
    async with uow:
        row = await store.latest_run_of_epic(uow, epic.id)
        if row is None:
            raise NotFound(
                f"Epic {epic.key or epic.id} has not been run; start it with "
                f"'orchestrate epic run {epic.key or epic.id}'",
                epic=epic.id,
            )
        run = store.to_run(row, await store.story_rows(uow, row.id))
    return EpicRunView(
        run=run,
        epic=epic,
        stories={story.id: story for story in overview.stories},
        agent_states=await _agent_states(uow, run.stories),
    )


async def outline_epic_run(
    uow: UnitOfWork, epic_id: str, story_ids: Collection[str]
) -> EpicRunOutline | None:
    """The epic's active run, else its latest, with the details of the stories
    ``story_ids`` only (and of the active ones); None if the epic never ran.

    ``epic_id`` is the epic's id, not its BMAD key: the caller has read the epic
    (``stories.epic_outline``), so this reads neither the epic nor its stories.
    """
    async with uow:
        row = await store.latest_run_of_epic(uow, epic_id)
        if row is None:
            return None
        phases = dict(await store.story_phases(uow, row.id))
        wanted = {*story_ids, *(story for story, phase in phases.items() if phase.is_active)}
        details = [
            store.to_progress(item) for item in await store.story_rows_among(uow, row.id, wanted)
        ]
        run = store.to_run(row, [])
    return EpicRunOutline(
        run=run,
        phases=phases,
        progress={item.story_id: item for item in details},
        agent_states=await _agent_states(uow, details),
    )


async def _agent_states(
    uow: UnitOfWork, items: Iterable[StoryProgress]
) -> dict[str, agents.AgentState]:
    """The state of each agent the active ones of ``items`` name (a deleted one left out)."""
    states: dict[str, agents.AgentState] = {}
    for item in items:
        for agent_id in (item.developer_agent_id, item.reviewer_agent_id):
            if agent_id is not None and item.phase.is_active:
                try:
                    found = await agents.get_agent(uow.sibling(read_only=True), agent_id)
                except NotFound:
                    continue
                states[agent_id] = found.state
    return states


async def pause_epic_run(uow: UnitOfWork, epic_ref: str, actor: Actor) -> EpicRunView:
    """Start no new agent; the running ones finish and their results are recorded."""
    return await _change_status(uow, epic_ref, actor, EpicRunStatus.PAUSED, "epic_run.pause")


async def resume_epic_run(uow: UnitOfWork, epic_ref: str, actor: Actor) -> EpicRunView:
    """Let a paused run start agents again; its stuck clocks restart now."""
    return await _change_status(uow, epic_ref, actor, EpicRunStatus.RUNNING, "epic_run.resume")


async def stop_epic_run(uow: UnitOfWork, epic_ref: str, actor: Actor) -> EpicRunView:
    """End the run and cancel its running agents (their stories go back to ``ready``)."""
    view = await _change_status(uow, epic_ref, actor, EpicRunStatus.STOPPED, "epic_run.stop")
    for item in view.run.stories:
        if not item.phase.is_active:
            continue
        for agent_id in (item.developer_agent_id, item.reviewer_agent_id):
            if (
                agent_id is None
                or view.agent_states.get(agent_id, agents.AgentState.COMPLETED).is_terminal
            ):
                continue
            try:
                await agents.cancel(uow.sibling(), agent_id, actor)
            except OrchestrateError:
                continue  # it ended meanwhile
    return await get_epic_run(uow.sibling(read_only=True), view.epic.id)


async def _change_status(
    uow: UnitOfWork, epic_ref: str, actor: Actor, target: EpicRunStatus, action: str
) -> EpicRunView:
    auth.authorize(actor, Permission.WRITE)
    epic = await stories.get_epic(uow.sibling(read_only=True), epic_ref)
    async with uow:
        found = await store.active_run_of_epic(uow, epic.id)
        if found is None:
            raise Conflict(
                f"Epic {epic.key or epic.id} has no active run to {action.split('.')[1]}; "
                f"see 'orchestrate epic status {epic.key or epic.id}'",
                epic=epic.id,
            )
        run = await store.run_row(uow, found.id, for_update=True)
        rows = await store.story_rows(uow, run.id)
        if progress.set_run_status(uow, run, target, rows, reason=f"{action} by {actor.name}"):
            if target is EpicRunStatus.RUNNING:
                for row in rows:
                    if StoryPhase(row.phase).is_active:
                        row.progress_at = uow.now()
                await enqueue(uow, ADVANCE, RunRef(run_id=run.id))
            await auth.record_audit(uow, actor, action, run.id, {"epic_id": epic.id})
            await uow.commit()
    return await get_epic_run(uow.sibling(read_only=True), epic.id)


async def _repository(
    uow: UnitOfWork, settings: Settings, name: str | None
) -> repositories.Repository:
    if name is not None:
        try:
            found = await repositories.get_repository(uow.sibling(read_only=True), settings, name)
        except NotFound as error:
            raise ValidationFailed(error.message, field="repo") from None
    else:
        registered = await repositories.list_repositories(uow.sibling(read_only=True), settings)
        if not registered:
            raise ValidationFailed(
                "No repository is registered for the agents to work in; register one "
                "(orchestrate repo add PATH --name OWNER/NAME) and pass --repo NAME",
                field="repo",
            )
        if len(registered) > 1:
            names = ", ".join(r.name for r in registered)
            raise ValidationFailed(
                f"Several repositories are registered ({names}); choose one with --repo NAME",
                field="repo",
            )
        found = registered[0]
    if not found.default_branch:
        raise ValidationFailed(
            f"Repository {found.name} has no default branch for pull requests; register it "
            "again with --default-branch",
            field="repo",
        )
    return found


async def _active(uow: UnitOfWork, epic_id: str) -> EpicRunRow | None:
    async with uow:
        return await store.active_run_of_epic(uow, epic_id)


def _already_running(epic: Epic, run: EpicRunRow) -> Conflict:
    name = epic.key or epic.id
    return Conflict(
        f"Epic {name} already has an active run {run.id} ({run.status}); follow it with "
        f"'orchestrate epic status {name} --follow', or stop it with "
        f"'orchestrate epic stop {name}'",
        run_id=run.id,
        status=run.status,
    )


def _new_run(
    uow: UnitOfWork,
    epic_id: str,
    repository: str,
    stuck_minutes: int,
    max_attempts: int,
    actor: Actor,
) -> EpicRunRow:
    now = uow.now()
    return EpicRunRow(
        id=new_id("erun", now),
        epic_id=epic_id,
        active_epic_id=epic_id,
        repository=repository,
        status=EpicRunStatus.RUNNING.value,
        stuck_minutes=stuck_minutes,
        max_attempts=max_attempts,
        poll_seq=0,
        started_by=actor.name,
        reason=None,
        created_at=now,
        updated_at=now,
        finished_at=None,
    )


def _new_story(uow: UnitOfWork, run_id: str, story_id: str, position: int) -> EpicRunStoryRow:
    return EpicRunStoryRow(
        run_id=run_id,
        story_id=story_id,
        position=position,
        phase=StoryPhase.PENDING.value,
        attempts=0,
        review_attempts=0,
        progress_at=uow.now(),
    )
