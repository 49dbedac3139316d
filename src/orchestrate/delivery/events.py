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


class PullRequestMerged(DomainEvent):
    event_type: ClassVar[str] = "pull_request.merged"
    repository: str
    number: int
    method: str
    head_sha: str
    merge_sha: str | None = None


class PullRequestMergeRefused(DomainEvent):
    """The forge would not merge; ``reason`` is its own words (untrusted, bounded)."""

    event_type: ClassVar[str] = "pull_request.merge_refused"
    repository: str
    number: int
    method: str
    reason: str


class PullRequestStateChanged(DomainEvent):
    """A refresh found the pull request closed, merged or reopened on the forge."""

    event_type: ClassVar[str] = "pull_request.state_changed"
    repository: str
    number: int
    from_state: str
    to_state: str
