"""The SQL of change sets: rows of ``change_sets`` and ``change_set_members``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from orchestrate.changesets.models import ChangeSet, ChangeSetState, Member, MemberState
from orchestrate.changesets.tables import ChangeSetMemberRow, ChangeSetRow
from orchestrate.core.pagination import newest_first
from orchestrate.core.uow import UnitOfWork


def name_key(repository: str) -> str:
    return repository.strip().casefold()


async def row(
    uow: UnitOfWork, change_set_id: str, *, for_update: bool = False
) -> ChangeSetRow | None:
    query = select(ChangeSetRow).where(ChangeSetRow.id == change_set_id)
    if for_update:
        query = query.with_for_update()
    return await uow.session.scalar(query)


async def member_rows(uow: UnitOfWork, change_set_id: str) -> list[ChangeSetMemberRow]:
    query = (
        select(ChangeSetMemberRow)
        .where(ChangeSetMemberRow.change_set_id == change_set_id)
        .order_by(ChangeSetMemberRow.position)
    )
    return list(await uow.session.scalars(query))


async def members_of(uow: UnitOfWork, change_set_ids: Sequence[str]) -> list[ChangeSetMemberRow]:
    if not change_set_ids:
        return []
    query = (
        select(ChangeSetMemberRow)
        .where(ChangeSetMemberRow.change_set_id.in_(change_set_ids))
        .order_by(ChangeSetMemberRow.change_set_id, ChangeSetMemberRow.position)
    )
    return list(await uow.session.scalars(query))


async def member_row(
    uow: UnitOfWork, change_set_id: str, position: int
) -> ChangeSetMemberRow | None:
    return await uow.session.get(ChangeSetMemberRow, (change_set_id, position))


async def unfinished_with(
    uow: UnitOfWork, *, agent_ids: Sequence[str], pull_requests: Sequence[tuple[str, int]]
) -> list[tuple[str, str, int | None, str | None]]:
    """``(change_set_id, repository, pr_number, agent_id)`` of members of open or merging
    change sets that name one of these agents or pull requests."""
    unfinished = [ChangeSetState.OPEN.value, ChangeSetState.MERGING.value]
    query = (
        select(ChangeSetMemberRow)
        .join(ChangeSetRow, ChangeSetRow.id == ChangeSetMemberRow.change_set_id)
        .where(ChangeSetRow.state.in_(unfinished))
    )
    wanted_agents = set(agent_ids)
    wanted_pulls = {(name_key(repository), number) for repository, number in pull_requests}
    found: list[tuple[str, str, int | None, str | None]] = []
    for member in await uow.session.scalars(query):
        by_agent = member.agent_id is not None and member.agent_id in wanted_agents
        by_pull = (member.repository_key, member.pr_number) in wanted_pulls
        if by_agent or by_pull:
            found.append(
                (member.change_set_id, member.repository, member.pr_number, member.agent_id)
            )
    return found


async def page(
    uow: UnitOfWork, *, state: ChangeSetState | None, limit: int, cursor: str | None
) -> list[ChangeSetRow]:
    """Up to ``limit + 1`` change sets newest first after ``cursor``."""
    query = newest_first(select(ChangeSetRow), ChangeSetRow, limit, cursor)
    if state is not None:
        query = query.where(ChangeSetRow.state == state.value)
    return list(await uow.session.scalars(query))


async def add(uow: UnitOfWork, new: ChangeSetRow, members: Sequence[ChangeSetMemberRow]) -> None:
    """Insert the set, then its members (no relationship orders the two inserts)."""
    uow.session.add(new)
    await uow.session.flush()
    uow.session.add_all(members)
    await uow.session.flush()


def to_member(member: ChangeSetMemberRow) -> Member:
    return Member(
        position=member.position,
        repository=member.repository,
        agent_id=member.agent_id,
        depends_on=tuple(member.depends_on),
        state=MemberState(member.state),
        pr_number=member.pr_number,
        pr_url=member.pr_url,
        note=member.note,
        merged_at=member.merged_at,
    )


def to_change_set(found: ChangeSetRow, members: Sequence[ChangeSetMemberRow]) -> ChangeSet:
    return ChangeSet(
        id=found.id,
        title=found.title,
        description=found.description,
        state=ChangeSetState(found.state),
        created_by=found.created_by,
        created_at=found.created_at,
        updated_at=found.updated_at,
        members=tuple(to_member(member) for member in members),
        failure_reason=found.failure_reason,
        finished_at=found.finished_at,
    )


def to_change_sets(
    found: Sequence[ChangeSetRow], members: Sequence[ChangeSetMemberRow]
) -> list[ChangeSet]:
    """Each change set of ``found`` with its members among ``members``."""
    by_set: dict[str, list[ChangeSetMemberRow]] = {}
    for member in members:
        by_set.setdefault(member.change_set_id, []).append(member)
    return [to_change_set(row, by_set.get(row.id, [])) for row in found]
