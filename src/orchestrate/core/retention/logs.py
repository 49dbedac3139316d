"""The rule of an append-only log (events, audit records): its oldest entries go first.

A log's ids grow with time, so what is older than the cutoff is a prefix of it. The
rule walks the log from its first entry and stops at the first one newer than the
cutoff — or at the ``floor``, an id from which on every entry must stay (the events
log's slowest durable consumer has not read past it). Only the primary key is used,
so pruning a long log needs no index on its time column.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute

from orchestrate.core.retention.rules import DEFAULT_BATCH, Deleted, Key, RetentionRule
from orchestrate.core.retention.sql import delete_where
from orchestrate.core.uow import UnitOfWork

Floor = Callable[[UnitOfWork], Awaitable[int | None]]
"""The lowest id that must be kept, whatever its age; None when nothing holds the log."""


class LogPrefixRule(RetentionRule):
    """Prunes the entries of an append-only log older than the cutoff (below the floor)."""

    def __init__(
        self,
        *,
        name: str,
        setting: str,
        removes: str,
        table: type[Any],
        id_column: InstrumentedAttribute[int],
        time_column: InstrumentedAttribute[datetime],
        floor: Floor | None = None,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self.name = name
        self.setting = setting
        self.removes = removes
        self.batch_size = batch_size
        self._table = table
        self._id = id_column
        self._time = time_column
        self._floor = floor

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        query = select(self._id, self._time).order_by(self._id).limit(limit)
        if after is not None:
            query = query.where(self._id > after)
        floor = await self._floor(uow) if self._floor is not None else None
        if floor is not None:
            query = query.where(self._id < floor)
        keys: list[Key] = []
        for entry_id, created_at in (await uow.session.execute(query)).all():
            if created_at >= cutoff:
                break  # the first entry newer than the cutoff ends the prefix
            keys.append(int(entry_id))
        return keys

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        conditions: list[ColumnElement[bool]] = [self._id.in_(keys), self._time < cutoff]
        floor = await self._floor(uow) if self._floor is not None else None
        if floor is not None:
            conditions.append(self._id < floor)
        return Deleted(rows=await delete_where(uow, self._table, conditions))
