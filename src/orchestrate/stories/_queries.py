"""The reads the use cases in ``service.py`` share.

Finding an epic or story by id or BMAD key, the labels of some stories, how many
stories each epic has per status, and newest-first keyset pages. Every function runs
inside the caller's unit of work and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TypeVar

from sqlalchemy import func, or_, select

from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories.models import StoryStatus
from orchestrate.stories.tables import EpicRow, StoryLabelRow, StoryRow

_Row = TypeVar("_Row", EpicRow, StoryRow)


async def story_row(uow: UnitOfWork, ref: str) -> StoryRow:
    """The story with id or key ``ref``, or ``NotFound``."""
    row = await uow.session.scalar(
        select(StoryRow).where(or_(StoryRow.id == ref, StoryRow.key == ref)).limit(1)
    )
    if row is None:
        raise NotFound(f"No story with id or key {ref!r}; see 'orchestrate story list'", story=ref)
    return row


async def epic_row(uow: UnitOfWork, ref: str) -> EpicRow:
    """The epic with id or key ``ref``, or ``NotFound``."""
    row = await uow.session.scalar(
        select(EpicRow).where(or_(EpicRow.id == ref, EpicRow.key == ref)).limit(1)
    )
    if row is None:
        raise NotFound(f"No epic with id or key {ref!r}; see 'orchestrate epic list'", epic=ref)
    return row


async def resolve_epic_id(uow: UnitOfWork, ref: str | None) -> str | None:
    """The id of the epic a story refers to; an unknown one is a bad value (422, exit 2)."""
    if ref is None or not ref.strip():
        return None
    row = await uow.session.scalar(
        select(EpicRow.id).where(or_(EpicRow.id == ref, EpicRow.key == ref)).limit(1)
    )
    if row is None:
        raise ValidationFailed(
            f"Unknown epic {ref!r} for epic_id; use an epic id or BMAD key from "
            "'orchestrate epic list'",
            field="epic_id",
        )
    return row


async def labels_of(uow: UnitOfWork, story_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each story's labels, sorted; stories without labels are missing from the result."""
    if not story_ids:
        return {}
    query = (
        select(StoryLabelRow)
        .where(StoryLabelRow.story_id.in_(story_ids))
        .order_by(StoryLabelRow.label)
    )
    labels: dict[str, list[str]] = defaultdict(list)
    for row in await uow.session.scalars(query):
        labels[row.story_id].append(row.label)
    return {story_id: tuple(values) for story_id, values in labels.items()}


async def story_counts(uow: UnitOfWork, epic_ids: list[str]) -> dict[str, dict[StoryStatus, int]]:
    """How many stories each epic has in each status (statuses without stories missing)."""
    if not epic_ids:
        return {}
    query = (
        select(StoryRow.epic_id, StoryRow.status, func.count())
        .where(StoryRow.epic_id.in_(epic_ids))
        .group_by(StoryRow.epic_id, StoryRow.status)
    )
    counts: dict[str, dict[StoryStatus, int]] = defaultdict(dict)
    for epic_id, status, count in await uow.session.execute(query):
        if epic_id is not None:
            counts[epic_id][StoryStatus(status)] = count
    return counts
