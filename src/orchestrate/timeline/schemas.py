"""The event as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from orchestrate.core.events import Event


class EventOut(BaseModel):
    id: int = Field(description="Position in the log; pass it back as `after` or `Last-Event-ID`.")
    type: str = Field(description="Wire type, e.g. `pipeline.run.failure`.")
    subject: str = Field(description="The id the event is about (run, story, agent, …).")
    version: int = Field(description="Schema version of the payload.")
    created_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(
            id=event.id,
            type=event.type,
            subject=event.subject,
            version=event.version,
            created_at=event.created_at,
            payload=event.payload,
        )
