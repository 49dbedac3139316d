"""The merge decision: given a repository's policy and what the forge reports now, may
the pull request merge? Pure: no I/O, so every rule is tested as a table.

The verdict is ``ready``, ``waiting`` (nothing is wrong, something is still to come:
approvals, checks, the forge computing conflicts, a branch update) or ``blocked``
(something must change first: it is closed or a draft, conflicts, a failed check,
changes requested). Each reason is a :class:`Reason` with a kind the shepherd can act
on and a sentence a person can read.

Reviews:

- only trusted reviewers count (``trust.py``), and never the pull request's own author;
  an ignored review is listed in ``notes``;
- only each reviewer's latest verdict counts; a comment does not replace an approval or
  a change request (as on GitHub); a dismissed review leaves its author with none;
- changes requested block until that reviewer approves or the review is dismissed,
  whatever the head is now;
- an approval of an older head counts unless the policy says
  ``count_stale_approvals=False``; a review that names no commit counts as current.

Checks: the checks of the head commit, the worst state of each name. With required
checks named, each must succeed (a neutral or skipped one passes, as on GitHub); one
not reported yet is pending, and other checks only add notes. With none named, every
reported check must pass (no check reported at all: nothing to wait for).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from orchestrate.forges.client import (
    Check,
    CheckState,
    PullRequestInfo,
    PullRequestState,
    Review,
    ReviewVerdict,
)
from orchestrate.forges.trust import ReviewTrust
from orchestrate.repositories.service import MergePolicy


class Verdict(enum.StrEnum):
    READY = "ready"
    WAITING = "waiting"
    BLOCKED = "blocked"


class ReasonKind(enum.StrEnum):
    """Why a pull request is not ready; the first six block, the rest wait."""

    MERGED = "merged"
    CLOSED = "closed"
    DRAFT = "draft"
    CONFLICTS = "conflicts"
    CHANGES_REQUESTED = "changes_requested"
    CHECKS_FAILED = "checks_failed"
    APPROVALS_MISSING = "approvals_missing"
    CHECKS_PENDING = "checks_pending"
    MERGEABILITY_UNKNOWN = "mergeability_unknown"
    BEHIND_BASE = "behind_base"
    AUTO_MERGE_OFF = "auto_merge_off"


BLOCKING: frozenset[ReasonKind] = frozenset(
    {
        ReasonKind.MERGED,
        ReasonKind.CLOSED,
        ReasonKind.DRAFT,
        ReasonKind.CONFLICTS,
        ReasonKind.CHANGES_REQUESTED,
        ReasonKind.CHECKS_FAILED,
    }
)


@dataclass(frozen=True)
class Reason:
    """One reason, with what it is about (check names, reviewer logins) when it has any."""

    kind: ReasonKind
    message: str
    subjects: tuple[str, ...] = ()

    @property
    def is_blocking(self) -> bool:
        return self.kind in BLOCKING


@dataclass(frozen=True)
class MergeFacts:
    """What the forge reports now. ``commits_behind_base`` is None when not asked."""

    pull_request: PullRequestInfo
    reviews: Sequence[Review] = ()
    checks: Sequence[Check] = ()
    commits_behind_base: int | None = None


@dataclass(frozen=True)
class MergeDecision:
    verdict: Verdict
    reasons: tuple[Reason, ...] = ()
    approved_by: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    needs_branch_update: bool = False
    """Behind its base with ``require_up_to_date``, and nothing blocks: update it."""

    @property
    def blocked_by(self) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if reason.is_blocking)

    @property
    def waiting_for(self) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if not reason.is_blocking)


@dataclass
class _Findings:
    reasons: list[Reason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: ReasonKind, message: str, subjects: Iterable[str] = ()) -> None:
        self.reasons.append(Reason(kind, message, tuple(subjects)))


def decide_merge(
    policy: MergePolicy, facts: MergeFacts, trust: ReviewTrust, *, automatic: bool = False
) -> MergeDecision:
    """The verdict on merging ``facts.pull_request`` now. ``automatic``: the shepherd
    asks on its own, which the policy allows only with ``auto_merge``."""
    found = _Findings()
    pull = facts.pull_request
    _judge_state(pull, found)
    approved_by = _judge_reviews(policy, facts, trust, found)
    _judge_checks(policy, facts.checks, found)
    behind = policy.require_up_to_date and (facts.commits_behind_base or 0) > 0
    if behind:
        found.add(
            ReasonKind.BEHIND_BASE,
            f"the branch is {facts.commits_behind_base} commit(s) behind {pull.base_branch}",
        )
    if automatic and not policy.auto_merge:
        found.add(ReasonKind.AUTO_MERGE_OFF, "auto-merge is off: merge it with pr merge")
    blocked = any(reason.is_blocking for reason in found.reasons)
    verdict = Verdict.BLOCKED if blocked else Verdict.WAITING if found.reasons else Verdict.READY
    return MergeDecision(
        verdict=verdict,
        reasons=tuple(sorted(found.reasons, key=lambda r: (not r.is_blocking, r.kind.value))),
        approved_by=approved_by,
        notes=tuple(found.notes),
        needs_branch_update=behind and not blocked,
    )


def _judge_state(pull: PullRequestInfo, found: _Findings) -> None:
    if pull.state is PullRequestState.MERGED:
        found.add(ReasonKind.MERGED, "it is merged already")
        return
    if pull.state is PullRequestState.CLOSED:
        found.add(ReasonKind.CLOSED, "it is closed")
        return
    if pull.draft:
        found.add(ReasonKind.DRAFT, "it is a draft: mark it ready for review first")
    if pull.mergeable is False:
        found.add(ReasonKind.CONFLICTS, f"it conflicts with {pull.base_branch}")
    elif pull.mergeable is None:
        found.add(ReasonKind.MERGEABILITY_UNKNOWN, "the forge is still checking for conflicts")


def _judge_reviews(
    policy: MergePolicy, facts: MergeFacts, trust: ReviewTrust, found: _Findings
) -> tuple[str, ...]:
    pull = facts.pull_request
    author = (pull.author.login or "").casefold()
    standing: dict[str, Review] = {}
    for review in facts.reviews:
        login = review.author.login
        if not login or review.verdict is ReviewVerdict.COMMENTED:
            continue
        if author and login.casefold() == author:
            found.notes.append(f"@{login}'s review of their own pull request does not count")
        elif not trust(review):
            found.notes.append(f"@{login}'s review does not count: not a trusted reviewer")
        else:
            standing.pop(login.casefold(), None)  # the latest verdict goes last
            standing[login.casefold()] = review
    approved: list[str] = []
    requested: list[str] = []
    for review in standing.values():
        login = review.author.login or ""
        if review.verdict is ReviewVerdict.CHANGES_REQUESTED:
            requested.append(login)
        elif review.verdict is ReviewVerdict.APPROVED:
            stale = review.commit_sha is not None and review.commit_sha != pull.head_sha
            if stale and not policy.count_stale_approvals:
                found.notes.append(f"@{login}'s approval is of an older commit")
            else:
                approved.append(login)
    if requested:
        who = ", ".join(f"@{login}" for login in requested)
        found.add(ReasonKind.CHANGES_REQUESTED, f"changes requested by {who}", requested)
    if len(approved) < policy.required_approvals:
        found.add(
            ReasonKind.APPROVALS_MISSING,
            f"{len(approved)} approval(s) of {policy.required_approvals} required",
            approved,
        )
    return tuple(approved)


_FAILED = frozenset({CheckState.FAILURE, CheckState.CANCELLED})
_PASSED = frozenset({CheckState.SUCCESS, CheckState.NEUTRAL})
_SEVERITY = {
    CheckState.FAILURE: 0,
    CheckState.CANCELLED: 1,
    CheckState.PENDING: 2,
    CheckState.NEUTRAL: 3,
    CheckState.SUCCESS: 4,
}


def _judge_checks(policy: MergePolicy, checks: Sequence[Check], found: _Findings) -> None:
    worst: dict[str, CheckState] = {}
    for check in checks:
        known = worst.get(check.name)
        if known is None or _SEVERITY[check.state] < _SEVERITY[known]:
            worst[check.name] = check.state
    required = policy.required_checks or tuple(worst)
    failed = [name for name in required if worst.get(name) in _FAILED]
    pending = [name for name in required if worst.get(name) not in _PASSED | _FAILED]
    if failed:
        shown = ", ".join(_with_state(name, worst[name]) for name in failed)
        found.add(ReasonKind.CHECKS_FAILED, f"checks failed: {shown}", failed)
    if pending:
        shown = ", ".join(name if name in worst else f"{name} (not reported)" for name in pending)
        found.add(ReasonKind.CHECKS_PENDING, f"checks pending: {shown}", pending)
    others = [name for name, state in worst.items() if name not in required and state in _FAILED]
    if others:
        found.notes.append(f"checks not required failed: {', '.join(others)}")


def _with_state(name: str, state: CheckState) -> str:
    return f"{name} (cancelled)" if state is CheckState.CANCELLED else name
