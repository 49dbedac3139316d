"""The events of the forges capability: every HTTP call an adapter makes to a forge, and
what the merge controller did to a pull request (merged it, was refused, updated its
branch; waiting and blocked decisions change nothing and are not events).

The subject is the repository the call is about (``owner/name``), or the forge's name
for a call about no repository (an installation token, GraphQL). Nothing of a request
or an answer is kept but its method, path and status: no credential, no body.
"""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class ForgeCalled(DomainEvent):
    """One HTTP call to a forge was answered (``status``) or failed (``error``).

    ``attempt`` counts the tries of one call (2 and up: retried); ``waited_s`` is how
    long a rate limit or a backoff made it wait before this try.
    """

    event_type: ClassVar[str] = "forge.called"
    forge: str
    method: str
    path: str
    status: int | None = None
    duration_ms: float
    attempt: int = 1
    waited_s: float | None = None
    error: str | None = None


class PullRequestMerged(DomainEvent):
    """The merge controller merged a pull request (subject ``owner/name#number``)."""

    event_type: ClassVar[str] = "forge.pull_request_merged"
    repository: str
    number: int
    head_sha: str
    method: str
    sha: str | None = None
    actor: str


class PullRequestMergeRefused(DomainEvent):
    """The forge refused a merge (or a branch update) the controller asked for; ``reason``
    is the forge's own words."""

    event_type: ClassVar[str] = "forge.pull_request_merge_refused"
    repository: str
    number: int
    head_sha: str
    reason: str
    actor: str


class PullRequestBranchUpdated(DomainEvent):
    """The controller brought a pull request's branch up to date with its base, as the
    repository's policy requires; its checks run again before it can merge."""

    event_type: ClassVar[str] = "forge.pull_request_branch_updated"
    repository: str
    number: int
    head_sha: str
    actor: str
