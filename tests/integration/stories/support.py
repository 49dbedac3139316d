"""Builders and readers shared by the stories integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor
from orchestrate.core.events import Event, EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service
from orchestrate.stories.models import AcceptanceCriterion, Story, StoryDraft
from orchestrate.stories.tables import EpicRow, StoryLabelRow, StoryRow

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bmad"


async def make_story(
    runtime: Runtime, actor: Actor, title: str = "Sign up", **fields: Any
) -> Story:
    criteria = tuple(AcceptanceCriterion(text) for text in fields.pop("criteria", ()))
    draft = StoryDraft(title=title, acceptance_criteria=criteria, **fields)
    return await service.create_story(runtime.uow(), draft, actor)


async def events_about(runtime: Runtime, subject: str) -> list[Event]:
    async with runtime.uow(read_only=True) as uow:
        return list(await read_events(uow.session, only=EventFilter(subject=subject), limit=1000))


async def audit_actions(runtime: Runtime, subject: str | None = None) -> list[str]:
    page = await auth.list_audit(runtime.uow(read_only=True), subject=subject, limit=500)
    return [record.action for record in reversed(page.items)]


async def row_counts(runtime: Runtime) -> tuple[int, int, int]:
    """How many epics, stories and labels are stored."""
    async with runtime.uow(read_only=True) as uow:
        counts = []
        for table in (EpicRow, StoryRow, StoryLabelRow):
            counts.append(await uow.session.scalar(select(func.count()).select_from(table)) or 0)
        return counts[0], counts[1], counts[2]


def copy_project(tmp_path: Path) -> Path:
    """A writable copy of the realistic BMAD folder, for tests that edit it."""
    target = tmp_path / "bmad"
    shutil.copytree(FIXTURES / "project", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
