"""What the story and epic pages show beside the stored facts: where a story's agent and
pull requests live on the dashboard, its history in words, and windows of lists that
are computed whole (an epic's stories in dependency order).

Everything here is derived from values the services return; nothing reads the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events import Event
from orchestrate.stories import service as stories

T = TypeVar("T")

_AGENT_ASSIGNEE = stories.agent_assignee("")
_SUMMARY_LIMIT = 400


def assigned_agent(assignee: str | None) -> str | None:
    """The id of the agent a story is assigned to (``agent:<id>``), if an agent holds it."""
    if assignee and assignee.startswith(_AGENT_ASSIGNEE):
        return assignee.removeprefix(_AGENT_ASSIGNEE) or None
    return None


def pull_request_path(repository: str, number: int) -> str:
    """The dashboard page of a recorded pull request: ``/ui/pull-requests/owner/name/7``."""
    parts = "/".join(quote(part, safe="") for part in repository.split("/"))
    return f"/ui/pull-requests/{parts}/{number}"


@dataclass(frozen=True)
class HistoryEntry:
    """One event about a story, said in words."""

    event: Event
    summary: str
    agent_id: str | None


def history_entry(event: Event) -> HistoryEntry:
    payload = event.payload
    agent_id = payload.get("agent_id")
    return HistoryEntry(
        event=event,
        summary=_summary(event.type, payload)[:_SUMMARY_LIMIT],
        agent_id=agent_id if isinstance(agent_id, str) else None,
    )


def _summary(event_type: str, payload: dict[str, Any]) -> str:
    if event_type == "story.created":
        return f"Created in {payload.get('status', 'backlog')}: {payload.get('title', '')}"
    if event_type == "story.updated":
        fields = ", ".join(str(name) for name in payload.get("fields", ()))
        reason = payload.get("reason")
        return f"Changed {fields or 'nothing'}" + (f" ({reason})" if reason else "")
    if event_type == "story.status_changed":
        moved = f"{payload.get('from', '?')} → {payload.get('to', '?')}, {payload.get('reason')}"
        detail = payload.get("detail")
        return moved + (f": {detail}" if detail else "")
    return "; ".join(f"{name}: {value}" for name, value in sorted(payload.items()))


def window(
    items: Sequence[T], key: Callable[[T], str], cursor: str | None, size: int
) -> tuple[list[T], str | None, int]:
    """One page of a list computed whole: the ``size`` items after the one whose key is
    ``cursor``, the cursor of the next page, and the index of the page's first item."""
    start = 0
    if cursor:
        keys = [key(item) for item in items]
        if cursor not in keys:
            raise ValidationFailed(
                f"Invalid cursor {cursor[:40]!r}: that item is no longer in the list; "
                "start again from the first page",
                field="cursor",
            )
        start = keys.index(cursor) + 1
    page = list(items[start : start + size])
    more = start + size < len(items) and bool(page)
    return page, key(page[-1]) if more else None, start
