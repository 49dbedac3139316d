"""What one step of an epic run works from, and the small transactions it changes things in.

A step reads a ``Snapshot`` (the run, the epic's stories) without holding a transaction,
calls agents, git and the forge, then records what it did in a short transaction that
locks the run row and checks the story is still where the snapshot saw it (its phase
and attempt counts): two workers stepping the same run at once cannot both record a
move, and agent starts are keyed (``origin_key``) so both get the same agent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from orchestrate.auth.service import Actor, Role
from orchestrate.autonomy import _store as store
from orchestrate.autonomy import progress
from orchestrate.autonomy.models import EpicRun, EpicRunStatus, StoryProgress
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories import Story
from orchestrate.stories import service as stories

log = structlog.get_logger(__name__)

Change = Callable[[UnitOfWork, EpicRunRow, EpicRunStoryRow], Awaitable[None]]


@dataclass(frozen=True)
class Snapshot:
    run: EpicRun
    stories: dict[str, Story]
    """The epic's stories by id (a story deleted since the run started is missing)."""

    @property
    def is_running(self) -> bool:
        return self.run.status is EpicRunStatus.RUNNING

    def name(self, story_id: str) -> str:
        story = self.stories.get(story_id)
        return story_id if story is None else story.key or story.id


async def load_snapshot(runtime: Runtime, run_id: str) -> Snapshot:
    async with runtime.uow(read_only=True) as uow:
        row = await store.run_row(uow, run_id)
        run = store.to_run(row, await store.story_rows(uow, run_id))
    overview = await stories.epic_overview(runtime.uow(read_only=True), run.epic_id)
    return Snapshot(run=run, stories={story.id: story for story in overview.stories})


def run_actor(run: EpicRun) -> Actor:
    """Who the run's agents and changes act for: its starter, as an operator (starting a
    run needs write rights), so the run can do nothing its starter could not."""
    return Actor(name=run.started_by, role=Role.OPERATOR, source=f"epic run {run.id}")


async def change_story(runtime: Runtime, seen: StoryProgress, run_id: str, change: Change) -> bool:
    """Apply ``change`` if the run is active and the story is as ``seen``; whether it was."""
    async with runtime.uow() as uow:
        run = await store.run_row(uow, run_id, for_update=True)
        if not EpicRunStatus(run.status).is_active:
            return False
        row = next(r for r in await store.story_rows(uow, run_id) if r.story_id == seen.story_id)
        if (row.phase, row.attempts, row.review_attempts) != (
            seen.phase.value,
            seen.attempts,
            seen.review_attempts,
        ):
            return False
        await change(uow, run, row)
        await uow.commit()
        return True


async def block_story(
    runtime: Runtime, snapshot: Snapshot, seen: StoryProgress, reason: str
) -> bool:
    """Block the story in the run and in the backlog, saying why."""
    actor = run_actor(snapshot.run)
    log.info(
        "epic_run_story_blocking", run_id=snapshot.run.id, story_id=seen.story_id, reason=reason
    )

    async def apply(uow: UnitOfWork, run: EpicRunRow, row: EpicRunStoryRow) -> None:
        cleaned = progress.block(uow, run, row, reason)
        await stories.block_story(uow, row.story_id, cleaned, actor, by="epic_run")

    return await change_story(runtime, seen, snapshot.run.id, apply)


async def set_waiting(runtime: Runtime, run_id: str, seen: StoryProgress, text: str | None) -> None:
    """Say what the story waits for (not a move: no event, no progress)."""
    if seen.waiting_for == text:
        return

    async def apply(uow: UnitOfWork, run: EpicRunRow, row: EpicRunStoryRow) -> None:
        row.waiting_for = text

    await change_story(runtime, seen, run_id, apply)
