"""The events of epics and stories (subject: their id) and of imports (subject: the path)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from orchestrate.core.events import DomainEvent


class EpicCreated(DomainEvent):
    event_type: ClassVar[str] = "epic.created"
    title: str
    status: str | None = None
    key: str | None = None
    """The epic's key in the BMAD files it was imported from."""


class EpicUpdated(DomainEvent):
    event_type: ClassVar[str] = "epic.updated"
    fields: list[str]
    reason: str | None = None
    """``import`` when a BMAD import changed it."""


class EpicStatusChanged(DomainEvent):
    event_type: ClassVar[str] = "epic.status_changed"
    from_: str = Field(alias="from")
    to: str


class StoryCreated(DomainEvent):
    event_type: ClassVar[str] = "story.created"
    title: str
    status: str
    epic_id: str | None = None
    key: str | None = None


class StoryUpdated(DomainEvent):
    event_type: ClassVar[str] = "story.updated"
    fields: list[str]
    reason: str | None = None


class StoryStatusChanged(DomainEvent):
    """``reason``: ``manual``, ``import``, ``agent`` (then ``agent_id`` says which, and
    ``detail`` why an agent gave the story back: what it reported blocked it, or how it
    ended) or ``pull_request`` (its pull request was merged; ``detail`` names it)."""

    event_type: ClassVar[str] = "story.status_changed"
    from_: str = Field(alias="from")
    to: str
    reason: str
    agent_id: str | None = None
    detail: str | None = None


class StoryDeleted(DomainEvent):
    event_type: ClassVar[str] = "story.deleted"
    title: str
    key: str | None = None


class StoriesImported(DomainEvent):
    """A BMAD import ran; the subject is the imported path."""

    event_type: ClassVar[str] = "story.imported"
    path: str
    epics_created: int = 0
    epics_updated: int = 0
    epics_unchanged: int = 0
    stories_created: int = 0
    stories_updated: int = 0
    stories_unchanged: int = 0
