"""The shepherd's next move on a pull request: given what the forge reports now, what
the shepherd has done so far and its bounds, what to do next. Pure: no I/O, so each
rule is tested as a table; the executor (which starts fixers, pushes, replies and
merges) acts on the move and records it.

The first rule that applies decides:

1. merged or closed: ``done``;
2. a draft, or held by a person (the hold label): ``wait`` — the shepherd moves
   only what people have let go;
3. the move it would make next has hit a bound — the attempts on this pull request,
   the attempts of that kind on this head commit, or the budget — : ``stop``, with a
   comment saying why, posted once; it then waits for a person;
4. conflicts with the base branch: ``resolve_conflicts`` (a conflict-resolver that
   must leave the tests green);
5. failed checks on the head commit: ``fix_checks`` (a fixer given the failing jobs);
6. unresolved review threads a trusted person opened, whose last word is not the
   shepherd's, or changes requested by a trusted reviewer: ``fix_review`` (a fixer,
   then a reply in each thread, resolved);
7. behind its base when the repository's policy wants it up to date: ``update_branch``;
8. the merge decision (``merging.py``) says ready: ``merge``;
9. otherwise ``wait``, with the merge decision's reasons (approvals, pending checks…).

Conflicts come before failing checks: checks run on a merge with the base, which a
resolution changes. Only trusted people's words move a pull request: a thread or
review from anyone else is listed in ``ignored`` and changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from orchestrate.forges.client import (
    Check,
    CheckState,
    PullRequestInfo,
    PullRequestState,
    Review,
    ReviewThread,
    ReviewVerdict,
)
from orchestrate.forges.merging import MergeDecision, ReasonKind, Verdict
from orchestrate.forges.models import Person

HOLD_LABEL = "orchestrate:hold"
"""A person puts this label on a pull request to stop the shepherd touching it."""

REPLY_MARK = "<!-- orchestrate:shepherd-reply -->"
"""Ends every reply the shepherd posts in a review thread. Orchestrate's own code
reviewer writes as the same login; the mark tells the shepherd's answers (a thread it
waits on) from the reviewer's words (a thread to address). Only words by the
shepherd's own login count as marked, so nobody else can close a thread by quoting it."""

STOP_MARK = "<!-- orchestrate:shepherd-stop {head} -->"
"""Ends the comment the shepherd posts when it stops at a head commit; finding it is how
a resumed shepherd knows the comment was posted already."""

PersonTrust = Callable[[Person], bool]
"""Whether a person's comments and reviews may move a pull request."""


class MoveKind(enum.StrEnum):
    DONE = "done"
    WAIT = "wait"
    STOP = "stop"
    RESOLVE_CONFLICTS = "resolve_conflicts"
    FIX_CHECKS = "fix_checks"
    FIX_REVIEW = "fix_review"
    UPDATE_BRANCH = "update_branch"
    MERGE = "merge"


WORK: frozenset[MoveKind] = frozenset(
    {
        MoveKind.RESOLVE_CONFLICTS,
        MoveKind.FIX_CHECKS,
        MoveKind.FIX_REVIEW,
        MoveKind.UPDATE_BRANCH,
        MoveKind.MERGE,
    }
)
"""The moves that act on the pull request (and count as attempts)."""


@dataclass(frozen=True)
class ShepherdBounds:
    """How far the shepherd may go on one pull request before a person must look."""

    max_attempts: int = 10
    """Moves that act, over the pull request's life."""
    max_attempts_per_head: int = 2
    """Moves of one kind on one head commit (a fix that changed nothing is not retried
    forever)."""
    budget_usd: Decimal | None = None
    """Dollars its fixers may spend in all; None: no bound but the agents' own."""


@dataclass(frozen=True)
class PastMove:
    """A move the shepherd made, as recorded by the executor."""

    kind: MoveKind
    head_sha: str


@dataclass(frozen=True)
class ShepherdFacts:
    """What the forge reports now, and what the shepherd has done and spent."""

    pull_request: PullRequestInfo
    merge: MergeDecision
    threads: Sequence[ReviewThread] = ()
    reviews: Sequence[Review] = ()
    checks: Sequence[Check] = ()
    history: Sequence[PastMove] = ()
    spent_usd: Decimal = Decimal(0)
    stopped_at_head: str | None = None
    """The head commit the shepherd last stopped at (its comment is posted): it stays
    stopped there, silently, until the head moves."""


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    reason: str
    head_sha: str
    threads: tuple[ReviewThread, ...] = ()
    """For ``fix_review``: the threads to address, reply to and resolve."""
    reviews: tuple[Review, ...] = ()
    """For ``fix_review``: change requests whose words are not in any thread."""
    checks: tuple[Check, ...] = ()
    """For ``fix_checks``: the failed checks (their logs go to the fixer)."""
    comment: str | None = None
    """For ``stop``: what to tell people on the pull request (None: said already)."""
    ignored: tuple[str, ...] = field(default=())
    """Words from untrusted people that were not acted on, described."""

    @property
    def key(self) -> str:
        """Names the move for the executor's idempotency: one kind, one head, one attempt."""
        return f"{self.kind.value}:{self.head_sha}"


def next_move(
    facts: ShepherdFacts, bounds: ShepherdBounds, trust: PersonTrust, *, me: str | None
) -> Move:
    """The shepherd's next move; ``me`` is the login the shepherd acts as: its words are
    trusted (Orchestrate's own code reviewer writes as it), and its marked replies
    (``REPLY_MARK``) are answers, not something to address."""
    pull = facts.pull_request
    head = pull.head_sha
    ignored: list[str] = []
    if pull.state is PullRequestState.MERGED:
        return Move(MoveKind.DONE, "it is merged", head)
    if pull.state is PullRequestState.CLOSED:
        return Move(MoveKind.DONE, "it was closed", head)
    if pull.draft:
        return Move(MoveKind.WAIT, "it is a draft: mark it ready for review to let it move", head)
    if HOLD_LABEL in pull.labels:
        return Move(MoveKind.WAIT, f"a person put the {HOLD_LABEL} label on it", head)
    threads = _threads_to_address(facts.threads, trust, me, ignored)
    requests = _change_requests(facts.reviews, trust, ignored, head)
    wanted = _wanted(facts, threads, requests)
    if wanted.kind in WORK:
        stop = _bound_hit(facts, bounds, wanted)
        if stop is not None:
            return stop
    return Move(
        wanted.kind,
        wanted.reason,
        head,
        threads=wanted.threads,
        reviews=wanted.reviews,
        checks=wanted.checks,
        ignored=tuple(ignored),
    )


def _wanted(
    facts: ShepherdFacts, threads: tuple[ReviewThread, ...], requests: tuple[Review, ...]
) -> Move:
    pull, merge = facts.pull_request, facts.merge
    head = pull.head_sha
    if pull.mergeable is False:
        return Move(MoveKind.RESOLVE_CONFLICTS, f"it conflicts with {pull.base_branch}", head)
    failed = tuple(check for check in facts.checks if check.state is CheckState.FAILURE)
    if failed:
        names = ", ".join(sorted({check.name for check in failed}))
        return Move(MoveKind.FIX_CHECKS, f"checks failed: {names}", head, checks=failed)
    if threads or requests:
        parts = []
        if threads:
            parts.append(f"{len(threads)} review thread(s) to address")
        if requests:
            who = ", ".join(sorted({r.author.login or "?" for r in requests}))
            parts.append(f"changes requested by {who}")
        return Move(MoveKind.FIX_REVIEW, "; ".join(parts), head, threads=threads, reviews=requests)
    if merge.needs_branch_update:
        return Move(MoveKind.UPDATE_BRANCH, f"it is behind {pull.base_branch}", head)
    if merge.verdict is Verdict.READY:
        return Move(MoveKind.MERGE, "approved, checks green: merging", head)
    reasons = [reason for reason in merge.reasons if reason.kind is not ReasonKind.BEHIND_BASE]
    why = "; ".join(reason.message for reason in reasons) or "nothing to do yet"
    return Move(MoveKind.WAIT, why, head)


def _threads_to_address(
    threads: Sequence[ReviewThread], trust: PersonTrust, me: str | None, ignored: list[str]
) -> tuple[ReviewThread, ...]:
    """Unresolved threads a trusted person (or Orchestrate's reviewer) opened, unless the
    shepherd had the last word.

    Who opened a thread decides whether it counts; a later reply by someone untrusted
    does not make the shepherd act again, while one by a trusted person does.
    """
    found = []
    for thread in threads:
        if thread.resolved or not thread.comments:
            continue
        opener = thread.comments[0].author
        if not (trust(opener) or _is(opener, me)):
            ignored.append(f"thread {thread.id} opened by {opener.login or 'someone'}")
            continue
        said = [
            comment
            for comment in thread.comments
            if trust(comment.author) or _is(comment.author, me)
        ]
        last = said[-1] if said else None
        if last is not None and _is(last.author, me) and REPLY_MARK in last.body:
            continue  # answered; waiting for the reviewer to resolve or say more
        found.append(thread)
    return tuple(found)


def _change_requests(
    reviews: Sequence[Review], trust: PersonTrust, ignored: list[str], head: str
) -> tuple[Review, ...]:
    """Each trusted reviewer's standing change request with words of its own (a request
    whose words are all in threads is addressed through them)."""
    latest: dict[str, Review] = {}
    for review in reviews:
        login = review.author.login or ""
        if review.verdict is ReviewVerdict.COMMENTED:
            continue
        if not trust(review.author):
            if review.verdict is ReviewVerdict.CHANGES_REQUESTED:
                ignored.append(f"changes requested by {login or 'someone'}")
            continue
        latest[login] = review
    return tuple(
        review
        for review in latest.values()
        if review.verdict is ReviewVerdict.CHANGES_REQUESTED
        and review.body.strip()
        and review.commit_sha in (None, head)
    )


def _bound_hit(facts: ShepherdFacts, bounds: ShepherdBounds, wanted: Move) -> Move | None:
    """A ``stop`` when ``wanted`` would pass a bound; its comment only the first time."""
    head = facts.pull_request.head_sha
    acted = [move for move in facts.history if move.kind in WORK]
    same = sum(1 for move in acted if move.kind is wanted.kind and move.head_sha == head)
    if len(acted) >= bounds.max_attempts:
        why = f"it made {len(acted)} moves on this pull request, the most allowed"
        then = "It needs a person now."
    elif bounds.budget_usd is not None and facts.spent_usd >= bounds.budget_usd:
        why = f"its fixers spent ${facts.spent_usd:.2f} of the ${bounds.budget_usd:.2f} budget"
        then = "It needs a person now."
    elif same >= bounds.max_attempts_per_head:
        why = (
            f"it tried to {wanted.kind.value.replace('_', ' ')} {same} time(s) on commit "
            f"{head[:12]} ({wanted.reason})"
        )
        then = "It needs a person now; a new commit lets it try again."
    else:
        return None
    comment = None
    if facts.stopped_at_head != head:
        comment = f"Orchestrate stopped shepherding this pull request: {why}. {then}"
    return Move(MoveKind.STOP, why, head, comment=comment)


def _is(person: Person, login: str | None) -> bool:
    return login is not None and (person.login or "").casefold() == login.casefold()
