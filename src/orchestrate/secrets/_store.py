"""The SQL of the secrets capability; callers pass an entered unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select

from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets.tables import SecretRow


async def secret_row(uow: UnitOfWork, name: str, *, for_update: bool = False) -> SecretRow | None:
    query = select(SecretRow).where(SecretRow.name == name)
    if for_update:
        query = query.with_for_update()
    row: SecretRow | None = await uow.session.scalar(query)
    return row


async def all_rows(uow: UnitOfWork, *, for_update: bool = False) -> Sequence[SecretRow]:
    query = select(SecretRow).order_by(SecretRow.name)
    if for_update:
        query = query.with_for_update()
    return (await uow.session.scalars(query)).all()


async def rows_named(uow: UnitOfWork, names: Iterable[str]) -> Sequence[SecretRow]:
    wanted = sorted(set(names))
    if not wanted:
        return []
    return (await uow.session.scalars(select(SecretRow).where(SecretRow.name.in_(wanted)))).all()


async def names(uow: UnitOfWork) -> set[str]:
    return set((await uow.session.scalars(select(SecretRow.name))).all())


async def key_ids_in_use(uow: UnitOfWork) -> set[str]:
    return set((await uow.session.scalars(select(SecretRow.key_id).distinct())).all())


async def delete_row(uow: UnitOfWork, name: str) -> None:
    await uow.session.execute(delete(SecretRow).where(SecretRow.name == name))
