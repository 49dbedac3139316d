"""The SQL of the secrets capability; callers pass an entered unit of work."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, text

from orchestrate.core.pagination import Page, by_key, page_by_key
from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets.tables import SecretRow

_KEY_LOCK = int.from_bytes(
    hashlib.blake2b(b"orchestrate:secret-keys", digest_size=8).digest(), "big", signed=True
)


async def lock_keys(uow: UnitOfWork, *, exclusive: bool) -> None:
    """Hold the store's key lock until this transaction ends.

    Shared while one secret is encrypted and written, exclusive while a rotation
    changes keys and re-encrypts: a writer then either commits before the rotation
    reads the rows, or reads the keys after the rotation wrote them. On PostgreSQL it
    is an advisory lock, so it holds across every machine using the database. On
    SQLite the one writer lock is it (writers never run side by side anyway): a
    unit of work that writes begins ``IMMEDIATE``, which takes it here.
    """
    if uow.session.get_bind().dialect.name != "postgresql":
        await uow.session.connection()
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await uow.session.execute(text(f"SELECT {function}(:key)"), {"key": _KEY_LOCK})


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


async def rows_page(uow: UnitOfWork, limit: int, cursor: str | None) -> Page[SecretRow]:
    rows = list(await uow.session.scalars(by_key(select(SecretRow), SecretRow.name, limit, cursor)))
    return page_by_key(rows, lambda row: row.name, limit)


async def rows_named(uow: UnitOfWork, names: Iterable[str]) -> Sequence[SecretRow]:
    wanted = sorted(set(names))
    if not wanted:
        return []
    return (await uow.session.scalars(select(SecretRow).where(SecretRow.name.in_(wanted)))).all()


async def names(uow: UnitOfWork) -> set[str]:
    return set((await uow.session.scalars(select(SecretRow.name))).all())


async def key_ids_in_use(uow: UnitOfWork) -> set[str]:
    return set((await uow.session.scalars(select(SecretRow.key_id).distinct())).all())


async def rows_not_under(
    uow: UnitOfWork, key_ids: Iterable[str], *, besides: str | None = None, for_update: bool = False
) -> Sequence[SecretRow]:
    """The rows encrypted with none of ``key_ids``, but for the one named ``besides``."""
    query = select(SecretRow).where(SecretRow.key_id.not_in(sorted(set(key_ids))))
    if besides is not None:
        query = query.where(SecretRow.name != besides)
    if for_update:
        query = query.with_for_update()
    return (await uow.session.scalars(query.order_by(SecretRow.name))).all()


def add(uow: UnitOfWork, row: SecretRow) -> None:
    uow.session.add(row)


async def delete_row(uow: UnitOfWork, name: str) -> None:
    await uow.session.execute(delete(SecretRow).where(SecretRow.name == name))
