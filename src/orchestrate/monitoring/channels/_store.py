"""The SQL of the notification channels and the notification log."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select

from orchestrate.core.pagination import IdCursor, Page, by_key, page_by_key
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.channels.models import Channel, ChannelType, LogEntry, Outcome
from orchestrate.monitoring.channels.tables import NotificationChannelRow, NotificationLogRow

_channels: Table = NotificationChannelRow.__table__  # type: ignore[assignment]
_log: Table = NotificationLogRow.__table__  # type: ignore[assignment]


# --- channels -------------------------------------------------------------------------


async def find_channel(uow: UnitOfWork, name: str) -> Channel | None:
    row = await uow.session.get(NotificationChannelRow, name)
    return None if row is None else _channel(row)


async def list_channels(uow: UnitOfWork) -> list[Channel]:
    rows = await uow.session.scalars(
        select(NotificationChannelRow).order_by(NotificationChannelRow.name)
    )
    return [_channel(row) for row in rows]


async def channels_page(uow: UnitOfWork, limit: int, cursor: str | None) -> Page[Channel]:
    query = by_key(select(NotificationChannelRow), NotificationChannelRow.name, limit, cursor)
    rows = list(await uow.session.scalars(query))
    return page_by_key([_channel(row) for row in rows], lambda channel: channel.name, limit)


async def insert_channel(
    uow: UnitOfWork,
    name: str,
    type_: ChannelType,
    config: dict[str, Any],
    secrets: dict[str, str],
    owned: list[str],
    now: datetime,
) -> Channel:
    row = NotificationChannelRow(
        name=name,
        type=type_.value,
        config=config,
        secrets={"names": secrets, "owned": owned},
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    return _channel(row)


async def delete_channel(uow: UnitOfWork, name: str) -> None:
    await uow.session.execute(delete(_channels).where(_channels.c.name == name))


def _channel(row: NotificationChannelRow) -> Channel:
    secrets = row.secrets or {}
    return Channel(
        name=row.name,
        type=ChannelType(row.type),
        config=dict(row.config or {}),
        secrets={str(k): str(v) for k, v in (secrets.get("names") or {}).items()},
        owned_secrets=tuple(str(name) for name in secrets.get("owned") or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- the log --------------------------------------------------------------------------


async def add_log_entry(
    uow: UnitOfWork,
    *,
    channel: str,
    notification_id: str,
    group_key: str,
    status: str,
    attempt: int,
    outcome: Outcome,
    error: str | None,
    now: datetime,
    queued_at: datetime,
) -> None:
    await uow.session.execute(
        insert(_log).values(
            queued_at=queued_at,
            channel=channel,
            notification_id=notification_id,
            group_key=group_key,
            group_hash=_hash(group_key),
            status=status,
            sent_at=now,
            attempt=attempt,
            outcome=outcome.value,
            error=None if error is None else error[:2000],
        )
    )


async def was_sent(uow: UnitOfWork, notification_id: str) -> bool:
    """Whether a notification of this id went out already (on any attempt)."""
    found = await uow.session.scalar(
        select(_log.c.id)
        .where(_log.c.notification_id == notification_id, _log.c.outcome == Outcome.SENT.value)
        .limit(1)
    )
    return found is not None


async def has_notified_firing(uow: UnitOfWork, channel: str, group_key: str) -> bool:
    """Whether ``channel`` was ever sent the group ``group_key`` firing."""
    found = await uow.session.scalar(
        select(_log.c.id)
        .where(
            _log.c.channel == channel,
            _log.c.group_hash == _hash(group_key),
            _log.c.outcome == Outcome.SENT.value,
            _log.c.status == "firing",
        )
        .limit(1)
    )
    return found is not None


async def resolved_since(uow: UnitOfWork, channel: str, group_key: str, since: datetime) -> bool:
    """Whether a resolve of the group queued after ``since`` was sent or skipped."""
    found = await uow.session.scalar(
        select(_log.c.id)
        .where(
            _log.c.channel == channel,
            _log.c.group_hash == _hash(group_key),
            _log.c.status == "resolved",
            _log.c.outcome.in_((Outcome.SENT.value, Outcome.SKIPPED.value)),
            _log.c.queued_at > since,
        )
        .limit(1)
    )
    return found is not None


async def log_page(
    uow: UnitOfWork, *, channel: str | None, limit: int, cursor: str | None
) -> Page[LogEntry]:
    """Newest first, by id."""
    query = select(_log).order_by(_log.c.id.desc()).limit(limit + 1)
    if channel is not None:
        query = query.where(_log.c.channel == channel)
    if cursor:
        query = query.where(_log.c.id < IdCursor.decode(cursor).id)
    rows = list((await uow.session.execute(query)).mappings())
    entries = [
        LogEntry(
            id=row["id"],
            channel=row["channel"],
            notification_id=row["notification_id"],
            group_key=row["group_key"],
            status=row["status"],
            sent_at=row["sent_at"],
            attempt=row["attempt"],
            outcome=Outcome(row["outcome"]),
            error=row["error"],
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit and bool(entries)
    return Page(entries, IdCursor(entries[-1].id).encode() if more else None)


def _hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()
