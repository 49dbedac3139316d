"""The shepherd at work: it looks at a pull request, decides its next move, and makes it.

``forges.shepherding.next_move`` decides (pure); this module gathers what it decides
on and carries the move out. One look is a ``delivery.shepherd`` job for one pull
request; whatever may have changed it queues one (``request_look``): the pull request
being opened or adopted, a webhook about it (``on_forge_event``), a fixer ending, and,
while it waits, a timer (``ORCHESTRATE_SHEPHERD_POLL_SECONDS``), so it moves without
webhooks too.

One worker at a time looks at a pull request: a look holds a lease on its row (the
job's id as owner, so a retried job takes its own lease back), and a look that finds
the lease taken queues another a little later.

Moves that act are written (``shepherd_moves``, ``started``) before they act, each named
by its kind, head commit and attempt, and every act is safe to repeat or to find done:

- a fixer is an agent started with an origin key made from the move, so starting it
  again returns the same run; its end is a job (``fixers.py``) that pushes its commit
  only if the branch does not already hold it, and replies in a thread only if the
  thread has no reply of that move yet;
- the stop comment carries a mark naming the head commit, and is not posted when a
  comment with the mark is there;
- a merge names the head it judged and is asked of a pull request the forge says is
  still open (merged already: done).

So a worker killed anywhere leaves a ``started`` move; the next look finishes a fixer's
start or retires any other such move as ``interrupted`` and judges the pull request
afresh, without a second push, comment or merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    IntegrationError,
    NotFound,
)
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import JobContext
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery import fixers
from orchestrate.delivery.events import PullRequestShepherdMoved
from orchestrate.delivery.gates import merge_held
from orchestrate.delivery.looks import ACTOR, ShepherdLook, finish_move_in, request_look
from orchestrate.delivery.merging import record_merge
from orchestrate.delivery.models import (
    AUTOMATION_LABEL,
    MoveStatus,
    PullRequest,
    PullRequestState,
    ShepherdState,
)
from orchestrate.delivery.refreshing import apply_forge_view
from orchestrate.delivery.tables import PullRequestRow, ShepherdMoveRow
from orchestrate.forges import service as forges
from orchestrate.forges.service import (
    STOP_MARK,
    WORK,
    ForgeEvent,
    Move,
    MoveKind,
    PastMove,
    ShepherdBounds,
    ShepherdFacts,
    next_move,
)
from orchestrate.repositories import service as repositories

log = structlog.get_logger(__name__)

LEASE = timedelta(minutes=10)
"""How long a look may hold a pull request before another worker may take it over."""
BUSY_RETRY = timedelta(seconds=5)
"""When the lease is taken: look again this much later."""
STOPPED_POLL_FACTOR = 10
"""A stopped shepherd looks this many times less often (only a person moves it on)."""
FIXER_KINDS = frozenset({MoveKind.FIX_CHECKS, MoveKind.FIX_REVIEW, MoveKind.RESOLVE_CONFLICTS})
_UNREACHABLE = (IntegrationError, ConfigurationError, AuthenticationFailed, NotFound)


# --- asking for a look -------------------------------------------------------------------


async def request_look_by_number(
    uow: UnitOfWork, repository: str, number: int, actor: Actor
) -> PullRequest:
    """Queue a look now at a recorded pull request (``pr shepherd``); its record. A
    shepherd stopped at a bound is set going again (its bounds still hold: it stops
    again at once unless a person changed something)."""
    auth.authorize(actor, auth.Permission.WRITE)
    async with uow:
        row = await store.by_number(uow, repository, number, for_update=True)
        if row is None:
            raise NotFound(
                f"Orchestrate opened no pull request #{number} in {repository}; "
                "see 'orchestrate pr list'",
                repository=repository,
                number=number,
            )
        if row.shepherd_state == ShepherdState.STOPPED.value:
            row.shepherd_state = ShepherdState.ACTIVE.value
        await request_look(uow, row)
        await auth.record_audit(uow, actor, "pull_request.shepherd", f"{repository}#{number}", {})
        await uow.commit()
        return store.to_pull_request(row)


_PULL_REQUEST_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "merge_request",
    }
)
_CI_EVENTS = frozenset({"check_run", "check_suite", "workflow_run", "status", "pipeline"})
_COMMENT_EVENTS = frozenset({"issue_comment", "note"})
_ADOPTING_ACTIONS = frozenset({"opened", "reopened", "labeled", "synchronize", "ready_for_review"})


async def on_forge_event(uow: UnitOfWork, settings: Settings, event: ForgeEvent) -> list[str]:
    """Queue a look at every shepherded pull request ``event`` concerns, in the caller's
    entered transaction (the one that marks the delivery processed); a pull request
    carrying the ``orchestrate`` label that Orchestrate does not know is adopted. The
    pull requests named (``owner/name#number``), for the delivery's record."""
    if not settings.shepherd_enabled or event.repository is None:
        return []
    rows = await _concerned(uow, event)
    if not rows and _adoptable(event):
        adopted = await _adopt(uow, settings, event)
        rows = [adopted] if adopted is not None else []
    for row in rows:
        await request_look(uow, row)
    return [f"{row.repository}#{row.number}" for row in rows]


async def shepherded(uow: UnitOfWork, settings: Settings, event: ForgeEvent) -> list[str]:
    """The pull requests (``owner/name#number``) the shepherd moves that ``event``
    concerns, or would adopt; read in ``uow`` (not entered). The built-in automations
    start no agent of their own for these: the shepherd's fixers do that work."""
    if not settings.shepherd_enabled or event.repository is None:
        return []
    async with uow:
        rows = await _concerned(uow, event, lock=False)
    names = [f"{row.repository}#{row.number}" for row in rows]
    if not names and _adoptable(event):
        assert event.pull_request is not None
        names = [f"{event.repository}#{event.pull_request.number}"]
    return names


async def _concerned(
    uow: UnitOfWork, event: ForgeEvent, *, lock: bool = True
) -> list[PullRequestRow]:
    repository = event.repository
    assert repository is not None
    found: dict[str, PullRequestRow] = {}
    number = event.pull_request.number if event.pull_request is not None else None
    if number is None and event.kind in _COMMENT_EVENTS and event.issue is not None:
        number = event.issue.number
    if number is not None and (event.kind in _PULL_REQUEST_EVENTS | _COMMENT_EVENTS):
        row = await store.by_number(uow, repository, number, for_update=lock)
        if row is not None and row.state == PullRequestState.OPEN.value:
            found[row.id] = row
    if event.kind in _CI_EVENTS:
        sha = event.check.head_sha if event.check is not None else None
        for row in await store.open_on_branch(
            uow, repository, branch=event.head_branch, head_sha=sha
        ):
            found[row.id] = row
    if event.kind == "push" and event.branch:
        for row in await store.open_on_branch(uow, repository, branch=event.branch, head_sha=None):
            found[row.id] = row
        for row in await store.open_onto(uow, repository, event.branch):
            found[row.id] = row
    return list(found.values())


def _adoptable(event: ForgeEvent) -> bool:
    pull = event.pull_request
    return (
        event.kind in ("pull_request", "merge_request")
        and pull is not None
        and pull.number is not None
        and bool(pull.head_branch)
        and not event.is_fork
        and event.action in _ADOPTING_ACTIONS
        and AUTOMATION_LABEL in (event.labels or ())
    )


async def _adopt(uow: UnitOfWork, settings: Settings, event: ForgeEvent) -> PullRequestRow | None:
    """Record a labelled pull request of a registered repository, to shepherd it."""
    pull = event.pull_request
    assert pull is not None
    assert pull.number is not None
    assert pull.head_branch
    index = await repositories.repository_index(uow.sibling(read_only=True), settings)
    registered = index.find(event.repository or "", event.forge)
    if registered is None:
        return None
    existing = await store.by_branch(uow, registered.name, pull.head_branch)
    if existing is not None:
        return existing
    now = uow.now()
    row = PullRequestRow(
        id=new_id("pr", now),
        forge=event.forge,
        repository=registered.name,
        repository_key=store.name_key(registered.name),
        number=pull.number,
        url=pull.url[:1000],
        branch=pull.head_branch[:300],
        base=(pull.base_branch or registered.default_branch or "")[:300],
        head_sha=pull.head_sha[:64],
        state=PullRequestState.OPEN.value,
        draft=pull.draft,
        title=pull.title[:300],
        story_id=None,
        agent_id=None,
        opened_at=now,
        updated_at=now,
        merged_at=None,
        shepherd_state=ShepherdState.ACTIVE.value,
        shepherd_ticks=0,
    )
    store.add(uow, row)
    await store.flush(uow)
    log.info("pull_request_adopted", repository=row.repository, number=row.number)
    return row


# --- a look --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Looked:
    """What one look did, for the job's result and the tests."""

    move: str
    reason: str
    acted: bool = False


async def look(context: JobContext[ShepherdLook]) -> dict[str, Any]:
    """The ``delivery.shepherd`` job."""
    runtime = context.runtime
    row_id = context.payload.pull_request_id
    owner = context.job.id
    if not await _take_lease(runtime.uow(), row_id, owner):
        async with runtime.uow() as uow:
            row = await store.by_id(uow, row_id, for_update=True)
            if row is not None:
                await request_look(uow, row, at=uow.now() + BUSY_RETRY)
                await uow.commit()
        return {"busy": True}
    try:
        looked = await _look(runtime, row_id, owner)
    finally:
        async with runtime.uow() as uow:
            await store.release_shepherd_lease(uow, row_id, owner)
            await uow.commit()
    return {"move": looked.move, "reason": looked.reason, "acted": looked.acted}


async def _take_lease(uow: UnitOfWork, row_id: str, owner: str) -> bool:
    async with uow:
        now = uow.now()
        taken = await store.take_shepherd_lease(uow, row_id, owner, now, now + LEASE)
        if taken:
            row = await store.by_id(uow, row_id)
            if row is not None and row.shepherd_next_at is not None and row.shepherd_next_at <= now:
                row.shepherd_next_at = None
        await uow.commit()
        return taken


async def _look(runtime: Runtime, row_id: str, owner: str) -> Looked:
    settings = runtime.settings
    async with runtime.uow(read_only=True) as reader:
        row = await store.by_id(reader, row_id)
        if row is None:
            return Looked("gone", "the pull request's record was deleted")
        pull = store.to_pull_request(row)
        moves = [store.to_move(move) for move in await store.moves_of(reader, row_id)]
    if pull.shepherd.state is ShepherdState.DONE or not settings.shepherd_enabled:
        return Looked("done", "the shepherd is done with it")
    for started in (move for move in moves if move.status is MoveStatus.STARTED):
        if MoveKind(started.kind) in FIXER_KINDS:
            await fixers.ensure_started(runtime, pull, started)
            return Looked("fixing", f"waiting for the fixer of move {started.id}")
        await _finish_move(runtime.uow(), started.id, MoveStatus.INTERRUPTED, "its worker died")
    try:
        async with forges.forge_client(runtime.uow(), settings, pull.forge) as client:
            facts, me = await _gather(runtime, client, pull, moves)
            move = next_move(facts, _bounds(settings), _person_trust(settings, pull.forge), me=me)
            log.info(
                "shepherd_move",
                repository=pull.repository,
                number=pull.number,
                move=move.kind.value,
                reason=move.reason,
            )
            return await _act(runtime, client, pull, move, moves)
    except _UNREACHABLE as error:
        await _record_look(
            runtime.uow(), row_id, "unreachable", f"the forge could not be asked: {error}"
        )
        await _look_later(runtime, row_id, settings.shepherd_poll_seconds)
        return Looked("unreachable", str(error))


async def _gather(
    runtime: Runtime, client: forges.ForgeClient, pull: PullRequest, moves: list[Any]
) -> tuple[ShepherdFacts, str]:
    settings = runtime.settings
    me = await client.whoami()
    info = await client.get_pull_request(pull.repository, pull.number)
    await apply_forge_view(runtime.uow(), pull.repository, pull.number, info)
    threads: list[Any] = []
    reviews: list[Any] = []
    checks: list[Any] = []
    behind: int | None = None
    found = await repositories.get_merge_policy(runtime.uow(), settings, pull.repository)
    policy = found.policy
    if info.state is forges.PullRequestState.OPEN:
        threads = await client.list_review_threads(pull.repository, pull.number)
        reviews = await client.list_reviews(pull.repository, pull.number)
        checks = await client.list_checks(pull.repository, info.head_sha)
        if policy.require_up_to_date and info.mergeable:
            behind = await client.commits_behind_base(pull.repository, pull.number)
    merge = forges.decide_merge(
        policy,
        forges.MergeFacts(info, reviews, checks, behind),
        forges.review_trust(client.forge, settings.github_trusted_associations),
        automatic=True,
    )
    history = [PastMove(MoveKind(m.kind), m.head_sha) for m in moves if MoveKind(m.kind) in WORK]
    stopped = [m for m in moves if m.kind == MoveKind.STOP.value]
    facts = ShepherdFacts(
        pull_request=info,
        merge=merge,
        threads=threads,
        reviews=reviews,
        checks=checks,
        history=history,
        spent_usd=sum((m.cost_usd for m in moves), Decimal(0)),
        stopped_at_head=stopped[-1].head_sha if stopped else None,
    )
    return facts, me


def _bounds(settings: Settings) -> ShepherdBounds:
    return ShepherdBounds(
        max_attempts=settings.shepherd_max_attempts,
        max_attempts_per_head=settings.shepherd_max_attempts_per_head,
        budget_usd=settings.shepherd_budget_usd,
    )


def _person_trust(settings: Settings, forge: str) -> forges.PersonTrust:
    """Whose words move a pull request: the forges' trust rule (docs/triggers.md)."""
    if forge == "gitlab":
        users = settings.gitlab_trusted_users
        return lambda person: forges.is_trusted_username(person.login, users)
    associations = settings.github_trusted_associations
    return lambda person: forges.is_trusted_association(person.association, associations)


async def _act(
    runtime: Runtime,
    client: forges.ForgeClient,
    pull: PullRequest,
    move: Move,
    moves: list[Any],
) -> Looked:
    settings = runtime.settings
    kind = move.kind
    if kind is MoveKind.DONE:
        await _record_look(runtime.uow(), pull.id, kind.value, move.reason, done=True)
        return Looked(kind.value, move.reason)
    if kind is MoveKind.WAIT:
        await _record_look(runtime.uow(), pull.id, kind.value, move.reason)
        await _look_later(runtime, pull.id, settings.shepherd_poll_seconds)
        return Looked(kind.value, move.reason)
    if kind is MoveKind.MERGE:
        held = await merge_held(runtime.uow(), pull)
        if held is not None:
            reason = f"ready, but not the shepherd's to merge: {held}"
            await _record_look(runtime.uow(), pull.id, MoveKind.WAIT.value, reason)
            await _look_later(runtime, pull.id, settings.shepherd_poll_seconds)
            return Looked(MoveKind.WAIT.value, reason)
    attempt = 1 + sum(1 for m in moves if m.kind == kind.value and m.head_sha == move.head_sha)
    if kind is MoveKind.STOP:
        return await _stop(runtime, client, pull, move, attempt)
    move_id = await _start_move(runtime.uow(), pull.id, move, attempt)
    if move_id is None:  # another look recorded this very move: it is that look's to make
        return Looked(kind.value, move.reason)
    if kind in FIXER_KINDS:
        await _record_look(runtime.uow(), pull.id, kind.value, move.reason)
        await fixers.start_fixer(runtime, client, pull, move, move_id)
        return Looked(kind.value, move.reason, acted=True)
    return await _merge_or_update(runtime, client, pull, move, move_id)


async def _stop(
    runtime: Runtime, client: forges.ForgeClient, pull: PullRequest, move: Move, attempt: int
) -> Looked:
    settings = runtime.settings
    if move.comment is not None:
        move_id = await _start_move(runtime.uow(), pull.id, move, attempt)
        if move_id is not None:
            mark = STOP_MARK.format(head=move.head_sha)
            said = await client.list_comments(pull.repository, pull.number)
            if not any(mark in comment.body for comment in said):
                await client.comment(pull.repository, pull.number, f"{move.comment}\n\n{mark}")
            await _finish_move(runtime.uow(), move_id, MoveStatus.DONE, move.reason)
    await _record_look(runtime.uow(), pull.id, move.kind.value, move.reason, stopped=True)
    await _look_later(runtime, pull.id, settings.shepherd_poll_seconds * STOPPED_POLL_FACTOR)
    return Looked(move.kind.value, move.reason, acted=move.comment is not None)


async def _merge_or_update(
    runtime: Runtime, client: forges.ForgeClient, pull: PullRequest, move: Move, move_id: str
) -> Looked:
    """Both go through the merge controller, which judges the head afresh: it updates a
    branch that is behind (when the policy wants it up to date) and merges a ready one."""
    outcome = await forges.merge_pull_request(
        runtime.uow(),
        runtime.settings,
        client,
        pull.repository,
        pull.number,
        actor=ACTOR,
        automatic=True,
    )
    detail: dict[str, Any] = {"outcome": outcome.status.value, "summary": outcome.summary}
    if outcome.status in (forges.MergeStatus.MERGED, forges.MergeStatus.ALREADY_MERGED):
        await record_merge(runtime.uow(), pull, outcome.head_sha)
        await _finish_move(runtime.uow(), move_id, MoveStatus.DONE, outcome.summary, detail)
        await _record_look(runtime.uow(), pull.id, move.kind.value, outcome.summary, done=True)
        return Looked(move.kind.value, outcome.summary, acted=True)
    status = MoveStatus.FAILED if outcome.status is forges.MergeStatus.REFUSED else MoveStatus.DONE
    if outcome.refused_reason:
        detail["forge_reason"] = outcome.refused_reason
    await _finish_move(runtime.uow(), move_id, status, outcome.summary, detail)
    await _record_look(runtime.uow(), pull.id, move.kind.value, outcome.summary)
    await _look_later(runtime, pull.id, runtime.settings.shepherd_poll_seconds)
    return Looked(move.kind.value, outcome.summary, acted=outcome.branch_updated)


# --- recording -----------------------------------------------------------------------------


async def _start_move(
    uow: UnitOfWork,
    pull_request_id: str,
    move: Move,
    attempt: int,
    detail: dict[str, Any] | None = None,
) -> str | None:
    """Record a move as started, before it acts; None when it was recorded already."""
    try:
        async with uow:
            now = uow.now()
            row = ShepherdMoveRow(
                id=new_id("mv", now),
                pull_request_id=pull_request_id,
                key=f"{move.key}:{attempt}",
                kind=move.kind.value,
                head_sha=move.head_sha,
                status=MoveStatus.STARTED.value,
                reason=move.reason[:1000],
                agent_id=None,
                cost_usd=Decimal(0),
                detail=detail or {},
                started_at=now,
                finished_at=None,
            )
            store.add(uow, row)
            await uow.commit()
            return row.id
    except IntegrityError:
        return None


async def _finish_move(
    uow: UnitOfWork,
    move_id: str,
    status: MoveStatus,
    reason: str,
    detail: dict[str, Any] | None = None,
    *,
    cost_usd: Decimal | None = None,
) -> None:
    async with uow:
        await finish_move_in(uow, move_id, status, reason, detail, cost_usd=cost_usd)
        await uow.commit()


async def _record_look(
    uow: UnitOfWork,
    row_id: str,
    move: str,
    reason: str,
    *,
    done: bool = False,
    stopped: bool = False,
) -> None:
    async with uow:
        row = await store.by_id(uow, row_id, for_update=True)
        if row is None:
            return
        before = (row.shepherd_state, row.shepherd_move, row.shepherd_reason)
        row.shepherd_move = move[:30]
        row.shepherd_reason = reason[:1000]
        row.shepherd_moved_at = uow.now()
        if done:
            row.shepherd_state = ShepherdState.DONE.value
        elif stopped:
            row.shepherd_state = ShepherdState.STOPPED.value
        else:
            row.shepherd_state = ShepherdState.ACTIVE.value
        if before != (row.shepherd_state, row.shepherd_move, row.shepherd_reason):
            record_event(
                uow,
                PullRequestShepherdMoved(
                    subject=f"{row.repository}#{row.number}",
                    repository=row.repository,
                    number=row.number,
                    state=row.shepherd_state,
                    move=row.shepherd_move,
                    reason=row.shepherd_reason,
                ),
            )
        await uow.commit()


async def _look_later(runtime: Runtime, row_id: str, seconds: float) -> None:
    async with runtime.uow() as uow:
        row = await store.by_id(uow, row_id, for_update=True)
        if row is not None:
            await request_look(uow, row, at=uow.now() + timedelta(seconds=seconds))
            await uow.commit()


async def list_moves(uow: UnitOfWork, repository: str, number: int) -> list[Any]:
    """The shepherd's moves on a recorded pull request, oldest first."""
    async with uow:
        row = await store.by_number(uow, repository, number)
        if row is None:
            raise NotFound(
                f"Orchestrate opened no pull request #{number} in {repository}; "
                "see 'orchestrate pr list'",
                repository=repository,
                number=number,
            )
        return [store.to_move(move) for move in await store.moves_of(uow, row.id)]
