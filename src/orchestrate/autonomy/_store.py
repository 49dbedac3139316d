"""The autonomy capability's SQL, and rows ↔ domain objects."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import select

from orchestrate.autonomy.models import (
    EpicRun,
    EpicRunStatus,
    StoryPhase,
    StoryProgress,
)
from orchestrate.autonomy.tables import EpicRunRow, EpicRunStoryRow
from orchestrate.core.errors import NotFound
from orchestrate.core.uow import UnitOfWork


async def run_row(uow: UnitOfWork, run_id: str, *, for_update: bool = False) -> EpicRunRow:
    query = select(EpicRunRow).where(EpicRunRow.id == run_id)
    if for_update:
        query = query.with_for_update()
    row = await uow.session.scalar(query)
    if row is None:
        raise NotFound(f"No epic run {run_id!r}", run_id=run_id)
    return row


async def latest_run_of_epic(uow: UnitOfWork, epic_id: str) -> EpicRunRow | None:
    """The epic's active run, else its newest."""
    query = (
        select(EpicRunRow)
        .where(EpicRunRow.epic_id == epic_id)
        .order_by(EpicRunRow.active_epic_id.is_(None), EpicRunRow.created_at.desc())
        .limit(1)
    )
    return await uow.session.scalar(query)


async def active_run_of_epic(uow: UnitOfWork, epic_id: str) -> EpicRunRow | None:
    return await uow.session.scalar(select(EpicRunRow).where(EpicRunRow.active_epic_id == epic_id))


async def story_rows(uow: UnitOfWork, run_id: str) -> list[EpicRunStoryRow]:
    query = (
        select(EpicRunStoryRow)
        .where(EpicRunStoryRow.run_id == run_id)
        .order_by(EpicRunStoryRow.position)
    )
    return list(await uow.session.scalars(query))


async def story_phases(uow: UnitOfWork, run_id: str) -> list[tuple[str, StoryPhase]]:
    """Each story of the run with its phase, in the run's order: two columns as plain
    rows, for a reader that needs the whole of a large run but not each story's details."""
    query = (
        select(EpicRunStoryRow.story_id, EpicRunStoryRow.phase)
        .where(EpicRunStoryRow.run_id == run_id)
        .order_by(EpicRunStoryRow.position)
    )
    return [(story_id, StoryPhase(phase)) for story_id, phase in await uow.session.execute(query)]


async def story_rows_among(
    uow: UnitOfWork, run_id: str, story_ids: Collection[str]
) -> list[EpicRunStoryRow]:
    """The run's rows of the stories among ``story_ids``, in the run's order."""
    if not story_ids:
        return []
    query = (
        select(EpicRunStoryRow)
        .where(EpicRunStoryRow.run_id == run_id, EpicRunStoryRow.story_id.in_(story_ids))
        .order_by(EpicRunStoryRow.position)
    )
    return list(await uow.session.scalars(query))


def add(uow: UnitOfWork, row: EpicRunRow | EpicRunStoryRow) -> None:
    uow.session.add(row)


async def flush(uow: UnitOfWork) -> None:
    await uow.session.flush()


def to_progress(row: EpicRunStoryRow) -> StoryProgress:
    return StoryProgress(
        story_id=row.story_id,
        position=row.position,
        phase=StoryPhase(row.phase),
        attempts=row.attempts,
        review_attempts=row.review_attempts,
        developer_agent_id=row.developer_agent_id,
        reviewer_agent_id=row.reviewer_agent_id,
        pull_request_repository=row.pull_request_repository,
        pull_request_number=row.pull_request_number,
        pull_request_url=row.pull_request_url,
        review_verdict=row.review_verdict,
        review_url=row.review_url,
        waiting_for=row.waiting_for,
        blocked_reason=row.blocked_reason,
        note=row.note,
        progress_at=row.progress_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def to_run(row: EpicRunRow, stories: list[EpicRunStoryRow]) -> EpicRun:
    return EpicRun(
        id=row.id,
        epic_id=row.epic_id,
        repository=row.repository,
        status=EpicRunStatus(row.status),
        stuck_after=timedelta(minutes=row.stuck_minutes),
        max_attempts=row.max_attempts,
        started_by=row.started_by,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        stories=tuple(to_progress(story) for story in stories),
    )
