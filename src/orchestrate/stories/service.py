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

The BMAD import is its own module, ``importing.py``; ``import_bmad`` is re-exported
here because this module is the capability's API.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import Page, check_page_size, page_of
from orchestrate.core.uow import UnitOfWork
from orchestrate.stories import _store as store
from orchestrate.stories import story_file
from orchestrate.stories._store import (
    assign,
    criteria_json,
    epic_row,
    labels_of,
    resolve_epic_id,
    story_counts,
    story_row,
    to_epic,
    to_story,
)
from orchestrate.stories.events import (
    EpicCreated,
    EpicStatusChanged,
    EpicUpdated,
    StoryCreated,
    StoryDeleted,
    StoryStatusChanged,
    StoryUpdated,
)
from orchestrate.stories.importing import import_bmad
from orchestrate.stories.models import (
    MAX_DEPENDENCIES,
    UNSET,
    Epic,
    EpicChanges,
    EpicOutline,
    EpicOverview,
    EpicStatus,
    Priority,
    Story,
    StoryChanges,
    StoryDraft,
    StoryStatus,
    allowed_transitions,
    check_transition,
    clean_blocked_reason,
    clean_criteria,
    clean_optional_text,
    clean_title,
    dependency_order,
    find_dependency_cycle,
    normalise_label,
    normalise_labels,
)
from orchestrate.stories.tables import EpicRow, StoryRow
from orchestrate.stories.work import (  # re-exported: part of the API
    agent_assignee,
    block_story,
    complete_story,
    record_pull_request,
    record_pull_request_merged,
    release_story,
    start_work_on_story,
    story_for_agent,
    submit_story_for_review,
)

__all__ = [
    "StoryDraft",
    "StoryStatus",
    "agent_assignee",
    "allowed_transitions",
    "block_story",
    "clean_blocked_reason",
    "complete_story",
    "count_stories",
    "create_epic",
    "create_story",
    "delete_story",
    "dependency_order",
    "epic_outline",
    "epic_overview",
    "epic_titles",
    "get_epic",
    "get_epic_stories",
    "get_stories",
    "get_story",
    "import_bmad",
    "list_epics",
    "list_stories",
    "record_pull_request",
    "record_pull_request_merged",
    "release_story",
    "start_work_on_story",
    "story_draft_from_file",
    "story_for_agent",
    "submit_story_for_review",
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
        store.add(uow, row)
        await auth.record_audit(uow, actor, "epic.create", row.id, {"title": title})
        record_event(uow, EpicCreated(subject=row.id, title=title, status=status.value))
        await uow.commit()
        return to_epic(row, {})


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
        row = await epic_row(uow, ref)
        previous_status = row.status
        changed = assign(row, **values)
        counts = (await story_counts(uow, [row.id])).get(row.id, {})
        if changed:
            if row.status != previous_status:
                moved = EpicStatusChanged(subject=row.id, from_=previous_status, to=row.status)
                record_event(uow, moved)
            row.updated_at = uow.now()
            await auth.record_audit(uow, actor, "epic.update", row.id, {"fields": changed})
            record_event(uow, EpicUpdated(subject=row.id, fields=changed))
            await uow.commit()
        return to_epic(row, counts)


async def get_epic(uow: UnitOfWork, ref: str) -> Epic:
    """An epic by id or BMAD key (``"1"``), with how many of its stories are in each status."""
    async with uow:
        row = await epic_row(uow, ref)
        return to_epic(row, (await story_counts(uow, [row.id])).get(row.id, {}))


async def list_epics(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[Epic]:
    """Epics, newest first."""
    check_page_size(limit)
    async with uow:
        rows = await store.epic_page(uow, limit, cursor)
        page, next_cursor = page_of(rows, limit)
        counts = await story_counts(uow, [row.id for row in page])
        return Page([to_epic(row, counts.get(row.id, {})) for row in page], next_cursor)


async def epic_overview(uow: UnitOfWork, ref: str) -> EpicOverview:
    """An epic with all its stories, oldest first (imported stories keep their file order)."""
    async with uow:
        row = await epic_row(uow, ref)
        story_rows = await store.stories_of_epic(uow, row.id)
        labels = await labels_of(uow, [story.id for story in story_rows])
        stories = tuple(to_story(story, labels.get(story.id, ())) for story in story_rows)
        counts: dict[StoryStatus, int] = defaultdict(int)
        for story in stories:
            counts[story.status] += 1
        return EpicOverview(epic=to_epic(row, counts), stories=stories)


async def epic_outline(uow: UnitOfWork, ref: str) -> EpicOutline:
    """An epic with the outline of every story of it (id, status, dependencies), oldest
    first: what ordering and counting them needs, without reading each story whole.

    For a page that shows a window of a large epic: it orders the outlines, then reads
    the stories it shows with ``get_epic_stories``.
    """
    async with uow:
        row = await epic_row(uow, ref)
        outlines = await store.story_outlines(uow, row.id)
        counts = Counter(story.status for story in outlines)
        return EpicOutline(epic=to_epic(row, counts), stories=tuple(outlines))


async def get_epic_stories(
    uow: UnitOfWork, epic_id: str, story_ids: Iterable[str]
) -> dict[str, Story]:
    """The stories of the epic (by id, not BMAD key) among ``story_ids``, with their
    labels, by id; an id that is not, or no longer, a story of the epic is left out."""
    wanted = set(story_ids)
    async with uow:
        rows = await store.stories_in_epic(uow, epic_id, wanted)
        labels = await labels_of(uow, [row.id for row in rows])
        return {row.id: to_story(row, labels.get(row.id, ())) for row in rows}


# --- stories -----------------------------------------------------------------------


async def create_story(uow: UnitOfWork, draft: StoryDraft, actor: Actor) -> Story:
    """Add a story to the backlog; ``draft.epic_id`` may be an epic's id or BMAD key.

    A draft with an ``origin_key`` already used gives back the story made from it.
    """
    story, _ = await create_story_once(uow, draft, actor)
    return story


async def create_story_once(uow: UnitOfWork, draft: StoryDraft, actor: Actor) -> tuple[Story, bool]:
    """The story and whether it was created now (False: its ``origin_key`` was taken).

    The unique ``origin_key`` decides, not the lookup before the insert: of two
    transactions creating from one origin at the same moment, the one that commits
    second hits the index, rolls back and reads the winner's story.
    """
    auth.authorize(actor, Permission.WRITE)
    title = clean_title(draft.title)
    criteria = clean_criteria(draft.acceptance_criteria)
    labels = normalise_labels(draft.labels)
    assignee = clean_optional_text("assignee", draft.assignee)
    if draft.origin_key is not None:
        existing = await _story_with_origin(uow.sibling(read_only=True), draft.origin_key)
        if existing is not None:
            return existing, False
    try:
        async with uow:
            epic_id = await resolve_epic_id(uow, draft.epic_id)
            now = uow.now()
            row = StoryRow(
                id=new_id("story", now),
                key=None,
                epic_id=epic_id,
                title=title,
                description=draft.description.strip(),
                acceptance_criteria=criteria_json(criteria),
                status=StoryStatus.BACKLOG.value,
                priority=draft.priority.value,
                assignee=assignee,
                branch=None,
                pr_url=None,
                source=draft.source,
                origin_key=draft.origin_key,
                created_at=now,
                updated_at=now,
            )
            await store.add_story(uow, row, labels)
            details = {"title": title, "epic_id": epic_id}
            await auth.record_audit(uow, actor, "story.create", row.id, details)
            record_event(
                uow,
                StoryCreated(subject=row.id, title=title, epic_id=epic_id, status=row.status),
            )
            await uow.commit()
            return to_story(row, labels), True
    except IntegrityError:
        if draft.origin_key is None:
            raise
        winner = await _story_with_origin(uow.sibling(read_only=True), draft.origin_key)
        if winner is None:  # the other transaction's story was deleted meanwhile
            raise
        return winner, False


async def _story_with_origin(uow: UnitOfWork, origin_key: str) -> Story | None:
    async with uow:
        row = await store.story_with_origin(uow, origin_key)
        if row is None:
            return None
        return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


def story_draft_from_file(path: Path) -> StoryDraft:
    """A draft from a single-story markdown file (see ``story_file.parse_story_file``)."""
    parsed = story_file.read_story_file(path)
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
        row = await story_row(uow, ref)
        labels = (await labels_of(uow, [row.id])).get(row.id, ())
        previous_status = StoryStatus(row.status)
        if changes.status is not UNSET and check_transition(
            previous_status, changes.status, subject=f"story {row.key or row.id}"
        ):
            row.status = changes.status.value
            if changes.status is not StoryStatus.BLOCKED:
                row.blocked_reason = None
        changed = await _apply_changes(uow, row, changes)
        new_labels = _next_labels(labels, changes)
        if new_labels != labels:
            await _replace_labels(uow, row.id, labels, new_labels)
            changed.append("labels")
        details: dict[str, Any] = {"fields": changed}
        if row.status != previous_status:
            details["status"] = {"from": previous_status.value, "to": row.status}
            moved = StoryStatusChanged(
                subject=row.id, from_=previous_status.value, to=row.status, reason="manual"
            )
            record_event(uow, moved)
        if changed:
            record_event(uow, StoryUpdated(subject=row.id, fields=changed))
        if changed or "status" in details:
            row.updated_at = uow.now()
            await auth.record_audit(uow, actor, "story.update", row.id, details)
            await uow.commit()
        return to_story(row, new_labels)


async def get_story(uow: UnitOfWork, ref: str) -> Story:
    """A story by id or by BMAD key (``"1.2"``)."""
    async with uow:
        row = await story_row(uow, ref)
        return to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))


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
    wanted_label = None if label is None else normalise_label(label)
    async with uow:
        rows = await store.story_page(
            uow,
            status=status,
            epic_ref=epic_id,
            label=wanted_label,
            assignee=assignee,
            limit=limit,
            cursor=cursor,
        )
        page, next_cursor = page_of(rows, limit)
        labels = await labels_of(uow, [row.id for row in page])
        return Page([to_story(row, labels.get(row.id, ())) for row in page], next_cursor)


async def count_stories(
    uow: UnitOfWork,
    *,
    epic_id: str | None = None,
    label: str | None = None,
    assignee: str | None = None,
) -> dict[StoryStatus, int]:
    """How many stories match the filters of ``list_stories`` in each status, every
    status present: a board's column headings, one grouped count instead of a page each."""
    wanted_label = None if label is None else normalise_label(label)
    async with uow:
        found = await store.status_counts(
            uow, epic_ref=epic_id, label=wanted_label, assignee=assignee
        )
    return {status: found.get(status, 0) for status in StoryStatus}


async def get_stories(uow: UnitOfWork, refs: Iterable[str]) -> list[Story]:
    """The stories named by id or BMAD key that exist, each once, in the order named: a
    story's dependencies in one read rather than one each (unknown ones are left out)."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return []
    async with uow:
        found = await store.story_ids_by_ref(uow, wanted)
        labels = await labels_of(uow, [row.id for row in found.values()])
    stories: dict[str, Story] = {}
    for ref in wanted:
        row = found.get(ref)
        if row is not None and row.id not in stories:
            stories[row.id] = to_story(row, labels.get(row.id, ()))
    return list(stories.values())


async def epic_titles(uow: UnitOfWork, epic_ids: Iterable[str]) -> dict[str, str]:
    """The titles of these epics by id (unknown ids left out): what a list of stories
    shows for each story's epic, without reading every epic and its counts."""
    wanted = set(epic_ids)
    async with uow:
        return await store.epic_titles(uow, wanted)


async def delete_story(uow: UnitOfWork, ref: str, actor: Actor) -> Story:
    """Delete a story and its labels for good; returns what was deleted."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await story_row(uow, ref)
        story = to_story(row, (await labels_of(uow, [row.id])).get(row.id, ()))
        await store.delete_story(uow, row.id)
        details = {"key": story.key, "title": story.title}
        await auth.record_audit(uow, actor, "story.delete", story.id, details)
        record_event(uow, StoryDeleted(subject=story.id, key=story.key, title=story.title))
        await uow.commit()
        return story


# --- updates -----------------------------------------------------------------------


async def _apply_changes(uow: UnitOfWork, row: StoryRow, changes: StoryChanges) -> list[str]:
    """Validate and set every field of ``changes`` except status and labels."""
    values: dict[str, Any] = {}
    if changes.title is not UNSET:
        values["title"] = clean_title(changes.title)
    if changes.description is not UNSET:
        values["description"] = changes.description.strip()
    if changes.acceptance_criteria is not UNSET:
        values["acceptance_criteria"] = criteria_json(clean_criteria(changes.acceptance_criteria))
    if changes.priority is not UNSET:
        values["priority"] = changes.priority.value
    for name in ("assignee", "branch", "pr_url"):
        value = getattr(changes, name)
        if value is not UNSET:
            values[name] = clean_optional_text(name, value)
    if changes.epic_id is not UNSET:
        values["epic_id"] = await resolve_epic_id(uow, changes.epic_id)
    if changes.depends_on is not UNSET:
        values["depends_on"] = list(await _dependency_ids(uow, row, changes.depends_on)) or None
    changed = assign(row, **values)
    if "epic_id" in changed and "depends_on" not in changed and row.depends_on:
        raise ValidationFailed(
            "A story that depends on other stories cannot move to another epic; clear "
            "its dependencies first (--depends-on '')",
            field="epic_id",
        )
    if "depends_on" in changed:
        await _check_no_cycle(uow, row)
    return changed


async def _dependency_ids(uow: UnitOfWork, row: StoryRow, refs: Iterable[str]) -> tuple[str, ...]:
    """The ids of the stories ``refs`` names, checked: known, of the story's own epic,
    not the story itself; in the order given, without duplicates."""
    wanted = list(dict.fromkeys(ref.strip() for ref in refs if ref.strip()))
    if len(wanted) > MAX_DEPENDENCIES:
        raise ValidationFailed(
            f"A story may depend on at most {MAX_DEPENDENCIES} stories", field="depends_on"
        )
    if wanted and row.epic_id is None:
        raise ValidationFailed(
            "Only a story of an epic can depend on other stories (of the same epic); "
            "set --epic first",
            field="depends_on",
        )
    found = await store.story_ids_by_ref(uow, wanted)
    ids: list[str] = []
    for ref in wanted:
        dependency = found.get(ref)
        if dependency is None:
            raise ValidationFailed(
                f"Unknown story {ref!r} in depends_on; use a story id or BMAD key from "
                "'orchestrate story list'",
                field="depends_on",
            )
        if dependency.id == row.id:
            raise ValidationFailed("A story cannot depend on itself", field="depends_on")
        if dependency.epic_id != row.epic_id:
            raise ValidationFailed(
                f"Story {dependency.key or dependency.id} is not in this story's epic; a "
                "story may depend only on stories of its own epic",
                field="depends_on",
            )
        if dependency.id not in ids:
            ids.append(dependency.id)
    return tuple(ids)


async def _check_no_cycle(uow: UnitOfWork, row: StoryRow) -> None:
    if row.epic_id is None or not row.depends_on:
        return
    siblings = await store.stories_of_epic(uow, row.epic_id)
    graph = {story.id: list(story.depends_on or ()) for story in siblings}
    graph[row.id] = list(row.depends_on)
    cycle = find_dependency_cycle(graph)
    if cycle is not None:
        names = {story.id: story.key or story.id for story in siblings}
        raise ValidationFailed(
            "That would make stories depend on each other in a cycle: "
            + " → ".join(names.get(node, node) for node in cycle),
            field="depends_on",
        )


def _next_labels(current: tuple[str, ...], changes: StoryChanges) -> tuple[str, ...]:
    labels = set(current if changes.labels is UNSET else normalise_labels(changes.labels))
    labels |= set(normalise_labels(changes.add_labels))
    labels -= set(normalise_labels(changes.remove_labels))
    return tuple(sorted(labels))


async def _replace_labels(
    uow: UnitOfWork, story_id: str, old: Iterable[str], new: Iterable[str]
) -> None:
    await store.change_labels(uow, story_id, set(old) - set(new), set(new) - set(old))
