"""The SQL of the delivery capability: rows of ``pull_requests`` and ``shepherd_moves``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from orchestrate.core.pagination import newest_first
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery.models import (
    MoveStatus,
    PullRequest,
    PullRequestState,
    ShepherdMove,
    ShepherdState,
    ShepherdStatus,
)
from orchestrate.delivery.tables import PullRequestRow, ShepherdMoveRow


def name_key(repository: str) -> str:
    return repository.strip().casefold()


async def by_branch(
    uow: UnitOfWork, repository: str, branch: str, *, for_update: bool = False
) -> PullRequestRow | None:
    query = select(PullRequestRow).where(
        PullRequestRow.repository_key == name_key(repository), PullRequestRow.branch == branch
    )
    if for_update:
        query = query.with_for_update()
    return await uow.session.scalar(query)


async def by_number(
    uow: UnitOfWork, repository: str, number: int, *, for_update: bool = False
) -> PullRequestRow | None:
    query = select(PullRequestRow).where(
        PullRequestRow.repository_key == name_key(repository), PullRequestRow.number == number
    )
    if for_update:
        query = query.with_for_update()
    return await uow.session.scalar(query)


async def by_agent(uow: UnitOfWork, agent_id: str) -> PullRequestRow | None:
    query = select(PullRequestRow).where(PullRequestRow.agent_id == agent_id)
    return await uow.session.scalar(query.order_by(PullRequestRow.opened_at.desc()).limit(1))


async def page(
    uow: UnitOfWork,
    *,
    repository: str | None,
    state: PullRequestState | None,
    story_id: str | None,
    agent_id: str | None,
    limit: int,
    cursor: str | None,
) -> list[PullRequestRow]:
    """Up to ``limit + 1`` rows newest first after ``cursor`` matching every filter."""
    query = newest_first(
        select(PullRequestRow),
        PullRequestRow,
        limit,
        cursor,
        time_column=PullRequestRow.opened_at,
    )
    if repository is not None:
        query = query.where(PullRequestRow.repository_key == name_key(repository))
    if state is not None:
        query = query.where(PullRequestRow.state == state.value)
    if story_id is not None:
        query = query.where(PullRequestRow.story_id == story_id)
    if agent_id is not None:
        query = query.where(PullRequestRow.agent_id == agent_id)
    return list(await uow.session.scalars(query))


async def by_id(uow: UnitOfWork, row_id: str, *, for_update: bool = False) -> PullRequestRow | None:
    query = select(PullRequestRow).where(PullRequestRow.id == row_id)
    if for_update:
        query = query.with_for_update()
    return await uow.session.scalar(query)


async def open_on_branch(
    uow: UnitOfWork, repository: str, *, branch: str | None, head_sha: str | None
) -> list[PullRequestRow]:
    """Open pull requests of ``repository`` whose branch is ``branch`` or whose head is
    ``head_sha`` (what a check or a push names)."""
    wanted = []
    if branch:
        wanted.append(PullRequestRow.branch == branch)
    if head_sha:
        wanted.append(PullRequestRow.head_sha == head_sha)
    if not wanted:
        return []
    query = select(PullRequestRow).where(
        PullRequestRow.repository_key == name_key(repository),
        PullRequestRow.state == PullRequestState.OPEN.value,
        or_(*wanted),
    )
    return list(await uow.session.scalars(query))


async def open_onto(uow: UnitOfWork, repository: str, base: str) -> list[PullRequestRow]:
    """Open pull requests of ``repository`` into ``base`` (whose base moved on a push)."""
    query = select(PullRequestRow).where(
        PullRequestRow.repository_key == name_key(repository),
        PullRequestRow.state == PullRequestState.OPEN.value,
        PullRequestRow.base == base,
    )
    return list(await uow.session.scalars(query))


async def take_shepherd_lease(
    uow: UnitOfWork, row_id: str, owner: str, now: datetime, until: datetime
) -> bool:
    """Hold the shepherd's lease on a pull request (free, expired, or ours already)."""
    result = await uow.session.execute(
        update(PullRequestRow)
        .where(
            PullRequestRow.id == row_id,
            or_(
                PullRequestRow.shepherd_lease_owner.is_(None),
                PullRequestRow.shepherd_lease_owner == owner,
                PullRequestRow.shepherd_lease_until < now,
            ),
        )
        .values(shepherd_lease_owner=owner, shepherd_lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def release_shepherd_lease(uow: UnitOfWork, row_id: str, owner: str) -> None:
    await uow.session.execute(
        update(PullRequestRow)
        .where(PullRequestRow.id == row_id, PullRequestRow.shepherd_lease_owner == owner)
        .values(shepherd_lease_owner=None, shepherd_lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def moves_of(uow: UnitOfWork, pull_request_id: str) -> list[ShepherdMoveRow]:
    """Every move on the pull request, oldest first."""
    query = (
        select(ShepherdMoveRow)
        .where(ShepherdMoveRow.pull_request_id == pull_request_id)
        .order_by(ShepherdMoveRow.started_at, ShepherdMoveRow.id)
    )
    return list(await uow.session.scalars(query))


async def move_by_id(
    uow: UnitOfWork, move_id: str, *, for_update: bool = False
) -> ShepherdMoveRow | None:
    query = select(ShepherdMoveRow).where(ShepherdMoveRow.id == move_id)
    if for_update:
        query = query.with_for_update()
    return await uow.session.scalar(query)


def add(uow: UnitOfWork, row: PullRequestRow | ShepherdMoveRow) -> None:
    uow.session.add(row)


async def flush(uow: UnitOfWork) -> None:
    """Write pending rows now, so a unique clash surfaces here (``IntegrityError``)."""
    await uow.session.flush()


def to_pull_request(row: PullRequestRow) -> PullRequest:
    return PullRequest(
        id=row.id,
        forge=row.forge,
        repository=row.repository,
        number=row.number,
        url=row.url,
        branch=row.branch,
        base=row.base,
        head_sha=row.head_sha,
        state=PullRequestState(row.state),
        draft=row.draft,
        title=row.title,
        story_id=row.story_id,
        agent_id=row.agent_id,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        merged_at=row.merged_at,
        shepherd=ShepherdStatus(
            ShepherdState(row.shepherd_state or ShepherdState.ACTIVE.value),
            row.shepherd_move,
            row.shepherd_reason,
            row.shepherd_moved_at,
        ),
    )


def to_move(row: ShepherdMoveRow) -> ShepherdMove:
    return ShepherdMove(
        id=row.id,
        kind=row.kind,
        head_sha=row.head_sha,
        status=MoveStatus(row.status),
        reason=row.reason,
        agent_id=row.agent_id,
        cost_usd=row.cost_usd,
        started_at=row.started_at,
        finished_at=row.finished_at,
        detail=dict(row.detail or {}),
    )
