"""Rows ↔ domain objects: read a stored epic or story as a value, write values back.

``EpicRow``/``StoryRow`` keep acceptance criteria as a JSON list of ``{"text", "done"}``
objects and statuses as plain strings; this module is the one place that knows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestrate.stories.models import (
    AcceptanceCriterion,
    Epic,
    EpicStatus,
    Priority,
    Story,
    StoryStatus,
)
from orchestrate.stories.tables import EpicRow, StoryRow


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
