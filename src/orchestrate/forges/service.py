"""The forges capability's public API: events and webhook deliveries in forge-neutral terms,
and clients that call a forge (``ForgeClient``, see ``forges.client``).

Other capabilities use this module only. Callers that act on a repository whichever
forge it lives on ask ``forge_client(uow, settings, forge)`` for a ``ForgeClient``;
webhook parsing names the forge it serves (GitHub today).

Missing credentials raise ``ConfigurationError`` naming the setting and the stored
secret to provide, for either forge; a credential the forge rejects is
``AuthenticationFailed`` (from the adapter).
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.forges.client import (
    CallObserver,
    Check,
    CheckState,
    ForgeCall,
    ForgeClient,
    ForgeNotFound,
    MergeMethod,
    MergeRefused,
    NewPullRequest,
    PullRequestInfo,
    PullRequestState,
    ReviewThread,
    ReviewVerdict,
    SarifProcessing,
    SarifReceipt,
)
from orchestrate.forges.client import Review as ForgeReview
from orchestrate.forges.events import (
    ForgeCalled,
    PullRequestBranchUpdated,
    PullRequestMerged,
    PullRequestMergeRefused,
)
from orchestrate.forges.github import auth as github_auth
from orchestrate.forges.github import events as github_events
from orchestrate.forges.github import webhooks as github_webhooks
from orchestrate.forges.github.client import GitHubClient
from orchestrate.forges.github.transport import RetryPolicy
from orchestrate.forges.gitlab import RetryPolicy as GitLabRetryPolicy
from orchestrate.forges.gitlab import events as gitlab_events
from orchestrate.forges.gitlab import gitlab_client, gitlab_token
from orchestrate.forges.gitlab import webhooks as gitlab_webhooks
from orchestrate.forges.merge_controller import MergeOutcome, MergeStatus, merge_when_ready
from orchestrate.forges.merging import (
    MergeDecision,
    MergeFacts,
    Reason,
    ReasonKind,
    Verdict,
    decide_merge,
)
from orchestrate.forges.models import (
    CheckRun,
    ForgeDelivery,
    ForgeEvent,
    Issue,
    MalformedDelivery,
    Person,
    PullRequest,
    Review,
    SignatureRejected,
)
from orchestrate.forges.shepherding import (
    HOLD_LABEL,
    REPLY_MARK,
    STOP_MARK,
    WORK,
    Move,
    MoveKind,
    PastMove,
    PersonTrust,
    ShepherdBounds,
    ShepherdFacts,
    next_move,
)
from orchestrate.forges.trust import is_trusted_association, is_trusted_username, review_trust
from orchestrate.repositories import service as repositories
from orchestrate.secrets import service as secret_store

__all__ = [
    "FORGES",
    "GITHUB",
    "GITLAB",
    "HOLD_LABEL",
    "REPLY_MARK",
    "STOP_MARK",
    "WORK",
    "Check",
    "CheckRun",
    "CheckState",
    "ForgeClient",
    "ForgeDelivery",
    "ForgeEvent",
    "ForgeNotFound",
    "ForgeReview",
    "GitHubClient",
    "Issue",
    "MalformedDelivery",
    "MergeDecision",
    "MergeFacts",
    "MergeMethod",
    "MergeOutcome",
    "MergeRefused",
    "MergeStatus",
    "Move",
    "MoveKind",
    "NewPullRequest",
    "PastMove",
    "Person",
    "PersonTrust",
    "PullRequest",
    "PullRequestInfo",
    "PullRequestState",
    "Reason",
    "ReasonKind",
    "Review",
    "ReviewThread",
    "ReviewVerdict",
    "SarifProcessing",
    "SarifReceipt",
    "ShepherdBounds",
    "ShepherdFacts",
    "SignatureRejected",
    "Verdict",
    "decide_merge",
    "event_from_delivery",
    "forge_call_recorder",
    "forge_client",
    "github_client",
    "github_replay_headers",
    "gitlab_replay_headers",
    "is_trusted_association",
    "is_trusted_username",
    "merge_pull_request",
    "merge_when_ready",
    "next_move",
    "parse_github_delivery",
    "parse_gitlab_delivery",
    "read_github_delivery",
    "read_gitlab_delivery",
    "review_trust",
    "storable_headers",
]

GITHUB = github_events.FORGE
GITLAB = gitlab_events.FORGE
FORGES = (GITHUB, GITLAB)
"""The forges Orchestrate works with and receives webhook deliveries from."""


def parse_github_delivery(
    settings: Settings, headers: Mapping[str, str], body: bytes
) -> ForgeDelivery:
    """Verify a GitHub delivery's signature, then read its headers and JSON body.

    Raises ``SignatureRejected`` (unsigned, wrongly signed, or no secret configured)
    before anything of the body is read, and ``MalformedDelivery``.
    """
    normalized = {name.lower(): value for name, value in headers.items()}
    github_webhooks.authenticate(settings, normalized, body)
    return github_webhooks.parse_delivery(normalized, body)


def read_github_delivery(headers: Mapping[str, str], body: bytes) -> ForgeDelivery:
    """Read a delivery that needs no signature (a payload replayed by a trusted user)."""
    normalized = {name.lower(): value for name, value in headers.items()}
    return github_webhooks.parse_delivery(normalized, body)


def github_replay_headers(event: str, delivery_id: str) -> dict[str, str]:
    """The headers GitHub would send with a delivery of ``event``."""
    return github_webhooks.replay_headers(event, delivery_id)


def parse_gitlab_delivery(
    settings: Settings, headers: Mapping[str, str], body: bytes
) -> ForgeDelivery:
    """Check a GitLab delivery's ``X-Gitlab-Token``, then read its headers and JSON body.

    Raises ``SignatureRejected`` (no token, a wrong one, or no secret configured)
    before anything of the body is read, and ``MalformedDelivery``.
    """
    normalized = {name.lower(): value for name, value in headers.items()}
    gitlab_webhooks.authenticate(settings, normalized)
    return gitlab_webhooks.parse_delivery(normalized, body)


def read_gitlab_delivery(headers: Mapping[str, str], body: bytes) -> ForgeDelivery:
    """Read a GitLab delivery that needs no token (a payload replayed by a trusted user)."""
    normalized = {name.lower(): value for name, value in headers.items()}
    return gitlab_webhooks.parse_delivery(normalized, body)


def gitlab_replay_headers(event_header: str, delivery_id: str) -> dict[str, str]:
    """The headers GitLab would send with a delivery of ``event_header`` (``Push Hook``)."""
    return gitlab_webhooks.replay_headers(event_header, delivery_id)


def storable_headers(forge: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a stored delivery worth showing: the forge's own, no credentials."""
    _check_forge(forge)
    if forge == GITLAB:
        return gitlab_webhooks.storable_headers(headers)
    return github_webhooks.storable_headers(headers)


def event_from_delivery(
    forge: str, kind: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
) -> ForgeEvent:
    """The forge-neutral event of a delivery of ``kind`` with the parsed JSON ``payload``."""
    _check_forge(forge)
    if forge == GITLAB:
        return gitlab_events.to_forge_event(kind, payload, delivery_id=delivery_id)
    return github_events.to_forge_event(kind, payload, delivery_id=delivery_id)


def _check_forge(forge: str) -> None:
    if forge not in FORGES:
        raise ValidationFailed(
            f"Unknown forge {forge!r}; the known ones are {', '.join(FORGES)}", forge=forge
        )


async def github_client(uow: UnitOfWork, settings: Settings) -> GitHubClient:
    """A GitHub client with the configured credentials whose every call is in the event log.

    Credentials: a GitHub App, ``ORCHESTRATE_GITHUB_TOKEN`` or the stored ``GITHUB_TOKEN``
    (``forges/github/auth.py``); raises ``ConfigurationError`` when there are none.
    ``uow`` reads the secret store and is the model of the short unit of work each call
    is recorded in, so do not hold a write transaction open across a forge call (on
    SQLite the record would wait for it; it is then logged and dropped instead).
    The caller closes the client (``async with`` or ``aclose``); it is a ``ForgeClient``.
    """
    stored = await secret_store.get_secret_values(uow, settings, github_auth.STORED_NAMES)
    credentials = github_auth.resolve_credentials(settings, stored)
    return GitHubClient(
        credentials,
        api_url=settings.github_api_url,
        observer=forge_call_recorder(uow),
        policy=RetryPolicy(
            attempts=settings.forge_retry_attempts,
            backoff_base=settings.forge_retry_base_seconds,
            backoff_max=settings.forge_retry_max_seconds,
            max_rate_limit_wait=settings.forge_rate_limit_max_wait_seconds,
        ),
        timeout=settings.forge_timeout_seconds,
    )


@asynccontextmanager
async def forge_client(
    uow: UnitOfWork, settings: Settings, forge: str
) -> AsyncIterator[ForgeClient]:
    """A client of ``forge`` (``github`` or ``gitlab``) with the configured credentials,
    every call of which is a ``forge.called`` event; closed when the block ends.

    ``ConfigurationError`` names what to set when the forge has no credentials; the
    same rule as ``github_client`` about not holding a write transaction across calls.
    """
    if forge == GITHUB:
        async with await github_client(uow, settings) as github:
            yield github
        return
    if forge != GITLAB:
        raise ValidationFailed(f"Unknown forge {forge!r}; use one of {', '.join(FORGES)}")
    token = await gitlab_token(uow, settings)
    gitlab = gitlab_client(
        settings,
        token,
        forge_call_recorder(uow),
        policy=GitLabRetryPolicy(
            max_attempts=settings.forge_retry_attempts,
            backoff_base=settings.forge_retry_base_seconds,
            backoff_max=settings.forge_retry_max_seconds,
            max_wait=settings.forge_rate_limit_max_wait_seconds,
        ),
        timeout_seconds=settings.forge_timeout_seconds,
    )
    try:
        yield gitlab
    finally:
        await gitlab.aclose()


MAX_SARIF_GZIP_BYTES = 10 * 1024 * 1024
"""GitHub code scanning refuses a SARIF upload larger than this once gzip-compressed."""


async def upload_sarif(
    uow: UnitOfWork,
    settings: Settings,
    repository: str,
    *,
    commit_sha: str,
    ref: str,
    sarif: bytes,
) -> SarifReceipt:
    """Send a SARIF log (JSON bytes) to GitHub code scanning for ``commit_sha`` on
    ``ref`` (``refs/heads/main``, ``refs/pull/42/merge``); GitHub processes it later
    (``sarif_processing``). Refused here when GitHub would refuse it for size."""
    if len(commit_sha) != 40 or any(c not in "0123456789abcdef" for c in commit_sha):
        raise ValidationFailed(f"A commit SHA is 40 hex digits, not {commit_sha[:60]!r}")
    if not ref.startswith("refs/"):
        raise ValidationFailed(f"A code scanning ref is a full ref (refs/heads/main), not {ref!r}")
    packed = gzip.compress(sarif, mtime=0)
    if len(packed) > MAX_SARIF_GZIP_BYTES:
        raise ValidationFailed(
            f"The SARIF log is {len(packed):,} bytes gzip-compressed; GitHub code scanning "
            f"takes at most {MAX_SARIF_GZIP_BYTES:,}. Scan less at once or use a baseline."
        )
    async with await github_client(uow, settings) as github:
        return await github.upload_sarif(
            repository,
            commit_sha=commit_sha,
            ref=ref,
            sarif_gzip_base64=base64.b64encode(packed).decode("ascii"),
        )


async def sarif_processing(
    uow: UnitOfWork, settings: Settings, repository: str, sarif_id: str
) -> SarifProcessing:
    """Whether GitHub has processed an upload (``pending``, ``complete``, ``failed``)."""
    async with await github_client(uow, settings) as github:
        return await github.sarif_processing(repository, sarif_id)


def forge_call_recorder(uow: UnitOfWork) -> CallObserver:
    """An observer that appends a ``forge.called`` event per call, each in its own unit of
    work (a sibling of ``uow``), so a call is in the log whatever its caller then does."""

    async def record(call: ForgeCall) -> None:
        event = ForgeCalled(
            subject=_call_subject(call),
            forge=call.forge,
            method=call.method,
            path=call.path[:500],
            status=call.status,
            duration_ms=call.duration_ms,
            attempt=call.attempt,
            waited_s=call.waited_s or None,
            error=call.error,
        )
        recording = uow.sibling()
        async with recording:
            record_event(recording, event)
            await recording.commit()

    return record


def _call_subject(call: ForgeCall) -> str:
    """The repository a call is about (GitHub's ``/repos/{owner}/{name}/…``, GitLab's
    ``/api/v4/projects/{url-encoded path}/…``), else the forge."""
    parts = call.path.split("?")[0].split("/")
    if "projects" in parts and call.forge == GITLAB:
        at = parts.index("projects")
        if len(parts) > at + 1 and "%2F" in parts[at + 1].upper():
            return unquote(parts[at + 1])[:200]
    if "repos" in parts:
        at = parts.index("repos")
        if len(parts) > at + 2 and parts[at + 1] and parts[at + 2]:
            return f"{parts[at + 1]}/{parts[at + 2]}"[:200]
    return call.forge


async def merge_pull_request(
    uow: UnitOfWork,
    settings: Settings,
    client: ForgeClient,
    repository: str,
    number: int,
    *,
    actor: Actor,
    automatic: bool = False,
    method: MergeMethod | None = None,
) -> MergeOutcome:
    """Merge a registered repository's pull request if its merge policy says it is ready.

    The policy comes from the registry (``NotFound`` for a repository not registered),
    the trusted associations from the settings; ``merge_when_ready`` decides and merges
    (see ``merge_controller``). ``method`` replaces the policy's method for this merge
    (``pr merge --method``); every other rule of the policy holds. What changed
    something on the forge (merged, refused, branch updated) is audited and recorded as
    an event afterwards, in a unit of work of its own: no transaction is held open
    across forge calls.
    """
    found = await repositories.get_merge_policy(uow, settings, repository)
    policy = found.policy
    if method is not None:
        policy = replace(policy, method=repositories.MergeMethodName(method.value))
    outcome = await merge_when_ready(
        client,
        policy,
        found.repository,
        number,
        actor=actor,
        trusted_associations=settings.github_trusted_associations,
        automatic=automatic,
    )
    event = _merge_event(outcome, actor)
    if event is not None:
        recording = uow.sibling()
        async with recording:
            details = event.model_dump(exclude={"actor"})
            await auth.record_audit(recording, actor, event.event_type, event.subject, details)
            record_event(recording, event)
            await recording.commit()
    return outcome


def _merge_event(
    outcome: MergeOutcome, actor: Actor
) -> PullRequestMerged | PullRequestMergeRefused | PullRequestBranchUpdated | None:
    subject = f"{outcome.repository}#{outcome.number}"
    common = {
        "subject": subject,
        "repository": outcome.repository,
        "number": outcome.number,
        "head_sha": outcome.head_sha,
        "actor": actor.name,
    }
    if outcome.status is MergeStatus.MERGED:
        return PullRequestMerged(**common, method=outcome.method.value, sha=outcome.sha)
    if outcome.status is MergeStatus.REFUSED:
        return PullRequestMergeRefused(**common, reason=(outcome.refused_reason or "")[:2000])
    if outcome.branch_updated:
        return PullRequestBranchUpdated(**common)
    return None
