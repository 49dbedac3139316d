"""The SQL of the repository registry; callers pass an entered unit of work."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, or_, select

from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories.tables import MergePolicyRow, RepositoryDependencyRow, RepositoryRow


async def all_rows(uow: UnitOfWork) -> Sequence[RepositoryRow]:
    return (await uow.session.scalars(select(RepositoryRow).order_by(RepositoryRow.name_key))).all()


async def row_by_key(
    uow: UnitOfWork, name_key: str, *, for_update: bool = False
) -> RepositoryRow | None:
    query = select(RepositoryRow).where(RepositoryRow.name_key == name_key)
    if for_update:
        query = query.with_for_update()
    row: RepositoryRow | None = await uow.session.scalar(query)
    return row


async def row_by_path(uow: UnitOfWork, path: str) -> RepositoryRow | None:
    row: RepositoryRow | None = await uow.session.scalar(
        select(RepositoryRow).where(RepositoryRow.path == path).limit(1)
    )
    return row


def add(uow: UnitOfWork, row: RepositoryRow | RepositoryDependencyRow) -> None:
    uow.session.add(row)


async def flush(uow: UnitOfWork) -> None:
    await uow.session.flush()


async def delete_row(uow: UnitOfWork, row: RepositoryRow) -> None:
    await uow.session.delete(row)


async def all_dependencies(uow: UnitOfWork) -> list[tuple[str, str]]:
    rows = await uow.session.execute(
        select(RepositoryDependencyRow.repository, RepositoryDependencyRow.depends_on).order_by(
            RepositoryDependencyRow.repository, RepositoryDependencyRow.depends_on
        )
    )
    return [(source, target) for source, target in rows]


async def dependency_row(
    uow: UnitOfWork, repository: str, depends_on: str
) -> RepositoryDependencyRow | None:
    return await uow.session.get(RepositoryDependencyRow, (repository, depends_on))


async def delete_dependency(uow: UnitOfWork, row: RepositoryDependencyRow) -> None:
    await uow.session.delete(row)


async def delete_dependencies_of(uow: UnitOfWork, name_key: str) -> None:
    """Every declared dependency with ``name_key`` at either end."""
    await uow.session.execute(
        delete(RepositoryDependencyRow).where(
            or_(
                RepositoryDependencyRow.repository == name_key,
                RepositoryDependencyRow.depends_on == name_key,
            )
        )
    )


async def merge_policy_row(uow: UnitOfWork, name_key: str) -> MergePolicyRow | None:
    return await uow.session.get(MergePolicyRow, name_key)


def add_merge_policy(uow: UnitOfWork, row: MergePolicyRow) -> None:
    uow.session.add(row)


async def delete_merge_policy_of(uow: UnitOfWork, name_key: str) -> None:
    await uow.session.execute(delete(MergePolicyRow).where(MergePolicyRow.repository == name_key))
