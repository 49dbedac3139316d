"""Event types the tests record: typed like a capability's, under ``test.*``."""

from __future__ import annotations

from typing import Any, ClassVar

from orchestrate.core.events import DomainEvent


class Ticked(DomainEvent):
    event_type: ClassVar[str] = "test.tick"
    n: int = 0


class Logged(DomainEvent):
    event_type: ClassVar[str] = "test.logged"
    line: str
    nested: list[dict[str, Any]] = []
    n: int = 0


class EffectHappened(DomainEvent):
    event_type: ClassVar[str] = "test.effect"
    worker: int | None = None


class Renamed(DomainEvent):
    """A version-2 event, to show that other versions read back as generic events."""

    event_type: ClassVar[str] = "test.renamed"
    schema_version: ClassVar[int] = 2
    name: str
