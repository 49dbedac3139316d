"""Use cases of epics and stories: create, change, read, delete, and import BMAD markdown.

Every mutation checks that the actor may write, then records an audit entry and an
event in the same transaction as the change, so both exist exactly when the change
was committed. Story status changes go through ``models.check_transition``.

Errors a caller sees:

- a story or epic addressed by id or BMAD key that does not exist → ``NotFound``;
- a story that *refers* to an unknown epic (``epic_id`` in a create or update) →
  ``ValidationFailed`` on the field ``epic_id``: the request names a thing that is
  not there, but what is wrong is a value in the body, not the resource addressed;
- a status move the state machine refuses → ``InvalidTransition``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import Page, TimeCursor, check_page_size
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories import bmad
from orchestrate.stories.models import (
    UNSET,
    AcceptanceCriterion,
    Epic,
    EpicChanges,
    EpicOverview,
    EpicStatus,
    ImportSummary,
    Priority,
    Story,
    StoryChanges,
    StoryDraft,
    StoryStatus,
    all_checked,
    check_transition,
    clean_criteria,
    clean_optional_text,
    clean_title,
    normalise_label,
    normalise_labels,
)
from orchestrate.stories.tables import EpicRow, StoryLabelRow, StoryRow

_Row = TypeVar("_Row", EpicRow, StoryRow)

__all__ = [
    "create_epic",
    "create_story",
    "delete_story",
    "epic_overview",
    "get_epic",
    "get_story",
    "import_bmad",
    "list_epics",
    "list_stories",
    "story_draft_from_file",
    "update_epic",
    "update_story",
]


# --- epics -------------------------------------------------------------------------


async def create_epic(
    uow: UnitOfWork,
    title: str,
    actor: Actor,
    *,
    description: str = "",
    status: EpicStatus = EpicStatus.OPEN,
) -> Epic:
    auth.authorize(actor, Permission.WRITE)
    title = clean_title(title)
    async with uow:
        now = uow.now()
        row = EpicRow(
            id=new_id("epic", now),
            key=None,
            title=title,
            description=description.strip(),
            status=status.value,
            source=None,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await auth.record_audit(uow, actor, "epic.create", row.id, {"title": title})
        record_event(uow, "epic.created", row.id, {"title": title, "status": status.value})
        await uow.commit()
        return _to_epic(row, {})


async def update_epic(uow: UnitOfWork, ref: str, changes: EpicChanges, actor: Actor) -> Epic:
    """Change an epic's title, description or status (any status may follow any other)."""
    auth.authorize(actor, Permission.WRITE)
    values: dict[str, Any] = {}
    if changes.title is not UNSET:
        values["title"] = clean_title(changes.title)
    if changes.description is not UNSET:
        values["description"] = changes.description.strip()
    if changes.status is not UNSET:
        values["status"] = changes.status.value
    async with uow:
        row = await _epic_row(uow, ref)
        previous_status = row.status
        changed = _assign(row, **values)
        counts = (await _story_counts(uow, [row.id])).get(row.id, {})
        if changed:
            if row.status != previous_status:
                moved = {"from": previous_status, "to": row.status}
                record_event(uow, "epic.status_changed", row.id, moved)
            row.updated_at = uow.now()
            await auth.record_audit(uow, actor, "epic.update", row.id, {"fields": changed})
            record_event(uow, "epic.updated", row.id, {"fields": changed})
            await uow.commit()
        return _to_epic(row, counts)


async def get_epic(uow: UnitOfWork, ref: str) -> Epic:
    """An epic by id or BMAD key (``"1"``), with how many of its stories are in each status."""
    async with uow:
        row = await _epic_row(uow, ref)
        return _to_epic(row, (await _story_counts(uow, [row.id])).get(row.id, {}))


async def list_epics(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[Epic]:
    """Epics, newest first."""
    check_page_size(limit)
    query = _newest_first(select(EpicRow), EpicRow, limit, cursor)
    async with uow:
        rows = list(await uow.session.scalars(query))
        page, next_cursor = _page_of(rows, limit)
        counts = await _story_counts(uow, [row.id for row in page])
        return Page([_to_epic(row, counts.get(row.id, {})) for row in page], next_cursor)


async def epic_overview(uow: UnitOfWork, ref: str) -> EpicOverview:
    """An epic with all its stories, oldest first (imported stories keep their file order)."""
    async with uow:
        row = await _epic_row(uow, ref)
        query = (
            select(StoryRow)
            .where(StoryRow.epic_id == row.id)
            .order_by(StoryRow.created_at, StoryRow.id)
        )
        story_rows = list(await uow.session.scalars(query))
        labels = await _labels_of(uow, [story.id for story in story_rows])
        stories = tuple(_to_story(story, labels.get(story.id, ())) for story in story_rows)
        counts: dict[StoryStatus, int] = defaultdict(int)
        for story in stories:
            counts[story.status] += 1
        return EpicOverview(epic=_to_epic(row, counts), stories=stories)


# --- stories -----------------------------------------------------------------------


async def create_story(uow: UnitOfWork, draft: StoryDraft, actor: Actor) -> Story:
    """Add a story to the backlog; ``draft.epic_id`` may be an epic's id or BMAD key."""
    auth.authorize(actor, Permission.WRITE)
    title = clean_title(draft.title)
    criteria = clean_criteria(draft.acceptance_criteria)
    labels = normalise_labels(draft.labels)
    assignee = clean_optional_text("assignee", draft.assignee)
    async with uow:
        epic_id = await _resolve_epic_id(uow, draft.epic_id)
        now = uow.now()
        row = StoryRow(
            id=new_id("story", now),
            key=None,
            epic_id=epic_id,
            title=title,
            description=draft.description.strip(),
            acceptance_criteria=_criteria_json(criteria),
            status=StoryStatus.BACKLOG.value,
            priority=draft.priority.value,
            assignee=assignee,
            branch=None,
            pr_url=None,
            source=None,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        # Without a relationship() the flush does not know labels must follow the story.
        await uow.session.flush()
        uow.session.add_all(StoryLabelRow(story_id=row.id, label=label) for label in labels)
        details = {"title": title, "epic_id": epic_id}
        await auth.record_audit(uow, actor, "story.create", row.id, details)
        record_event(uow, "story.created", row.id, {**details, "status": row.status})
        await uow.commit()
        return _to_story(row, labels)


def story_draft_from_file(path: Path) -> StoryDraft:
    """A draft from a single-story markdown file (see ``bmad.parse_story_file``)."""
    parsed = bmad.read_story_file(path)
    return StoryDraft(
        title=parsed.title,
        description=parsed.description,
        epic_id=parsed.epic,
        acceptance_criteria=parsed.acceptance_criteria,
        priority=parsed.priority or Priority.MEDIUM,
        labels=parsed.labels or (),
        assignee=parsed.assignee,
    )


async def update_story(uow: UnitOfWork, ref: str, changes: StoryChanges, actor: Actor) -> Story:
    """Apply a partial update; a status change must be allowed by the state machine."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await _story_row(uow, ref)
        labels = (await _labels_of(uow, [row.id])).get(row.id, ())
        previous_status = StoryStatus(row.status)
        if changes.status is not UNSET and check_transition(
            previous_status, changes.status, subject=f"story {row.key or row.id}"
        ):
            row.status = changes.status.value
        changed = await _apply_changes(uow, row, changes)
        new_labels = _next_labels(labels, changes)
        if new_labels != labels:
            await _replace_labels(uow, row.id, labels, new_labels)
            changed.append("labels")
        details: dict[str, Any] = {"fields": changed}
        if row.status != previous_status:
            details["status"] = {"from": previous_status.value, "to": row.status}
            moved = {**details["status"], "reason": "manual"}
            record_event(uow, "story.status_changed", row.id, moved)
        if changed:
            record_event(uow, "story.updated", row.id, {"fields": changed})
        if changed or "status" in details:
            row.updated_at = uow.now()
            await auth.record_audit(uow, actor, "story.update", row.id, details)
            await uow.commit()
        return _to_story(row, new_labels)


async def get_story(uow: UnitOfWork, ref: str) -> Story:
    """A story by id or by BMAD key (``"1.2"``)."""
    async with uow:
        row = await _story_row(uow, ref)
        return _to_story(row, (await _labels_of(uow, [row.id])).get(row.id, ()))


async def list_stories(
    uow: UnitOfWork,
    *,
    status: StoryStatus | None = None,
    epic_id: str | None = None,
    label: str | None = None,
    assignee: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Story]:
    """Stories newest first; ``epic_id`` may be an id or BMAD key, ``label`` is normalised."""
    check_page_size(limit)
    query = _newest_first(select(StoryRow), StoryRow, limit, cursor)
    if status is not None:
        query = query.where(StoryRow.status == status.value)
    if epic_id is not None:
        epic_ids = select(EpicRow.id).where(or_(EpicRow.id == epic_id, EpicRow.key == epic_id))
        query = query.where(StoryRow.epic_id.in_(epic_ids))
    if label is not None:
        labelled = select(StoryLabelRow.story_id).where(
            StoryLabelRow.label == normalise_label(label)
        )
        query = query.where(StoryRow.id.in_(labelled))
    if assignee is not None:
        query = query.where(StoryRow.assignee == assignee)
    async with uow:
        rows = list(await uow.session.scalars(query))
        page, next_cursor = _page_of(rows, limit)
        labels = await _labels_of(uow, [row.id for row in page])
        return Page([_to_story(row, labels.get(row.id, ())) for row in page], next_cursor)


async def delete_story(uow: UnitOfWork, ref: str, actor: Actor) -> Story:
    """Delete a story and its labels for good; returns what was deleted."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await _story_row(uow, ref)
        story = _to_story(row, (await _labels_of(uow, [row.id])).get(row.id, ()))
        await uow.session.execute(delete(StoryLabelRow).where(StoryLabelRow.story_id == row.id))
        await uow.session.execute(delete(StoryRow).where(StoryRow.id == row.id))
        details = {"key": story.key, "title": story.title}
        await auth.record_audit(uow, actor, "story.delete", story.id, details)
        record_event(uow, "story.deleted", story.id, details)
        await uow.commit()
        return story


# --- BMAD import -------------------------------------------------------------------


async def import_bmad(uow: UnitOfWork, path: Path, actor: Actor) -> ImportSummary:
    """Import an epic file or a folder of ``epic-*.md`` files, all or nothing.

    Every file is parsed before anything is written, and everything is written in one
    transaction. Epics and stories are matched by their BMAD key, so importing again
    updates them instead of adding copies. Status follows the checkboxes, which is the
    one way around the state machine: all ticked → ``done``; a done story whose boxes
    were all ticked and are not any more → ``in_progress``; otherwise it is kept.
    Stored stories missing from the files are left alone.
    """
    auth.authorize(actor, Permission.WRITE)
    epics = bmad.read_epics(path)
    async with uow:
        run = _Import(uow)
        await run.load(epics)
        for epic in epics:
            epic_id = run.upsert_epic(epic)
            for story in epic.stories:
                run.upsert_story(story, epic_id, epic.file)
        summary = run.summary(tuple(epic.file for epic in epics))
        details = {"path": str(path), **run.counts}
        await auth.record_audit(uow, actor, "story.import", str(path), details)
        record_event(uow, "story.imported", str(path), details)
        try:
            await uow.commit()
        except IntegrityError:
            raise Conflict(
                f"Another import of the same epics ran at the same time; import {path} again",
                path=str(path),
            ) from None
        return summary


class _Import:
    """The state of one import: stored rows by key, the clock, and what changed."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.now = uow.now()
        self.created = 0
        self.epics: dict[str, EpicRow] = {}
        self.stories: dict[str, StoryRow] = {}
        self.counts: dict[str, int] = defaultdict(int)

    async def load(self, epics: Sequence[bmad.ParsedEpic]) -> None:
        epic_keys = [epic.key for epic in epics]
        story_keys = [story.key for epic in epics for story in epic.stories]
        session = self.uow.session
        for row in await session.scalars(select(EpicRow).where(EpicRow.key.in_(epic_keys))):
            self.epics[row.key or ""] = row
        for story in await session.scalars(select(StoryRow).where(StoryRow.key.in_(story_keys))):
            self.stories[story.key or ""] = story

    def _created_at(self) -> datetime:
        # One transaction, one "now": a microsecond apart per row keeps the file order
        # in newest-first lists instead of leaving it to the random part of the ids.
        self.created += 1
        return self.now + timedelta(microseconds=self.created)

    def upsert_epic(self, parsed: bmad.ParsedEpic) -> str:
        """Create or update the epic with ``parsed.key``; returns its id."""
        row = self.epics.get(parsed.key)
        if row is None:
            at = self._created_at()
            row = EpicRow(
                id=new_id("epic", at),
                key=parsed.key,
                title=parsed.title,
                description=parsed.description,
                status=EpicStatus.OPEN.value,
                source=parsed.file,
                created_at=at,
                updated_at=at,
            )
            self.uow.session.add(row)
            self.counts["epics_created"] += 1
            record_event(self.uow, "epic.created", row.id, {"title": row.title, "key": row.key})
            return row.id
        row.source = parsed.file
        fields = _assign(row, title=parsed.title, description=parsed.description)
        self._record_update("epic", row, fields)
        return row.id

    def upsert_story(self, parsed: bmad.ParsedStory, epic_id: str, file: str) -> None:
        row = self.stories.get(parsed.key)
        criteria = _criteria_json(parsed.acceptance_criteria)
        if row is None:
            at = self._created_at()
            row = StoryRow(
                id=new_id("story", at),
                key=parsed.key,
                epic_id=epic_id,
                title=parsed.title,
                description=parsed.description,
                acceptance_criteria=criteria,
                status=parsed.status.value,
                priority=Priority.MEDIUM.value,
                source=file,
                created_at=at,
                updated_at=at,
            )
            self.uow.session.add(row)
            self.counts["stories_created"] += 1
            details = {"title": row.title, "key": row.key, "status": row.status}
            record_event(self.uow, "story.created", row.id, details)
            return
        was_all_checked = all_checked(_criteria_of(row))
        row.source = file
        fields = _assign(
            row,
            title=parsed.title,
            description=parsed.description,
            acceptance_criteria=criteria,
            epic_id=epic_id,
        )
        status = _imported_status(StoryStatus(row.status), was_all_checked, parsed)
        if status.value != row.status:
            moved = {"from": row.status, "to": status.value, "reason": "import"}
            record_event(self.uow, "story.status_changed", row.id, moved)
            row.status = status.value
            fields.append("status")
        self._record_update("story", row, fields)

    def _record_update(self, kind: str, row: EpicRow | StoryRow, fields: list[str]) -> None:
        plural = "epics" if kind == "epic" else "stories"
        if not fields:
            self.counts[f"{plural}_unchanged"] += 1
            return
        row.updated_at = self.now
        self.counts[f"{plural}_updated"] += 1
        record_event(self.uow, f"{kind}.updated", row.id, {"fields": fields, "reason": "import"})

    def summary(self, files: tuple[str, ...]) -> ImportSummary:
        return ImportSummary(files=files, **self.counts)


def _imported_status(
    current: StoryStatus, was_all_checked: bool, parsed: bmad.ParsedStory
) -> StoryStatus:
    if all_checked(parsed.acceptance_criteria):
        return StoryStatus.DONE
    if current is StoryStatus.DONE and was_all_checked and parsed.acceptance_criteria:
        return StoryStatus.IN_PROGRESS
    return current


def _assign(row: EpicRow | StoryRow, **values: Any) -> list[str]:
    """Set the attributes that differ; returns their names."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


# --- shared helpers ----------------------------------------------------------------


async def _apply_changes(uow: UnitOfWork, row: StoryRow, changes: StoryChanges) -> list[str]:
    """Validate and set every field of ``changes`` except status and labels."""
    values: dict[str, Any] = {}
    if changes.title is not UNSET:
        values["title"] = clean_title(changes.title)
    if changes.description is not UNSET:
        values["description"] = changes.description.strip()
    if changes.acceptance_criteria is not UNSET:
        values["acceptance_criteria"] = _criteria_json(clean_criteria(changes.acceptance_criteria))
    if changes.priority is not UNSET:
        values["priority"] = changes.priority.value
    for name in ("assignee", "branch", "pr_url"):
        value = getattr(changes, name)
        if value is not UNSET:
            values[name] = clean_optional_text(name, value)
    if changes.epic_id is not UNSET:
        values["epic_id"] = await _resolve_epic_id(uow, changes.epic_id)
    return _assign(row, **values)


def _next_labels(current: tuple[str, ...], changes: StoryChanges) -> tuple[str, ...]:
    labels = set(current if changes.labels is UNSET else normalise_labels(changes.labels))
    labels |= set(normalise_labels(changes.add_labels))
    labels -= set(normalise_labels(changes.remove_labels))
    return tuple(sorted(labels))


async def _replace_labels(
    uow: UnitOfWork, story_id: str, old: Iterable[str], new: Iterable[str]
) -> None:
    removed, added = set(old) - set(new), set(new) - set(old)
    if removed:
        await uow.session.execute(
            delete(StoryLabelRow).where(
                StoryLabelRow.story_id == story_id, StoryLabelRow.label.in_(removed)
            )
        )
    uow.session.add_all(StoryLabelRow(story_id=story_id, label=label) for label in sorted(added))


async def _story_row(uow: UnitOfWork, ref: str) -> StoryRow:
    row = await uow.session.scalar(
        select(StoryRow).where(or_(StoryRow.id == ref, StoryRow.key == ref)).limit(1)
    )
    if row is None:
        raise NotFound(f"No story with id or key {ref!r}; see 'orchestrate story list'", story=ref)
    return row


async def _epic_row(uow: UnitOfWork, ref: str) -> EpicRow:
    row = await uow.session.scalar(
        select(EpicRow).where(or_(EpicRow.id == ref, EpicRow.key == ref)).limit(1)
    )
    if row is None:
        raise NotFound(f"No epic with id or key {ref!r}; see 'orchestrate epic list'", epic=ref)
    return row


async def _resolve_epic_id(uow: UnitOfWork, ref: str | None) -> str | None:
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


async def _labels_of(uow: UnitOfWork, story_ids: list[str]) -> dict[str, tuple[str, ...]]:
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


async def _story_counts(uow: UnitOfWork, epic_ids: list[str]) -> dict[str, dict[StoryStatus, int]]:
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


def _newest_first(
    query: Select[_Row], table: type[_Row], limit: int, cursor: str | None
) -> Select[_Row]:
    query = query.order_by(table.created_at.desc(), table.id.desc()).limit(limit + 1)
    if cursor:
        after = TimeCursor.decode(cursor)
        query = query.where(
            or_(
                table.created_at < after.created_at,
                and_(table.created_at == after.created_at, table.id < after.id),
            )
        )
    return query


def _page_of(rows: list[_Row], limit: int) -> tuple[list[_Row], str | None]:
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    next_cursor = TimeCursor(page[-1].created_at, page[-1].id).encode() if more else None
    return page, next_cursor


def _criteria_json(criteria: Iterable[AcceptanceCriterion]) -> list[dict[str, Any]]:
    return [{"text": item.text, "done": item.done} for item in criteria]


def _criteria_of(row: StoryRow) -> tuple[AcceptanceCriterion, ...]:
    return tuple(
        AcceptanceCriterion(text=str(item["text"]), done=bool(item.get("done", False)))
        for item in row.acceptance_criteria or []
    )


def _to_epic(row: EpicRow, counts: dict[StoryStatus, int]) -> Epic:
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


def _to_story(row: StoryRow, labels: tuple[str, ...]) -> Story:
    return Story(
        id=row.id,
        key=row.key,
        epic_id=row.epic_id,
        title=row.title,
        description=row.description,
        acceptance_criteria=_criteria_of(row),
        status=StoryStatus(row.status),
        priority=Priority(row.priority),
        labels=labels,
        assignee=row.assignee,
        branch=row.branch,
        pr_url=row.pr_url,
        source=row.source,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
