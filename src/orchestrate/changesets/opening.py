"""Opening a change set's pull requests, dependencies first, then starting to merge.

The job ``changesets.open_pull_requests`` (one per change set) walks the members in
merge order: a member named by its agent gets its pull request from
``delivery.open_for_agent`` — idempotent, so a pull request opened already (on the
agent's completion, or by an attempt that crashed) is found rather than opened again —
and the member records it in a transaction of its own. Then each pull request gets one
comment naming the change set and its siblings in order (a hidden marker finds it
again, so a repeated attempt posts none). Last, in one transaction: the set moves to
``merging``, the first round of the merge job is enqueued, and this job completes.

An agent with nothing to deliver, or a pull request found closed, fails the set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from orchestrate.auth.service import Actor
from orchestrate.changesets import _store as store
from orchestrate.changesets.events import ChangeSetPullRequestsOpened
from orchestrate.changesets.loading import load_change_set
from orchestrate.changesets.merging import ADVANCE_CHANGE_SET, AdvanceChangeSet, fail, round_key
from orchestrate.changesets.models import (
    ChangeSet,
    ChangeSetState,
    Member,
    MemberState,
    check_transition,
    comment_marker,
    sibling_note,
)
from orchestrate.core.events import record_event
from orchestrate.core.jobs import enqueue
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery
from orchestrate.forges import service as forges

log = structlog.get_logger(__name__)

Finisher = Callable[[UnitOfWork], Awaitable[None]]

ACTOR = Actor.system("changesets")


async def open_pull_requests(
    uow: UnitOfWork, settings: Settings, change_set_id: str, finish: Finisher
) -> None:
    """Open every member's pull request in order, comment on each, start merging."""
    change_set = await load_change_set(uow.sibling(read_only=True), change_set_id)
    if change_set.state is not ChangeSetState.OPEN:
        await _finish_only(uow, finish)
        return
    for member in change_set.members:
        if member.pr_number is not None:
            continue
        assert member.agent_id is not None  # a member without a pull request names its agent
        try:
            opened = await delivery.open_for_agent(uow, settings, member.agent_id, ACTOR)
        except delivery.NothingToDeliver as nothing:
            reason = f"{member.repository}: {nothing}"
            await fail(uow, change_set_id, reason, member.repository, finish)
            return
        await _record_pull_request(uow, change_set_id, member, opened.pull_request)
    change_set = await load_change_set(uow.sibling(read_only=True), change_set_id)
    closed = [m for m in change_set.members if m.state is MemberState.CLOSED]
    if closed:
        reason = f"{closed[0].pull_request} is closed without being merged"
        await fail(uow, change_set_id, reason, closed[0].repository, finish)
        return
    for member in change_set.members:
        await _comment_once(uow, settings, change_set, member)
    await _start_merging(uow, change_set, finish)


async def _record_pull_request(
    uow: UnitOfWork, change_set_id: str, member: Member, pull_request: delivery.PullRequest
) -> None:
    state = {
        delivery.PullRequestState.OPEN: MemberState.OPEN,
        delivery.PullRequestState.MERGED: MemberState.MERGED,
        delivery.PullRequestState.CLOSED: MemberState.CLOSED,
    }[pull_request.state]
    async with uow:
        row = await store.member_row(uow, change_set_id, member.position)
        assert row is not None
        row.pr_number = pull_request.number
        row.pr_url = pull_request.url
        row.state = state.value
        row.merged_at = pull_request.merged_at
        await uow.commit()
    log.info(
        "changeset_pull_request_opened",
        change_set_id=change_set_id,
        repository=pull_request.repository,
        number=pull_request.number,
    )


async def _comment_once(
    uow: UnitOfWork, settings: Settings, change_set: ChangeSet, member: Member
) -> None:
    if member.pr_number is None or member.state is not MemberState.OPEN:
        return
    recorded = await delivery.get_pull_request(
        uow.sibling(read_only=True), member.repository, member.pr_number
    )
    marker = comment_marker(change_set.id)
    async with forges.forge_client(uow.sibling(), settings, recorded.forge) as client:
        comments = await client.list_comments(recorded.repository, recorded.number)
        if any(marker in comment.body for comment in comments):
            return
        await client.comment(recorded.repository, recorded.number, sibling_note(change_set, member))


async def _start_merging(uow: UnitOfWork, change_set: ChangeSet, finish: Finisher) -> None:
    async with uow:
        row = await store.row(uow, change_set.id, for_update=True)
        assert row is not None
        if ChangeSetState(row.state) is not ChangeSetState.OPEN:  # cancelled meanwhile
            await finish(uow)
            await uow.commit()
            return
        check_transition(row.id, ChangeSetState.OPEN, ChangeSetState.MERGING)
        row.state = ChangeSetState.MERGING.value
        row.poll_round = 1
        row.updated_at = uow.now()
        record_event(
            uow,
            ChangeSetPullRequestsOpened(
                subject=row.id,
                change_set_id=row.id,
                pull_requests=[m.pull_request or m.repository for m in change_set.members],
            ),
        )
        await enqueue(
            uow,
            ADVANCE_CHANGE_SET,
            AdvanceChangeSet(change_set_id=row.id, round=1),
            key=round_key(row.id, 1),
        )
        await finish(uow)
        await uow.commit()


async def _finish_only(uow: UnitOfWork, finish: Finisher) -> None:
    async with uow.sibling() as finishing:
        await finish(finishing)
        await finishing.commit()
