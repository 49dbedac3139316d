"""The SQL of durable consumers: their rows, leases and cursors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from orchestrate.core.events.tables import EventConsumerRow, EventRow
from orchestrate.core.uow import UnitOfWork

_MAX_ERROR = 2000


async def ensure_consumer(uow: UnitOfWork, name: str) -> None:
    """The consumer's row, created at cursor 0 (the start of the log) the first time."""
    try:
        async with uow:
            if await uow.session.get(EventConsumerRow, name) is None:
                uow.session.add(EventConsumerRow(name=name, cursor=0, updated_at=uow.now()))
                await uow.commit()
    except IntegrityError:
        pass  # another worker created it at the same moment


async def take_lease(uow: UnitOfWork, name: str, owner: str, lease: timedelta) -> int | None:
    """The consumer's cursor if ``owner`` holds (or now takes) its lease, else None."""
    async with uow:
        now = uow.now()
        result = await uow.session.execute(
            update(EventConsumerRow)
            .where(
                EventConsumerRow.name == name,
                or_(
                    EventConsumerRow.lease_owner.is_(None),
                    EventConsumerRow.lease_owner == owner,
                    EventConsumerRow.lease_expires_at < now,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + lease)
            .returning(EventConsumerRow.cursor)
        )
        cursor = result.scalar_one_or_none()
        await uow.commit()
        return cursor


async def renew_lease(uow: UnitOfWork, name: str, owner: str, lease: timedelta) -> bool:
    async with uow:
        result = await uow.session.execute(
            update(EventConsumerRow)
            .where(EventConsumerRow.name == name, EventConsumerRow.lease_owner == owner)
            .values(lease_expires_at=uow.now() + lease)
            .returning(EventConsumerRow.name)
        )
        renewed = result.scalar_one_or_none() is not None
        await uow.commit()
        return renewed


async def advance(
    uow: UnitOfWork,
    name: str,
    owner: str,
    cursor: int,
    lease: timedelta,
    error: BaseException | None,
) -> bool:
    """Move the cursor to ``cursor`` (the last handled event) and note how the batch
    ended; False when ``owner`` lost the lease meanwhile (nothing is written then)."""
    async with uow:
        now = uow.now()
        values: dict[str, object] = {
            "cursor": cursor,
            "updated_at": now,
            "lease_expires_at": now + lease,
        }
        if error is None:
            values |= {"failures": 0, "last_error": None}
        else:
            values |= {
                "failures": EventConsumerRow.failures + 1,
                "last_error": f"{type(error).__name__}: {error}"[:_MAX_ERROR],
            }
        result = await uow.session.execute(
            update(EventConsumerRow)
            .where(EventConsumerRow.name == name, EventConsumerRow.lease_owner == owner)
            .values(**values)
            .returning(EventConsumerRow.name)
        )
        advanced = result.scalar_one_or_none() is not None
        await uow.commit()
        return advanced


async def move_cursor(
    uow: UnitOfWork, name: str, owner: str, start: int, cursor: int, lease: timedelta
) -> bool:
    """Inside the caller's transaction: move the cursor from ``start`` to ``cursor``.

    False (nothing written) when ``owner`` no longer holds the lease or the cursor is no
    longer at ``start``: another worker handled the batch. The row stays locked until the
    caller's transaction ends, so a worker taking the lease over waits for it.
    """
    now = uow.now()
    result = await uow.session.execute(
        update(EventConsumerRow)
        .where(
            EventConsumerRow.name == name,
            EventConsumerRow.lease_owner == owner,
            EventConsumerRow.cursor == start,
        )
        .values(
            cursor=cursor,
            updated_at=now,
            lease_expires_at=now + lease,
            failures=0,
            last_error=None,
        )
        .returning(EventConsumerRow.name)
    )
    return result.scalar_one_or_none() is not None


async def release_lease(uow: UnitOfWork, name: str, owner: str) -> None:
    async with uow:
        await uow.session.execute(
            update(EventConsumerRow)
            .where(EventConsumerRow.name == name, EventConsumerRow.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
        await uow.commit()


async def lowest_cursor(uow: UnitOfWork) -> int | None:
    lowest: int | None = await uow.session.scalar(select(func.min(EventConsumerRow.cursor)))
    return lowest


async def first_id_to_keep(uow: UnitOfWork) -> int | None:
    """The lowest event id some consumer still needs (None: there are no consumers).

    That is the slowest consumer's cursor event itself (readers find their place in log
    order through it) and every event after it in log order. On PostgreSQL log order is
    ``(txid, id)``, so an event with a lower id than the cursor can still come after it:
    the smallest such id is the floor then. On SQLite (no txid) ids are log order.
    """
    cursor = await lowest_cursor(uow)
    if cursor is None:
        return None
    anchor = await uow.session.scalar(select(EventRow.txid).where(EventRow.id == cursor))
    if anchor is None:
        return cursor
    later: int | None = await uow.session.scalar(
        select(func.min(EventRow.id)).where(
            tuple_(EventRow.txid, EventRow.id) > tuple_(anchor, cursor)
        )
    )
    return cursor if later is None else min(cursor, later)


async def delete_consumer(uow: UnitOfWork, name: str) -> EventConsumerRow | None:
    """Remove the consumer's row unless a worker holds its lease; the row as it was.

    Returns None when there is no such consumer; raises nothing itself: the caller
    checks ``lease_owner``/``lease_expires_at`` on the returned row before committing.
    """
    row = await uow.session.get(EventConsumerRow, name, with_for_update=True)
    if row is not None:
        await uow.session.delete(row)
    return row


async def all_consumers(uow: UnitOfWork) -> Sequence[EventConsumerRow]:
    return (await uow.session.scalars(select(EventConsumerRow).order_by("name"))).all()


async def events_after(uow: UnitOfWork, cursor: int) -> int:
    """How many events have an id above ``cursor`` (the lag of a consumer there)."""
    count = await uow.session.scalar(
        select(func.count()).select_from(EventRow).where(EventRow.id > cursor)
    )
    return int(count or 0)
