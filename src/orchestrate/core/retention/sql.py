"""The two queries most rules share: finished keys in key order, and a guarded delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from orchestrate.core.retention.rules import Key
from orchestrate.core.uow import UnitOfWork


async def keys_where(
    uow: UnitOfWork,
    key: InstrumentedAttribute[Any],
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: Key | None,
    limit: int,
) -> list[Key]:
    """Up to ``limit`` keys after ``after`` (ascending) of rows meeting every condition.

    Walking by primary key with a cursor, rather than by age, lets rows that are kept
    (still needed) be passed over instead of being found again by every batch.
    """
    query = select(key).where(*conditions).order_by(key).limit(limit)
    if after is not None:
        query = query.where(key > after)
    return list(await uow.session.scalars(query))


async def delete_where(
    uow: UnitOfWork, table: type[Any], conditions: Sequence[ColumnElement[bool]]
) -> int:
    """Delete the rows of ``table`` meeting every condition; how many went."""
    statement = delete(table).where(*conditions).execution_options(synchronize_session=False)
    result = await uow.session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
