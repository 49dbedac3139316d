"""The events of change sets; subject: the change set's id (``cs_…``)."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class ChangeSetCreated(DomainEvent):
    """``repositories`` in merge order, dependencies first."""

    event_type: ClassVar[str] = "changeset.created"
    change_set_id: str
    title: str
    repositories: list[str]
    actor: str


class ChangeSetPullRequestsOpened(DomainEvent):
    """Every member's pull request is open: merging in order begins."""

    event_type: ClassVar[str] = "changeset.pull_requests_opened"
    change_set_id: str
    pull_requests: list[str]


class ChangeSetMemberMerged(DomainEvent):
    event_type: ClassVar[str] = "changeset.member_merged"
    change_set_id: str
    repository: str
    number: int
    position: int


class ChangeSetMerged(DomainEvent):
    event_type: ClassVar[str] = "changeset.merged"
    change_set_id: str
    pull_requests: list[str]


class ChangeSetFailed(DomainEvent):
    """``reason`` says which member and why; no member after it was merged."""

    event_type: ClassVar[str] = "changeset.failed"
    change_set_id: str
    reason: str
    repository: str | None = None


class ChangeSetCancelled(DomainEvent):
    event_type: ClassVar[str] = "changeset.cancelled"
    change_set_id: str
    actor: str
