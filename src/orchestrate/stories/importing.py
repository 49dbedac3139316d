"""The BMAD import use case: epic markdown files in, epics and stories stored.

``service.import_bmad`` is this module's ``import_bmad``; callers outside the
capability use it through ``service``. The file format and the import rules are
described in ``docs/stories.md``; parsing lives in ``bmad.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import Conflict
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories import _store as store
from orchestrate.stories import bmad
from orchestrate.stories._store import assign, criteria_json, criteria_of
from orchestrate.stories.events import (
    EpicCreated,
    EpicUpdated,
    StoriesImported,
    StoryCreated,
    StoryStatusChanged,
    StoryUpdated,
)
from orchestrate.stories.models import (
    EpicStatus,
    ImportSummary,
    Priority,
    StoryStatus,
    all_checked,
)
from orchestrate.stories.tables import EpicRow, StoryRow

__all__ = ["import_bmad"]


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
        record_event(uow, StoriesImported(subject=str(path), path=str(path), **run.counts))
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
        self.epics, self.stories = await store.rows_by_key(self.uow, epic_keys, story_keys)

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
            store.add(self.uow, row)
            self.counts["epics_created"] += 1
            record_event(self.uow, EpicCreated(subject=row.id, title=row.title, key=row.key))
            return row.id
        row.source = parsed.file
        fields = assign(row, title=parsed.title, description=parsed.description)
        self._record_update("epic", row, fields)
        return row.id

    def upsert_story(self, parsed: bmad.ParsedStory, epic_id: str, file: str) -> None:
        row = self.stories.get(parsed.key)
        if row is None:
            self._create_story(parsed, epic_id, file)
            return
        was_all_checked = all_checked(criteria_of(row))
        row.source = file
        fields = assign(
            row,
            title=parsed.title,
            description=parsed.description,
            acceptance_criteria=criteria_json(parsed.acceptance_criteria),
            epic_id=epic_id,
        )
        status = _imported_status(StoryStatus(row.status), was_all_checked, parsed)
        if status.value != row.status:
            moved = StoryStatusChanged(
                subject=row.id, from_=row.status, to=status.value, reason="import"
            )
            record_event(self.uow, moved)
            row.status = status.value
            fields.append("status")
        self._record_update("story", row, fields)

    def _create_story(self, parsed: bmad.ParsedStory, epic_id: str, file: str) -> None:
        at = self._created_at()
        row = StoryRow(
            id=new_id("story", at),
            key=parsed.key,
            epic_id=epic_id,
            title=parsed.title,
            description=parsed.description,
            acceptance_criteria=criteria_json(parsed.acceptance_criteria),
            status=parsed.status.value,
            priority=Priority.MEDIUM.value,
            source=file,
            created_at=at,
            updated_at=at,
        )
        store.add(self.uow, row)
        self.counts["stories_created"] += 1
        created = StoryCreated(subject=row.id, title=row.title, key=row.key, status=row.status)
        record_event(self.uow, created)

    def _record_update(self, kind: str, row: EpicRow | StoryRow, fields: list[str]) -> None:
        plural = "epics" if kind == "epic" else "stories"
        if not fields:
            self.counts[f"{plural}_unchanged"] += 1
            return
        row.updated_at = self.now
        self.counts[f"{plural}_updated"] += 1
        updated = EpicUpdated if kind == "epic" else StoryUpdated
        record_event(self.uow, updated(subject=row.id, fields=fields, reason="import"))

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
