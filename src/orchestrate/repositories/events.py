"""The events of the repository registry; subject: the repository's name (``owner/name``)."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class RepositoryAdded(DomainEvent):
    event_type: ClassVar[str] = "repository.added"
    name: str
    forge: str
    path: str
    is_cloned: bool
    url: str | None = None


class RepositoryRemoved(DomainEvent):
    """``clone_removed``: the clone Orchestrate had made was deleted with it."""

    event_type: ClassVar[str] = "repository.removed"
    name: str
    clone_removed: bool


class RepositoryDependencyDeclared(DomainEvent):
    event_type: ClassVar[str] = "repository.dependency_declared"
    name: str
    depends_on: str


class RepositoryDependencyRemoved(DomainEvent):
    event_type: ClassVar[str] = "repository.dependency_removed"
    name: str
    depends_on: str


class RepositoryMergePolicyChanged(DomainEvent):
    """The repository's merge policy is now this (the whole policy, not the difference)."""

    event_type: ClassVar[str] = "repository.merge_policy_changed"
    name: str
    required_approvals: int
    required_checks: list[str]
    method: str
    auto_merge: bool
    require_up_to_date: bool
    count_stale_approvals: bool
