"""What an event is: a typed, versioned declaration, and the stored row read back.

Each capability declares its events in its own ``events.py`` as subclasses of
:class:`DomainEvent` with a wire type (``pipeline.run.failure``), a schema version and
typed payload fields. Declaring a subclass registers its wire type, so a reader can turn
a stored :class:`Event` back into the typed event with :func:`decode`; an unknown type,
another schema version or a payload that no longer validates degrades to the stored
event itself, never an exception: the log outlives the code that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_REGISTRY: dict[str, type[DomainEvent]] = {}


class DomainEvent(BaseModel):
    """One fact a capability announces; ``subject`` is the id it is about.

    Subclasses set ``event_type`` (the wire type, kept stable for readers) and bump
    ``schema_version`` when they change a payload field incompatibly.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    subject: str = Field(exclude=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        wire = cls.__dict__.get("event_type")
        if wire is None:
            return  # an abstract base shared by several events
        known = _REGISTRY.get(wire)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"event type {wire!r} is declared twice: {known} and {cls}")
        _REGISTRY[wire] = cls

    def payload(self) -> dict[str, Any]:
        """The stored payload: JSON values by their wire names, unset optionals left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class Event:
    """One stored event as every reader sees it: the generic form of any ``DomainEvent``."""

    id: int
    type: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime
    version: int = 1

    def as_json(self) -> dict[str, Any]:
        """The shape of an event in the API, the stream and ``events tail --json``."""
        return {
            "id": self.id,
            "type": self.type,
            "subject": self.subject,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "payload": self.payload,
        }


def decode(event: Event) -> DomainEvent | Event:
    """The typed event a stored one was written as, or the stored event when it cannot be.

    Only the exact schema version is decoded: an older or newer payload may mean
    something else, and a reader that needs it can still read the generic form.
    """
    declared = _REGISTRY.get(event.type)
    if declared is None or declared.schema_version != event.version:
        return event
    try:
        return declared.model_validate({**event.payload, "subject": event.subject})
    except ValidationError:
        return event


def declared_types() -> dict[str, type[DomainEvent]]:
    """Every wire type declared by the modules imported so far."""
    return dict(_REGISTRY)
