"""The stories capability's SQL, and rows ↔ domain objects.

The one module of ``stories`` that talks to the session: finding an epic or story by
id or BMAD key, the labels of some stories, how many stories each epic has per status,
newest-first keyset pages, adding and deleting rows. Every function runs inside the
caller's unit of work. ``EpicRow``/``StoryRow`` keep acceptance criteria as a JSON list
of ``{"text", "done"}`` objects and statuses as plain strings; the conversions at the
end of this module are the one place that knows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select

from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.pagination import newest_first
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories.models import (
    AcceptanceCriterion,
    Epic,
    EpicStatus,
    Priority,
    Story,
    StoryOutline,
    StoryStatus,
)
from orchestrate.stories.tables import EpicRow, StoryLabelRow, StoryRow


async def story_row(uow: UnitOfWork, ref: str, *, for_update: bool = False) -> StoryRow:
    """The story with id or key ``ref``, or ``NotFound``.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; on SQLite a
    write transaction already holds the single writer's lock from its ``BEGIN``).
    """
    query = select(StoryRow).where(or_(StoryRow.id == ref, StoryRow.key == ref)).limit(1)
    if for_update:
        query = query.with_for_update()
    row = await uow.session.scalar(query)
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


async def epic_page(uow: UnitOfWork, limit: int, cursor: str | None) -> list[EpicRow]:
    """Up to ``limit + 1`` epics newest first after ``cursor`` (the extra one: more exist)."""
    return list(await uow.session.scalars(newest_first(select(EpicRow), EpicRow, limit, cursor)))


async def stories_of_epic(uow: UnitOfWork, epic_id: str) -> list[StoryRow]:
    """The stories of an epic oldest first (imported stories keep their file order)."""
    query = (
        select(StoryRow)
        .where(StoryRow.epic_id == epic_id)
        .order_by(StoryRow.created_at, StoryRow.id)
    )
    return list(await uow.session.scalars(query))


async def story_outlines(uow: UnitOfWork, epic_id: str) -> list[StoryOutline]:
    """The outlines of an epic's stories, oldest first (the order of ``stories_of_epic``).

    Three columns as plain rows, not whole ``StoryRow`` objects: for an epic of
    thousands of stories the objects, not the query, were the cost.
    """
    query = (
        select(StoryRow.id, StoryRow.status, StoryRow.depends_on)
        .where(StoryRow.epic_id == epic_id)
        .order_by(StoryRow.created_at, StoryRow.id)
    )
    return [
        StoryOutline(story_id, StoryStatus(status), tuple(depends_on or ()))
        for story_id, status, depends_on in await uow.session.execute(query)
    ]


async def stories_in_epic(
    uow: UnitOfWork, epic_id: str, story_ids: Collection[str]
) -> list[StoryRow]:
    """The stories among ``story_ids`` that belong to the epic."""
    if not story_ids:
        return []
    query = select(StoryRow).where(StoryRow.epic_id == epic_id, StoryRow.id.in_(story_ids))
    return list(await uow.session.scalars(query))


async def story_page(
    uow: UnitOfWork,
    *,
    status: StoryStatus | None,
    epic_ref: str | None,
    label: str | None,
    assignee: str | None,
    limit: int,
    cursor: str | None,
) -> list[StoryRow]:
    """Up to ``limit + 1`` stories newest first after ``cursor`` that match every filter.

    ``epic_ref`` is an epic's id or BMAD key; ``label`` is already normalised.
    """
    query = newest_first(select(StoryRow), StoryRow, limit, cursor)
    if status is not None:
        query = query.where(StoryRow.status == status.value)
    query = query.where(*_filters(epic_ref=epic_ref, label=label, assignee=assignee))
    return list(await uow.session.scalars(query))


async def status_counts(
    uow: UnitOfWork, *, epic_ref: str | None, label: str | None, assignee: str | None
) -> dict[StoryStatus, int]:
    """How many stories that match the filters are in each status (missing: none)."""
    query = (
        select(StoryRow.status, func.count())
        .where(*_filters(epic_ref=epic_ref, label=label, assignee=assignee))
        .group_by(StoryRow.status)
    )
    return {StoryStatus(status): count for status, count in await uow.session.execute(query)}


def _filters(
    *, epic_ref: str | None, label: str | None, assignee: str | None
) -> list[ColumnElement[bool]]:
    """The conditions keeping the stories of the epic (id or key), with the (normalised)
    label and with the assignee, for each filter given."""
    found: list[ColumnElement[bool]] = []
    if epic_ref is not None:
        epic_ids = select(EpicRow.id).where(or_(EpicRow.id == epic_ref, EpicRow.key == epic_ref))
        found.append(StoryRow.epic_id.in_(epic_ids))
    if label is not None:
        labelled = select(StoryLabelRow.story_id).where(StoryLabelRow.label == label)
        found.append(StoryRow.id.in_(labelled))
    if assignee is not None:
        found.append(StoryRow.assignee == assignee)
    return found


async def epic_titles(uow: UnitOfWork, epic_ids: Collection[str]) -> dict[str, str]:
    """The title of each of these epics that exists, by id."""
    if not epic_ids:
        return {}
    query = select(EpicRow.id, EpicRow.title).where(EpicRow.id.in_(epic_ids))
    return {row.id: row.title for row in await uow.session.execute(query)}


async def story_with_origin(uow: UnitOfWork, origin_key: str) -> StoryRow | None:
    """The story created from ``origin_key`` (an automation's idempotency key), if any."""
    return await uow.session.scalar(select(StoryRow).where(StoryRow.origin_key == origin_key))


async def story_ids_by_ref(uow: UnitOfWork, refs: Sequence[str]) -> dict[str, StoryRow]:
    """The stories named by id or BMAD key in ``refs``, by the ref that names them."""
    if not refs:
        return {}
    rows = await uow.session.scalars(
        select(StoryRow).where(or_(StoryRow.id.in_(refs), StoryRow.key.in_(refs)))
    )
    found: dict[str, StoryRow] = {}
    for row in rows:
        for ref in (row.id, row.key):
            if ref is not None and ref in refs:
                found[ref] = row
    return found


async def rows_by_key(
    uow: UnitOfWork, epic_keys: Sequence[str], story_keys: Sequence[str]
) -> tuple[dict[str, EpicRow], dict[str, StoryRow]]:
    """The stored epics and stories with these BMAD keys, by key."""
    epics = await uow.session.scalars(select(EpicRow).where(EpicRow.key.in_(epic_keys)))
    stories = await uow.session.scalars(select(StoryRow).where(StoryRow.key.in_(story_keys)))
    return {row.key or "": row for row in epics}, {row.key or "": row for row in stories}


def add(uow: UnitOfWork, row: EpicRow | StoryRow) -> None:
    """Stage a new epic, or a story without labels; it is written with the unit of work."""
    uow.session.add(row)


async def add_story(uow: UnitOfWork, row: StoryRow, labels: Iterable[str] = ()) -> None:
    """Stage a new story with its labels."""
    uow.session.add(row)
    # Without a relationship() the flush does not know labels must follow the story.
    await uow.session.flush()
    uow.session.add_all(StoryLabelRow(story_id=row.id, label=label) for label in labels)


async def delete_story(uow: UnitOfWork, story_id: str) -> None:
    """Delete a story and its labels."""
    await uow.session.execute(delete(StoryLabelRow).where(StoryLabelRow.story_id == story_id))
    await uow.session.execute(delete(StoryRow).where(StoryRow.id == story_id))


async def change_labels(
    uow: UnitOfWork, story_id: str, removed: Iterable[str], added: Iterable[str]
) -> None:
    """Remove the labels ``removed`` from a story and add ``added``."""
    gone = set(removed)
    if gone:
        await uow.session.execute(
            delete(StoryLabelRow).where(
                StoryLabelRow.story_id == story_id, StoryLabelRow.label.in_(gone)
            )
        )
    uow.session.add_all(StoryLabelRow(story_id=story_id, label=label) for label in sorted(added))


# --- rows <-> domain objects ---------------------------------------------------------


def to_epic(row: EpicRow, counts: dict[StoryStatus, int]) -> Epic:
    """The epic stored in ``row``; ``counts`` are its stories per status (missing → 0)."""
    return Epic(
        id=row.id,
        key=row.key,
        title=row.title,
        description=row.description,
        status=EpicStatus(row.status),
        source=row.source,
        created_at=row.created_at,
        updated_at=row.updated_at,
        story_counts={status: counts.get(status, 0) for status in StoryStatus},
    )


def to_story(row: StoryRow, labels: tuple[str, ...]) -> Story:
    """The story stored in ``row``; labels live in their own table, so the caller brings them."""
    return Story(
        id=row.id,
        key=row.key,
        epic_id=row.epic_id,
        title=row.title,
        description=row.description,
        acceptance_criteria=criteria_of(row),
        status=StoryStatus(row.status),
        priority=Priority(row.priority),
        labels=labels,
        assignee=row.assignee,
        branch=row.branch,
        pr_url=row.pr_url,
        source=row.source,
        created_at=row.created_at,
        updated_at=row.updated_at,
        depends_on=tuple(row.depends_on or ()),
        blocked_reason=row.blocked_reason,
    )


def criteria_of(row: StoryRow) -> tuple[AcceptanceCriterion, ...]:
    return tuple(
        AcceptanceCriterion(text=str(item["text"]), done=bool(item.get("done", False)))
        for item in row.acceptance_criteria or []
    )


def criteria_json(criteria: Iterable[AcceptanceCriterion]) -> list[dict[str, Any]]:
    """The stored form of ``criteria``, for ``StoryRow.acceptance_criteria``."""
    return [{"text": item.text, "done": item.done} for item in criteria]


def assign(row: EpicRow | StoryRow, **values: Any) -> list[str]:
    """Set the attributes that differ; returns their names."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed
