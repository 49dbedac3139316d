"""Use cases of change sets; the capability's public API.

A change set is one change spanning several repositories: one member per repository,
each a completed agent run's branch or a pull request Orchestrate opened. Creating one
(``creating.py``) records it with its members in dependency order and enqueues the
job that opens the pull requests in that order (``opening.py``); a second job then
merges them in that order, polling (``merging.py``): a member merges only once every
member it depends on has, and only when its repository's merge policy allows.

Reads need no role; creating and cancelling need ``write`` (operators and admins), and
are audited.
"""

from __future__ import annotations

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.changesets import _store as store
from orchestrate.changesets.creating import (
    OPEN_CHANGE_SET,
    NewChangeSet,
    OpenChangeSet,
    create_change_set,
)
from orchestrate.changesets.events import ChangeSetCancelled
from orchestrate.changesets.loading import load_change_set
from orchestrate.changesets.merging import ADVANCE_CHANGE_SET, AdvanceChangeSet, advance
from orchestrate.changesets.models import (
    ChangeSet,
    ChangeSetState,
    Member,
    MemberState,
    MemberStatus,
    check_transition,
    member_statuses,
    merge_order,
)
from orchestrate.changesets.opening import open_pull_requests
from orchestrate.core.errors import InvalidTransition
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobContext, JobRegistry
from orchestrate.core.pagination import Page, check_page_size, page_of
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery
from orchestrate.delivery.service import PullRequest

__all__ = [
    "ADVANCE_CHANGE_SET",
    "OPEN_CHANGE_SET",
    "ChangeSet",
    "ChangeSetState",
    "Member",
    "MemberState",
    "MemberStatus",
    "NewChangeSet",
    "cancel_change_set",
    "change_set_status",
    "create_change_set",
    "follow_pull_requests",
    "follow_pull_requests_on_open",
    "get_change_set",
    "hold_change_set_merges",
    "list_change_sets",
    "merge_order",
    "register_changeset_jobs",
]


async def get_change_set(uow: UnitOfWork, change_set_id: str) -> ChangeSet:
    """One change set with its members in merge order, as recorded."""
    return await load_change_set(uow, change_set_id)


async def change_set_status(
    uow: UnitOfWork, change_set_id: str
) -> tuple[ChangeSet, list[MemberStatus]]:
    """The change set and, per member in merge order, what it waits for."""
    change_set = await load_change_set(uow, change_set_id)
    return change_set, member_statuses(change_set)


async def list_change_sets(
    uow: UnitOfWork,
    *,
    state: ChangeSetState | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ChangeSet]:
    """Change sets newest first, optionally in one state."""
    check_page_size(limit)
    async with uow:
        rows = await store.page(uow, state=state, limit=limit, cursor=cursor)
        found, next_cursor = page_of(rows, limit)
        members = await store.members_of(uow, [row.id for row in found])
    return Page(store.to_change_sets(found, members), next_cursor)


async def cancel_change_set(uow: UnitOfWork, change_set_id: str, actor: Actor) -> ChangeSet:
    """Stop a change set that is open or merging: nothing more is opened or merged (what
    merged already stays merged; its pull requests stay open)."""
    auth.authorize(actor, Permission.WRITE)
    await load_change_set(uow.sibling(read_only=True), change_set_id)  # NotFound first
    async with uow:
        found = await store.row(uow, change_set_id, for_update=True)
        assert found is not None
        state = ChangeSetState(found.state)
        if state.is_finished:
            raise InvalidTransition(
                f"Change set {change_set_id} is {state.value} already; only an open or "
                "merging one can be cancelled",
                change_set_id=change_set_id,
                state=state.value,
            )
        check_transition(found.id, state, ChangeSetState.CANCELLED)
        now = uow.now()
        found.state = ChangeSetState.CANCELLED.value
        found.finished_at = found.updated_at = now
        await auth.record_audit(uow, actor, "changeset.cancel", found.id)
        record_event(
            uow, ChangeSetCancelled(subject=found.id, change_set_id=found.id, actor=actor.name)
        )
        await uow.commit()
    return await load_change_set(uow.sibling(read_only=True), change_set_id)


async def _open_pull_requests(context: JobContext[OpenChangeSet]) -> None:
    runtime = context.runtime
    await open_pull_requests(
        runtime.uow(), runtime.settings, context.payload.change_set_id, context.complete_in
    )


async def _advance(context: JobContext[AdvanceChangeSet]) -> None:
    runtime = context.runtime
    payload = context.payload
    await advance(
        runtime.uow(), runtime.settings, payload.change_set_id, payload.round, context.complete_in
    )


async def hold_change_set_merges(uow: UnitOfWork, pull_request: PullRequest) -> str | None:
    """The merge gate: a member of an open or merging change set is merged by the set, in
    dependency order, never by the shepherd on its own."""
    agents = [pull_request.agent_id] if pull_request.agent_id else []
    async with uow:
        found = await store.unfinished_with(
            uow,
            agent_ids=agents,
            pull_requests=[(pull_request.repository, pull_request.number)],
        )
    if not found:
        return None
    return f"change set {found[0][0]} merges it, in dependency order"


def follow_pull_requests() -> None:
    """Hold the shepherd's merges of change-set members, in this process (idempotent)."""
    delivery.add_merge_gate(hold_change_set_merges)


async def follow_pull_requests_on_open(runtime: Runtime) -> None:
    """The composition root's hook for every process: ``follow_pull_requests``."""
    follow_pull_requests()


def register_changeset_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The jobs that open a change set's pull requests and merge them in order."""
    follow_pull_requests()
    registry.register(OPEN_CHANGE_SET, _open_pull_requests)
    registry.register(ADVANCE_CHANGE_SET, _advance)
