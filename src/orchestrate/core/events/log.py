"""Writing events in a unit of work and reading them back from a cursor.

``record_event`` adds a typed event to the unit of work's transaction, so an event
exists exactly when the change it describes was committed. Payloads are masked
(``core.masking``) before they are stored. On PostgreSQL the transaction also sends
``NOTIFY orchestrate_events``, delivered to every listening process on commit.

``read_events`` is the one cursor API of the log: the events after the last one a reader
saw, in log order. On SQLite that is id order (one writer at a time, so ids commit in
order). On PostgreSQL ids are allocated when a row is inserted, not when it commits: a
transaction holding id 5 may commit after the one holding id 6, and a reader that had
moved past 6 would never see 5. So there the log order is (writing transaction, id),
and a read stops below the oldest transaction of this database still running (the
visibility horizon):
everything before it has committed or rolled back, and every later row sorts after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events.model import DomainEvent, Event
from orchestrate.core.events.tables import EventRow
from orchestrate.core.masking import process_masker

if TYPE_CHECKING:
    from orchestrate.core.uow import UnitOfWork

NOTIFY_CHANNEL = "orchestrate_events"
_TYPE_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")
# Below it every transaction of this database has committed or rolled back: the oldest
# one still running here (a snapshot's xmin would also wait for other databases of the
# server), or the next one to start. A transaction whose database is unknown (another
# role's session) counts as ours: that only delays readers, it never skips an event.
_HORIZON = text(
    """(SELECT coalesce(
               min(x::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint
           )
       FROM pg_snapshot_xip(pg_current_snapshot()) AS x
       WHERE NOT EXISTS (
           SELECT 1 FROM pg_stat_activity AS a
           WHERE a.backend_xid = x::xid AND a.datname IS DISTINCT FROM current_database()
       ))"""
)


@dataclass(frozen=True)
class EventFilter:
    """Which events a reader wants: any of ``types`` (exact, or a prefix as ``pipeline.*``)
    and, when given, only those about ``subject``."""

    types: tuple[str, ...] = ()
    subject: str | None = None

    def __post_init__(self) -> None:
        for pattern in self.types:
            if not _TYPE_PATTERN.match(pattern) or len(pattern) > 100:
                raise ValidationFailed(
                    f"Invalid event type filter {pattern[:100]!r}: use a type such as "
                    "'story.created' or a prefix such as 'pipeline.*'",
                    field="type",
                )
        if self.subject is not None and not 0 < len(self.subject) <= 200:
            raise ValidationFailed("A subject filter has 1 to 200 characters", field="subject")

    def matches(self, event: Event) -> bool:
        if self.subject is not None and event.subject != self.subject:
            return False
        return not self.types or any(_type_matches(p, event.type) for p in self.types)

    def where(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.subject is not None:
            clauses.append(EventRow.subject == self.subject)
        if self.types and "*" not in self.types:
            clauses.append(or_(*(_type_clause(pattern) for pattern in self.types)))
        return clauses


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def _type_clause(pattern: str) -> ColumnElement[bool]:
    if pattern.endswith(".*"):
        return EventRow.type.startswith(pattern[:-1], autoescape=True)
    return EventRow.type == pattern


def record_event(uow: UnitOfWork, event: DomainEvent) -> None:
    """Add ``event`` to the unit of work's transaction; readers see it once it commits.

    Every secret value in the payload is replaced by ``***`` first, so neither the
    stored log nor anything streamed from it (SSE, ``--follow``) can carry one. The
    transaction's events are inserted together, in the order recorded, when it commits
    (``_write_events``): one statement however many there are.
    """
    payload = event.payload()
    masked = process_masker().mask_value(payload) if payload else {}
    uow.track_event(
        {
            "type": event.event_type,
            "subject": event.subject,
            "payload": masked,
            "version": event.schema_version,
            "created_at": uow.now(),
        },
        _write_events,
    )


async def _write_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert a transaction's events. On PostgreSQL the table's trigger notifies
    ``NOTIFY_CHANNEL`` from the INSERT itself (migration 0028), delivered on commit."""
    await session.execute(insert(_EVENTS), rows)


_EVENTS: Table = EventRow.__table__  # type: ignore[assignment]


async def read_events(
    session: AsyncSession,
    *,
    after: int = 0,
    limit: int = 100,
    only: EventFilter | None = None,
) -> Sequence[Event]:
    """The committed events after the event ``after`` (0: from the start), in log order.

    ``after`` is the id of the last event the reader saw, whatever filter it used; a
    reader that passes back the id of the last event it got misses none and sees none
    twice.
    """
    query = select(EventRow).limit(limit)
    for clause in (only or EventFilter()).where():
        query = query.where(clause)
    if session.get_bind().dialect.name == "postgresql":
        query = await _after_on_postgres(session, query, after)
    else:
        query = query.where(EventRow.id > after).order_by(EventRow.id)
    rows = (await session.scalars(query)).all()
    return [row.to_event() for row in rows]


async def _after_on_postgres(
    session: AsyncSession, query: Select[EventRow], after: int
) -> Select[EventRow]:
    query = query.where(EventRow.txid < _HORIZON).order_by(EventRow.txid, EventRow.id)
    if after <= 0:
        return query
    txid = await session.scalar(select(EventRow.txid).where(EventRow.id == after))
    if txid is None:  # pruned meanwhile, or never an event: go on by id alone
        return query.where(EventRow.id > after)
    return query.where(tuple_(EventRow.txid, EventRow.id) > tuple_(txid, after))


async def last_event_id(session: AsyncSession) -> int:
    """The position of the newest committed event: where a reader of only new events starts."""
    newest = await read_recent(session, limit=1)
    return newest[-1].id if newest else 0


async def read_recent(
    session: AsyncSession, *, limit: int, only: EventFilter | None = None
) -> Sequence[Event]:
    """The last ``limit`` committed events (matching ``only``), in log order."""
    query = select(EventRow).limit(limit)
    for clause in (only or EventFilter()).where():
        query = query.where(clause)
    if session.get_bind().dialect.name == "postgresql":
        query = query.where(EventRow.txid < _HORIZON).order_by(
            EventRow.txid.desc(), EventRow.id.desc()
        )
    else:
        query = query.order_by(EventRow.id.desc())
    rows = (await session.scalars(query)).all()
    return [row.to_event() for row in reversed(rows)]


async def count_events_by_hour(
    session: AsyncSession, types: Sequence[str], since: datetime
) -> list[tuple[str, datetime, int]]:
    """How many events of each of ``types`` were written in each UTC hour from ``since``:
    ``(type, start of the hour, count)``, hours without events left out. One GROUP BY
    over the ``(type, created_at)`` index; the dashboard charts failure rates so."""
    if not types:
        return []
    # Formats inline, not bound: PostgreSQL matches a GROUP BY expression to the
    # selected one only when they are the same text, and two binds are not.
    if session.get_bind().dialect.name == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), EventRow.created_at)
        hour = func.to_char(utc, literal_column("'YYYY-MM-DD HH24'"))
    else:  # SQLite keeps UTC as naive text: 'YYYY-MM-DD HH:MM:SS…'
        hour = func.strftime(literal_column("'%Y-%m-%d %H'"), EventRow.created_at)
    statement = (
        select(EventRow.type, hour, func.count())
        .where(EventRow.type.in_(list(types)), EventRow.created_at >= since)
        .group_by(EventRow.type, hour)
    )
    rows = await session.execute(statement)
    return [
        (
            str(row[0]),
            datetime.strptime(str(row[1]), "%Y-%m-%d %H").replace(tzinfo=UTC),
            int(row[2]),
        )
        for row in rows
    ]


async def count_events(
    session: AsyncSession, types: Sequence[str], since: datetime, label: str | None = None
) -> list[tuple[str, str | None, int]]:
    """How many events of each of ``types`` were written at or after ``since``: one
    ``(type, label value, count)`` per type, and per value of the payload field
    ``label`` when one is named (None where an event lacks the field). One GROUP BY
    over the ``(type, created_at)`` index; alert rules count failures in a window so."""
    if not types:
        return []
    value = EventRow.payload[label].as_string() if label else literal(None)
    statement = (
        select(EventRow.type, value, func.count())
        .where(EventRow.type.in_(list(types)), EventRow.created_at >= since)
        .group_by(EventRow.type, value)
    )
    rows = await session.execute(statement)
    return [(row[0], None if row[1] is None else str(row[1]), int(row[2])) for row in rows]
