"""The merge controller: read a pull request, decide (``merging.py``), and merge it when
it is ready, the way the repository's policy says.

Safety, whatever the policy: the merge names the head commit that was judged
(``expected_head_sha``), so a push in between makes the forge refuse rather than merge
unjudged code; there is no admin override and no conflict strategy (conflicts are a
``blocked`` outcome for a person or the conflict-resolver); a branch is updated only
when the policy requires it up to date and the forge counts it behind, and then the
outcome is ``waiting`` (its checks run again before it can merge). A refusal carries
the forge's own reason.

The outcome is structured for the callers, ``pr merge`` and the shepherd: merged (with
the merge commit), already merged, waiting or blocked (with reasons), or refused.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.forges.client import (
    ForgeClient,
    MergeMethod,
    MergeRefused,
    PullRequestInfo,
    PullRequestState,
)
from orchestrate.forges.merging import (
    MergeDecision,
    MergeFacts,
    Reason,
    Verdict,
    decide_merge,
)
from orchestrate.forges.trust import review_trust
from orchestrate.repositories.service import MergePolicy

log = structlog.get_logger(__name__)


class MergeStatus(enum.StrEnum):
    MERGED = "merged"
    ALREADY_MERGED = "already_merged"
    WAITING = "waiting"
    BLOCKED = "blocked"
    REFUSED = "refused"


@dataclass(frozen=True)
class MergeOutcome:
    """What ``merge_when_ready`` did.

    ``head_sha`` is the commit judged; ``sha`` the merge commit (merged, already merged;
    None when the forge names none); ``decision`` the verdict with its reasons (None for a
    pull request merged already); ``refused_reason`` the forge's words when it refused;
    ``branch_updated`` when the branch was brought up to date with its base.
    """

    status: MergeStatus
    repository: str
    number: int
    head_sha: str
    method: MergeMethod
    decision: MergeDecision | None = None
    sha: str | None = None
    refused_reason: str | None = None
    branch_updated: bool = False

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return () if self.decision is None else self.decision.reasons

    @property
    def summary(self) -> str:
        """One sentence for a person."""
        name = f"{self.repository}#{self.number}"
        match self.status:
            case MergeStatus.MERGED:
                return f"Merged {name} ({self.method.value}) as {self.sha or 'no new commit'}."
            case MergeStatus.ALREADY_MERGED:
                return f"{name} is merged already ({self.sha or 'no merge commit named'})."
            case MergeStatus.REFUSED:
                return f"The forge refused to merge {name}: {self.refused_reason}"
        said = "; ".join(reason.message for reason in self.reasons)
        if self.branch_updated:
            said = f"its branch was updated with its base; {said}"
        return f"{name} is {self.status.value}: {said}."


async def merge_when_ready(
    client: ForgeClient,
    policy: MergePolicy,
    repository: str,
    number: int,
    *,
    actor: Actor,
    trusted_associations: Sequence[str],
    automatic: bool = False,
) -> MergeOutcome:
    """Merge ``repository``'s pull request ``number`` if ``policy`` says it is ready now.

    ``actor`` must be allowed to write (operators, admins); ``trusted_associations`` is
    ``Settings.github_trusted_associations``; ``automatic`` is for the shepherd (merges
    only with the policy's ``auto_merge``). Forge failures other than a refusal raise
    (``ForgeError``, ``ForgeNotFound``, ``AuthenticationFailed``).
    """
    auth.authorize(actor, Permission.WRITE)
    method = MergeMethod(policy.method.value)
    pull = await client.get_pull_request(repository, number)
    if pull.state is PullRequestState.MERGED:
        return MergeOutcome(
            MergeStatus.ALREADY_MERGED, repository, number, pull.head_sha, method,
            sha=pull.merge_commit_sha,
        )  # fmt: skip
    decision = await _decide(client, policy, pull, automatic, trusted_associations)
    log.info(
        "merge_decided",
        repository=repository,
        number=number,
        head_sha=pull.head_sha,
        verdict=decision.verdict.value,
        reasons=[reason.kind.value for reason in decision.reasons],
    )
    outcome = MergeOutcome(
        MergeStatus.WAITING, repository, number, pull.head_sha, method, decision=decision
    )
    if decision.needs_branch_update:
        return await _update_branch(client, outcome)
    if decision.verdict is not Verdict.READY:
        status = MergeStatus.BLOCKED if decision.verdict is Verdict.BLOCKED else outcome.status
        return replace(outcome, status=status)
    return await _merge(client, outcome)


async def _decide(
    client: ForgeClient,
    policy: MergePolicy,
    pull: PullRequestInfo,
    automatic: bool,
    trusted_associations: Sequence[str],
) -> MergeDecision:
    reviews = await client.list_reviews(pull.repository, pull.number)
    checks = await client.list_checks(pull.repository, pull.head_sha)
    behind: int | None = None
    if policy.require_up_to_date and pull.state is PullRequestState.OPEN and pull.mergeable:
        behind = await client.commits_behind_base(pull.repository, pull.number)
    facts = MergeFacts(pull, reviews, checks, behind)
    trust = review_trust(client.forge, trusted_associations)
    return decide_merge(policy, facts, trust, automatic=automatic)


async def _update_branch(client: ForgeClient, outcome: MergeOutcome) -> MergeOutcome:
    try:
        await client.update_branch(
            outcome.repository, outcome.number, expected_head_sha=outcome.head_sha
        )
    except MergeRefused as refused:
        return replace(outcome, status=MergeStatus.REFUSED, refused_reason=refused.reason)
    log.info("merge_branch_updated", repository=outcome.repository, number=outcome.number)
    return replace(outcome, branch_updated=True)


async def _merge(client: ForgeClient, outcome: MergeOutcome) -> MergeOutcome:
    try:
        result = await client.merge(
            outcome.repository,
            outcome.number,
            method=outcome.method,
            expected_head_sha=outcome.head_sha,
        )
    except MergeRefused as refused:
        log.info("merge_refused", repository=outcome.repository, number=outcome.number)
        return replace(outcome, status=MergeStatus.REFUSED, refused_reason=refused.reason)
    if not result.merged:
        return replace(outcome, status=MergeStatus.REFUSED, refused_reason=result.message)
    log.info("merged", repository=outcome.repository, number=outcome.number, sha=result.sha)
    return replace(outcome, status=MergeStatus.MERGED, sha=result.sha)
