"""Forge-neutral events: what a push, pull request, issue, review or CI result says.

An adapter (``github/``) reads its forge's payloads and headers into these types, so
routing, trust and the built-in automations of ``triggers`` read one shape whichever
forge sent the event. Payloads are hostile input: adapters never raise on a missing or
odd field, they leave it ``None`` (or empty text), and every text here is untrusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.core.errors import AuthenticationFailed, ValidationFailed


@dataclass(frozen=True)
class Person:
    """Someone behind an event: their login and how the forge says they relate to the
    repository (GitHub's ``author_association``: ``OWNER``, ``MEMBER``, ``NONE``…)."""

    login: str | None = None
    association: str | None = None


@dataclass(frozen=True)
class PullRequest:
    number: int | None
    title: str
    url: str
    author: Person
    head_branch: str | None
    head_sha: str
    base_branch: str | None
    draft: bool


@dataclass(frozen=True)
class Issue:
    id: str
    number: int | None
    title: str
    body: str
    url: str
    author: Person


@dataclass(frozen=True)
class Review:
    """A review of the event's pull request."""

    id: str
    state: str
    body: str
    url: str
    author: Person


@dataclass(frozen=True)
class CheckRun:
    """A finished run of CI (a check suite or run, a workflow run) the event reports."""

    name: str
    conclusion: str
    head_sha: str
    url: str


@dataclass(frozen=True)
class ForgeEvent:
    """One event from a forge, in the terms routing and automations need.

    ``kind`` is the forge's event name (GitHub's ``X-GitHub-Event``) and ``action`` its
    action; pipelines filter on both. ``ref`` is the full Git ref (``refs/heads/…``,
    ``refs/tags/…``, ``refs/pull/N/merge``); ``branch`` is the one branch filters match
    (a pull request's base branch, as GitHub Actions does). ``fork_repository`` names
    the fork the work comes from, None when it comes from the repository itself.
    ``labels`` and ``changed_paths`` are None when the event has no issue or pull
    request, or no list of changed files. ``payload`` is the forge's document as it
    came, for pipelines that read it as their ``trigger`` context.
    """

    forge: str
    kind: str
    action: str | None
    repository: str | None
    payload: Mapping[str, Any] = field(repr=False)
    delivery_id: str | None = None
    sender: str | None = None
    ref: str | None = None
    tag: str | None = None
    branch: str | None = None
    base_branch: str | None = None
    head_branch: str | None = None
    fork_repository: str | None = None
    labels: tuple[str, ...] | None = None
    added_label: str | None = None
    changed_paths: tuple[str, ...] | None = None
    pull_request: PullRequest | None = None
    issue: Issue | None = None
    review: Review | None = None
    check: CheckRun | None = None

    @property
    def is_fork(self) -> bool:
        return self.fork_repository is not None

    @property
    def is_draft(self) -> bool | None:
        """The pull request's draft state; None when the event has no pull request."""
        return None if self.pull_request is None else self.pull_request.draft


@dataclass(frozen=True)
class ForgeDelivery:
    """A verified webhook delivery, parsed enough to store and index it.

    ``headers`` are only those worth keeping (the forge's own, no credentials); ``body``
    is the text exactly as signed. ``ping`` marks the forge's hello when a webhook is
    set up (nothing to store); ``zen`` is what it said.
    """

    forge: str
    delivery_id: str
    kind: str
    action: str | None
    repository: str | None
    headers: dict[str, str]
    body: str
    ping: bool = False
    zen: str | None = None


class SignatureRejected(AuthenticationFailed):
    """The delivery is unsigned, wrongly signed, or no secret is configured (HTTP 401)."""

    title = "Webhook signature rejected"


class MalformedDelivery(ValidationFailed):
    """A required header of the forge is missing or the body is not a JSON object (HTTP 400)."""

    title = "Malformed webhook delivery"
