"""The SQL of the delivery capability: rows of ``pull_requests``."""

from __future__ import annotations

from sqlalchemy import select

from orchestrate.core.pagination import newest_first
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery.models import PullRequest, PullRequestState
from orchestrate.delivery.tables import PullRequestRow


def name_key(repository: str) -> str:
    return repository.strip().casefold()


async def by_branch(uow: UnitOfWork, repository: str, branch: str) -> PullRequestRow | None:
    query = select(PullRequestRow).where(
        PullRequestRow.repository_key == name_key(repository), PullRequestRow.branch == branch
    )
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


def add(uow: UnitOfWork, row: PullRequestRow) -> None:
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
    )
