"""The events of pull requests Orchestrate opened; subject: ``owner/name#number``."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class PullRequestOpened(DomainEvent):
    """An agent's branch was pushed and a pull request opened (or found open) for it."""

    event_type: ClassVar[str] = "pull_request.opened"
    forge: str
    repository: str
    number: int
    url: str
    branch: str
    base: str
    head_sha: str
    draft: bool
    agent_id: str | None = None
    story_id: str | None = None


class PullRequestStateChanged(DomainEvent):
    """The record's state moved: ``pr merge`` merged it (or found it merged), or a
    refresh found it closed, merged or reopened on the forge."""

    event_type: ClassVar[str] = "pull_request.state_changed"
    repository: str
    number: int
    from_state: str
    to_state: str


class PullRequestShepherdMoved(DomainEvent):
    """The shepherd's state or move on a pull request changed: what it did or waits for
    (``move``: wait, fix_review, fix_checks, resolve_conflicts, update_branch, merge,
    stop, done, unreachable) and why; a look that changes nothing records none."""

    event_type: ClassVar[str] = "pull_request.shepherd_moved"
    repository: str
    number: int
    state: str
    move: str
    reason: str
