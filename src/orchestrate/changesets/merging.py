"""Merging a change set's pull requests in order: the job ``changesets.advance``.

One round of the job:

1. refreshes every member not merged yet from its forge (``delivery.show_pull_request``):
   one closed without being merged fails the set before anything more is merged; one a
   person merged is recorded merged;
2. asks ``delivery.merge_pull_request`` — the repository's merge policy decides, never
   an admin override — to merge each member whose every dependency in the set has
   merged, in order, again after each merge (a dependent may be ready as soon as its
   dependency merged). Not ready: the policy's reasons become the member's note and it
   waits. Refused by the forge, or found closed: the set fails, and nothing after it is
   merged;
3. ends in one transaction: the set merged (every member is), failed, or the next
   round enqueued ``ORCHESTRATE_CHANGESET_POLL_SECONDS`` later — with this job's
   completion.

Each merge is recorded in its own transaction right away. A worker killed in a round
hands the job back; the next attempt finds the merges done (``merge_pull_request``
says a merged pull request is merged rather than merging it again) and goes on. Rounds
are numbered: a round that is not the set's current one ends without acting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor
from orchestrate.changesets import _store as store
from orchestrate.changesets.events import (
    ChangeSetFailed,
    ChangeSetMemberMerged,
    ChangeSetMerged,
)
from orchestrate.changesets.loading import load_change_set
from orchestrate.changesets.models import (
    ChangeSet,
    ChangeSetState,
    Member,
    MemberState,
    check_transition,
    ready_to_merge,
)
from orchestrate.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    IntegrationError,
    NotFound,
)
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobKind, JobPayload, enqueue
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery

log = structlog.get_logger(__name__)

Finisher = Callable[[UnitOfWork], Awaitable[None]]

ACTOR = Actor.system("changesets")
_UNREACHABLE = (IntegrationError, ConfigurationError, AuthenticationFailed, NotFound)


class AdvanceChangeSet(JobPayload):
    """Round ``round`` of merging change set ``change_set_id``."""

    change_set_id: str
    round: int


ADVANCE_CHANGE_SET = JobKind("changesets.advance", AdvanceChangeSet)


def round_key(change_set_id: str, number: int) -> str:
    return f"{ADVANCE_CHANGE_SET.name}:{change_set_id}:{number}"


@dataclass(frozen=True)
class _Failure:
    reason: str
    repository: str


async def advance(
    uow: UnitOfWork, settings: Settings, change_set_id: str, number: int, finish: Finisher
) -> None:
    """One round: refresh, merge what may merge now, then end, fail or poll again."""
    change_set = await load_change_set(uow.sibling(read_only=True), change_set_id)
    if change_set.state is not ChangeSetState.MERGING or not await _is_current(
        uow, change_set_id, number
    ):
        await _finish_only(uow, finish)
        return
    failure = await _refresh_all(uow, settings, change_set)
    if failure is None:
        failure = await _merge_ready(uow, settings, change_set_id)
    if failure is not None:
        await fail(uow, change_set_id, failure.reason, failure.repository, finish)
        return
    await _end_round(uow, settings, change_set_id, number, finish)


async def _is_current(uow: UnitOfWork, change_set_id: str, number: int) -> bool:
    async with uow.sibling(read_only=True) as reader:
        found = await store.row(reader, change_set_id)
        return found is not None and found.poll_round == number


async def _refresh_all(
    uow: UnitOfWork, settings: Settings, change_set: ChangeSet
) -> _Failure | None:
    for member in change_set.members:
        if member.state is not MemberState.OPEN or member.pr_number is None:
            continue
        view = await delivery.show_pull_request(
            uow.sibling(), settings, member.repository, member.pr_number
        )
        state = view.pull_request.state
        if state is delivery.PullRequestState.MERGED:
            await _record_merged(uow, change_set.id, member, view.pull_request)
        elif state is delivery.PullRequestState.CLOSED:
            await _record_member(uow, change_set.id, member, MemberState.CLOSED, "closed")
            return _Failure(
                f"{member.pull_request} was closed without being merged", member.repository
            )
    return None


async def _merge_ready(uow: UnitOfWork, settings: Settings, change_set_id: str) -> _Failure | None:
    tried: set[int] = set()
    while True:
        change_set = await load_change_set(uow.sibling(read_only=True), change_set_id)
        candidates = [m for m in ready_to_merge(change_set.members) if m.position not in tried]
        if not candidates:
            return None
        member = candidates[0]
        tried.add(member.position)
        failure = await _merge_one(uow, settings, change_set_id, member)
        if failure is not None:
            return failure


async def _merge_one(
    uow: UnitOfWork, settings: Settings, change_set_id: str, member: Member
) -> _Failure | None:
    """Ask for the merge; record what came of it; a failure when the set cannot finish."""
    if member.pr_number is None or member.state is not MemberState.OPEN:
        return None
    ref = member.pull_request or member.repository
    try:
        merged = await delivery.merge_pull_request(
            uow.sibling(), settings, member.repository, member.pr_number, ACTOR
        )
    except delivery.NotReadyToMerge as waiting:
        reasons = [str(reason) for reason in waiting.context.get("reasons", [])]
        if "closed" in reasons:
            await _record_member(uow, change_set_id, member, MemberState.CLOSED, str(waiting))
            return _Failure(f"{ref} was closed without being merged", member.repository)
        await _record_member(uow, change_set_id, member, MemberState.OPEN, str(waiting))
        return None
    except delivery.MergeRefused as refused:
        reason = f"the forge refused to merge {ref}: {refused.reason or refused}"
        await _record_member(uow, change_set_id, member, MemberState.OPEN, reason)
        return _Failure(reason[:2000], member.repository)
    except Conflict as stale:  # the record says it is no longer open
        recorded = await delivery.get_pull_request(
            uow.sibling(read_only=True), member.repository, member.pr_number
        )
        if recorded.state is delivery.PullRequestState.MERGED:
            await _record_merged(uow, change_set_id, member, recorded)
            return None
        await _record_member(uow, change_set_id, member, MemberState.CLOSED, str(stale))
        return _Failure(f"{ref} was closed without being merged", member.repository)
    except _UNREACHABLE as error:
        note = f"could not merge {ref} now, trying again: {error}"
        await _record_member(uow, change_set_id, member, MemberState.OPEN, note[:2000])
        return None
    await _record_merged(uow, change_set_id, member, merged)
    return None


async def _record_member(
    uow: UnitOfWork, change_set_id: str, member: Member, state: MemberState, note: str
) -> None:
    async with uow:
        row = await store.member_row(uow, change_set_id, member.position)
        assert row is not None
        row.state = state.value
        row.note = note[:2000]
        await uow.commit()


async def _record_merged(
    uow: UnitOfWork, change_set_id: str, member: Member, merged: delivery.PullRequest
) -> None:
    async with uow:
        row = await store.member_row(uow, change_set_id, member.position)
        assert row is not None
        if row.state == MemberState.MERGED.value:
            return
        row.state = MemberState.MERGED.value
        row.note = None
        row.merged_at = merged.merged_at or uow.now()
        record_event(
            uow,
            ChangeSetMemberMerged(
                subject=change_set_id,
                change_set_id=change_set_id,
                repository=merged.repository,
                number=merged.number,
                position=member.position,
            ),
        )
        await uow.commit()
    log.info(
        "changeset_member_merged",
        change_set_id=change_set_id,
        repository=merged.repository,
        number=merged.number,
    )


async def _end_round(
    uow: UnitOfWork, settings: Settings, change_set_id: str, number: int, finish: Finisher
) -> None:
    async with uow:
        found = await store.row(uow, change_set_id, for_update=True)
        assert found is not None
        members = await store.member_rows(uow, change_set_id)
        if ChangeSetState(found.state) is not ChangeSetState.MERGING or found.poll_round != number:
            await finish(uow)
            await uow.commit()
            return
        now = uow.now()
        found.updated_at = now
        if all(m.state == MemberState.MERGED.value for m in members):
            check_transition(found.id, ChangeSetState.MERGING, ChangeSetState.MERGED)
            found.state = ChangeSetState.MERGED.value
            found.finished_at = now
            record_event(
                uow,
                ChangeSetMerged(
                    subject=found.id,
                    change_set_id=found.id,
                    pull_requests=[f"{m.repository}#{m.pr_number}" for m in members],
                ),
            )
        else:
            found.poll_round = number + 1
            await enqueue(
                uow,
                ADVANCE_CHANGE_SET,
                AdvanceChangeSet(change_set_id=found.id, round=number + 1),
                key=round_key(found.id, number + 1),
                run_at=now + timedelta(seconds=settings.changeset_poll_seconds),
            )
        await finish(uow)
        await uow.commit()


async def fail(
    uow: UnitOfWork, change_set_id: str, reason: str, repository: str | None, finish: Finisher
) -> None:
    """Mark the change set failed with ``reason`` (unless it finished meanwhile), with the
    job's completion."""
    async with uow:
        found = await store.row(uow, change_set_id, for_update=True)
        assert found is not None
        state = ChangeSetState(found.state)
        if not state.is_finished:
            check_transition(found.id, state, ChangeSetState.FAILED)
            now = uow.now()
            found.state = ChangeSetState.FAILED.value
            found.failure_reason = reason[:2000]
            found.finished_at = found.updated_at = now
            await auth.record_audit(
                uow, ACTOR, "changeset.fail", found.id, {"reason": reason[:2000]}
            )
            record_event(
                uow,
                ChangeSetFailed(
                    subject=found.id,
                    change_set_id=found.id,
                    reason=reason[:2000],
                    repository=repository,
                ),
            )
        await finish(uow)
        await uow.commit()
    log.info("changeset_failed", change_set_id=change_set_id, reason=reason)


async def _finish_only(uow: UnitOfWork, finish: Finisher) -> None:
    async with uow.sibling() as finishing:
        await finish(finishing)
        await finishing.commit()
